"""Route planning for sharded inference: which nodes carry a request through a model's blocks.

A model is a sequence of `n_blocks` blocks. Every shard node announces (on-chain, see
`Registry.announce_shard`) the contiguous block range it serves, its memory, its measured
throughput (blocks x tokens per second) and we add the ping we measured to it. A request
enters at block boundary `from_block` and must leave at boundary `n_blocks`; a node may be
entered at any boundary inside its range and left at any later boundary inside it, so the
planner solves a shortest path over block boundaries 0..n_blocks (Dijkstra):

    edge  a -> b  via node n    for every n with n.start <= a < b <= n.end
    cost (seconds) = (b - a) * tokens / n.throughput          compute
                   + activation_bytes / bandwidth             transfer of the activations to n
                   + n.ping_ms / 1000                         latency
                   + hop_overhead                             a fixed price per hop (default 0)

Input: a list of `Announcement`s, one per node (`brainnet.chain.Contracts.shard_announcements`
reads them from `Registry.shards_of`; `shard.client.discover` asks servers directly).
Output: a `Route` (`shard/client.py` consumes it): `route.hops` in order, each `Hop` with
the `endpoint` to POST activations to and the half-open block range `[start, end)` it runs
there (`/shard/{model}/{start}:{end}`); `route.cost` in seconds. On a failure the client
plans again with `plan(..., from_block=<last completed boundary>, exclude={failed node ids})`.
`through=<node id>` forces a node onto the route (verification: a member on its own route).

Also here, for comparison and verification:
- `greedy_first_fit`: the naive baseline (take the first announced node that serves the
  current block, run it to the end of its range, repeat);
- `brute_force`: every chain of hops, for small cases (tests check `plan` against it);
- `k_disjoint_routes`: k routes over pairwise disjoint node sets, by successive shortest
  paths with the nodes of earlier routes removed (greedy: it may find fewer disjoint routes
  than exist, or a worse total, than an exact min-cost disjoint-paths algorithm would);
- `synthetic_swarm`: a seeded 20-node heterogeneous swarm for benchmarks and tests.

Pure: no I/O, no chain, no torch.
"""
from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from typing import Iterable, Sequence, TypedDict, Unpack

from brainnet.errors import BrainnetError

DEFAULT_BANDWIDTH = 125e6      # bytes/s between two nodes (1 Gbit/s) when the caller gives none


class RouteError(BrainnetError):
    """No chain of announced nodes covers the blocks asked for."""


@dataclass(frozen=True)
class Announcement:
    """One node's announcement (plus the ping we measured to it)."""
    id: str                    # unique: the node's address on-chain, or any name off-chain
    endpoint: str              # http://host:port of its shard server
    model: str                 # model name or 0x id it serves
    start: int                 # first block it serves
    end: int                   # one past the last block it serves: range [start, end)
    memory_mb: int = 0
    throughput: float = 1.0    # blocks x tokens per second, measured by the node at start-up
    ping_ms: float = 0.0       # round trip measured by the client (0 when unknown)

    def __post_init__(self):
        if not 0 <= self.start < self.end:
            raise RouteError(f"node {self.id}: block range {self.start}:{self.end} is empty or negative; "
                             "announce start < end")
        if not self.throughput > 0:
            raise RouteError(f"node {self.id}: throughput must be positive, got {self.throughput}")
        if self.ping_ms < 0:
            raise RouteError(f"node {self.id}: ping must be >= 0 ms, got {self.ping_ms}")


@dataclass(frozen=True)
class Hop:
    """Run blocks [start, end) on one node: POST activations to `endpoint`."""
    node_id: str
    endpoint: str
    start: int
    end: int
    cost: float                # seconds this hop is expected to take (compute + transfer + ping)


@dataclass(frozen=True)
class Route:
    """A chain of hops covering [start, end) contiguously; `cost` is the sum of the hops' costs."""
    hops: tuple[Hop, ...]
    cost: float = field(default=0.0)

    @property
    def start(self) -> int:
        return self.hops[0].start

    @property
    def end(self) -> int:
        return self.hops[-1].end

    @property
    def node_ids(self) -> tuple[str, ...]:
        return tuple(h.node_id for h in self.hops)

    def __len__(self) -> int:
        return len(self.hops)


