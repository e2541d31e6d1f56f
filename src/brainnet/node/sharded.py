"""A committee member's runtime for a sharded model: run the task over the member's own route.

`ShardedMiniLM` is the `minilm-l6` runtime of a node that does not hold the model itself:
for a task it reads the shard announcements from the `Registry`, takes the route
`brainnet.shard.verify.assign_routes` gives it among the task's committee (routes of one
committee use disjoint nodes), carries the tokenized input over that route with
`brainnet.shard.client.RemoteSequential`, and returns the final embedding. From there the
task is an ordinary `near` task: the daemon commits and reveals the SimHash fingerprint,
honest routes agree (bit-identical here: the same blocks on the same kind of CPU), and the
member whose route went through a corrupting node dissents and is slashed.

The route is fixed: if a node on it fails, the member does not fail over onto another
member's nodes (that would break disjointness); the task then raises `ModelError` and the
member ends a no-show for that task.

Announcements are read when the member computes; the assignment is deterministic given the
committee (draw order) and the announcements, so members agree on it as long as nobody
announces between the draw and the commits (a later fix: read them at the draw block).
"""
from __future__ import annotations

import threading
from typing import Sequence

import numpy as np
from torch import nn

from brainnet.chain import Contracts
from brainnet.errors import BrainnetError, ModelError
from brainnet.models.minilm import MiniLMRuntime, package_sha256
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

    def __init__(self, contracts: Contracts, *, codec_name: str = "fp32", timeout: float = 30.0):
        super().__init__(nn.Identity(), package_sha256())     # the weights live on the shard nodes
        self.contracts = contracts
        self.codec_name = codec_name
        self.timeout = timeout
        self.routes: dict[int, Route] = {}                     # task id -> the route this member ran
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
                                  max_failovers=0, planner=fixed_planner(route))
        try:
            out = remote.run(self._tokenize(text))["out"]       # (1, 384)
        except BrainnetError as exc:
            raise ModelError(f"task {task_id}: the route {list(route.node_ids)} failed: {exc}") from None
        finally:
            remote.close()
        self.routes[task_id] = route
        return out[0].detach().float().numpy()


SHARDED_RUNTIMES = {ShardedMiniLM.name: ShardedMiniLM}   # model name -> runtime class (`brainnet node start --sharded`)
