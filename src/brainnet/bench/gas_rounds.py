"""Gas of training rounds, governance proposals and emission claims, for `brainnet bench gas`.

Kept beside `bench/gas.py` (the inference scenarios) so each file stays one concern. Every
figure is the `gasUsed` of a mined receipt on the chain `gas.py` opened; payloads are
seeded hashes, as in the inference scenarios (the contracts only ever see hashes).

- `training_rounds`: one deployment, `TRAINERS` trainers (CAP_TRAINING) and `VALIDATORS`
  more nodes serving the model, scoring committee `COMMITTEE` (confirm quorum 2). Each round
  runs every phase of `Training.vy` in order: open_round (pool escrowed), every trainer
  commit_update, draw, every trainer reveal_update, every member commit_scores and
  reveal_scores (one trainer's update scores below the threshold and is rejected),
  finalize_scores (medians, credits, Emission report), post_aggregate, every member
  commit_confirm and reveal_confirm, finalize_aggregate (records the version in Models).
  The rejected trainer is then challenged (proof of training), the committee votes guilty and
  resolve_challenge slashes it. After the last round everyone owed a credit claims it.
  The per-round total is the round's phases (not the challenge, the pool's approve or claims).
- `governance_proposals`: on the same deployment, a proposal (Inference's commit window)
  is proposed, voted on by `VOTERS` holders (one against), executed after the timelock;
  a second proposal is proposed and canceled by its proposer. Token transfers between two
  holders that already hold tokens are recorded too (each writes a vote checkpoint).
- `emission_claims`: on a deployment where tasks settled (the inference scenarios), mine
  to the end of the epoch and let nodes claim finished epochs they worked in (one epoch a
  claim; the first claim of an epoch also mints its pools), up to a bounded number of claims.
- `datamarket_rounds`: a DataMarket (perceptron over `MARKET_FEATURES` sparse binary features,
  no refund wait, claim wait `CLAIM_WAIT` s) and its Token: a contributor adds a sample the
  model agrees with and refunds it; another adds one it disagrees with (the model updates), a
  third adds the correction (the model updates back), the first reports the bad sample, and
  after the claim wait anyone takes what is left of the correction's deposit. Time is moved
  by the chain's own controls (eth-tester's time travel, anvil's evm_increaseTime).
"""
from __future__ import annotations

from typing import Callable

from eth_account import Account
from web3.logs import DISCARD

from brainnet.chain import TOKEN, Contracts, DeployParams, deploy
from brainnet.chain.backends import Backend
from brainnet.chain.datamarket import DataMarketParams, MarketAccount, deploy_datamarket, deploy_token
from brainnet.chain.params import lookup
from brainnet.chain.signer import PendingTx, Receipt, Signer
from brainnet.chain.training import TrainingActor, TrainingChain
from brainnet.protocol.commitment import abi_encode, keccak
from brainnet.protocol.training import CAP_TRAINING, confirm_commitment, scores_commitment, update_commitment

TRAINERS = 5
VALIDATORS = 3
COMMITTEE = 3
CONFIRM_QUORUM = 2
THRESHOLD = 5_000                  # scores are 0..10000; the last trainer's update scores below
POOL = 1_000 * TOKEN
STAKE = 1_000 * TOKEN
NODE_ETH = 10 * 10**18
CAP_INFERENCE = 1
VOTERS = 3                         # token holders besides the genesis holder
VOTER_TOKENS = 1_000_000 * TOKEN
GOV = {"voting_period": 6, "timelock_blocks": 2, "grace_blocks": 100}
MARKET_FEATURES = 16
CLAIM_WAIT = 100                   # seconds
GOOD, BAD = [0, 1, 2, 3], [4, 5, 6, 7]    # active feature indices of two samples

Record = Callable[[str, int], int]          # (op, gas) -> gas; `gas.Samples.add`

