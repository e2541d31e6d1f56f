"""Route planning (brainnet.shard.route): Dijkstra over block boundaries is optimal (equal to
brute force on small random swarms), never worse than greedy first-fit and strictly better on
the 20-node synthetic swarm, honours exclusions and `through`, and says clearly when the
announced nodes cannot cover the model."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings, strategies as st

from brainnet.errors import BrainnetError
from brainnet.shard.route import (
    Route, RouteError, Announcement, brute_force, greedy_first_fit, hop_cost, k_disjoint_routes, plan,
    swarm_comparison, synthetic_swarm,
)

COST = dict(tokens=128, activation_bytes=128 * 1024 * 2)   # a 128-token fp16 hidden state of width 1024


@st.composite
def small_swarms(draw):
    n_blocks = draw(st.integers(1, 6))
    n_nodes = draw(st.integers(1, 5))
    nodes = []
    for i in range(n_nodes):
        start = draw(st.integers(0, n_blocks - 1))
        end = draw(st.integers(start + 1, n_blocks))
        nodes.append(Announcement(
            id=f"n{i}", endpoint=f"http://127.0.0.1:{7000 + i}", model="m", start=start, end=end,
            memory_mb=draw(st.integers(100, 8000)),
            throughput=draw(st.floats(10.0, 10_000.0)), ping_ms=draw(st.floats(0.0, 200.0)),
        ))
    from_block = draw(st.integers(0, n_blocks - 1))
    tokens = draw(st.integers(1, 256))
    activation_bytes = draw(st.integers(0, 1 << 20))
    hop_overhead = draw(st.sampled_from([0.0, 0.0, 0.01, 1.0]))
    return nodes, n_blocks, from_block, dict(tokens=tokens, activation_bytes=activation_bytes, hop_overhead=hop_overhead)


def check_route(route: Route, nodes, n_blocks: int, from_block: int, kw: dict) -> None:
    """Hops are contiguous, inside their node's range, and the costs add up."""
    by_id = {n.id: n for n in nodes}
    assert route.start == from_block and route.end == n_blocks
    for prev, nxt in zip(route.hops, route.hops[1:]):
        assert prev.end == nxt.start
    for h in route.hops:
        n = by_id[h.node_id]
        assert n.start <= h.start < h.end <= n.end and h.endpoint == n.endpoint
        assert math.isclose(h.cost, hop_cost(n, h.start, h.end, **kw))
    assert math.isclose(route.cost, sum(h.cost for h in route.hops))


@settings(max_examples=300, deadline=None)
@given(small_swarms())
def test_plan_equals_brute_force_on_small_swarms(case):
    nodes, n_blocks, from_block, kw = case
    try:
        expected = brute_force(nodes, n_blocks, from_block, **kw)
    except RouteError:
        with pytest.raises(RouteError):
            plan(nodes, n_blocks, from_block, **kw)
        return
    got = plan(nodes, n_blocks, from_block, **kw)
    check_route(got, nodes, n_blocks, from_block, kw)
    assert math.isclose(got.cost, expected.cost, rel_tol=1e-9, abs_tol=1e-12)
    assert got.cost <= greedy_first_fit(nodes, n_blocks, from_block, **kw).cost + 1e-12


@settings(max_examples=150, deadline=None)
@given(small_swarms(), st.data())
def test_plan_through_a_node_equals_brute_force(case, data):
    nodes, n_blocks, from_block, kw = case
    through = data.draw(st.sampled_from([n.id for n in nodes]))
    try:
        expected = brute_force(nodes, n_blocks, from_block, through=through, **kw)
    except RouteError:
        with pytest.raises(RouteError):
            plan(nodes, n_blocks, from_block, through=through, **kw)
        return
    got = plan(nodes, n_blocks, from_block, through=through, **kw)
    check_route(got, nodes, n_blocks, from_block, kw)
    assert through in got.node_ids
    assert math.isclose(got.cost, expected.cost, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=100, deadline=None)
@given(small_swarms(), st.data())
def test_excluded_nodes_are_never_used(case, data):
    nodes, n_blocks, from_block, kw = case
    excluded = data.draw(st.sets(st.sampled_from([n.id for n in nodes])))
    try:
        route = plan(nodes, n_blocks, from_block, exclude=excluded, **kw)
    except RouteError:
        with pytest.raises(RouteError):
            brute_force(nodes, n_blocks, from_block, exclude=excluded, **kw)
        return
    assert not excluded & set(route.node_ids)


def test_plan_is_independent_of_announcement_order():
    swarm = synthetic_swarm(seed=3)
    assert plan(swarm, 24, **COST) == plan(list(reversed(swarm)), 24, **COST)


