"""Gas per operation and per settled task, from real receipts (`brainnet bench gas`).

Every number here is the `gasUsed` of a mined transaction's receipt, on the embedded py-evm
chain and on a local anvil, in one run, side by side. Per chain, three deployments:

- `k5`: K = 5, Q = 3, two levels, no challenge window. Nodes register (exact + near model),
  approve, add stake; `tasks` unanimous honest exact tasks (request, draw, K commits, K
  reveals, finalize: the per-task total at K = 5); `tasks` near tasks (reveal_many with blob hashes); and
  `tasks` escalating tasks: one member of level 0 dissents, so finalize escalates, level 1
  (2K+1 = 11 members) is drawn, one of them dissents too, and the last level's finalize
  settles and slashes both dissenters. Members then claim their rewards.
- `k11`: K = 11, Q = 6, one level, no challenge window: `tasks` unanimous tasks (the per-task
  total at K = 11).
- `challenge`: K = 5 with a challenge window: the unanimous result becomes provisional and
  the requester challenges it (the challenge escalates the task).

Batched (`per_task.*.batched`): `batch_tasks` tasks in flight at once on the k5 and k11
deployments (and near tasks on k5), settled with the batched calls, each batch taking every
task that is due, as a node does: one `deposit` of all the fees and one `request_many` (the
requester's inputs, paid from that deposit), one `draw_many`, one `commit_many` (a Merkle root) per member for all of its tasks
and one `reveal_many` of that whole batch (no proofs: the contract rebuilds the root from the
revealed leaves), one `finalize_many` (members' seats closed, earnings credited and work
reported once per batch). The per-task figure is the gas of all those transactions over the
tasks settled. `k11_batched_chunk16` repeats the K = 11 run with requests, draws and
finalizes in chunks of 16 tasks.

Training rounds, governance proposals and emission claims (`bench/gas_rounds.py`): a training
deployment (5 trainers, 3 more nodes, scoring committee 3) runs `tasks` rounds through every
phase, a proposal challenge included, and its Governance passes `tasks` parameter changes;
nodes of the k5 deployment claim their epochs' emission. Per-op rows are named `training_*`,
`governance_*`, `emission_*`; `per_op.training_round` / `per_op.governance` (and
`per_task.training_round` / `per_task.governance_proposal`, with their shape) are the totals
per round and per parameter change. A DataMarket adds `datamarket_*` rows (deposit, refund,
report, take).
"""
from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from eth_account import Account

from brainnet.chain import TOKEN, Contracts, DeployParams, deploy, open_backend
from brainnet.chain.backends import Backend
from brainnet.chain.contracts import Actor
from brainnet.bench import gas_rounds
from brainnet.protocol.commitment import abi_encode, commitment, keccak, near_result, seat_key, task_of

CHAINS = ("embedded", "anvil")
NODE_ETH = 10 * 10**18
STAKE = 1_000 * TOKEN
EXTRA_STAKE = 100 * TOKEN
FEE = 10 * TOKEN

# BRAIN (arXiv 2305.04062), published gas figures
BRAIN_REFERENCE = {
    "source": "BRAIN, arXiv 2305.04062 (published figures)",
    "commit": 45_700,
    "reveal": 47_400,
    "reveal_note": "reveal with hashed inputs",
    "priority_queue_push": 91_700,
    "priority_queue_pop": 100_900,
    "onchain_median": 53_000,
    "ecvrf_verify": 1_640_000,
    "per_task_k11": 1_000_000,
    "per_task_k11_note": "BRAIN's design, ≈1.0M at K = 11 = 11 × (45.7k + 47.4k) + request/finalize",
    "per_task_k11_commit_reveal_part": 11 * (45_700 + 47_400),
}

BATCHED_WHAT = ("{n} tasks in flight: a deposit of all fees + request_many paid from it + draw_many (chunks of {chunk}) + per member one "
                "commit_many (Merkle root) and one reveal_many of that whole batch (no proofs) + finalize_many "
                "(chunks of {chunk}); gas of all these txs / tasks settled")
GOAL_K11 = 500_000

