"""Registry protocol hooks: slash (and jailing), task_opened, task_closed."""
import boa

from contract_world import JAIL_AFTER, MIN_STAKE, MODEL, events, keccak


def slasher(world):
    account = world.new_account()
    world.registry.authorize(account, True, sender=world.owner)
    return account


def test_slash_takes_stake_to_the_treasury(world, registry, token):
    node, by = world.nodes[3], slasher(world)
    stake, total = registry.stake_of(node), registry.model_stake(MODEL)
    taken = registry.slash(node, 7 * 10**18, "inference: no reveal", sender=by)
    assert taken == 7 * 10**18
    (log,) = events(registry, "Slashed")
    assert (log.node, log.amount, log.reason, log.stake_left) == (node, taken, "inference: no reveal", stake - taken)
    assert token.balanceOf(world.treasury) == taken
    assert registry.stake_of(node) == stake - taken
    assert registry.nodes(node).slashes == 1
    assert registry.is_active(node)                      # still above the minimum
    assert registry.model_stake(MODEL) == total - taken
    world.assert_invariants()


def test_slash_is_capped_at_the_stake(world, registry, token):
    node = world.nodes[0]
    stake = registry.stake_of(node)
    assert registry.slash(node, 10 * stake, "all of it", sender=slasher(world)) == stake
    assert registry.stake_of(node) == 0
    assert token.balanceOf(world.treasury) == stake
    assert not registry.is_active(node)
    world.assert_invariants()


def test_slash_of_nothing_still_counts(world, registry, token):
    node = world.nodes[0]
    assert registry.slash(node, 0, "warning", sender=slasher(world)) == 0
    assert registry.nodes(node).slashes == 1
    assert token.balanceOf(world.treasury) == 0
    assert registry.is_active(node)


def test_slash_below_the_minimum_deactivates(world, registry):
    node = world.register(stake=MIN_STAKE)
    registry.slash(node, 1, "test", sender=slasher(world))
    assert not registry.is_active(node)
    assert not registry.nodes(node).jailed
    assert node not in registry.active_nodes(MODEL)


def test_slash_of_an_unbonding_node_keeps_it_inactive(world, registry):
    node = world.nodes[4]
    registry.begin_unbond(sender=node)
    total = registry.model_stake(MODEL)
    registry.slash(node, 1, "test", sender=slasher(world))
    assert not registry.is_active(node)
    assert registry.model_stake(MODEL) == total           # it was not counted anyway
    world.assert_invariants()


def test_jailed_after_jail_after_slashes_and_never_drawn(world, registry):
    node, by = world.nodes[7], slasher(world)             # the largest stake
    for i in range(JAIL_AFTER - 1):
        registry.slash(node, 0, "test", sender=by)
        assert not events(registry, "Jailed")
        assert registry.is_active(node)
    registry.slash(node, 0, "test", sender=by)
    (log,) = events(registry, "Jailed")
    assert (log.node, log.slashes) == (node, JAIL_AFTER)
    n = registry.nodes(node)
    assert n.jailed and not n.active and n.slashes == JAIL_AFTER
    assert registry.model_nodes(MODEL) == len(world.nodes) - 1
    registry.slash(node, 0, "test", sender=by)             # jailed once only
    assert not events(registry, "Jailed")
    # no committee can include it, whatever the seed
    others = len(world.nodes) - 1
    for s in range(40):
        assert node not in registry.sample(MODEL, keccak(b"seed %d" % s), others)
    # topping up does not get it out of jail
    world.fund(node, MIN_STAKE)
    world.token.approve(registry.address, MIN_STAKE, sender=node)
    registry.add_stake(MIN_STAKE, sender=node)
    assert not registry.is_active(node)


def test_slash_by_an_unauthorized_caller_reverts(world, registry):
    for caller in (world.requester, world.owner, world.nodes[1]):
        with boa.reverts("registry: caller may not slash"):
            registry.slash(world.nodes[0], 1, "grudge", sender=caller)


def test_slash_of_an_unregistered_node_reverts(world, registry):
    with boa.reverts("registry: node not registered"):
        registry.slash(world.requester, 1, "test", sender=slasher(world))


def test_task_hooks_count_pending_tasks(world, registry):
    node, by = world.nodes[0], slasher(world)
    registry.task_opened(node, sender=by)
    registry.task_opened(node, sender=by)
    assert registry.nodes(node).pending == 3
    registry.task_closed(node, sender=by)
    assert registry.nodes(node).pending == 2


def test_task_opened_by_an_unauthorized_caller_reverts(world, registry):
    with boa.reverts("registry: caller may not open tasks"):
        registry.task_opened(world.nodes[0], sender=world.nodes[0])


def test_task_closed_by_an_unauthorized_caller_reverts(world, registry):
    registry.task_opened(world.nodes[0], sender=slasher(world))
    with boa.reverts("registry: caller may not close tasks"):
        registry.task_closed(world.nodes[0], sender=world.nodes[0])
