"""Federated training through the contracts: `brainnet train --chain embedded|anvil`.

`run_training_onchain(config, chain, progress)` deploys Token, Registry, Inference, Models
and Training on a fresh chain (the embedded py-evm chain, or an anvil it starts and stops),
creates the model in Models (version 1 = the initial weights) and registers one node agent
per trainer (CAP_TRAINING) plus `config.committee` validator nodes, each with its own key
and signer. Every round then goes through the contracts, phase by phase:

1. the model owner escrows the pool and `open_round`s the latest version; after the seed
   block anyone `draw`s the scoring committee (stake-weighted over all nodes serving the
   model: trainers and validators alike);
2. each trainer agent trains locally from the current version (`train.rounds.client_update`,
   its behaviour: honest or the attack), publishes the update's canonical bytes in its blob
   store under their sha256, then `commit_update`s and, after the commit deadline,
   `reveal_update`s (update hash, trace hash);
3. each committee agent fetches every revealed update by its hash (and checks the hash),
   scores it on its own held-out slice (`train.rounds.member_scores`, one fixed slice per
   node), `commit_scores`, then `reveal_scores`; anyone calls `finalize_scores`: the
   contract computes the medians, accepts, credits rewards and slashes no-shows;
4. each committee agent reads the revealed score vectors back from the chain (in reveal
   order) and aggregates the revealed updates itself (`train.rounds.aggregate_round`,
   deterministic): the first member posts the hash, every member commit-reveals the hash
   it computed, and `finalize_aggregate` records the version in Models (parent = the round's
   version).

The runner checks, every round, what a user would otherwise have to trust: the contract's
medians, acceptance and every credit equal `protocol.training.settle_scores` to the wei;
the strategy's accepted set equals the contract's (brain); every member computed the same
hash. Gas is the sum of the round's receipts. The agents run in this process (the chain is
the only thing they share); a node drawn onto a committee scores with the honest scoring
code: attackers attack through their updates.

With `spot_checks=r`, a verifier replays r segments of every revealed trace after the round
(`train.pot.verify`); a failed replay becomes an on-chain `challenge` citing
`Verdict.evidence`, every committee member replays it and votes, and `resolve_challenge`
slashes the trainer (see `OnchainTraining`). `cheaters` lets chosen trainers play a
proof-of-training cheat instead of training.

The JSON has the keys of `brainnet train --chain none` (beside the same clean FedAvg run)
plus `gas_per_round`, `versions` (the Models lineage, oldest first), `reward_mismatches`,
`committee_per_round`, `credits` (what each account claimed at the end), `slashes`,
`challenges` and `gas_by_op` (count, mean and max gas per transaction kind).
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from eth_account import Account

from brainnet.chain import AnvilBackend, DeployParams, deploy, open_backend
from brainnet.chain.signer import PendingTx, Receipt, wait_all
from brainnet.chain.training import TrainingActor, TrainingChain
from brainnet.errors import BrainnetError, ConfigError
from brainnet.protocol import keccak, model_key
from brainnet.protocol.training import (
    CAP_TRAINING, MAX_COMMITTEE, MAX_UPDATES, confirm_commitment, scores_commitment, settle_scores, update_commitment,
)
from brainnet.train import pot
from brainnet.train.model import from_bytes, weights_bytes, weights_hash
from brainnet.train.rounds import (
    ClientUpdate, FLConfig, Setup, accuracy, aggregate_round, client_seed, client_update, clean_config, make_setup,
    member_scores, run_federated, strategy_of, versions_info,
)

TOKEN = 10**18
POOL = 1_000 * TOKEN + 7             # per round; the odd wei makes the dust rule visible
PROOF_CHEATS = ("skipped", "fewer_steps", "random_weights")   # pot.make_claim cheats a trainer agent can play
NODE_ETH = 10 * 10**18
CAP_INFERENCE = 1


class OnchainMismatch(BrainnetError):
    """The contracts and the off-chain rule disagree: a bug in one of them; report it with the JSON."""


@dataclass
class Agent:
    """One node: its key, its signer and what it keeps (blobs by sha256, salts)."""
    index: int                          # registry order; also the node's held-out slice
    account: object
    actor: TrainingActor
    client: int | None = None           # the trainer's client index; None = validator
    blobs: dict = field(default_factory=dict)

    @property
    def address(self) -> str:
        return self.account.address

    def salt(self, round_id: int, what: bytes) -> bytes:
        return keccak(bytes(self.account.key) + what + round_id.to_bytes(32, "big"))


def _hex32(h: str) -> bytes:
    return bytes.fromhex(h)


class OnchainTraining:
    """`spot_checks` = r > 0: after scoring, a verifier (the model owner's account) replays r
    segments of every revealed update's trace (`train.pot.verify`, challenge seed from the
    block after the update reveal deadline); a failed replay becomes `challenge(round,
    trainer, sha256(evidence))`, every committee member replays it itself and votes, and
    `resolve_challenge` slashes the trainer when a majority says guilty. `cheaters` maps a
    client to a proof-of-training cheat it plays instead of training (PROOF_CHEATS)."""

    def __init__(self, config: FLConfig, chain: str, *, spot_checks: int = 0, cheaters: dict[int, str] | None = None):
        if chain not in ("embedded", "anvil"):
            raise ConfigError(f"--chain {chain!r}: the on-chain runner takes embedded or anvil")
        if config.clients > MAX_UPDATES:
            raise ConfigError(f"--clients {config.clients}: a Training round holds at most {MAX_UPDATES} updates; "
                              "use fewer clients or run --chain none")
        if config.committee > MAX_COMMITTEE or config.committee < 1:
            raise ConfigError(f"--committee {config.committee}: the contract takes 1..{MAX_COMMITTEE} members")
        cheaters = dict(cheaters or {})
        for client, kind in cheaters.items():
            if kind not in PROOF_CHEATS or not 0 <= client < config.clients:
                raise ConfigError(f"cheater {client}: {kind!r}; give a client index below --clients and one of "
                                  f"{', '.join(PROOF_CHEATS)}")
        self.config = config
        self.chain_name = chain
        self.spot_checks = spot_checks
        self.cheaters = cheaters
        self.challenges: list[dict] = []
        self.gas_by_op: dict[str, list[int]] = {}
        self.setup: Setup = make_setup(config)
        self.gas_per_round: list[int] = []
        self.committees: list[list[int]] = []
        self.mismatches = 0
        self.slashes: list[dict] = []
        self.expected_credits: dict[str, int] = {}

    # ------------------------------------------------------------ chain plumbing
    def _wait(self, pending: list[PendingTx]) -> list[Receipt]:
        receipts = wait_all(pending)
        self._round_gas += sum(r.gas_used for r in receipts)
        for p, r in zip(pending, receipts):
            self.gas_by_op.setdefault(p.label, []).append(r.gas_used)
        for r in receipts:
            for ev in self.tc.decode(r.logs):
                if ev.name == "MemberSlashed":
                    self.slashes.append({"round": ev.args["round_id"], "node": ev.args["node"],
                                         "amount": ev.args["amount"], "reason": ev.args["reason"]})
        return receipts

    def _mine_past(self, block: int) -> None:
        now = self.tc.block_number()
        if now <= block:
            self.backend.mine(block + 1 - now)

    # ------------------------------------------------------------ setup
    def _deploy(self) -> None:
        cfg = self.config
        k = cfg.committee
        params = DeployParams(training_committee=k, training_quorum=k // 2 + 1)
        spec, initial = self.setup.spec, self.setup.initial
        self.model_name = f"fl-{cfg.dataset}"
        self.model_id = model_key(self.model_name)
        genesis = _hex32(weights_hash(spec, initial))
        self.deployment = deploy(self.backend, params, models={self.model_name: genesis})
        self.tc = TrainingChain(self.backend, self.deployment)
        self.owner = self.tc.as_(self.backend.funder)
        self._round_gas = 0
        self._wait([self.owner.create_model(self.model_id, genesis, f"blob://{genesis.hex()}")])
        stake = params.min_stake
        self.agents: list[Agent] = []
        n_nodes = cfg.clients + k
        for i in range(n_nodes):
            account = Account.from_key(keccak(b"brainnet train node %d %d" % (cfg.seed, i)))
            client = i if i < cfg.clients else None
            self.agents.append(Agent(i, account, self.tc.as_(account), client))
        funder = self.owner.signer
        pending = []
        for a in self.agents:
            pending.append(funder.send_nowait({"to": a.address, "value": NODE_ETH}, gas=21_000, label="gas money"))
            pending.append(self.owner.transfer(a.address, stake))
        self._wait(pending)
        pending = []
        for a in self.agents:
            a.actor.signer._nonce = self.backend.w3.eth.get_transaction_count(a.address, "pending")
            pending.append(a.actor.approve(self.tc.registry.address, stake))
            pending.append(a.actor.register(stake, f"inproc://node{a.index}", keccak(b"x25519 %d" % a.index),
                                            [self.model_id]))
            if a.client is not None:
                pending.append(a.actor.set_capabilities(CAP_INFERENCE | CAP_TRAINING))
        self._wait(pending)
        self.by_address = {a.address: a for a in self.agents}
        self.setup_gas = self._round_gas

    # ------------------------------------------------------------ one round
    def _round(self, r: int, w: np.ndarray, version: int) -> tuple[np.ndarray, int, dict]:
        cfg, setup, tc = self.config, self.setup, self.tc
        spec = setup.spec
        self._round_gas = 0
        clients = cfg.clients
        k = cfg.committee
        windows = [clients + 4, clients + 4, k + 4, k + 4, k + 4, k + 4]
        self._wait([self.owner.approve(tc.training.address, POOL)])
        opened = self._wait([self.owner.open_round(self.model_id, version, POOL, cfg.threshold, windows)])[0]
        rid = tc.event(opened, "RoundOpened")["round_id"]
        rnd = tc.round(rid)

        # trainers train from the current version (fetched by hash), commit, reveal
        w_blob = weights_bytes(spec, w)
        assert hashlib.sha256(w_blob).hexdigest() == weights_hash(spec, w)
        updates: dict[str, ClientUpdate] = {}
        pending = []
        for a in self.agents:
            if a.client is None or not tc.registry.functions.has_capability(a.address, CAP_TRAINING).call():
                continue          # a validator, or a trainer slashed below the stake its capability needs
            up = self._train(a.client, from_bytes(spec, w_blob), r)
            a.blobs[up.weights_hash] = weights_bytes(spec, up.weights)
            updates[a.address] = up
            c = update_commitment(rid, _hex32(up.weights_hash), _hex32(up.trace_hash), a.address, a.salt(rid, b"update"))
            pending.append(a.actor.commit_update(rid, c))
        self._wait(pending)
        self._mine_past(rnd.seed_block)
        drawn = self._wait([self.owner.draw(rid)])[0]
        members = [self.by_address[m] for m in tc.event(drawn, "CommitteeDrawn")["members"]]
        self.committees.append([m.index for m in members])
        self._mine_past(rnd.update_commit_deadline)
        self._wait([a.actor.reveal_update(rid, _hex32(updates[a.address].weights_hash),
                                          _hex32(updates[a.address].trace_hash), a.salt(rid, b"update"))
                    for a in self.agents if a.address in updates])
        self._mine_past(rnd.update_reveal_deadline)

        # the committee fetches the revealed updates by hash and scores them
        rnd = tc.round(rid)
        slots = [tc.update(rid, s) for s in range(rnd.updates)]
        revealed = [u.revealed for u in slots]
        ups: list[ClientUpdate] = []
        for u in slots:
            if not u.revealed:
                continue
            blob = self.by_address[u.trainer].blobs[u.update_hash.hex()]
            if hashlib.sha256(blob).digest() != u.update_hash:
                raise OnchainMismatch(f"the blob of update {u.update_hash.hex()} does not hash to it")
            up = updates[u.trainer]
            ups.append(up)
        rows: dict[str, list[int]] = {}
        for m in members:
            scored = iter(member_scores(setup, m.index, w, ups))
            rows[m.address] = [next(scored) if ok else 0 for ok in revealed]
        self._wait([m.actor.commit_scores(rid, scores_commitment(rid, rows[m.address], m.address, m.salt(rid, b"scores")))
                    for m in members])
        reveals = self._wait([m.actor.reveal_scores(rid, rows[m.address], m.salt(rid, b"scores")) for m in members])
        reveal_order = [tc.event(rc, "ScoresRevealed")["member"] for rc in reveals]
        before = {a.address: tc.claimable(a.address) for a in self.agents}
        before_owner = tc.claimable(self.owner.address)
        self._wait([self.owner.finalize_scores(rid)])

        # the chain's medians, acceptance and credits against the rule, to the wei
        rnd = tc.round(rid)
        slots = [tc.update(rid, s) for s in range(rnd.updates)]
        want = settle_scores(POOL, cfg.threshold, self.deployment.params.training_committee_bps,
                             [m.address for m in members], k, revealed, {a: rows[a] for a in reveal_order})
        got = [(u.median, u.accepted, u.reward) for u in slots]
        if got != list(zip(want.medians, want.accepted, want.rewards)):
            self.mismatches += 1
        credits = want.credits([u.trainer for u in slots], self.owner.address)
        for a in self.agents:
            if tc.claimable(a.address) - before[a.address] != credits.get(a.address, 0):
                self.mismatches += 1
        if tc.claimable(self.owner.address) - before_owner != credits.get(self.owner.address, 0):
            self.mismatches += 1
        for account, amount in credits.items():
            self.expected_credits[account] = self.expected_credits.get(account, 0) + amount

        # every member aggregates itself; the first posts, all confirm by commit-reveal
        matrix = np.asarray([[rows[a][s] for s in range(len(slots)) if revealed[s]] for a in reveal_order],
                            dtype=np.int64).reshape(len(reveal_order), len(ups))
        strategy = strategy_of(cfg)
        outs = [aggregate_round(setup, w, ups, matrix, strategy) for _ in members]
        hashes = {o.weights_hash for o in outs}
        if len(hashes) != 1:
            raise OnchainMismatch(f"committee members computed {len(hashes)} different aggregates")
        out = outs[0]
        chain_accepted = [u.accepted for u in slots if u.revealed]
        if cfg.strategy == "brain" and list(out.accepted) != chain_accepted:
            self.mismatches += 1
        new_hash = _hex32(out.weights_hash)
        new_version = version
        if rnd.accepted > 0:
            self._wait([members[0].actor.post_aggregate(rid, new_hash, f"blob://{out.weights_hash}")])
            self._wait([m.actor.commit_confirm(rid, confirm_commitment(rid, new_hash, m.address, m.salt(rid, b"confirm")))
                        for m in members])
            self._wait([m.actor.reveal_confirm(rid, new_hash, m.salt(rid, b"confirm")) for m in members])
        else:
            self._mine_past(rnd.confirm_reveal_deadline)
        closed = self._wait([self.owner.finalize_aggregate(rid)])[0]
        recorded = tc.event(closed, "RoundClosed")["new_version"]
        if self.spot_checks:
            self._spot_check(rid, r, w, [u for u in slots if u.revealed], updates, members)
        if recorded:
            new_version = recorded
            w = out.weights
        info = {"round_id": rid, "accepted": [bool(x) for x in chain_accepted],
                "behaviours": [u.behaviour for u in ups], "new_version": recorded}
        self.gas_per_round.append(self._round_gas)
        return w, new_version, info

    def _train(self, client: int, start: np.ndarray, r: int) -> ClientUpdate:
        setup, cfg = self.setup, self.config
        kind = self.cheaters.get(client)
        if kind is None:
            return client_update(setup, client, start, r, keep_checkpoints=self.spot_checks > 0)
        x, y = setup.client_data(client)
        rng = np.random.default_rng([cfg.seed, r, client, 0xC4EA])
        claim = pot.make_claim(kind, setup.spec, start, x, y, cfg.local, client_seed(cfg, r, client), rng)
        return ClientUpdate(client, f"pot:{kind}", claim.update, len(x), claim.trace, weights_hash(setup.spec, claim.update))

    def _replay(self, up: ClientUpdate, start: np.ndarray, r: int, seed: int) -> pot.Verdict:
        """Replay r segments of `up`'s trace; the trainer shows its checkpoints (a trainer that
        kept none can only show the weights it started from)."""
        setup, cfg = self.setup, self.config
        x, y = setup.client_data(up.client)
        cps = up.trace.checkpoints

        def show(i: int) -> np.ndarray:
            return cps[i] if i < len(cps) else start

        return pot.verify(setup.spec, start, x, y, cfg.local, client_seed(cfg, r, up.client), up.weights, up.trace,
                          show, segments=self.spot_checks, challenge_seed=seed)

    def _spot_check(self, rid: int, r: int, w: np.ndarray, revealed: list, updates: dict, members: list) -> None:
        tc = self.tc
        rnd = tc.round(rid)
        self._mine_past(rnd.update_reveal_deadline + 1)
        seed = int.from_bytes(bytes(self.backend.w3.eth.get_block(rnd.update_reveal_deadline + 1)["hash"])[:8], "big")
        bond = self.deployment.params.training_challenge_bond
        failed = []
        for u in revealed:
            up = updates[u.trainer]
            verdict = self._replay(up, w, r, seed)
            if not verdict.ok:
                failed.append((u, up, verdict))
        if not failed:
            return
        # all challenges open in a row (each must open within the challenge window), then the votes
        self._wait([self.owner.approve(tc.training.address, bond * len(failed))])
        opened = self._wait([self.owner.challenge(rid, u.trainer, v.evidence(u.trace_hash.hex())) for u, _, v in failed])
        cids = [tc.event(rc, "ChallengeOpened")["challenge_id"] for rc in opened]
        votes = {cid: [not self._replay(up, w, r, seed).ok for _ in members]       # each member replays itself
                 for cid, (_, up, _) in zip(cids, failed)}
        self._wait([m.actor.vote(cid, guilty) for cid in cids for m, guilty in zip(members, votes[cid])])
        # every member voted, so each outcome is decided and resolves at once
        resolved = [tc.event(rc, "ChallengeResolved") for rc in self._wait([self.owner.resolve_challenge(c) for c in cids])]
        owner = self.owner.address
        for cid, (u, up, verdict), res in zip(cids, failed, resolved):
            if res["upheld"]:
                forfeited = min(u.reward, self.expected_credits.get(u.trainer, 0))
                if res["forfeited"] != forfeited:
                    self.mismatches += 1
                self.expected_credits[u.trainer] = self.expected_credits.get(u.trainer, 0) - forfeited
                self.expected_credits[owner] = self.expected_credits.get(owner, 0) + bond + forfeited
            else:
                self.expected_credits[u.trainer] = self.expected_credits.get(u.trainer, 0) + bond
            self.challenges.append({"round": rid, "challenge_id": cid, "trainer": u.trainer, "client": up.client,
                                    "behaviour": up.behaviour, "reason": verdict.reason, "segment": verdict.segment,
                                    "evidence_hash": verdict.evidence(u.trace_hash.hex()).hex(),
                                    "guilty_votes": sum(votes[cid]), "upheld": res["upheld"],
                                    "slashed": res["slashed"], "forfeited": res["forfeited"]})

    # ------------------------------------------------------------ the run
    def run(self, progress: Callable[[int, float], None] | None = None) -> dict:
        cfg = self.config
        start = time.perf_counter()
        self.backend = AnvilBackend() if self.chain_name == "anvil" else open_backend("embedded")
        try:
            self._deploy()
            w = self.setup.initial
            version = 1
            initial = accuracy(self.setup, w)
            per_round: list[float] = []
            acc_byz = rej_honest = 0
            for r in range(cfg.rounds):
                w, version, info = self._round(r, w, version)
                acc_byz += sum(1 for b, ok in zip(info["behaviours"], info["accepted"]) if ok and b != "honest")
                rej_honest += sum(1 for b, ok in zip(info["behaviours"], info["accepted"]) if not ok and b == "honest")
                per_round.append(accuracy(self.setup, w))
                if progress is not None:
                    progress(r, per_round[-1])
            claimed = self._claim_all()
            lineage = list(reversed(self.tc.lineage(self.model_id)))
            versions = [{"version": v.version, "parent": v.parent or None, "round": v.round_id or None,
                         "weights_hash": v.weights_hash.hex(), "uri": v.uri} for v in lineage]
        finally:
            self.backend.close()
        elapsed = round(time.perf_counter() - start, 3)
        clean = run_federated(clean_config(cfg))
        return {
            "final_accuracy": per_round[-1] if per_round else initial, "initial_accuracy": initial,
            "accuracy_per_round": per_round, "accepted_byzantine": acc_byz, "rejected_honest": rej_honest,
            "rounds": cfg.rounds, "versions": versions, "strategy": cfg.strategy, "source": cfg.source,
            "elapsed_s": elapsed, "clean_accuracy": clean.final_accuracy,
            "clean_accuracy_per_round": clean.accuracy_per_round, "gas_per_round": self.gas_per_round,
            "setup_gas": self.setup_gas, "chain": self.chain_name, "config": cfg.to_json(),
            "library_versions": versions_info(), "committee_per_round": self.committees,
            "reward_mismatches": self.mismatches, "pool_per_round": POOL, "credits": claimed,
            "slashes": self.slashes, "spot_checks": self.spot_checks, "challenges": self.challenges,
            "gas_by_op": {op: {"count": len(g), "mean": round(sum(g) / len(g)), "max": max(g)}
                          for op, g in sorted(self.gas_by_op.items())},
        }

    def _claim_all(self) -> dict:
        """Everyone with a credit claims it; each balance must grow by exactly the rule's credits."""
        tc = self.tc
        actors = [self.owner, *[a.actor for a in self.agents]]
        owed = {x.address: tc.claimable(x.address) for x in actors}
        before = {x.address: tc.balance(x.address) for x in actors}
        self._round_gas = 0
        self._wait([x.claim() for x in actors if owed[x.address] > 0])
        out = {}
        for x in actors:
            got = tc.balance(x.address) - before[x.address]
            if got != self.expected_credits.get(x.address, 0) or tc.claimable(x.address) != 0:
                self.mismatches += 1
            if got:
                out[x.address] = got
        return out


def run_training_onchain(config: FLConfig, chain: str, progress: Callable[[int, float], None] | None = None, *,
                         spot_checks: int = 0, cheaters: dict[int, str] | None = None) -> dict:
    """`brainnet train --chain embedded|anvil`: every round through the contracts (module docstring)."""
    return OnchainTraining(config, chain, spot_checks=spot_checks, cheaters=cheaters).run(progress)
