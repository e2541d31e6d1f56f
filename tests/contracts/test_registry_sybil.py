"""Sybil resistance of Registry.sample on the real contract: a stake registered as one node or
split into several (registered one after another) is selected on exactly the same seeds."""
import boa

from brainnet.protocol import keccak
from contract_world import MIN_STAKE, MODEL, WEIGHTS


def _registry(deployers, world, stakes):
    owner = world.owner
    with boa.env.prank(owner):
        reg = deployers.registry.deploy(world.token.address, world.treasury, MIN_STAKE, 10, 3)
        reg.register_model(MODEL, WEIGHTS)
    nodes = []
    for i, stake in enumerate(stakes):
        node = boa.env.generate_address()
        world.token.transfer(node, stake, sender=owner)
        world.token.approve(reg.address, stake, sender=node)
        reg.register(stake, f"http://n{i}.test", keccak(b"%d" % i), [MODEL], sender=node)
        nodes.append(node)
    return reg, nodes


def test_splitting_a_stake_does_not_change_when_it_is_drawn(deployers, world):
    honest = [MIN_STAKE * s for s in (3, 7, 2, 5, 4, 9)]
    whole, whole_nodes = _registry(deployers, world, honest + [MIN_STAKE * 12])
    split, split_nodes = _registry(deployers, world, honest + [MIN_STAKE * 4] * 3)
    attacker = set(split_nodes[len(honest):])
    selected = 0
    for t in range(60):
        seed = keccak(b"seed %d" % t)
        a = whole_nodes[-1] in whole.sample(MODEL, seed, 3)
        b = bool(attacker & set(split.sample(MODEL, seed, 3)))
        assert a == b
        selected += a
    assert 0 < selected < 60
