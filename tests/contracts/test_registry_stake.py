"""Registry.add_stake, begin_unbond and withdraw: a node's stake over its lifetime."""
import boa

from contract_world import MIN_STAKE, MODEL, UNBONDING_BLOCKS, events


def block_number() -> int:
    return boa.env.evm.patch.block_number


def slasher(world):
    account = world.new_account()
    world.registry.authorize(account, True, sender=world.owner)
    return account


# ------------------------------------------------------------------ add_stake

def test_add_stake_grows_the_stake_and_the_models_total(world, registry, token):
    node = world.nodes[0]
    stake, total = registry.stake_of(node), registry.model_stake(MODEL)
    world.fund(node, 50)
    token.approve(registry.address, 50, sender=node)
    registry.add_stake(50, sender=node)
    (log,) = events(registry, "StakeAdded")
    assert (log.node, log.amount, log.stake) == (node, 50, stake + 50)
    assert registry.stake_of(node) == stake + 50
    assert registry.model_stake(MODEL) == total + 50
    assert registry.model_nodes(MODEL) == len(world.nodes)
    assert registry.is_active(node)
    world.assert_invariants()


def test_add_stake_reactivates_a_node_slashed_below_the_minimum(world, registry, token):
    node = world.register(stake=MIN_STAKE)
    registry.slash(node, 1, "test", sender=slasher(world))
    assert not registry.is_active(node)
    assert registry.model_nodes(MODEL) == len(world.nodes) - 1
    world.fund(node, 1)
    token.approve(registry.address, 1, sender=node)
    registry.add_stake(1, sender=node)
    assert registry.is_active(node)
    assert registry.model_nodes(MODEL) == len(world.nodes)
    world.assert_invariants()


def test_add_stake_from_a_stranger_reverts(world, registry):
    with boa.reverts("registry: node not registered"):
        registry.add_stake(1, sender=world.requester)


def test_add_stake_while_unbonding_reverts(world, registry):
    node = world.nodes[0]
    registry.begin_unbond(sender=node)
    with boa.reverts("registry: node is unbonding"):
        registry.add_stake(1, sender=node)


def test_add_zero_stake_reverts(world, registry):
    with boa.reverts("registry: amount is zero"):
        registry.add_stake(0, sender=world.nodes[0])


def test_add_stake_without_allowance_reverts(world, registry):
    node = world.nodes[0]
    world.fund(node, 10)
    with boa.reverts("token: allowance too low"):
        registry.add_stake(10, sender=node)


# ------------------------------------------------------------------ begin_unbond

def test_begin_unbond_deactivates_and_schedules_withdrawal(world, registry):
    node = world.nodes[1]
    stake, total = registry.stake_of(node), registry.model_stake(MODEL)
    registry.begin_unbond(sender=node)
    (log,) = events(registry, "UnbondingStarted")
    assert (log.node, log.withdraw_at) == (node, block_number() + UNBONDING_BLOCKS)
    assert registry.nodes(node).unbond_at == block_number() + UNBONDING_BLOCKS
    assert not registry.is_active(node)
    assert node not in registry.active_nodes(MODEL)
    assert registry.model_stake(MODEL) == total - stake
    assert registry.model_nodes(MODEL) == len(world.nodes) - 1
    assert registry.stake_of(node) == stake          # still bonded until withdrawn


def test_begin_unbond_from_a_stranger_reverts(world, registry):
    with boa.reverts("registry: node not registered"):
        registry.begin_unbond(sender=world.requester)


def test_begin_unbond_twice_reverts(world, registry):
    registry.begin_unbond(sender=world.nodes[0])
    with boa.reverts("registry: already unbonding"):
        registry.begin_unbond(sender=world.nodes[0])


# ------------------------------------------------------------------ withdraw

def test_withdraw_after_unbonding_returns_the_stake(world, registry, token):
    node = world.nodes[2]
    stake, balance = registry.stake_of(node), token.balanceOf(node)
    registry.begin_unbond(sender=node)
    boa.env.time_travel(blocks=UNBONDING_BLOCKS)          # exactly at unbond_at: allowed
    registry.withdraw(sender=node)
    (log,) = events(registry, "Withdrawn")
    assert (log.node, log.amount) == (node, stake)
    assert token.balanceOf(node) == balance + stake
    assert registry.stake_of(node) == 0
    world.assert_invariants()
    registry.withdraw(sender=node)                      # nothing left: a no-op
    assert token.balanceOf(node) == balance + stake


def test_withdraw_from_a_stranger_reverts(world, registry):
    with boa.reverts("registry: node not registered"):
        registry.withdraw(sender=world.requester)


def test_withdraw_without_unbonding_reverts(world, registry):
    with boa.reverts("registry: call begin_unbond first"):
        registry.withdraw(sender=world.nodes[0])


def test_withdraw_before_unbonding_ends_reverts(world, registry):
    node = world.nodes[0]
    registry.begin_unbond(sender=node)
    boa.env.time_travel(blocks=UNBONDING_BLOCKS - 1)
    with boa.reverts("registry: unbonding period not over"):
        registry.withdraw(sender=node)


def test_withdraw_while_tasks_pending_reverts_until_they_close(world, registry):
    task_id, members = world.open_task()
    member = members[0]
    assert registry.nodes(member).pending == 2
    registry.begin_unbond(sender=member)
    boa.env.time_travel(blocks=UNBONDING_BLOCKS)
    with boa.reverts("registry: tasks still pending for this node"):
        registry.withdraw(sender=member)
    # the task runs out without reveals: the member is slashed as a no-show, then may leave
    world.past_reveal_deadline(task_id)
    stake = registry.stake_of(member)
    world.inference.finalize(task_id, sender=world.owner)
    assert registry.nodes(member).pending == 1
    kept = registry.stake_of(member)
    assert kept < stake
    balance = world.token.balanceOf(member)
    registry.withdraw(sender=member)
    assert world.token.balanceOf(member) == balance + kept   # the slashed part never comes back
    world.assert_invariants()