ProgressFn = Callable[[str], None]


@dataclass
class Samples:
    per_op: dict[str, list[int]] = field(default_factory=dict)
    per_task: dict[str, list[int]] = field(default_factory=dict)
    breakdown: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    txs: int = 0

    def add(self, op: str, gas: int) -> int:
        self.per_op.setdefault(op, []).append(gas)
        self.txs += 1
        return gas


@dataclass
class Deployed:
    backend: Backend
    c: Contracts
    boss: Actor
    nodes: dict[str, Actor]
    exact: bytes
    near: bytes | None
    k: int


def _setup(backend: Backend, s: Samples, params: DeployParams, n_nodes: int, tag: str,
           near: bool = False) -> Deployed:
    """Deploy, fund and register `n_nodes` nodes (recording approve/transfer/register gas)."""
    weights = keccak(b"brainnet.bench.gas/model")
    models: dict = {"gas-exact": weights}
    if near:
        models["gas-near"] = (keccak(b"brainnet.bench.gas/near"), 8)
    dep = deploy(backend, params, models)
    c = Contracts(backend, dep)
    boss = c.as_(backend.funder)
    exact = dep.model_id("gas-exact")
    near_id = dep.model_id("gas-near") if near else None
    accounts = [Account.from_key(keccak(abi_encode(i) + tag.encode() + b"brainnet.bench.gas/node"))
                for i in range(n_nodes)]
    for acct in accounts:
        boss.signer.transfer_eth(acct.address, NODE_ETH)
        s.add("transfer", boss.transfer(acct.address, STAKE + EXTRA_STAKE).gas_used)
    budget = 10**6 * TOKEN
    s.add("approve", boss.approve(dep.addresses["Inference"], budget).gas_used)
    nodes: dict[str, Actor] = {}
    model_ids = [exact] + ([near_id] if near else [])
    for acct in accounts:
        a = c.as_(acct)
        s.add("approve", a.approve(dep.addresses["Registry"], STAKE + EXTRA_STAKE).gas_used)
        s.add("register", a.register(STAKE, "", bytes(32), model_ids).gas_used)
        nodes[a.address] = a
    return Deployed(backend, c, boss, nodes, exact, near_id, params.committee_size)


def _drawn(d: Deployed, receipt) -> dict:
    return next(e for e in d.c.decode(receipt.logs) if e.name == "CommitteeDrawn").args


def _names(d: Deployed, receipt) -> dict:
    return {e.name: e.args for e in d.c.decode(receipt.logs)}


def _level(d: Deployed, s: Samples, task_id: int, members: list[str], draw_op: str, level: int,
           near: bool = False, dissent: int = 0) -> dict[str, int]:
    """All `members` commit, then all reveal; the first `dissent` reveal a different value."""
    gas = {"commit": 0, "reveal": 0}
    truth = keccak(abi_encode(task_id) + b"brainnet.bench.gas/result")
    plan = []
    for i, m in enumerate(members):
        a = d.nodes[m]
        value = keccak(truth + b"wrong") if i < dissent else truth
        salt = keccak(abi_encode(task_id, level, i) + b"brainnet.bench.gas/salt")
        blob = keccak(b"blob" + value)
        committed = commitment(task_id, near_result(value, blob) if near else value, m, salt)
        key = seat_key(task_id, level, i)
        gas["commit"] += s.add("commit", a.commit(key, committed).gas_used)
        plan.append((a, value, blob, salt, key))
    for a, value, blob, salt, key in plan:
        if near:
            gas["reveal"] += s.add("reveal_near", a.reveal_near(key, value, blob, salt).gas_used)
        else:
            gas["reveal"] += s.add("reveal", a.reveal(key, value, salt).gas_used)
    return gas


