"""Verification of sharded inference: each committee member carries the input over its own
route, and the routes of a committee use pairwise disjoint nodes.

A sharded task is an ordinary `near`-mode task on `Inference.vy`: the drawn committee
commits and reveals SimHash fingerprints of the final output, the value a quorum agrees
with settles, dissenters and no-shows are slashed. What sharding adds is *where* each
member's output comes from. `assign_routes` gives member i (in draw order) route i:

    for each member m, in draw order:
        exclude = (shard nodes of the other members) + (nodes of routes already assigned)
        route(m) = plan(announcements, n_blocks, exclude=exclude, through=m)   if m announces a shard
                   plan(announcements, n_blocks, exclude=exclude)              otherwise

with a large fixed price per hop (`ASSIGN_HOP`), so each route uses as few nodes as it can
(leaving the most to the other members) and, among those, the cheapest.

So a member that serves blocks itself is always on its own route and on no other, and no
node is on two routes: one corrupting node can spoil one route only, the honest routes agree
within the model's tolerance and settle, and the member whose route disagreed is slashed by
the committee rules. A member is accountable for its whole route: when a relay (a shard node
that is not on the committee) corrupts, the member who relayed it dissents and loses; the relay
itself is slashed afterwards when the member blames its signed transcript and reports the hop to
`ShardAudit` (`brainnet.shard.blame`, `brainnet.node.sharded` with `audit=True`).

Everyone computes the same assignment: costs use only what is on-chain (announced ranges and
throughput, `ASSIGN_TOKENS`, `ASSIGN_BYTES`), never a locally measured ping, and ties break
by node id. Greedy, like `k_disjoint_routes`: it can fail where an exact disjoint-paths
solver would succeed; a member without a route raises `RouteError` (and, unable to run the
task, ends a no-show).

Pure: no I/O.
"""
from __future__ import annotations

from typing import Sequence

from brainnet.shard.route import Announcement, Route, RouteError, plan

ASSIGN_TOKENS = 128                 # tokens the assignment prices a request at
ASSIGN_BYTES = 128 * 384 * 4        # activation bytes per hop it prices (MiniLM fp32, 128 tokens)
ASSIGN_HOP = 1_000.0                # seconds added per hop: fewest nodes per route first, leaving
                                    # the most nodes to the other members; then the cheapest


def assign_routes(nodes: Sequence[Announcement], n_blocks: int, committee: Sequence[str], *,
                  tokens: int = ASSIGN_TOKENS, activation_bytes: int = ASSIGN_BYTES,
                  hop_overhead: float = ASSIGN_HOP) -> dict[str, Route]:
    """member address -> its route, for every member of `committee` (draw order matters)."""
    if len(set(committee)) != len(committee):
        raise RouteError("a committee lists a member twice; members must be distinct")
    key = {m.lower(): m for m in committee}
    announced = {n.id.lower() for n in nodes}
    members_serving = {m for m in key if m in announced}
    used: set[str] = set()
    out: dict[str, Route] = {}
    for lower, member in key.items():
        exclude = {n.id for n in nodes if n.id.lower() in (members_serving - {lower}) or n.id.lower() in used}
        through = next((n.id for n in nodes if n.id.lower() == lower), None)
        try:
            route = plan(nodes, n_blocks, tokens=tokens, activation_bytes=activation_bytes,
                         hop_overhead=hop_overhead, exclude=exclude, through=through)
        except RouteError as exc:
            raise RouteError(f"committee member {member} has no route over nodes disjoint from the other "
                             f"members' routes ({exc})") from None
        out[member] = route
        used.update(i.lower() for i in route.node_ids)
    return out


def route_of(nodes: Sequence[Announcement], n_blocks: int, committee: Sequence[str], member: str, **cost) -> Route:
    """The route `member` must carry the task over (see `assign_routes`)."""
    routes = assign_routes(nodes, n_blocks, committee, **cost)
    for m, route in routes.items():
        if m.lower() == member.lower():
            return route
    raise RouteError(f"{member} is not on the committee {list(committee)}")
