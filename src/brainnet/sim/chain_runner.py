"""Play the simulated network on the real contracts, and check it against the Monte Carlo.

`ChainRunner` is a `Runner` (see `brainnet.sim.committee`) backed by a chain: anvil (a
real node process) or the embedded py-evm chain. It deploys Token, Registry and Inference
with parameters taken from the `SimConfig`, registers the `Network`'s nodes in index order
with their stakes (so registry index i is the Monte Carlo's node i), and then runs every
task, one after another, with one in-process agent (an `Actor`-like signer) per node:

1. the requester `request`s the task (a funded account; one allowance for every fee);
2. one block is mined so the seed block exists, its hash is read and recorded, and
   `draw` picks the level's committee (read back from the `CommitteeDrawn` event);
3. every member acts on its behaviour, with the bytes `revealed_value` defines: honest,
   wrong, colluding and near-cheat members commit (`protocol.commitment`) then reveal;
   a lazy member commits to nothing and never opens it; late and offline members send
   nothing (the late one wakes up after the window). Commits, then reveals, of a level
   are all put in flight before any receipt is awaited (local nonces per signer); on
   anvil automining is off, so one block holds a level's commits and the next its
   reveals, in draw order (`--order fifo`, checked from the receipts);
4. when somebody did not commit or reveal, blocks are mined past the deadline
   (`anvil_mine` on anvil), and `finalize` ends the level: settled, escalated (back to 2
   with the next level), refunded, or provisional (the requester challenges a wrong
   provisional result when `challenges(cfg, task)` says so, else the window passes and
   `finalize` closes it).

The outcome of each task (`TaskOutcome`) is read from the chain's events: committees from
`CommitteeDrawn`, the final value from `TaskSettled`, slashes from `MemberSlashed`
(dissenters, then no-shows, each in draw order, as `resolve` lists them). The gas of every
receipt of a task (request, draws, commits, reveals, challenge, finalizes) is summed.

A chain's block hashes cannot be chosen, so `crosscheck` replays the Monte Carlo with the
hashes the chain used (`MonteCarloRunner(block_hash=...)`) and compares the two runs task
by task with `compare_outcomes`, and the registry's final stakes, slash counts and jail
flags with the replay's `Network`: a correct mirror gives no mismatch at all.

Slashes always apply on a chain, so `--static` (apply_slashes=False) has no chain run.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from eth_account import Account

from brainnet.chain import AnvilBackend, Contracts, deploy, open_backend
from brainnet.chain.signer import PendingTx, Signer
from brainnet.errors import ConfigError
from brainnet.protocol.commitment import abi_encode, commitment, keccak, near_result, seat_key
from brainnet.protocol.escalation import agree, level_size
from brainnet.sim.committee import (
    CORRECT, REFUNDED, UNSERVED, WRONG, MonteCarloRunner, Network, ProgressFn, RunOutput,
    SimConfig, TaskOutcome, build_network, challenges, compare_outcomes, revealed_value, seed_block_hash,
    summarize, true_value,
)

CHAINS = ("anvil", "embedded")
MODEL_NAME = "sim-model"
MAX_NODES = 1024            # Registry.MAX_NODES
MAX_COMMITTEE = 128         # Inference.MAX_COMMITTEE: members of one level
MAX_MEMBERS = 256           # Inference.MAX_MEMBERS: members of all levels
MAX_LEVELS = 6              # Inference.MAX_LEVELS
NODE_ETH = 100 * 10**18     # gas money of each node
REQUESTER_ETH = 10**6 * 10**18
PRUNE_HISTORY = 64          # anvil keeps the states of this many recent blocks (block hashes are all kept)
DISSENT = "inference: dissent from the final result"
NO_SHOW = "inference: no reveal"


def check_chain_config(cfg: SimConfig, chain: str) -> None:
    """Raise ConfigError (cause and fix) for a config the contracts cannot run as the Monte Carlo does."""
    if chain not in CHAINS:
        raise ConfigError(f"--chain {chain!r}: choose none (Monte Carlo only), anvil or embedded")
    if not cfg.apply_slashes:
        raise ConfigError("--static never applies slashes, but a chain always does: drop --static to run on a chain")
    if cfg.nodes > MAX_NODES:
        raise ConfigError(f"--nodes {cfg.nodes}: the Registry holds at most {MAX_NODES} nodes")
    sizes = [level_size(cfg.committee, lv) for lv in range(cfg.max_levels)]
    if cfg.max_levels > MAX_LEVELS or sizes[-1] > MAX_COMMITTEE or sum(sizes) > MAX_MEMBERS:
        raise ConfigError(f"--committee {cfg.committee} --levels {cfg.max_levels}: level sizes {sizes} exceed the "
                          f"contract's limits ({MAX_LEVELS} levels, {MAX_COMMITTEE} members a level, {MAX_MEMBERS} "
                          "in all); use a smaller --committee or fewer --levels")


def deploy_params(cfg: SimConfig, stakes: list[int], window: int):
    """`DeployParams` that make the contracts play `cfg`: the same K, Q, L, slashing and jail,
    commit and reveal windows of `window` blocks, and a challenge window only when requesters
    challenge."""
    from brainnet.chain import DeployParams

    need = sum(stakes) + cfg.tasks * (cfg.fee + cfg.bond)
    return DeployParams(
        supply=max(DeployParams().supply, 2 * need), min_stake=cfg.min_stake, jail_after=cfg.jail_after,
        committee_size=cfg.committee, quorum=cfg.q, commit_window=window, reveal_window=window,
        slash_bps=cfg.slash_bps, min_fee=0, max_levels=cfg.max_levels,
        challenge_window=4 if cfg.challenge_wrong > 0 else 0, challenge_bond=cfg.bond,
    )


# calls are encoded here (checked against web3's encoder once per run): draw, finalize and
# challenge take one static argument; a commit or reveal is a batch of one
SIGNATURES = {
    "draw": "draw(uint256)",
    "finalize": "finalize(uint256)",
    "challenge": "challenge(uint256)",
    "commit": "commit_many(uint256[],bytes32[])",
    "reveal": "reveal_many(uint256[],bytes32[],bytes32[],bytes32[],uint256[],bytes32[])",
}
SELECTORS = {name: keccak(sig.encode())[:4] for name, sig in SIGNATURES.items()}


def encode_call(name: str, *args: int | bytes | list) -> bytes:
    """Calldata of an Inference call: static arguments as they are, lists as dynamic arrays."""
    if not any(isinstance(a, list) for a in args):
        return SELECTORS[name] + abi_encode(*args)
    heads, tails, offset = [], b"", 32 * len(args)
    for arr in args:
        heads.append(offset + len(tails))
        tails += abi_encode(len(arr), *arr)
    return SELECTORS[name] + abi_encode(*heads) + tails


@dataclass
class ChainStats:
    setup_s: float = 0.0
    tasks_s: float = 0.0
    txs: int = 0                      # transactions of the tasks (setup excluded)
    setup_txs: int = 0
    blocks_mined: int = 0             # blocks mined on purpose (transaction batches, seed blocks, deadlines)
    max_draw_gas: int = 0
    max_finalize_gas: int = 0
    gas_by_final_level: dict[int, list[int]] = field(default_factory=dict)


@dataclass
class Mined:
    """What the runner needs of a receipt."""
    block: int
    index: int                        # position in its block
    gas_used: int
    logs: list
    ok: bool
    formatted: bool                   # logs already in web3's format (else raw JSON-RPC)


class ChainRunner:
    """A `Runner` that plays every task on real contracts (see the module docstring).

    `chain`: "anvil" (starts a local anvil and stops it after the run) or "embedded".
    On anvil, automining is off and the runner mines a block per batch of transactions (a
    level's commits in one block, its reveals in the next, in arrival order: `--order fifo`);
    the embedded chain mines every transaction in a block of its own, so its windows are as
    wide as the largest level.

    After `run`: `block_hashes[(task_id, level)]` holds the hash of the block that seeded
    each level that was drawn, `stats` the transaction counts and timings, `params` the
    deployment parameters and `registry_state` the registry's (stake, slashes, jailed) of
    every node at the end."""

    def __init__(self, chain: str = "anvil"):
        if chain not in CHAINS:
            raise ConfigError(f"--chain {chain!r}: choose anvil or embedded")
        self.chain = chain
        self.batch = chain == "anvil"
        self.block_hashes: dict[tuple[int, int], bytes] = {}
        self.stats = ChainStats()
        self.registry_state: list[tuple[int, int, bool]] = []
        self.params = None

    # ------------------------------------------------------------ transactions and blocks
    def _send(self, signer, fn, gas: int, label: str) -> PendingTx:
        self._txs += 1
        return signer.send_nowait({"to": fn.address, "data": fn._encode_transaction_data()}, gas=gas, label=label)

    def _call(self, signer, name: str, *args, gas: int) -> PendingTx:
        """An Inference call, encoded without web3's ABI machinery."""
        self._txs += 1
        return signer.send_nowait({"to": self.inference, "data": encode_call(name, *args)}, gas=gas, label=name)

    def _mine(self, blocks: int) -> None:
        if blocks > 0:
            self.backend.mine(blocks)
            self.stats.blocks_mined += blocks

    def _receipt(self, p: PendingTx) -> Mined | None:
        """The receipt of `p` (None: not mined yet); a reverted transaction raises ContractRevert."""
        if self.batch:   # anvil: the raw JSON-RPC receipt, skipping web3's formatters
            raw = self.backend.w3.provider.make_request("eth_getTransactionReceipt", [p.tx_hash.to_0x_hex()])
            raw = raw.get("result")
            if raw is None:
                return None
            mined = Mined(int(raw["blockNumber"], 16), int(raw["transactionIndex"], 16), int(raw["gasUsed"], 16),
                          raw["logs"], int(raw["status"], 16) == 1, formatted=False)
        else:
            raw = self.backend.w3.eth.get_transaction_receipt(p.tx_hash)
            mined = Mined(raw["blockNumber"], raw["transactionIndex"], raw["gasUsed"], list(raw["logs"]),
                          raw["status"] == 1, formatted=True)
        if not mined.ok:
            p.wait()                                        # raises ContractRevert with the reason
        return mined

    def _block(self, pending: list[PendingTx], extra: int = 0) -> list[Mined]:
        """Get `pending` mined (anvil: in the next block, or the next few when they exceed its gas
        limit), then mine `extra` empty blocks; raise ContractRevert for a reverted transaction."""
        if self.batch and pending:
            self._mine(1 + extra)          # one call: the transactions' block, then the empty ones
            extra = 0
        out = []
        for p in pending:
            mined = self._receipt(p)
            while mined is None:
                self._mine(1)
                mined = self._receipt(p)
            out.append(mined)
        self._mine(extra)
        return out

    def _events(self, mined: Mined) -> list:
        return self.c.decode(mined.logs if mined.formatted else [self._format_log(log) for log in mined.logs])

    def _format_log(self, log: dict) -> dict:
        from hexbytes import HexBytes

        return {"address": self.backend.w3.to_checksum_address(log["address"]),
                "topics": [HexBytes(t) for t in log["topics"]], "data": HexBytes(log["data"]),
                "blockNumber": int(log["blockNumber"], 16), "transactionHash": HexBytes(log["transactionHash"]),
                "logIndex": int(log["logIndex"], 16), "transactionIndex": int(log["transactionIndex"], 16),
                "blockHash": HexBytes(log["blockHash"]), "removed": False}

    def _mine_to(self, block: int) -> None:
        """Mine empty blocks until the head is at least `block`: the next transaction lands past it."""
        head = self.c.block_number()
        self._mine(block - head)

    def _check_encoding(self) -> None:
        f = self.c.inference.functions
        word = keccak(b"x")
        for name, call, args in (("draw", f.draw(7), (7,)), ("finalize", f.finalize(7), (7,)),
                                 ("challenge", f.challenge(7), (7,)),
                                 ("commit", f.commit_many([7], [word]), ([7], [word])),
                                 ("reveal", f.reveal_many([7], [word], [word], [word], [], []),
                                  ([7], [word], [word], [word], [], []))):
            if bytes.fromhex(call._encode_transaction_data()[2:]) != encode_call(name, *args):
                raise ConfigError(f"Inference.{name} changed its signature; update chain_runner.SIGNATURES")

    # ------------------------------------------------------------ the run
    def run(self, cfg: SimConfig, network: Network, progress: ProgressFn | None = None) -> RunOutput:
        check_chain_config(cfg, self.chain)
        t0 = time.perf_counter()
        self.backend = AnvilBackend(order="fifo", prune_history=PRUNE_HISTORY) if self.chain == "anvil" else open_backend(self.chain)
        try:
            return self._run(cfg, network, progress, t0)
        finally:
            self.backend.close()

    def _run(self, cfg: SimConfig, network: Network, progress: ProgressFn | None, t0: float) -> RunOutput:
        weights = keccak(b"brainnet.sim/model")
        spec = weights if cfg.mode == "exact" else (weights, cfg.tolerance)
        biggest = level_size(cfg.committee, cfg.max_levels - 1)
        window = 4 if self.batch else biggest + 16     # blocks: a batch is one block, else one block a transaction
        self.params = deploy_params(cfg, network.stakes, window)
        deployment = deploy(self.backend, self.params, {MODEL_NAME: spec})
        c = self.c = Contracts(self.backend, deployment)
        w3 = self.backend.w3
        self._check_encoding()
        if self.batch:
            w3.provider.make_request("evm_setAutomine", [False])
        # draw and finalize of the largest levels loop over every member: give them the block's gas
        self.big_gas = int(w3.eth.get_block("latest")["gasLimit"]) - 100_000
        model = deployment.model_id(MODEL_NAME)
        registry, self.inference = deployment.addresses["Registry"], deployment.addresses["Inference"]
        self._txs = 0
        boss = Signer(w3, self.backend.funder)
        accounts = [Account.from_key(keccak(abi_encode(cfg.seed, i) + b"brainnet.sim/node")) for i in range(cfg.nodes)]
        requester = Account.from_key(keccak(abi_encode(cfg.seed) + b"brainnet.sim/requester"))
        pending = []
        for acct, stake in zip(accounts, network.stakes):
            self._txs += 1
            pending.append(boss.send_nowait({"to": acct.address, "value": NODE_ETH}, gas=21_000, label="eth"))
            pending.append(self._send(boss, c.token.functions.transfer(acct.address, stake), 200_000, "transfer"))
        self._txs += 1
        pending.append(boss.send_nowait({"to": requester.address, "value": REQUESTER_ETH}, gas=21_000, label="eth"))
        budget = cfg.tasks * (cfg.fee + cfg.bond)
        pending.append(self._send(boss, c.token.functions.transfer(requester.address, budget), 200_000, "transfer"))
        self._block(pending)
        signers = [Signer(w3, a) for a in accounts]
        req = Signer(w3, requester)
        pending = [self._send(s, c.token.functions.approve(registry, stake), 200_000, "approve")
                   for s, stake in zip(signers, network.stakes)]
        pending.append(self._send(req, c.token.functions.approve(self.inference, budget), 200_000, "approve"))
        self._block(pending)
        # registry indices follow the order registrations are mined: arrival order (fifo) on anvil
        pending = [self._send(s, c.registry.functions.register(stake, "", bytes(32), [model]), 1_500_000, "register")
                   for s, stake in zip(signers, network.stakes)]
        index_of: dict[str, int] = {}
        for i, mined in enumerate(self._block(pending)):
            ev = next(e for e in self._events(mined) if e.name == "NodeRegistered")
            if ev.args["index"] != i + 1:
                raise ConfigError(f"node {i} registered as index {ev.args['index']}, not {i + 1}")
            index_of[signers[i].address] = i + 1
        self.stats.setup_txs = self._txs
        self._txs = 0
        self.stats.setup_s = time.perf_counter() - t0

        t1 = time.perf_counter()
        outcomes: list[TaskOutcome] = []
        gas_per_task: list[int] = []
        every = max(1, cfg.tasks // 200)
        for task_id in range(1, cfg.tasks + 1):
            outcome, gas = self._run_task(cfg, network, task_id, model, signers, req, index_of)
            outcomes.append(outcome)
            if outcome.status != UNSERVED:
                gas_per_task.append(gas)
                self.stats.gas_by_final_level.setdefault(outcome.level, []).append(gas)
            if progress is not None and (task_id % every == 0 or task_id == cfg.tasks):
                progress(task_id)
        self.stats.tasks_s = time.perf_counter() - t1
        self.stats.txs = self._txs

        # the registry is the truth at the end: read every node back
        self.registry_state = []
        for s in signers:
            n = c.node(s.address)
            self.registry_state.append((n.stake, n.slashes, n.jailed))
        chain_net = Network(stakes=[st for st, _, _ in self.registry_state], malicious=list(network.malicious),
                            min_stake=cfg.min_stake, jail_after=cfg.jail_after,
                            slashes=[sl for _, sl, _ in self.registry_state],
                            jailed=[j for _, _, j in self.registry_state])
        return RunOutput(outcomes, chain_net, gas_per_task, backend=self.chain)

    def _run_task(self, cfg: SimConfig, net: Network, task_id: int, model: bytes, signers, req,
                  index_of: dict[str, int]) -> tuple[TaskOutcome, int]:
        c = self.c
        k = cfg.committee
        if net.active_count < k:
            # `request` would revert ("not enough active nodes"); nodes never come back, so every
            # later task is unserved too and the chain's task ids stay equal to the simulation's
            on_chain = c.registry.functions.model_nodes(model).call()
            if on_chain >= k:
                raise ConfigError(f"task {task_id}: the chain has {on_chain} active nodes, the mirror {net.active_count}")
            return TaskOutcome(task_id, UNSERVED, -1, None, (), ()), 0
        truth = true_value(cfg.seed, task_id)
        near = cfg.mode == "near"
        gas = 0
        fn = c.inference.functions.request(model, keccak(abi_encode(cfg.seed, task_id)), "", cfg.fee)
        mined = self._block([self._send(req, fn, 800_000, "request")], extra=1)[0]   # + the seed block
        gas += mined.gas_used
        ev = next(e for e in self._events(mined) if e.name == "TaskRequested")
        if ev.args["task_id"] != task_id:
            raise ConfigError(f"the chain numbered task {task_id} as {ev.args['task_id']}")
        seed_block = ev.args["seed_block"]
        committees: list[tuple[int, ...]] = []
        challenged = False
        slash_events: list[tuple[int, str, int]] = []
        final: bytes | None = None
        level = 0
        while True:
            self._mine_to(seed_block)
            self.block_hashes[(task_id, level)] = c.block_hash(seed_block)
            mined = self._block([self._call(req, "draw", task_id, gas=self.big_gas)])[0]
            gas += mined.gas_used
            self.stats.max_draw_gas = max(self.stats.max_draw_gas, mined.gas_used)
            drawn = next(e for e in self._events(mined) if e.name == "CommitteeDrawn")
            if drawn.args["level"] != level:
                raise ConfigError(f"task {task_id}: drew level {drawn.args['level']}, expected {level}")
            members = [index_of[m] for m in drawn.args["members"]]
            committees.append(tuple(members))
            size = len(members)

            # commits: every member that acts, all in flight at once
            plan = []            # (signer, value to reveal, blob, salt, seat key), in draw order
            pending = []
            for m in members:
                s = signers[m - 1]
                behaviour = cfg.behaviour if net.malicious[m - 1] else "honest"
                if behaviour in ("offline", "late"):
                    continue                  # offline: never answers; late: wakes up after the commit window
                value = revealed_value(cfg, task_id, m, net.malicious[m - 1], truth)
                salt = keccak(abi_encode(cfg.seed, task_id, level, m) + b"brainnet.sim/salt")
                key = seat_key(task_id, level, members.index(m))
                if behaviour == "lazy" or value is None:
                    # lazy: commits to nothing in particular, so a copied reveal could never open it
                    committed = keccak(abi_encode(cfg.seed, task_id, level, m) + b"brainnet.sim/lazy")
                else:
                    blob = keccak(b"brainnet.sim/blob" + value)
                    committed = commitment(task_id, near_result(value, blob) if near else value, s.address, salt)
                    plan.append((s, value, blob, salt, key))
                pending.append(self._call(s, "commit", [key], [committed], gas=200_000))
            gas += sum(x.gas_used for x in self._block(pending))
            if len(pending) < size:
                self._mine_to(drawn.args["commit_deadline"])
            # reveals, in draw order
            pending = [self._call(s, "reveal", [key], [value], [blob] if near else [], [salt], [], [],
                                  gas=2_000_000 if near else 400_000)
                       for s, value, blob, salt, key in plan]
            receipts = self._block(pending)
            gas += sum(x.gas_used for x in receipts)
            order = [(x.block, x.index) for x in receipts]
            if order != sorted(order):     # the Monte Carlo tallies reveals in draw order: so must the chain
                raise ConfigError(f"task {task_id} level {level}: reveals were mined out of draw order")
            if len(pending) < size:
                self._mine_to(drawn.args["reveal_deadline"])

            while True:          # finalize (twice when the level is provisional and nobody challenges)
                mined = self._block([self._call(req, "finalize", task_id, gas=self.big_gas)])[0]
                gas += mined.gas_used
                self.stats.max_finalize_gas = max(self.stats.max_finalize_gas, mined.gas_used)
                events = self._events(mined)
                names = {e.name: e for e in events}
                slash_events += [(index_of[e.args["member"]], e.args["reason"], e.args["amount"])
                                 for e in events if e.name == "MemberSlashed"]
                if "TaskProvisional" not in names:
                    break
                prov = names["TaskProvisional"]
                value = bytes(prov.args["result"])
                can = (c.registry.functions.available(model, c.members(task_id)).call()
                       >= level_size(k, level + 1))
                if can and not agree(value, truth, cfg.mode_id, cfg.tolerance) and challenges(cfg, task_id):
                    mined = self._block([self._call(req, "challenge", task_id, gas=self.big_gas)])[0]
                    gas += mined.gas_used
                    names = {e.name: e for e in self._events(mined)}
                    challenged = True
                    break
                self._mine_to(prov.args["challenge_deadline"])
            if "TaskEscalated" in names:
                level += 1
                seed_block = names["TaskEscalated"].args["seed_block"]
                continue
            if "TaskSettled" in names:
                final = bytes(names["TaskSettled"].args["result"])
            elif "TaskRefunded" not in names:
                raise ConfigError(f"task {task_id}: finalize emitted none of the expected events: {sorted(names)}")
            break

        dissenters = [m for m, reason, _ in slash_events if reason == DISSENT]
        no_shows = [m for m, reason, _ in slash_events if reason == NO_SHOW]
        if len(dissenters) + len(no_shows) != len(slash_events):
            raise ConfigError(f"task {task_id}: unexpected slash reasons {[x[1] for x in slash_events]}")
        # keep the runner's Network in step with the chain (the rule of `Network.slash`)
        for m, _, amount in slash_events:
            taken = net.slash(m, cfg.slash_bps)
            if taken != amount:
                raise ConfigError(f"task {task_id}: the chain slashed node {m} by {amount}, the mirror by {taken}")
        if final is None:
            status = REFUNDED
        else:
            status = CORRECT if agree(final, truth, cfg.mode_id, cfg.tolerance) else WRONG
        return TaskOutcome(task_id, status, len(committees) - 1, final, tuple(committees),
                           tuple(dissenters + no_shows), challenged), gas


# ---------------------------------------------------------------- cross-validation

SUMMARY_KEYS = ("tasks", "wrong_accepted", "escalations", "max_level_reached", "honest_slashed",
                "malicious_slashed", "refunded")


@dataclass
class CrossCheck:
    outcomes: list[TaskOutcome]            # the chain's
    replay: list[TaskOutcome]              # the Monte Carlo's, with the chain's block hashes
    mismatches: list[dict]
    summary: dict


def crosscheck(cfg: SimConfig, chain: str = "anvil", progress: ProgressFn | None = None) -> CrossCheck:
    """Run `cfg` on a chain, replay it in the Monte Carlo with the chain's block hashes, compare.

    The summary is `summarize` of the chain run (`mean_gas_per_task` from its receipts) plus
    `mismatches` (tasks whose outcome differs, must be 0), `registry_mismatches` (nodes whose
    final stake, slash count or jail flag differ from the replay's network, must be 0), the
    replay's headline numbers and the chain run's transaction counts and timings."""
    cfg.validate()
    check_chain_config(cfg, chain)
    network = build_network(cfg)
    initial = Network(stakes=list(network.stakes), malicious=list(network.malicious),
                      min_stake=cfg.min_stake, jail_after=cfg.jail_after)
    runner = ChainRunner(chain)
    start = time.perf_counter()
    out = runner.run(cfg, network, progress)
    elapsed = time.perf_counter() - start
    summary = summarize(cfg, initial, out, elapsed)

    hashes = runner.block_hashes
    replay_net = build_network(cfg)
    t0 = time.perf_counter()
    replay = MonteCarloRunner(
        block_hash=lambda t, lv: hashes.get((t, lv)) or seed_block_hash(cfg.seed, t, lv)).run(cfg, replay_net)
    replay_s = time.perf_counter() - t0
    mismatches = compare_outcomes(replay.outcomes, out.outcomes)
    registry_mismatches = [
        i + 1 for i, (stake, slashes, jailed) in enumerate(runner.registry_state)
        if (stake, slashes, jailed) != (replay_net.stakes[i], replay_net.slashes[i], replay_net.jailed[i])
    ]
    replay_summary = summarize(cfg, initial, replay, replay_s)
    st = runner.stats
    summary.update({
        "mismatches": len(mismatches),
        "mismatch_details": mismatches[:20],
        "registry_mismatches": len(registry_mismatches),
        "montecarlo_replay": {k: replay_summary[k] for k in SUMMARY_KEYS + ("tasks_escalated", "tasks_by_final_level")},
        "chain": {
            "backend": chain,
            "setup_s": round(st.setup_s, 3),
            "tasks_s": round(st.tasks_s, 3),
            "setup_txs": st.setup_txs,
            "task_txs": st.txs,
            "tx_per_s": round(st.txs / st.tasks_s, 1) if st.tasks_s else None,
            "blocks_mined": st.blocks_mined,
            "deploy_params": {k: getattr(runner.params, k) for k in (
                "committee_size", "quorum", "max_levels", "commit_window", "reveal_window", "challenge_window",
                "slash_bps", "jail_after")},
            "levels_drawn": len(hashes),
            "max_draw_gas": st.max_draw_gas,
            "max_finalize_gas": st.max_finalize_gas,
            "mean_gas_by_final_level": {str(lv): round(sum(g) / len(g)) for lv, g in sorted(st.gas_by_final_level.items())},
            # what the replay used: MonteCarloRunner(block_hash=lambda t, lv: hashes[t, lv]) reproduces every task
            "seed_block_hashes": [[t, lv, "0x" + h.hex()] for (t, lv), h in sorted(hashes.items())],
        },
    })
    return CrossCheck(out.outcomes, replay.outcomes, mismatches, summary)


__all__ = ["CHAINS", "ChainRunner", "CrossCheck", "check_chain_config", "crosscheck", "deploy_params"]