@dataclass(frozen=True)
class CostModel:
    """How a hop is priced; see the module docstring."""
    tokens: int = 1                      # tokens in the request (sequence length x batch)
    activation_bytes: int = 0            # bytes sent to every hop (after the codec)
    bandwidth: float = DEFAULT_BANDWIDTH  # bytes per second
    hop_overhead: float = 0.0            # seconds added per hop (verification prices hops high: fewer nodes per route)

    def hop(self, node: Announcement, a: int, b: int) -> float:
        return ((b - a) * self.tokens / node.throughput + self.activation_bytes / self.bandwidth
                + node.ping_ms / 1000.0 + self.hop_overhead)


class CostArgs(TypedDict, total=False):
    """The keyword arguments every planner takes to price hops: `CostModel`'s fields
    (`plan(nodes, n, tokens=128, activation_bytes=...)`); any left out take CostModel's default."""
    tokens: int
    activation_bytes: int
    bandwidth: float
    hop_overhead: float


def hop_cost(node: Announcement, a: int, b: int, **costs: Unpack[CostArgs]) -> float:
    """Seconds to run blocks [a, b) on `node` (see the module docstring)."""
    return CostModel(**costs).hop(node, a, b)


def _usable(nodes: Iterable[Announcement], n_blocks: int, exclude: Iterable[str]) -> list[Announcement]:
    excluded = set(exclude)
    ids = [n.id for n in nodes]
    if len(ids) != len(set(ids)):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise RouteError(f"node ids announced twice: {dup}; every node needs its own id")
    # sorted by id: the plan does not depend on the order announcements were read in
    return sorted((n for n in nodes if n.id not in excluded and n.start < n_blocks), key=lambda n: n.id)


def _check_span(n_blocks: int, from_block: int) -> None:
    if n_blocks < 1:
        raise RouteError(f"a model has at least one block, got n_blocks={n_blocks}")
    if not 0 <= from_block < n_blocks:
        raise RouteError(f"from_block must lie in 0..{n_blocks - 1}, got {from_block}")


def _uncovered(nodes: Sequence[Announcement], n_blocks: int, from_block: int) -> RouteError:
    """The error for a span no chain covers: name the first block nothing reachable serves."""
    reach = from_block
    changed = True
    while changed:
        changed = False
        for n in nodes:
            if n.start <= reach < n.end and min(n.end, n_blocks) > reach:
                reach = min(n.end, n_blocks)
                changed = True
    return RouteError(
        f"no chain of announced nodes covers blocks {from_block}..{n_blocks}: nothing reachable serves block "
        f"{reach} (after excluding failed or used nodes); start a shard node whose range contains block {reach}, "
        f"or wait for one to announce")


def plan(
    nodes: Sequence[Announcement],
    n_blocks: int,
    from_block: int = 0,
    *,
    exclude: Iterable[str] = (),
    through: str | None = None,
    **costs: Unpack[CostArgs],
) -> Route:
    """The cheapest chain of hops covering blocks [from_block, n_blocks) (Dijkstra).

    `exclude`: node ids not to use (failed nodes, nodes of other routes).
    `through`: a node id the route must use (for at least one hop), or None.
    `costs`: tokens, activation_bytes, bandwidth, hop_overhead (`CostArgs`).
    Raises `RouteError` when no chain covers the span. Ties are broken deterministically
    (by node id), so every party that plans from the same announcements gets the same route.
    """
    _check_span(n_blocks, from_block)
    usable = _usable(nodes, n_blocks, exclude)
    cm = CostModel(**costs)
    if through is not None and through not in {n.id for n in usable}:
        raise RouteError(f"node {through} must be on the route but is not announced (or is excluded)")
    # state: (boundary, passed `through` yet); without `through` every state counts as passed
    start_state = (from_block, through is None)
    dist: dict[tuple[int, bool], float] = {start_state: 0.0}
    back: dict[tuple[int, bool], tuple[tuple[int, bool], Hop]] = {}
    heap: list[tuple[float, int, bool]] = [(0.0, from_block, through is None)]
    done: set[tuple[int, bool]] = set()
    goal = (n_blocks, True)
    while heap:
        d, a, passed = heapq.heappop(heap)
        state = (a, passed)
        if state in done:
            continue
        done.add(state)
        if state == goal:
            break
        for n in usable:
            if not n.start <= a < n.end:
                continue
            now_passed = passed or n.id == through
            for b in range(a + 1, min(n.end, n_blocks) + 1):
                c = cm.hop(n, a, b)
                nxt = (b, now_passed)
                if d + c < dist.get(nxt, float("inf")):
                    dist[nxt] = d + c
                    back[nxt] = (state, Hop(n.id, n.endpoint, a, b, c))
                    heapq.heappush(heap, (d + c, b, now_passed))
    if goal not in done:
        if through is not None:
            # raises the coverage error if the span is not covered at all
            plan(nodes, n_blocks, from_block, exclude=exclude, **costs)
            raise RouteError(f"no chain covering blocks {from_block}..{n_blocks} can pass through node {through} "
                             "with the nodes left")
        raise _uncovered(usable, n_blocks, from_block)
    hops: list[Hop] = []
    state = goal
    while state != start_state:
        state, hop = back[state]
        hops.append(hop)
    hops.reverse()
    # a split of one node's range into two hops only ties (zero ping and transfer): merge it
    merged: list[Hop] = []
    by_id = {n.id: n for n in usable}
    for h in hops:
        if merged and merged[-1].node_id == h.node_id:
            a = merged.pop().start
            h = Hop(h.node_id, h.endpoint, a, h.end, cm.hop(by_id[h.node_id], a, h.end))
        merged.append(h)
    return Route(tuple(merged), sum(h.cost for h in merged))


