"""Registry.register and the views over registered nodes."""
import boa

from contract_world import MIN_STAKE, MODEL, OTHER_MODEL, events, keccak, node_stake


def test_register_stakes_and_activates(world, registry, token):
    node = world.new_account(funds=3 * MIN_STAKE)
    token.approve(registry.address, 3 * MIN_STAKE, sender=node)
    stake_before, count_before = registry.model_stake(MODEL), registry.node_count()

    registry.register(2 * MIN_STAKE, "http://n.test:7070", keccak(b"pk"), [MODEL, OTHER_MODEL], sender=node)

    (log,) = events(registry, "NodeRegistered")
    assert (log.node, log.index, log.stake, log.endpoint, log.pubkey, list(log.model_ids)) == (
        node, count_before + 1, 2 * MIN_STAKE, "http://n.test:7070", keccak(b"pk"), [MODEL, OTHER_MODEL])
    n = registry.nodes(node)
    assert (n.index, n.stake, n.endpoint, n.pubkey) == (count_before + 1, 2 * MIN_STAKE, "http://n.test:7070", keccak(b"pk"))
    assert (n.active, n.jailed, n.unbond_at, n.slashes, n.pending) == (True, False, 0, 0, 1)   # pending: 1 + open tasks
    assert registry.node_count() == count_before + 1
    assert registry.node_at(count_before + 1) == node
    assert registry.stake_of(node) == 2 * MIN_STAKE
    assert registry.is_active(node)
    assert list(registry.models_of(node)) == [MODEL, OTHER_MODEL]
    assert registry.model_stake(MODEL) == stake_before + 2 * MIN_STAKE
    assert registry.model_stake(OTHER_MODEL) == 2 * MIN_STAKE
    assert registry.model_nodes(OTHER_MODEL) == 1
    assert token.balanceOf(node) == MIN_STAKE          # only the stake was taken
    world.nodes.append(node)
    world.assert_invariants()


def test_genesis_nodes_are_counted_per_model(world, registry):
    assert registry.node_count() == len(world.nodes)
    assert registry.model_nodes(MODEL) == len(world.nodes)
    assert registry.model_stake(MODEL) == sum(node_stake(i) for i in range(len(world.nodes)))
    assert registry.model_nodes(OTHER_MODEL) == 0
    assert list(registry.active_nodes(MODEL)) == world.nodes


def test_active_nodes_lists_only_the_models_servers(world, registry):
    other = world.register(models=[OTHER_MODEL])
    both = world.register(models=[OTHER_MODEL, MODEL])
    assert list(registry.active_nodes(OTHER_MODEL)) == [other, both]
    assert list(registry.active_nodes(MODEL)) == world.nodes[:-2] + [both]
    assert list(registry.active_nodes(keccak(b"nobody serves this"))) == []


def test_unregistered_views_are_empty(world, registry):
    stranger = world.new_account()
    assert registry.stake_of(stranger) == 0
    assert not registry.is_active(stranger)
    assert list(registry.models_of(stranger)) == []


def test_register_twice_reverts(world, registry, token):
    node = world.nodes[0]
    world.fund(node, MIN_STAKE)
    token.approve(registry.address, MIN_STAKE, sender=node)
    with boa.reverts("registry: node already registered"):
        registry.register(MIN_STAKE, "x", keccak(b"pk"), [MODEL], sender=node)


def test_register_below_min_stake_reverts(world, registry, token):
    node = world.new_account(funds=MIN_STAKE)
    token.approve(registry.address, MIN_STAKE, sender=node)
    with boa.reverts("registry: stake below the minimum"):
        registry.register(MIN_STAKE - 1, "x", keccak(b"pk"), [MODEL], sender=node)


def test_register_without_models_reverts(world, registry, token):
    node = world.new_account(funds=MIN_STAKE)
    token.approve(registry.address, MIN_STAKE, sender=node)
    with boa.reverts("registry: a node must serve at least one model"):
        registry.register(MIN_STAKE, "x", keccak(b"pk"), [], sender=node)


def test_register_unknown_model_reverts(world, registry, token):
    node = world.new_account(funds=MIN_STAKE)
    token.approve(registry.address, MIN_STAKE, sender=node)
    with boa.reverts("registry: unknown model id"):
        registry.register(MIN_STAKE, "x", keccak(b"pk"), [MODEL, keccak(b"unknown")], sender=node)


def test_register_duplicate_model_reverts(world, registry, token):
    node = world.new_account(funds=MIN_STAKE)
    token.approve(registry.address, MIN_STAKE, sender=node)
    with boa.reverts("registry: model id listed twice"):
        registry.register(MIN_STAKE, "x", keccak(b"pk"), [MODEL, OTHER_MODEL, MODEL], sender=node)


def test_register_without_allowance_reverts(world, registry):
    node = world.new_account(funds=MIN_STAKE)
    with boa.reverts("token: allowance too low"):
        registry.register(MIN_STAKE, "x", keccak(b"pk"), [MODEL], sender=node)


def test_register_when_full_reverts(world, registry, token):
    boa.env.set_storage(registry.address, registry._storage.node_count.slot, 1024)
    node = world.new_account(funds=MIN_STAKE)
    token.approve(registry.address, MIN_STAKE, sender=node)
    with boa.reverts("registry: registry is full"):
        registry.register(MIN_STAKE, "x", keccak(b"pk"), [MODEL], sender=node)