ROUND_PARTS = ("open_round", "commit_update", "draw", "reveal_update", "commit_scores", "reveal_scores",
               "finalize_scores", "post_aggregate", "commit_confirm", "reveal_confirm", "finalize_aggregate")
ROUND_WHAT = (f"one training round, {TRAINERS} trainers, scoring committee {COMMITTEE} (confirm quorum "
              f"{CONFIRM_QUORUM}), one update rejected: open_round + {TRAINERS} commit_update + draw + {TRAINERS} "
              f"reveal_update + {COMMITTEE} commit_scores + {COMMITTEE} reveal_scores + finalize_scores + "
              f"post_aggregate + {COMMITTEE} commit_confirm + {COMMITTEE} reveal_confirm + finalize_aggregate; "
              "not counted: the pool's approve, challenges, claims")
PROPOSAL_WHAT = (f"one parameter change: propose + {VOTERS + 1} votes ({VOTERS} for, 1 against) + execute "
                 "(Inference.set_param); no transaction queues it: the timelock is counted in blocks")

OP_NOTES = {
    "training_create_model": "Models.create_model (version 1 of a model, owner = sender)",
    "training_set_capabilities": "Registry.set_capabilities (a trainer declares CAP_TRAINING)",
    "training_open_round": "Training.open_round (pool transferFrom, six deadlines stored)",
    "training_commit_update": "Training.commit_update, one trainer",
    "training_draw_k3": f"Training.draw of a scoring committee of {COMMITTEE} "
                        f"({TRAINERS + VALIDATORS} nodes serve the model)",
    "training_reveal_update": "Training.reveal_update (update hash, trace hash), one trainer",
    "training_commit_scores": "Training.commit_scores, one committee member",
    "training_reveal_scores": f"Training.reveal_scores: one member's {TRAINERS} scores",
    "training_finalize_scores": f"Training.finalize_scores: {TRAINERS} medians of {COMMITTEE}, credits, "
                                "Emission report of the accepted trainers",
    "training_post_aggregate": "Training.post_aggregate (new weights hash and URI), one member",
    "training_commit_confirm": "Training.commit_confirm, one member",
    "training_reveal_confirm": "Training.reveal_confirm, one member",
    "training_finalize_aggregate": "Training.finalize_aggregate: quorum check, version recorded in Models",
    "training_challenge": "Training.challenge of one trainer's update (bond transferFrom)",
    "training_challenge_vote": "Training.vote on a challenge, one committee member",
    "training_resolve_challenge": "Training.resolve_challenge, upheld: trainer slashed, reward forfeited",
    "training_claim": "Training.claim of accumulated credits (trainers, members, the owner's refunds)",
    "training_round": "per round total (see per_task.training_round)",
    "governance_propose": "Governance.propose (snapshot votes and supply read from Token checkpoints)",
    "governance_vote": "Governance.vote (votes at the snapshot from Token checkpoints)",
    "governance_execute": "Governance.execute of a passed proposal: Inference.set_param(commit_window)",
    "governance_cancel": "Governance.cancel by the proposer",
    "governance": "per proposal total (see per_task.governance_proposal)",
    "token_transfer_checkpoint": "Token.transfer between two holders that already hold tokens "
                                 "(a vote checkpoint written for each)",
    "emission_claim_close": "Emission.claim of one finished epoch, the first claim of it (mints its pools)",
    "emission_claim": "Emission.claim of one finished epoch whose pools are already minted",
    "datamarket_add_data": f"DataMarket.add_data, {len(GOOD)} active features, the model agrees (no update)",
    "datamarket_add_data_update": f"DataMarket.add_data, {len(GOOD)} active features, the perceptron updates",
    "datamarket_refund": "DataMarket.refund of a sample the model agrees with (deposit back)",
    "datamarket_report": "DataMarket.report of a sample the model disagrees with (reporter takes its share)",
    "datamarket_take": "DataMarket.take of what is left of a deposit after the claim wait",
}


def _wait(record: Record, op: str, pending: PendingTx) -> Receipt:
    receipt = pending.wait()
    record(op, receipt.gas_used)
    return receipt


