"""Route assignment for verified sharded tasks (brainnet.shard.verify): every member gets a
route, routes share no node, a member that serves blocks is on its own route, and everyone
computes the same assignment from the same announcements."""
from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings, strategies as st

from brainnet.shard.route import Announcement, RouteError
from brainnet.shard.verify import assign_routes, route_of


def swarm(n_per_half: int = 3) -> list[Announcement]:
    """Half the nodes serve blocks 0:4, half 4:8 (MiniLM: embeddings + 3 layers | 3 layers + pooling)."""
    return [Announcement(f"0x{side}{i}", f"http://{side}{i}", "minilm-l6", 0 if side == "a" else 4,
                         4 if side == "a" else 8, throughput=1000.0 * (1 + i))
            for side in "ab" for i in range(n_per_half)]


def check(routes, committee, nodes):
    assert list(routes) == list(committee)
    seen: set[str] = set()
    for member, route in routes.items():
        assert route.start == 0 and route.end == 8
        assert not seen & set(route.node_ids)
        seen |= set(route.node_ids)
        if member in {n.id for n in nodes}:
            assert member in route.node_ids


@pytest.mark.parametrize("committee", list(itertools.permutations(["0xa0", "0xa1", "0xa2", "0xb0", "0xb1", "0xb2"], 3)))
def test_any_committee_of_three_gets_three_disjoint_routes(committee):
    nodes = swarm()
    routes = assign_routes(nodes, 8, committee)
    check(routes, committee, nodes)
    assert len({n for r in routes.values() for n in r.node_ids}) == 6     # the corrupt node is on some route


def test_members_without_shards_and_case_insensitive_addresses():
    nodes = swarm()
    committee = ["0xCC", "0xA1"]                                           # one relays only, one serves
    routes = assign_routes(nodes, 8, committee)
    assert "0xa1" in routes["0xA1"].node_ids and "0xa1" not in routes["0xCC"].node_ids
    assert route_of(nodes, 8, committee, "0xcc") == routes["0xCC"]


@settings(max_examples=50, deadline=None)
@given(st.permutations(swarm()))
def test_assignment_does_not_depend_on_announcement_order(nodes):
    committee = ["0xb2", "0xa0", "0xb0"]
    assert assign_routes(nodes, 8, committee) == assign_routes(swarm(), 8, committee)


def test_not_enough_disjoint_nodes_is_a_clear_error():
    with pytest.raises(RouteError, match="has no route over nodes disjoint"):
        assign_routes(swarm(2), 8, ["0xa0", "0xa1", "0xx"])
    with pytest.raises(RouteError, match="twice"):
        assign_routes(swarm(), 8, ["0xa0", "0xa0"])
    with pytest.raises(RouteError, match="not on the committee"):
        route_of(swarm(), 8, ["0xa0"], "0xb0")


@st.composite
def committees_over_swarms(draw):
    n_blocks = draw(st.integers(1, 6))
    nodes = []
    for i in range(draw(st.integers(1, 8))):
        start = draw(st.integers(0, n_blocks - 1))
        nodes.append(Announcement(f"0x{i:02x}", f"http://n{i}", "m", start, draw(st.integers(start + 1, n_blocks)),
                                  throughput=draw(st.floats(10.0, 1e4)), ping_ms=draw(st.floats(0.0, 50.0))))
    pool = [n.id for n in nodes] + ["0xf0", "0xf1", "0xf2"]          # members that serve no blocks
    committee = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4, unique=True))
    return nodes, n_blocks, committee


@settings(max_examples=200, deadline=None)
@given(committees_over_swarms())
def test_assigned_routes_are_disjoint_and_hold_their_member(case):
    nodes, n_blocks, committee = case
    try:
        routes = assign_routes(nodes, n_blocks, committee)
    except RouteError:
        return                                      # not enough disjoint coverage: a clear error, checked above
    assert list(routes) == committee
    seen: set[str] = set()
    serving = {n.id for n in nodes}
    for member, route in routes.items():
        assert (route.start, route.end) == (0, n_blocks)
        assert not seen & set(route.node_ids)
        seen |= set(route.node_ids)
        assert (member in route.node_ids) == (member in serving)
        assert not (set(committee) - {member}) & set(route.node_ids)    # no other member on my route
