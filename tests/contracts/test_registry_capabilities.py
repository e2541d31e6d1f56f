"""Registry capabilities: what work a node declares (inference, training, shard serving)
and the minimum stake each capability needs."""
import boa

from contract_world import MIN_STAKE, events

CAP_INFERENCE, CAP_TRAINING, CAP_SHARD = 1, 2, 4


def test_register_grants_inference(world, registry):
    node = world.nodes[0]
    assert registry.capabilities(node) == CAP_INFERENCE
    assert registry.has_capability(node, CAP_INFERENCE)
    assert not registry.has_capability(node, CAP_TRAINING)


def test_node_declares_training(world, registry):
    node = world.nodes[0]
    registry.set_capabilities(CAP_INFERENCE | CAP_TRAINING, sender=node)
    (log,) = events(registry, "CapabilitiesSet")
    assert (log.node, log.capabilities) == (node, CAP_INFERENCE | CAP_TRAINING)
    assert registry.has_capability(node, CAP_TRAINING)
    assert registry.has_capability(node, CAP_INFERENCE | CAP_TRAINING)
    assert not registry.has_capability(node, CAP_SHARD)


def test_capability_stake_is_enforced(world, registry):
    node = world.nodes[0]                                   # stakes 2 × MIN_STAKE
    registry.set_capabilities(CAP_TRAINING, sender=node)
    registry.set_capability_stake(CAP_TRAINING, 5 * MIN_STAKE, sender=world.owner)
    (log,) = events(registry, "CapabilityStakeSet")
    assert (log.capability, log.min_stake) == (CAP_TRAINING, 5 * MIN_STAKE)
    assert registry.capability_stake(CAP_TRAINING) == 5 * MIN_STAKE
    assert not registry.has_capability(node, CAP_TRAINING)  # declared, but no longer staked enough
    with boa.reverts("registry: stake below the minimum for a capability"):
        registry.set_capabilities(CAP_TRAINING, sender=node)
    rich = world.nodes[-1]                                  # stakes 9 × MIN_STAKE
    registry.set_capabilities(CAP_TRAINING, sender=rich)
    assert registry.has_capability(rich, CAP_TRAINING)


def test_inactive_node_has_no_capability(world, registry):
    node = world.nodes[0]
    registry.begin_unbond(sender=node)
    assert not registry.has_capability(node, CAP_INFERENCE)


def test_set_capabilities_reverts(world, registry):
    with boa.reverts("registry: node not registered"):
        registry.set_capabilities(CAP_INFERENCE, sender=world.new_account())
    node = world.nodes[0]
    with boa.reverts("registry: declare at least one capability"):
        registry.set_capabilities(0, sender=node)
    with boa.reverts("registry: unknown capability bit"):
        registry.set_capabilities(8, sender=node)


def test_set_capability_stake_reverts(world, registry):
    with boa.reverts("registry: only governance may set parameters"):
        registry.set_capability_stake(CAP_TRAINING, 1, sender=world.nodes[0])
    with boa.reverts("registry: unknown capability"):
        registry.set_capability_stake(3, 1, sender=world.owner)