@pytest.mark.parametrize("seed", range(5))
def test_planner_beats_greedy_first_fit_on_the_synthetic_swarm(seed):
    swarm = synthetic_swarm(20, 24, seed=seed)
    assert len(swarm) == 20 and len({(n.memory_mb, n.end - n.start) for n in swarm}) > 3   # heterogeneous
    best, greedy = plan(swarm, 24, **COST), greedy_first_fit(swarm, 24, **COST)
    check_route(best, swarm, 24, 0, COST)
    check_route(greedy, swarm, 24, 0, COST)
    assert best.cost < greedy.cost
    # mid-route re-planning (what failover does) also never loses to greedy
    assert plan(swarm, 24, 12, **COST).cost <= greedy_first_fit(swarm, 24, 12, **COST).cost


def test_synthetic_swarm_is_seeded_and_covers_every_block():
    assert synthetic_swarm(seed=7) == synthetic_swarm(seed=7) != synthetic_swarm(seed=8)
    for seed in range(20):
        swarm = synthetic_swarm(seed=seed)
        assert all(any(n.start <= b < n.end for n in swarm) for b in range(24))
        assert max(n.end - n.start for n in swarm) < 24      # nobody holds the whole model


def test_uncovered_block_is_a_clear_error():
    nodes = [Announcement("a", "http://a", "m", 0, 3), Announcement("b", "http://b", "m", 4, 8)]
    with pytest.raises(RouteError, match="serves block 3") as info:
        plan(nodes, 8)
    assert isinstance(info.value, BrainnetError) and "start a shard node" in str(info.value)
    with pytest.raises(RouteError, match="serves block 3"):
        greedy_first_fit(nodes, 8)
    with pytest.raises(RouteError, match="serves block 0"):
        plan(nodes, 8, exclude={"a"})


def test_bad_announcements_and_spans_are_refused():
    with pytest.raises(RouteError, match="empty"):
        Announcement("a", "http://a", "m", 3, 3)
    with pytest.raises(RouteError, match="throughput"):
        Announcement("a", "http://a", "m", 0, 3, throughput=0)
    nodes = [Announcement("a", "http://a", "m", 0, 3)]
    with pytest.raises(RouteError, match="from_block"):
        plan(nodes, 3, from_block=3)
    with pytest.raises(RouteError, match="twice"):
        plan(nodes * 2, 3)
    with pytest.raises(RouteError, match="must be on the route"):
        plan(nodes, 3, through="zzz")


def test_route_may_enter_and_leave_a_node_inside_its_range():
    # a slow node holds everything; a fast one holds blocks 2..6: the best route uses it mid-range
    slow = Announcement("slow", "http://slow", "m", 0, 8, throughput=10.0)
    fast = Announcement("fast", "http://fast", "m", 1, 7, throughput=10_000.0, ping_ms=1.0)
    route = plan([slow, fast], 8, tokens=10)
    assert [(h.node_id, h.start, h.end) for h in route.hops] == [("slow", 0, 1), ("fast", 1, 7), ("slow", 7, 8)]


def test_k_disjoint_routes_use_disjoint_nodes_and_fail_clearly():
    nodes = [Announcement(f"{side}{i}", f"http://{side}{i}", "m", 0 if side == "a" else 4, 4 if side == "a" else 8,
                       throughput=100.0 * (i + 1)) for side in "ab" for i in range(3)]
    routes = k_disjoint_routes(nodes, 8, 3, tokens=8)
    assert len(routes) == 3
    used = [set(r.node_ids) for r in routes]
    assert all(not (used[i] & used[j]) for i in range(3) for j in range(i + 1, 3))
    assert [r.cost for r in routes] == sorted(r.cost for r in routes)     # successive shortest paths
    assert routes[0].node_ids == ("a2", "b2")                                # fastest pair first
    with pytest.raises(RouteError, match="found only 3 of 4"):
        k_disjoint_routes(nodes, 8, 4)


def test_k_disjoint_routes_on_the_synthetic_swarm():
    swarm = synthetic_swarm(40, 24, seed=7)     # a seed whose edge blocks have 3 disjoint servers
    routes = k_disjoint_routes(swarm, 24, 3, **COST)
    seen: set[str] = set()
    for r in routes:
        check_route(r, swarm, 24, 0, COST)
        assert not seen & set(r.node_ids)
        seen |= set(r.node_ids)


def test_swarm_comparison_reports_the_planner_ahead():
    report = swarm_comparison(range(3))
    assert report["nodes"] == 20 and report["blocks"] == 24 and len(report["rows"]) == 3
    assert all(r["planner_ms"] < r["greedy_ms"] and r["ratio"] > 1 for r in report["rows"])
    assert report["min_ratio"] > 1 and report["median_ratio"] >= report["min_ratio"]