class _TrainingWorld:
    """A deployment, its model and nodes, ready for rounds."""

    def __init__(self, backend: Backend, record: Record):
        self.backend = backend
        self.record = record
        params = DeployParams(min_stake=TOKEN, jail_after=1000, training_committee=COMMITTEE,
                              training_quorum=CONFIRM_QUORUM, **GOV)
        genesis = keccak(b"brainnet.bench.gas/train")
        self.dep = deploy(backend, params, {"gas-train": genesis})
        self.params = params
        self.tc = TrainingChain(backend, self.dep)
        self.model_id = self.dep.model_id("gas-train")
        self.owner = self.tc.as_(backend.funder)
        _wait(record, "training_create_model", self.owner.create_model(self.model_id, genesis, "blob://genesis"))
        self.nodes: list[TrainingActor] = []
        for i in range(TRAINERS + VALIDATORS):
            account = Account.from_key(keccak(abi_encode(i) + b"brainnet.bench.gas/train-node"))
            self.owner.signer.transfer_eth(account.address, NODE_ETH)
            self.owner.transfer(account.address, STAKE).wait()
            actor = self.tc.as_(account)
            actor.approve(self.tc.registry.address, STAKE).wait()
            actor.register(STAKE, "", bytes(32), [self.model_id]).wait()
            if i < TRAINERS:
                _wait(record, "training_set_capabilities", actor.set_capabilities(CAP_INFERENCE | CAP_TRAINING))
            self.nodes.append(actor)
        self.trainers = self.nodes[:TRAINERS]
        self.by_address = {a.address: a for a in self.nodes}

    def mine_past(self, block: int) -> None:
        now = self.tc.block_number()
        if now <= block:
            self.backend.mine(block + 1 - now)

    def round(self, r: int) -> dict[str, int]:
        """One round through every phase; returns its gas by part."""
        tc, owner, rec = self.tc, self.owner, self.record
        parts = dict.fromkeys(ROUND_PARTS, 0)

        def step(part: str, pending: PendingTx) -> Receipt:
            receipt = _wait(rec, "training_" + part if part != "draw" else f"training_draw_k{COMMITTEE}", pending)
            parts[part] += receipt.gas_used
            return receipt

        def salt(actor: TrainingActor, what: bytes) -> bytes:
            return keccak(abi_encode(r) + actor.address.encode() + what)

        version = tc.latest(self.model_id)
        owner.approve(tc.training.address, POOL).wait()
        windows = [TRAINERS + 3, TRAINERS + 3, COMMITTEE + 3, COMMITTEE + 3, COMMITTEE + 3, COMMITTEE + 3]
        opened = step("open_round", owner.open_round(self.model_id, version, POOL, THRESHOLD, windows))
        rid = tc.event(opened, "RoundOpened")["round_id"]
        rnd = tc.round(rid)
        updates = {}
        for i, t in enumerate(self.trainers):
            update_hash = keccak(abi_encode(rid, i) + b"brainnet.bench.gas/update")
            trace_hash = keccak(update_hash + b"trace")
            updates[t.address] = (update_hash, trace_hash)
            step("commit_update", t.commit_update(rid, update_commitment(rid, update_hash, trace_hash, t.address,
                                                                         salt(t, b"update"))))
        self.mine_past(rnd.seed_block)
        drawn = step("draw", owner.draw(rid))
        members = [self.by_address[m] for m in tc.event(drawn, "CommitteeDrawn")["members"]]
        self.mine_past(rnd.update_commit_deadline)
        for t in self.trainers:
            step("reveal_update", t.reveal_update(rid, *updates[t.address], salt(t, b"update")))
        self.mine_past(rnd.update_reveal_deadline)
        # every member scores every update; the last trainer's update is poor
        rows = {m.address: [8_000 + 100 * j + 10 * s if s < TRAINERS - 1 else 1_000 + 10 * j
                            for s in range(TRAINERS)] for j, m in enumerate(members)}
        for m in members:
            step("commit_scores", m.commit_scores(rid, scores_commitment(rid, rows[m.address], m.address,
                                                                         salt(m, b"scores"))))
        for m in members:
            step("reveal_scores", m.reveal_scores(rid, rows[m.address], salt(m, b"scores")))
        step("finalize_scores", owner.finalize_scores(rid))
        new_hash = keccak(abi_encode(rid) + b"brainnet.bench.gas/aggregate")
        step("post_aggregate", members[0].post_aggregate(rid, new_hash, f"blob://{new_hash.hex()}"))
        for m in members:
            step("commit_confirm", m.commit_confirm(rid, confirm_commitment(rid, new_hash, m.address,
                                                                            salt(m, b"confirm"))))
        for m in members:
            step("reveal_confirm", m.reveal_confirm(rid, new_hash, salt(m, b"confirm")))
        closed = step("finalize_aggregate", owner.finalize_aggregate(rid))
        assert tc.event(closed, "RoundClosed")["new_version"] == version + 1, f"round {rid} recorded no version"
        # the poor update is challenged, the committee finds it guilty, the trainer is slashed
        bond = self.params.training_challenge_bond
        owner.approve(tc.training.address, bond).wait()
        poor = self.trainers[-1].address
        opened = _wait(rec, "training_challenge", owner.challenge(rid, poor, keccak(b"evidence" + abi_encode(rid))))
        cid = tc.event(opened, "ChallengeOpened")["challenge_id"]
        for m in members:
            _wait(rec, "training_challenge_vote", m.vote(cid, True))
        resolved = _wait(rec, "training_resolve_challenge", owner.resolve_challenge(cid))
        assert tc.event(resolved, "ChallengeResolved")["upheld"], f"challenge {cid} was not upheld"
        return parts

    def claim_all(self) -> None:
        for actor in [self.owner, *self.nodes]:
            if self.tc.claimable(actor.address) > 0:
                _wait(self.record, "training_claim", actor.claim())


