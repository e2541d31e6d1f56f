"""Registry deployment and owner entry points: register_model, authorize."""
import boa

from contract_world import JAIL_AFTER, MIN_STAKE, MODEL, UNBONDING_BLOCKS, WEIGHTS, events, keccak


def test_deployment_parameters(world, registry):
    assert registry.token() == world.token.address
    assert registry.owner() == world.owner
    assert registry.treasury() == world.treasury
    assert (registry.min_stake(), registry.unbonding_blocks(), registry.jail_after()) == (
        MIN_STAKE, UNBONDING_BLOCKS, JAIL_AFTER)


def test_deployment_rejects_zero_min_stake(deployers, world):
    with boa.reverts("registry: min_stake must be positive"):
        deployers.registry.deploy(world.token.address, world.treasury, 0, 10, 1)


def test_deployment_rejects_zero_jail_after(deployers, world):
    with boa.reverts("registry: jail_after must be positive"):
        deployers.registry.deploy(world.token.address, world.treasury, 1, 10, 0)


def test_owner_registers_a_model(world, registry):
    model, weights = keccak(b"new model"), keccak(b"new weights")
    assert tuple(registry.models(model)) == (b"\0" * 32, False, 0, 0)
    registry.register_model(model, weights, sender=world.owner)
    (log,) = events(registry, "ModelRegistered")
    assert (log.model_id, log.weights_hash, log.mode, log.tolerance) == (model, weights, 0, 0)
    assert tuple(registry.models(model)) == (weights, True, 0, 0)      # exact mode


def test_owner_may_update_a_models_weights_hash(world, registry):
    registry.register_model(MODEL, keccak(b"v2"), sender=world.owner)
    assert tuple(registry.models(MODEL)) == (keccak(b"v2"), True, 0, 0)
    assert registry.model_nodes(MODEL) == len(world.nodes)     # nodes keep serving it


def test_only_the_owner_registers_models(world, registry):
    with boa.reverts("registry: only the owner may register models"):
        registry.register_model(keccak(b"m"), WEIGHTS, sender=world.requester)


def test_model_needs_a_weights_hash(world, registry):
    with boa.reverts("registry: weights hash is empty"):
        registry.register_model(keccak(b"m"), b"\0" * 32, sender=world.owner)


def test_owner_authorizes_and_revokes(world, registry):
    protocol = world.new_account()
    registry.authorize(protocol, True, sender=world.owner)
    (log,) = events(registry, "Authorized")
    assert (log.protocol, log.allowed) == (protocol, True)
    assert registry.authorized(protocol)
    registry.authorize(protocol, False, sender=world.owner)
    assert not registry.authorized(protocol)
    with boa.reverts("registry: caller may not slash"):
        registry.slash(world.nodes[0], 1, "test", sender=protocol)


def test_only_the_owner_authorizes(world, registry):
    with boa.reverts("registry: only the owner may authorize"):
        registry.authorize(world.requester, True, sender=world.requester)