def greedy_first_fit(
    nodes: Sequence[Announcement],
    n_blocks: int,
    from_block: int = 0,
    *,
    exclude: Iterable[str] = (),
    **costs: Unpack[CostArgs],
) -> Route:
    """Baseline: from the current block, take the first announced node (in announcement
    order) that serves it, run it to the end of its range, repeat. Ignores costs when it
    chooses; `costs` only price the hops it took."""
    _check_span(n_blocks, from_block)
    excluded = set(exclude)
    cm = CostModel(**costs)
    hops: list[Hop] = []
    a = from_block
    while a < n_blocks:
        n = next((n for n in nodes if n.id not in excluded and n.start <= a < n.end), None)
        if n is None:
            raise _uncovered(_usable(nodes, n_blocks, excluded), n_blocks, from_block)
        b = min(n.end, n_blocks)
        hops.append(Hop(n.id, n.endpoint, a, b, cm.hop(n, a, b)))
        a = b
    return Route(tuple(hops), sum(h.cost for h in hops))


def brute_force(
    nodes: Sequence[Announcement],
    n_blocks: int,
    from_block: int = 0,
    *,
    exclude: Iterable[str] = (),
    through: str | None = None,
    **costs: Unpack[CostArgs],
) -> Route:
    """The cheapest route by enumerating every chain of hops (exponential: small cases only);
    the same arguments as `plan`."""
    _check_span(n_blocks, from_block)
    usable = _usable(nodes, n_blocks, exclude)
    cm = CostModel(**costs)
    best: list = [float("inf"), None]

    def walk(a: int, cost: float, hops: list[Hop]) -> None:
        if a == n_blocks:
            if (through is None or any(h.node_id == through for h in hops)) and cost < best[0]:
                best[0], best[1] = cost, tuple(hops)
            return
        for n in usable:
            if n.start <= a < n.end:
                for b in range(a + 1, min(n.end, n_blocks) + 1):
                    c = cm.hop(n, a, b)
                    hops.append(Hop(n.id, n.endpoint, a, b, c))
                    walk(b, cost + c, hops)
                    hops.pop()

    walk(from_block, 0.0, [])
    if best[1] is None:
        raise RouteError(f"no chain of announced nodes covers blocks {from_block}..{n_blocks}"
                         + (f" through node {through}" if through else ""))
    return Route(best[1], best[0])


def k_disjoint_routes(
    nodes: Sequence[Announcement],
    n_blocks: int,
    k: int,
    *,
    exclude: Iterable[str] = (),
    **costs: Unpack[CostArgs],
) -> list[Route]:
    """k routes covering every block, over pairwise disjoint sets of nodes.

    Greedy successive shortest paths: plan the cheapest route, remove its nodes, repeat.
    This is not an exact min-cost disjoint-paths solver: it can fail to find k routes where
    a cleverer split exists. Raises `RouteError` naming how many routes it found.
    """
    if k < 1:
        raise RouteError(f"k must be >= 1, got {k}")
    used = set(exclude)
    routes: list[Route] = []
    for i in range(k):
        try:
            route = plan(nodes, n_blocks, exclude=used, **costs)
        except RouteError as exc:
            raise RouteError(f"found only {i} of {k} routes over disjoint nodes ({exc}); "
                             "more shard nodes must announce, or verify with fewer routes") from None
        routes.append(route)
        used.update(route.node_ids)
    return routes