def _task(d: Deployed, s: Samples, kind: str) -> int:
    """One task from request to its end; returns its total gas. `kind`: settle | near | escalate | challenge."""
    near = kind == "near"
    model = d.near if near else d.exact
    k = d.k
    task_id, r = d.boss.request(model, keccak(abi_encode(time.perf_counter_ns()) + b"input"), "", FEE)
    parts = {"request": s.add("request", r.gas_used)}
    d.backend.mine(1)                         # the seed block
    r = d.boss.draw(task_id)
    parts["draw"] = s.add(f"draw_k{k}", r.gas_used)
    members = list(_drawn(d, r)["members"])
    g = _level(d, s, task_id, members, f"draw_k{k}", 0, near=near, dissent=1 if kind == "escalate" else 0)
    parts.update(g)
    r = d.boss.finalize(task_id)
    names = _names(d, r)
    if kind in ("settle", "near"):
        assert "TaskSettled" in names, f"unanimous task {task_id} did not settle: {sorted(names)}"
        parts["finalize"] = s.add(f"finalize_settle_k{k}" + ("_near" if near else ""), r.gas_used)
        s.breakdown.setdefault(f"k{k}" if kind == "settle" else f"k{k}_near", {})
        for key, v in parts.items():
            s.breakdown[f"k{k}" if kind == "settle" else f"k{k}_near"].setdefault(key, []).append(v)
        total = sum(parts.values())
        s.per_task.setdefault(f"k{k}" if kind == "settle" else f"k{k}_near", []).append(total)
        return total
    if kind == "challenge":
        assert "TaskProvisional" in names, f"task {task_id} not provisional: {sorted(names)}"
        s.add("finalize_provisional", r.gas_used)
        r = d.boss.challenge(task_id)
        assert "TaskChallenged" in _names(d, r)
        s.add("challenge", r.gas_used)
        return 0
    # escalate: level 0 had one dissenter
    assert "TaskEscalated" in names, f"task {task_id} did not escalate: {sorted(names)}"
    esc_finalize = s.add("finalize_escalate", r.gas_used)
    d.backend.mine(1)
    r = d.boss.draw(task_id)
    esc_draw = s.add("draw_level1", r.gas_used)
    s.add("escalation", esc_finalize + esc_draw)
    members = list(_drawn(d, r)["members"])
    _level(d, s, task_id, members, "draw_level1", 1, dissent=1)
    r = d.boss.finalize(task_id)
    names = _names(d, r)
    slashed = sum(1 for e in d.c.decode(r.logs) if e.name == "MemberSlashed")
    assert "TaskSettled" in names and slashed == 2, f"task {task_id}: {sorted(names)}, {slashed} slashes"
    s.add("finalize_settle_slash2", r.gas_used)
    return 0


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _batched(d: Deployed, s: Samples, n_tasks: int, key: str, near: bool = False,
             chunk: int | None = None) -> None:
    """`n_tasks` tasks in flight at once, settled with the batched calls: `request_many`,
    `draw_many` and `finalize_many` in chunks of `chunk` (default: all the tasks), every member
    one `commit_many` and one `reveal_many` for all its tasks.
    Records the gas of every batch and its share per task; the per-task total is the sum of
    all these transactions divided by the tasks settled."""
    model = d.near if near else d.exact
    chunk = chunk or n_tasks
    tag = "" if chunk == n_tasks else f"_chunk{chunk}"      # per-op rows of a chunked run are its own
    parts = {"request": 0, "draw": 0, "commit": 0, "reveal": 0, "finalize": 0}
    # the requester prepays all the fees (Inference.deposit), so settlements credit the dust of
    # divided fees to its balance instead of sending it back; that transaction is counted in
    # the requests' share
    parts["request"] += s.add("deposit" + tag, d.boss.deposit(FEE * n_tasks).gas_used)
    tids = []
    for group in _chunks(list(range(n_tasks)), chunk):
        hashes = [keccak(abi_encode(time.perf_counter_ns(), i) + b"input") for i in group]
        ids, r = d.boss.request_many(model, hashes, "", FEE)
        parts["request"] += s.add("request_many" + tag, r.gas_used)
        s.per_op.setdefault("request_batch_per_task" + tag, []).append(r.gas_used // len(group))
        tids += ids
    d.backend.mine(1)
    duties: dict[str, list[int]] = {}
    for group in _chunks(tids, chunk):
        r = d.boss.draw_many(group)
        parts["draw"] += s.add(f"draw_many_k{d.k}" + tag, r.gas_used)
        s.per_op.setdefault(f"draw_batch_per_task_k{d.k}" + tag, []).append(r.gas_used // len(group))
        drawn = [e.args for e in d.c.decode(r.logs) if e.name == "CommitteeDrawn"]
        assert len(drawn) == len(group), f"draw_many drew {len(drawn)} of {len(group)}"
        for ev in drawn:
            for position, m in enumerate(ev["members"]):
                duties.setdefault(m, []).append(seat_key(ev["task_id"], 0, position))
    plans = {}
    for m, seats in duties.items():
        rows = []
        for seat in seats:
            tid = task_of(seat)
            value = keccak(abi_encode(tid) + b"brainnet.bench.gas/result")
            salt = keccak(abi_encode(tid, 0) + m.encode() + b"brainnet.bench.gas/salt")
            blob = keccak(b"blob" + value)
            rows.append((seat, value, blob, salt, commitment(tid, near_result(value, blob) if near else value, m, salt)))
        plans[m] = rows
        r = d.nodes[m].commit_many([x[0] for x in rows], [x[4] for x in rows])
        parts["commit"] += s.add("commit_many" + tag, r.gas_used)
        s.per_op.setdefault("commit_batch_per_task" + tag, []).append(r.gas_used // len(rows))
        s.per_op.setdefault("batch_size" + tag, []).append(len(rows))
    for m, rows in plans.items():
        # each member reveals its whole commit batch at once: no Merkle proofs (the contract
        # rebuilds the root from the revealed leaves), as a node does when its batch is due together
        keys = [x[0] for x in rows]
        if near:
            r = d.nodes[m].reveal_many(keys, [x[1] for x in rows], [x[3] for x in rows],
                                       blob_hashes=[x[2] for x in rows])
            op = "reveal_near"
        else:
            r = d.nodes[m].reveal_many(keys, [x[1] for x in rows], [x[3] for x in rows])
            op = "reveal"
        parts["reveal"] += s.add(f"{op}_many" + tag, r.gas_used)
        s.per_op.setdefault(f"{op}_batch_per_task" + tag, []).append(r.gas_used // len(rows))
    settled = 0
    for group in _chunks(tids, chunk):
        r = d.boss.finalize_many(group)
        parts["finalize"] += s.add(f"finalize_many_k{d.k}" + tag, r.gas_used)
        s.per_op.setdefault(f"finalize_batch_per_task_k{d.k}" + tag, []).append(r.gas_used // len(group))
        settled += sum(1 for e in d.c.decode(r.logs) if e.name == "TaskSettled")
    assert settled == n_tasks, f"batched: {settled} of {n_tasks} tasks settled"
    total = sum(parts.values())
    s.per_task.setdefault(key, []).append(total // n_tasks)
    for part, v in parts.items():
        s.breakdown.setdefault(key, {}).setdefault(part, []).append(v // n_tasks)
    s.breakdown.setdefault(key + "_shape", {}).setdefault("tasks_in_flight", []).append(n_tasks)
    s.breakdown[key + "_shape"].setdefault("chunk", []).append(chunk)
    s.breakdown[key + "_shape"].setdefault("mean_tasks_per_member_batch", []).append(
        round(statistics.fmean(len(v) for v in duties.values())))


def _totals(s: Samples, key: str, runs: list[dict[str, int]], shape: dict[str, int]) -> None:
    """Per-run totals of a multi-transaction operation (a training round, a proposal), by part."""
    for parts in runs:
        s.per_task.setdefault(key, []).append(sum(parts.values()))
        for part, v in parts.items():
            s.breakdown.setdefault(key, {}).setdefault(part, []).append(v)
    for name, v in shape.items():
        s.breakdown.setdefault(key + "_shape", {}).setdefault(name, []).append(v)


def measure_chain(chain: str, tasks: int, progress: ProgressFn | None = None, batch_tasks: int = 32) -> dict:
    """Run every scenario on one chain; raw gas samples per operation and per task."""
    s = Samples()
    t0 = time.perf_counter()
    say = progress or (lambda _msg: None)
    backend = open_backend(chain)
    try:
        base = dict(min_stake=100 * TOKEN, jail_after=1000, quorum=3, commit_window=40, reveal_window=40,
                    challenge_window=0, max_levels=2)
        say(f"{chain}: k5 deployment")
        d5 = _setup(backend, s, DeployParams(committee_size=5, **base), 18, "k5", near=True)
        for a in list(d5.nodes.values())[:tasks]:
            s.add("add_stake", a.add_stake(EXTRA_STAKE).gas_used)
        for _ in range(tasks):
            _task(d5, s, "settle")
        for _ in range(tasks):
            _task(d5, s, "near")
        if batch_tasks:
            say(f"{chain}: k5 batched ({batch_tasks} tasks in flight)")
            _batched(d5, s, batch_tasks, "k5_batched")
            _batched(d5, s, batch_tasks, "k5_near_batched", near=True)
        say(f"{chain}: escalations")
        for _ in range(tasks):
            _task(d5, s, "escalate")
        for a in d5.nodes.values():
            if d5.c.claimable(a.address) > 0:
                s.add("claim", a.claim().gas_used)
        say(f"{chain}: emission claims")
        gas_rounds.emission_claims(backend, d5.c, list(d5.nodes.values()), s.add, limit=4 * tasks)
        say(f"{chain}: k11 deployment")
        d11 = _setup(backend, s, DeployParams(committee_size=11, **{**base, "quorum": 6, "max_levels": 1}), 13, "k11")
        for _ in range(tasks):
            _task(d11, s, "settle")
        if batch_tasks:
            say(f"{chain}: k11 batched ({batch_tasks} tasks in flight)")
            _batched(d11, s, batch_tasks, "k11_batched")
            _batched(d11, s, batch_tasks, "k11_batched_chunk16", chunk=min(16, batch_tasks))
        say(f"{chain}: challenges")
        dc = _setup(backend, s, DeployParams(committee_size=5, **{**base, "challenge_window": 5}), 18, "ch")
        for _ in range(tasks):
            _task(dc, s, "challenge")
        say(f"{chain}: training rounds")
        rounds, world = gas_rounds.training_rounds(backend, s.add, tasks)
        _totals(s, "training_round", rounds, {"trainers": gas_rounds.TRAINERS, "committee": gas_rounds.COMMITTEE,
                                              "nodes": gas_rounds.TRAINERS + gas_rounds.VALIDATORS,
                                              "rejected_updates": 1})
        say(f"{chain}: governance")
        proposals = gas_rounds.governance_proposals(backend, world.dep, s.add, tasks)
        _totals(s, "governance_proposal", proposals, {"voters": gas_rounds.VOTERS + 1, "against": 1})
        say(f"{chain}: data market")
        gas_rounds.datamarket_rounds(backend, s.add, tasks)
    finally:
        backend.close()
    return {"per_op": s.per_op, "per_task": s.per_task, "breakdown": s.breakdown, "txs": s.txs,
            "elapsed_s": round(time.perf_counter() - t0, 2)}


def _batched_entry(runs: dict[str, dict], primary: str, key: str) -> dict | None:
    by_chain = {ch: _stats(r["per_task"][key]) for ch, r in runs.items() if key in r["per_task"]}
    if not by_chain:
        return None
    main = by_chain.get(primary) or next(iter(by_chain.values()))
    breakdown = {ch: {part: round(statistics.fmean(v)) for part, v in r["breakdown"][key].items()}
                 for ch, r in runs.items() if key in r["breakdown"]}
    shape = {ch: {k: round(statistics.fmean(v)) for k, v in r["breakdown"][key + "_shape"].items()}
             for ch, r in runs.items() if key + "_shape" in r["breakdown"]}
    n = next(iter(shape.values()))["tasks_in_flight"] if shape else 0
    return {**main, "chain": primary if primary in by_chain else next(iter(by_chain)), "by_chain": by_chain,
            "breakdown_mean": breakdown, "shape": shape, "what": BATCHED_WHAT.format(n=n, chunk=next(iter(shape.values())).get("chunk", n) if shape else n)}


def _total_entry(runs: dict[str, dict], primary: str, key: str, what: str = "") -> dict | None:
    """Stats of a per-run total (`_totals`) on every chain, with its mean breakdown and shape."""
    by_chain = {ch: _stats(r["per_task"][key]) for ch, r in runs.items() if key in r["per_task"]}
    if not by_chain:
        return None
    chain = primary if primary in by_chain else next(iter(by_chain))
    breakdown = {ch: {part: round(statistics.fmean(v)) for part, v in r["breakdown"][key].items()}
                 for ch, r in runs.items() if key in r["breakdown"]}
    shape = {ch: {k: round(statistics.fmean(v)) for k, v in r["breakdown"][key + "_shape"].items()}
             for ch, r in runs.items() if key + "_shape" in r["breakdown"]}
    return {**by_chain[chain], "chain": chain, "by_chain": by_chain, "breakdown_mean": breakdown,
            "shape": shape.get(chain, {}), "what": what}


def _stats(values: list[int]) -> dict:
    return {"mean": round(statistics.fmean(values)), "max": max(values), "min": min(values), "n": len(values)}


OP_NOTES = {
    "request": "Inference.request (task stored in one word; fee by transferFrom)",
    "request_many": "Inference.request_many of every task in flight, fees from a deposit",
    "request_batch_per_task": "request_many gas / tasks requested",
    "deposit": "Inference.deposit: a requester prepays the fees of a batched run (later requests take them from it)",
    "commit": "Inference.commit_many of one task (root = leaf), one member",
    "reveal": "Inference.reveal_many of one task, exact mode, one member",
    "reveal_near": "Inference.reveal_many of one task, near mode (fingerprint and blob hash), one member",
    "draw_k5": "Inference.draw, K = 5, 18 registered nodes (stake-weighted sampling from the seed block's hash)",
    "draw_k11": "Inference.draw, K = 11, 13 registered nodes",
    "draw_level1": "Inference.draw of escalation level 1 (2K+1 = 11 members, level 0's 5 excluded), 18 nodes",
    "commit_many": "Inference.commit_many: one member, all its tasks in flight (see batch_size), one Merkle root",
    "reveal_many": "Inference.reveal_many: one member, its whole commit batch (no proofs: the root is rebuilt)",
    "reveal_near_many": "Inference.reveal_many of near tasks: one member, its whole commit batch",
    "commit_batch_per_task": "commit_many gas / tasks in the batch (one member-task)",
    "reveal_batch_per_task": "reveal_many gas / tasks in the batch (one member-task)",
    "reveal_near_batch_per_task": "reveal_many gas of near tasks / tasks in the batch (one member-task)",
    "draw_many_k5": "Inference.draw_many of every task in flight, K = 5",
    "draw_many_k11": "Inference.draw_many of every task in flight, K = 11",
    "draw_batch_per_task_k5": "draw_many gas / tasks drawn, K = 5",
    "draw_batch_per_task_k11": "draw_many gas / tasks drawn, K = 11",
    "finalize_many_k5": "Inference.finalize_many of every unanimous task in flight, K = 5",
    "finalize_many_k11": "Inference.finalize_many of every unanimous task in flight, K = 11",
    "finalize_batch_per_task_k5": "finalize_many gas / tasks settled, K = 5",
    "finalize_batch_per_task_k11": "finalize_many gas / tasks settled, K = 11",
    "batch_size": "tasks per member batch (commit_many / reveal_many), not gas",
    "finalize_settle_k5": "Inference.finalize settling a unanimous K = 5 level (rewards credited, no slash)",
    "finalize_settle_k5_near": "Inference.finalize settling a unanimous K = 5 level of a near model",
    "finalize_settle_k11": "Inference.finalize settling a unanimous K = 11 level (rewards credited, no slash)",
    "finalize_settle_slash2": "Inference.finalize of the last level settling with 2 dissenters slashed "
                              "(one of level 0, one of level 1)",
    "finalize_escalate": "Inference.finalize that escalates (one dissenter at level 0)",
    "escalation": "finalize that escalates + draw of level 1, summed per task",
    "finalize_provisional": "Inference.finalize that makes a result provisional (challenge window > 0)",
    "challenge": "Inference.challenge by the requester (bond transferFrom + escalation)",
    "register": "Registry.register with stake transferFrom (k5/challenge: 2 models, k11: 1 model)",
    "add_stake": "Registry.add_stake",
    "approve": "Token.approve (fresh allowance)",
    "transfer": "Token.transfer to a fresh address",
    "claim": "Inference.claim of accumulated rewards",
    **gas_rounds.OP_NOTES,
}

BRAIN_COMPARABLE = {"commit": "commit", "reveal": "reveal", "reveal_near": "reveal"}


def _note(op: str) -> str:
    """OP_NOTES of an operation; a chunked run's rows (`*_chunk16`) say so."""
    if op in OP_NOTES:
        return OP_NOTES[op]
    base, _, chunk = op.rpartition("_chunk")
    return f"{OP_NOTES.get(base, base)}; requests, draws and finalizes in chunks of {chunk}" if base else ""


def build_report(runs: dict[str, dict], tasks: int, elapsed: float, batch_tasks: int = 0) -> dict:
    primary = "anvil" if "anvil" in runs else next(iter(runs))
    ops = sorted({op for r in runs.values() for op in r["per_op"]})
    per_op: dict[str, dict | None] = {}
    for op in ops:
        by_chain = {ch: _stats(r["per_op"][op]) for ch, r in runs.items() if op in r["per_op"]}
        main = by_chain.get(primary) or next(iter(by_chain.values()))
        entry = {**main, "chain": primary if primary in by_chain else next(iter(by_chain)),
                 "by_chain": by_chain,
                 "same_on_all_chains": len({(v["mean"], v["max"]) for v in by_chain.values()}) == 1,
                 "note": _note(op)}
        if op in BRAIN_COMPARABLE:
            ref = BRAIN_REFERENCE[BRAIN_COMPARABLE[op]]
            entry["brain"] = ref
            entry["ratio_to_brain"] = round(main["mean"] / ref, 3)
        per_op[op] = entry
    # the totals of a training round and of a parameter change (their parts are rows above)
    for op, key in (("training_round", "training_round"), ("governance", "governance_proposal")):
        entry = _total_entry(runs, primary, key)
        per_op[op] = None if entry is None else {**{k: entry[k] for k in ("mean", "max", "min", "n", "chain",
                                                                              "by_chain")},
                                                 "note": OP_NOTES[op]}

    per_task: dict = {}
    for key in ("k5", "k11"):
        by_chain = {ch: _stats(r["per_task"][key]) for ch, r in runs.items() if key in r["per_task"]}
        breakdown = {ch: {part: round(statistics.fmean(v)) for part, v in r["breakdown"][key].items()}
                     for ch, r in runs.items() if key in r["breakdown"]}
        main = by_chain[primary]
        unbatched = {**main, "chain": primary, "by_chain": by_chain, "breakdown_mean": breakdown,
                     "what": f"request + draw + {key[1:]} commits + {key[1:]} reveals + finalize; "
                             "challenge_window = 0, unanimous honest committee"}
        if key == "k11":
            unbatched["brain"] = BRAIN_REFERENCE["per_task_k11"]
            unbatched["ratio_to_brain"] = round(main["mean"] / BRAIN_REFERENCE["per_task_k11"], 3)
            unbatched["ratio_to_brain_commit_reveal_part"] = round(
                main["mean"] / BRAIN_REFERENCE["per_task_k11_commit_reveal_part"], 3)
        per_task[key] = {"unbatched": unbatched, "batched": _batched_entry(runs, primary, key + "_batched")}
        b = per_task[key]["batched"]
        if b is not None:
            b["ratio_to_unbatched"] = round(b["mean"] / main["mean"], 3)
            if key == "k11":
                b["brain"] = BRAIN_REFERENCE["per_task_k11"]
                b["ratio_to_brain"] = round(b["mean"] / BRAIN_REFERENCE["per_task_k11"], 3)
                b["goal"] = GOAL_K11
                b["goal_met"] = b["mean"] <= GOAL_K11
                chunked = _batched_entry(runs, primary, "k11_batched_chunk16")
                if chunked is not None:
                    chunked["goal_met"] = chunked["mean"] <= GOAL_K11
                    per_task[key]["batched_chunk16"] = chunked
    near = {ch: _stats(r["per_task"]["k5_near"]) for ch, r in runs.items() if "k5_near" in r["per_task"]}
    if near:
        per_task["k5_near"] = {"unbatched": {**near[primary], "chain": primary, "by_chain": near},
                               "batched": _batched_entry(runs, primary, "k5_near_batched")}

    per_task["training_round"] = _total_entry(runs, primary, "training_round", gas_rounds.ROUND_WHAT)
    per_task["governance_proposal"] = _total_entry(runs, primary, "governance_proposal", gas_rounds.PROPOSAL_WHAT)

    brain = dict(BRAIN_REFERENCE)
    brain["ratios"] = {
        "commit": per_op.get("commit", {}).get("ratio_to_brain") if per_op.get("commit") else None,
        "reveal": per_op.get("reveal", {}).get("ratio_to_brain") if per_op.get("reveal") else None,
        "reveal_near_vs_reveal": per_op.get("reveal_near", {}).get("ratio_to_brain") if per_op.get("reveal_near") else None,
        "per_task_k11": per_task["k11"]["unbatched"].get("ratio_to_brain"),
        "priority_queue_push": None,
        "priority_queue_pop": None,
        "onchain_median": None,
        "ecvrf_verify": None,
    }
    brain["not_comparable"] = {
        "priority_queue_push/pop": "brainnet keeps no on-chain priority queue: tasks are independent; the closest "
                                   "cost is `request` (stores the task) and `draw`",
        "onchain_median": "brainnet computes no median: finalize finds the value most reveals agree with "
                          "from the level's seats (each distinct value is stored once)",
        "ecvrf_verify": "brainnet draws committees from a block hash (no VRF proof is verified on chain)",
    }
    return {
        "per_op": per_op,
        "per_task": per_task,
        "brain_reference": brain,
        "notes": {
            "source": "gasUsed of real transaction receipts; every chain runs the same scenarios in one run",
            "primary_chain": primary,
            "chains": list(runs),
            "training_round": "per_task.training_round: " + gas_rounds.ROUND_WHAT,
            "governance": "per_task.governance_proposal: " + gas_rounds.PROPOSAL_WHAT,
            "batched": "per_task.*.batched: many tasks in flight, batched calls (see each entry's `what`); "
                       "per_op *_many are whole batch transactions, *_batch_per_task their share per task",
            "repeats": tasks,
            "batch_tasks_in_flight": batch_tasks,
            "fee_token_units": FEE // TOKEN,
            "max": "max includes the first transaction of its kind on a fresh deployment (cold, zero-to-nonzero "
                   "storage writes), hence max well above mean for register, request, finalize",
            "draw_chain_difference": "draw gas differs slightly between chains: the committee is sampled from "
                                     "the seed block's hash, which differs per chain",
        },
        "runs": {ch: {"txs": r["txs"], "elapsed_s": r["elapsed_s"]} for ch, r in runs.items()},
        "elapsed_s": round(elapsed, 2),
    }


def run_gas_bench(tasks: int = 5, chains: tuple[str, ...] = CHAINS, out: Path | None = None,
                  progress: ProgressFn | None = None, batch_tasks: int = 32) -> dict:
    t0 = time.perf_counter()
    runs = {ch: measure_chain(ch, tasks, progress, batch_tasks=batch_tasks) for ch in chains}
    report = build_report(runs, tasks, time.perf_counter() - t0, batch_tasks)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
    return report


__all__ = ["BRAIN_REFERENCE", "CHAINS", "build_report", "measure_chain", "run_gas_bench"]
