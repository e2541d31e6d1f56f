"""Registry.sample: stake-weighted committees without replacement.

The exact draw is checked against `brainnet.protocol.sample_committee` in
tests/test_mirror.py; here: its reverts and the properties a requester relies on.
"""
import boa

from contract_world import MODEL, OTHER_MODEL, keccak
from brainnet.protocol import sample_committee


def test_committee_is_distinct_active_nodes(world, registry):
    for s in range(30):
        committee = list(registry.sample(MODEL, keccak(b"%d" % s), 5))
        assert len(committee) == len(set(committee)) == 5
        assert set(committee) <= set(world.nodes)


def test_same_seed_same_committee(world, registry):
    seed = keccak(b"fixed")
    assert registry.sample(MODEL, seed, 5) == registry.sample(MODEL, seed, 5)
    assert registry.sample(MODEL, seed, 5)[:3] == registry.sample(MODEL, seed, 3)


def test_drawing_every_node_gives_a_permutation(world, registry):
    assert sorted(registry.sample(MODEL, keccak(b"all"), len(world.nodes))) == sorted(world.nodes)


def test_empty_committee(world, registry):
    assert list(registry.sample(MODEL, keccak(b"x"), 0)) == []


def test_heavier_stake_is_drawn_first_more_often(world, registry):
    """node 7 holds 9/44 of the stake, node 0 holds 2/44: over 200 seeds the first seat shows it."""
    firsts = [registry.sample(MODEL, keccak(b"w%d" % s), 1)[0] for s in range(200)]
    assert firsts.count(world.nodes[7]) > firsts.count(world.nodes[0])


def test_inactive_nodes_are_never_drawn(world, registry):
    unbonding = world.nodes[5]
    registry.begin_unbond(sender=unbonding)
    elsewhere = world.register(stake=10**24, models=[OTHER_MODEL])   # huge stake, other model
    for s in range(30):
        committee = registry.sample(MODEL, keccak(b"%d" % s), len(world.nodes) - 2)
        assert unbonding not in committee and elsewhere not in committee
    assert list(registry.sample(OTHER_MODEL, keccak(b"o"), 1)) == [elsewhere]


def test_matches_the_python_mirror(world, registry):
    stakes = [registry.stake_of(n) for n in world.nodes]
    for s in range(10):
        seed = keccak(b"m%d" % s)
        expected = [world.nodes[i - 1] for i in sample_committee(stakes, seed, 5)]
        assert list(registry.sample(MODEL, seed, 5)) == expected


def test_committee_above_the_maximum_reverts(world, registry):
    with boa.reverts("registry: committee too large"):
        registry.sample(MODEL, keccak(b"x"), 129)


def test_committee_above_the_active_nodes_reverts(world, registry):
    with boa.reverts("registry: not enough active nodes for the committee"):
        registry.sample(MODEL, keccak(b"x"), len(world.nodes) + 1)
    with boa.reverts("registry: not enough active nodes for the committee"):
        registry.sample(keccak(b"unserved"), keccak(b"x"), 1)