def training_rounds(backend: Backend, record: Record, rounds: int) -> tuple[list[dict[str, int]], _TrainingWorld]:
    """`rounds` rounds on a fresh deployment; the gas of each round by part, and the world
    (whose deployment `governance_proposals` reuses)."""
    world = _TrainingWorld(backend, record)
    out = [world.round(r) for r in range(rounds)]
    world.claim_all()
    return out, world


def governance_proposals(backend: Backend, deployment, record: Record, proposals: int) -> list[dict[str, int]]:
    """`proposals` parameter changes through Governance (propose, votes, execute), one
    canceled proposal per change, and holder-to-holder transfers; the gas of each change by part."""
    c = Contracts(backend, deployment)
    boss = c.as_(backend.funder)
    voters = []
    for i in range(VOTERS):
        account = Account.from_key(keccak(abi_encode(i) + b"brainnet.bench.gas/voter"))
        boss.signer.transfer_eth(account.address, NODE_ETH)
        boss.transfer(account.address, VOTER_TOKENS)
        voters.append(c.as_(account))
    spec = lookup("inference.commit_window")
    out = []
    for i in range(proposals):
        sender, receiver = voters[i % VOTERS], voters[(i + 1) % VOTERS]
        record("token_transfer_checkpoint", sender.transfer(receiver.address, TOKEN).gas_used)
        backend.mine(1)                                   # the snapshot is the block before the proposal
        pid, r = boss.propose(c.inference.address, spec.param_id, 30 + i)
        parts = {"propose": record("governance_propose", r.gas_used), "vote": 0}
        for actor, support in [(boss, True), *((v, j < VOTERS - 1) for j, v in enumerate(voters))]:
            parts["vote"] += record("governance_vote", actor.vote(pid, support).gas_used)
        eta = c.governance.functions.proposals(pid).call()[6]
        now = c.block_number()
        if now < eta:
            backend.mine(eta - now)
        r = boss.execute(pid)
        assert any(e.name == "ProposalExecuted" for e in c.decode(r.logs)), f"proposal {pid} not executed"
        parts["execute"] = record("governance_execute", r.gas_used)
        assert c.inference.functions.commit_window().call() == 30 + i
        doomed, r = boss.propose(c.inference.address, spec.param_id, 99)
        record("governance_propose", r.gas_used)
        record("governance_cancel", boss.cancel(doomed).gas_used)
        out.append(parts)
    return out


