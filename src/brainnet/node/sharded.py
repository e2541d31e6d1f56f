"""A committee member's runtime for a sharded model: run the task over the member's own route.

`ShardedMiniLM` is the `minilm-l6` runtime of a node that does not hold the model itself:
for a task it reads the shard announcements from the `Registry`, takes the route
`brainnet.shard.verify.assign_routes` gives it among the task's committee (routes of one
committee use disjoint nodes), carries the tokenized input over that route with
`brainnet.shard.client.RemoteSequential`, and returns the final embedding. From there the
task is an ordinary `near` task: the daemon commits and reveals the SimHash fingerprint,
honest routes agree (bit-identical here: the same blocks on the same kind of CPU), and the
member whose route went through a corrupting node dissents and is slashed.

Blame (`audit=True`, `brainnet node start --sharded minilm-l6 --audit`): the member then
requires every hop of its route to be signed by the announcing node (`brainnet.shard.hops`;
an unsigned or badly signed reply counts as that node failing) and keeps the route's
transcript per task. When a task settles on a value its own reveal dissents from, it re-runs
each hop locally (`brainnet.shard.blame`), and reports the first provably corrupt hop to
`ShardAudit` (bond + audit fee; the hop's audit bundle, request and reply go into its blob
store, where the audit committee fetches them). `poll`, once per daemon step, resolves its reports whose audit
task is final: the relay that corrupted the route is slashed, not only the member who carried
it. With `transcripts=DIR` every transcript is also written to DIR/task-<id>.json
(`brainnet shard blame FILE` blames one by hand).

The route is fixed: if a node on it fails, the member does not fail over onto another
member's nodes (that would break disjointness); the task then raises `ModelError` and the
member ends a no-show for that task.

Announcements are read when the member computes; the assignment is deterministic given the
committee (draw order) and the announcements, so members agree on it as long as nobody
announces between the draw and the commits (a later fix: read them at the draw block).
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Sequence

import numpy as np
from torch import nn

from brainnet.chain import Contracts, Status
from brainnet.errors import BrainnetError, ContractRevert, ModelError
from brainnet.models.minilm import MiniLMRuntime, package_sha256
from brainnet.protocol.simhash import hamming
from brainnet.shard.blame import Verdict, blame
from brainnet.shard.hops import HopCall, audit_bundle, save_transcript
from brainnet.shard.route import Route, RouteError
from brainnet.shard.verify import route_of


def fixed_planner(route: Route):
    """A RemoteSequential planner that only ever answers `route` (from any of its boundaries)."""
    def planner(nodes, n_blocks, from_block=0, *, tokens=1, exclude=(), **_):
        if set(route.node_ids) & set(exclude):
            raise RouteError(f"a node of this member's route failed ({sorted(set(route.node_ids) & set(exclude))}); "
                             "a verification route is fixed and does not fail over")
        hops = tuple(h for h in route.hops if h.end > from_block)
        if not hops or hops[0].start > from_block:
            raise RouteError(f"the fixed route has no hop starting at block {from_block}")
        if hops[0].start < from_block:                       # resume inside a hop (not expected here)
            h = hops[0]
            hops = (type(h)(h.node_id, h.endpoint, from_block, h.end, h.cost),) + hops[1:]
        return Route(hops, sum(h.cost for h in hops))
    return planner


class ShardedMiniLM(MiniLMRuntime):
    """`minilm-l6` carried over shard servers; `run_task` is what the daemon calls."""

    def __init__(self, contracts: Contracts, *, codec_name: str = "fp32", timeout: float = 30.0,
                 audit: bool = False, transcripts: Path | str | None = None):
        super().__init__(nn.Identity(), package_sha256())     # the weights live on the shard nodes
        self.contracts = contracts
        self.codec_name = codec_name
        self.timeout = timeout
        self.audit = audit                                     # require signed hops, blame and report
        self.transcript_dir = Path(transcripts) if transcripts is not None else None
        self.routes: dict[int, Route] = {}                     # task id -> the route this member ran
        self.transcripts: dict[int, list[HopCall]] = {}        # task id -> its hops, until the task settles
        self.blamed: dict[int, list[Verdict]] = {}             # task id -> what blame found (dissenting tasks)
        self.reports: dict[int, int] = {}                      # open ShardAudit report id -> its audit task
        self.resolved: dict[int, int] = {}                     # report id -> audit status (2 upheld, 3 dismissed)
        self._tokenizer = None
        self._tok_lock = threading.Lock()

    def _tokenize(self, text: str):
        from brainnet.shard.blocks import MiniLMTokenizer

        with self._tok_lock:
            if self._tokenizer is None:
                self._tokenizer = MiniLMTokenizer()
            return self._tokenizer([text])

    def route_for(self, members: Sequence[str], member: str) -> tuple[list, Route]:
        from brainnet.shard.blocks import get_model

        nodes = self.contracts.shard_announcements(self.model_id, self.name)
        return nodes, route_of(nodes, get_model(self.name).n_blocks, list(members), member)

    def run(self, blob: bytes) -> np.ndarray:
        raise ModelError(f"{self.name} is served sharded here: a task needs its committee, call run_task")

    def run_task(self, blob: bytes, task_id: int, members: Sequence[str], member: str) -> np.ndarray:
        """One input blob -> (384,) float32 embedding, carried over `member`'s route."""
        from brainnet.shard.client import RemoteSequential

        text = self.decode_input(blob)
        try:
            nodes, route = self.route_for(members, member)
        except RouteError as exc:
            raise ModelError(f"task {task_id}: {exc}") from None
        on_route = [n for n in nodes if n.id in set(route.node_ids)]
        remote = RemoteSequential(self.name, on_route, codec_name=self.codec_name, timeout=self.timeout,
                                  max_failovers=0, planner=fixed_planner(route), require_signatures=self.audit)
        try:
            out = remote.run(self._tokenize(text))["out"]       # (1, 384)
        except BrainnetError as exc:
            raise ModelError(f"task {task_id}: the route {list(route.node_ids)} failed: {exc}") from None
        finally:
            remote.close()
        self.routes[task_id] = route
        self.transcripts[task_id] = list(remote.transcript)
        while len(self.transcripts) > MAX_TRANSCRIPTS:            # tasks that never settled (refunded)
            self.transcripts.pop(next(iter(self.transcripts)))
        if self.transcript_dir is not None:
            save_transcript(self.transcript_dir / f"task-{task_id}.json", remote.transcript, task_id=task_id,
                            member=member, route=list(route.node_ids))
        return out[0].detach().float().numpy()

    # -- blame (daemon hooks) -------------------------------------------------------------
    def task_settled(self, daemon, task_id: int, result: bytes) -> None:
        """The task settled on `result`: if this member's reveal dissented, blame its route and
        report the first provably corrupt hop to ShardAudit."""
        calls = self.transcripts.pop(task_id, None)
        if not self.audit or calls is None:
            return
        mine = daemon.c.revealed_result(task_id, daemon.address)
        _mode, tolerance = daemon.c.model_agreement(self.model_id)
        if mine is not None and hamming(bytes(mine), bytes(result)) <= tolerance:
            return                                           # this route agreed: nothing to blame
        verdicts = blame(calls)
        self.blamed[task_id] = verdicts
        provable = [v for v in verdicts if v.provable]
        if not provable:
            log.info("task %d: this route dissented but no hop is provably corrupt (%s)", task_id,
                     "; ".join(v.reason for v in verdicts) or "every hop recomputes as signed")
            return
        call = calls[provable[0].index]
        record = call.record
        for blob in (audit_bundle(record.request_hash, record.reply_hash), call.request, call.reply):
            daemon.store.put(blob)                           # the audit committee fetches them from here
        endpoint = daemon.c.node(daemon.address).endpoint
        audit_id, _ = daemon.actor.report_hop(call.record, call.signature, endpoint)
        self.reports[audit_id] = daemon.c.audit(audit_id).task_id
        log.info("task %d: reported node %s (blocks %d:%d) to ShardAudit as audit %d", task_id, call.node_id,
                 call.start, call.end, audit_id)

    def poll(self, daemon) -> int:
        """Resolve this member's reports whose audit task is final; returns the transactions sent."""
        sent = 0
        for audit_id, audit_task in list(self.reports.items()):
            if daemon.c.task(audit_task).status not in (Status.SETTLED, Status.REFUNDED):
                continue
            try:
                daemon.actor.resolve_audit(audit_id)
                sent += 1
            except ContractRevert:
                if daemon.c.audit(audit_id).status == 1:       # still open: try again next step
                    raise
            del self.reports[audit_id]                         # resolved (by us, or by someone first)
            self.resolved[audit_id] = daemon.c.audit(audit_id).status
        return sent


log = logging.getLogger("brainnet.node")
MAX_TRANSCRIPTS = 256          # transcripts kept in memory (oldest dropped first)

SHARDED_RUNTIMES = {ShardedMiniLM.name: ShardedMiniLM}   # model name -> runtime class (`brainnet node start --sharded`)