def synthetic_swarm(n_nodes: int = 20, n_blocks: int = 24, *, seed: int = 0, block_mb: int = 1_500,
                    model: str = "gpt-synthetic") -> list[Announcement]:
    """A seeded heterogeneous swarm that covers every block.

    Machines are drawn from tiers (memory, throughput): small CPU boxes hold 1-3 blocks,
    big GPUs hold a dozen and run them fast; pings 2..120 ms. A node's block count is
    `memory_mb // block_mb` (capped at n_blocks) and its start block is random; nodes are
    then added where a block is left uncovered, so the swarm always has a route.
    """
    rng = random.Random(seed)
    tiers = [  # (memory_mb, blocks x tokens / s)
        (1_200, 300.0), (2_000, 600.0), (4_000, 1_500.0), (8_000, 4_000.0),
        (16_000, 12_000.0), (24_000, 20_000.0),
    ]
    nodes: list[Announcement] = []

    def make(i: int, start: int | None = None) -> Announcement:
        memory, tput = rng.choice(tiers)
        span = max(1, min(n_blocks, memory // block_mb))
        if start is None:
            start = rng.randrange(0, n_blocks - span + 1)
        start = min(start, n_blocks - span)
        return Announcement(
            id=f"node{i:02d}", endpoint=f"http://127.0.0.1:{9000 + i}", model=model,
            start=start, end=start + span, memory_mb=memory,
            throughput=round(tput * rng.uniform(0.7, 1.3), 1), ping_ms=round(rng.uniform(2.0, 120.0), 1),
        )

    for i in range(n_nodes):
        nodes.append(make(i))
    # patch coverage holes by replacing the last nodes, so the count stays n_nodes
    replace = n_nodes - 1
    for _ in range(n_nodes):
        covered = [any(n.start <= b < n.end for n in nodes) for b in range(n_blocks)]
        if all(covered):
            break
        hole = covered.index(False)
        nodes[replace] = make(replace, start=hole)
        replace -= 1
    if not all(any(n.start <= b < n.end for n in nodes) for b in range(n_blocks)):
        raise RouteError(f"synthetic swarm (seed {seed}) left a block uncovered; try another seed or more nodes")
    return nodes


def swarm_comparison(seeds: Iterable[int] = range(10), n_nodes: int = 20, n_blocks: int = 24, *,
                     tokens: int = 128, activation_bytes: int = 128 * 256 * 4) -> dict:
    """Planner vs greedy first-fit on synthetic swarms, one row per seed (costs in ms), for
    benchmarks' JSON: {"rows": [{"seed", "planner_ms", "greedy_ms", "planner_hops",
    "greedy_hops", "ratio"}], "median_ratio", "min_ratio", "nodes", "blocks"}."""
    rows = []
    for seed in seeds:
        swarm = synthetic_swarm(n_nodes, n_blocks, seed=seed)
        best = plan(swarm, n_blocks, tokens=tokens, activation_bytes=activation_bytes)
        greedy = greedy_first_fit(swarm, n_blocks, tokens=tokens, activation_bytes=activation_bytes)
        rows.append({"seed": seed, "planner_ms": round(best.cost * 1000, 3), "greedy_ms": round(greedy.cost * 1000, 3),
                     "planner_hops": len(best), "greedy_hops": len(greedy), "ratio": round(greedy.cost / best.cost, 4)})
    ratios = sorted(r["ratio"] for r in rows)
    mid = len(ratios) // 2
    median = ratios[mid] if len(ratios) % 2 else (ratios[mid - 1] + ratios[mid]) / 2
    return {"nodes": n_nodes, "blocks": n_blocks, "tokens": tokens, "activation_bytes": activation_bytes,
            "rows": rows, "median_ratio": round(median, 4), "min_ratio": ratios[0] if ratios else None}