def emission_claims(backend: Backend, c: Contracts, actors: list, record: Record, limit: int = 20) -> int:
    """Mine past the current epoch; actors claim finished epochs they did work in, one epoch
    per transaction, `limit` claims at most (the bench's run time). Returns the number of claims."""
    e = c.by_name("Emission")
    epoch = e.functions.current_epoch().call()
    end = e.functions.genesis_block().call() + (epoch + 1) * e.functions.epoch_blocks().call()
    now = c.block_number()
    if now < end:
        backend.mine(end - now)
    claims = 0
    closed: set[int] = set()
    for ep in range(epoch + 1):
        for a in actors:
            if claims >= limit:
                return claims
            if e.functions.work(ep, 1, a.address).call() == 0:
                continue
            gas = a.claim_rewards([ep]).gas_used
            record("emission_claim" if ep in closed else "emission_claim_close", gas)
            closed.add(ep)
            claims += 1
    return claims


def advance_time(backend: Backend, seconds: int) -> None:
    """Mine one block `seconds` after the latest one."""
    if backend.name == "embedded":
        latest = backend.w3.eth.get_block("latest")["timestamp"]
        backend.tester.time_travel(latest + seconds)
    else:
        backend.w3.provider.make_request("evm_increaseTime", [seconds])
        backend.mine(1)


def datamarket_rounds(backend: Backend, record: Record, repeats: int) -> None:
    """Deposit, refund, report and take on a fresh DataMarket, `repeats` times (module docstring)."""
    names = ("good", "bad", "fix")
    accounts = {n: Account.from_key(keccak(n.encode() + b"brainnet.bench.gas/market")) for n in names}
    funder = backend.funder
    for a in accounts.values():
        Signer(backend.w3, funder).transfer_eth(a.address, NODE_ETH)
    token = deploy_token(backend, [a.address for a in accounts.values()], [1_000 * TOKEN] * len(names), funder)
    market = deploy_datamarket(backend, token, DataMarketParams(n_features=MARKET_FEATURES, refund_wait=0,
                                                               claim_wait=CLAIM_WAIT), deployer=funder)
    m = {n: MarketAccount(backend, market, token, a) for n, a in accounts.items()}
    for acc in m.values():
        acc.approve()

    def added(receipt: Receipt) -> int:
        ev = m["good"].market.events.DataAdded().process_receipt({"logs": receipt.logs}, errors=DISCARD)[0]["args"]
        record("datamarket_add_data_update" if ev["model_updated"] else "datamarket_add_data", receipt.gas_used)
        return ev["id"]

    for _ in range(repeats):
        advance_time(backend, 1)                      # a deposit needs a second since the last update
        cid = added(m["good"].add_data(GOOD, 0))
        record("datamarket_refund", m["good"].refund(cid, GOOD).gas_used)
        advance_time(backend, 1)
        bad = added(m["bad"].add_data(BAD, 1))        # the model said 0: it updates towards 1
        advance_time(backend, 1)
        fix = added(m["fix"].add_data(BAD, 0))        # ... and back
        record("datamarket_report", m["good"].report(bad, BAD).gas_used)
        advance_time(backend, CLAIM_WAIT)
        record("datamarket_take", m["good"].take(fix).gas_used)


__all__ = ["OP_NOTES", "PROPOSAL_WHAT", "ROUND_PARTS", "ROUND_WHAT", "advance_time", "datamarket_rounds",
           "emission_claims", "governance_proposals", "training_rounds"]
