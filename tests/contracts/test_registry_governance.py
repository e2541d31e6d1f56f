"""Registry parameters behind governance (set_param, set_governance), the burned share of a slash, refresh."""
import boa
import pytest

from contract_world import MIN_STAKE, MODEL, events, node_stake

ZERO = "0x" + "00" * 20
CAP_INFERENCE, CAP_TRAINING, CAP_SHARD = 1, 2, 4


@pytest.mark.parametrize("param, value, read", [
    (1, 2 * MIN_STAKE, lambda r: r.min_stake()),
    (2, 99, lambda r: r.unbonding_blocks()),
    (3, 5, lambda r: r.jail_after()),
    (4, 2_500, lambda r: r.slash_burn_bps()),
    (5, 3 * MIN_STAKE, lambda r: r.capability_stake(CAP_INFERENCE)),
    (6, 4 * MIN_STAKE, lambda r: r.capability_stake(CAP_TRAINING)),
    (7, 5 * MIN_STAKE, lambda r: r.capability_stake(CAP_SHARD)),
])
def test_governance_sets_each_parameter(world, registry, param, value, read):
    assert registry.governance() == world.owner
    registry.set_param(param, value, sender=world.owner)
    assert read(registry) == value


def test_set_param_logs(world, registry):
    registry.set_param(2, 7, sender=world.owner)
    (ev,) = events(registry, "ParamSet")
    assert (ev.param, ev.value) == (2, 7)


def test_governance_sets_the_treasury(world, registry):
    new = boa.env.generate_address()
    registry.set_param(8, int(new, 16), sender=world.owner)
    assert registry.treasury() == new


@pytest.mark.parametrize("param, value, reason", [
    (1, 0, "registry: min_stake must be positive"),
    (3, 0, "registry: jail_after must be positive"),
    (4, 10_001, "registry: slash_burn_bps above 10000"),
    (8, 0, "registry: treasury is not an address"),
    (8, 2**160, "registry: treasury is not an address"),
    (0, 1, "registry: unknown parameter"),
    (9, 1, "registry: unknown parameter"),
])
def test_set_param_reverts(world, registry, param, value, reason):
    with boa.reverts(reason):
        registry.set_param(param, value, sender=world.owner)


def test_only_governance_sets_parameters(world, registry):
    with boa.reverts("registry: only governance may set parameters"):
        registry.set_param(2, 1, sender=world.requester)


def test_set_governance(world, registry):
    new = boa.env.generate_address()
    with boa.reverts("registry: governance is the zero address"):
        registry.set_governance(ZERO, sender=world.owner)
    registry.set_governance(new, sender=world.owner)
    (ev,) = events(registry, "GovernanceChanged")
    assert ev.governance == new
    with boa.reverts("registry: only governance may change governance"):
        registry.set_governance(world.owner, sender=world.owner)
    with boa.reverts("registry: only governance may set parameters"):
        registry.set_param(2, 1, sender=world.owner)
    registry.set_param(2, 1, sender=new)
    # the owner keeps its bootstrap duties
    registry.authorize(new, True, sender=world.owner)


def test_a_slash_is_split_between_burn_and_treasury(world, registry, token):
    registry.set_param(4, 3_000, sender=world.owner)
    slasher = boa.env.generate_address()
    registry.authorize(slasher, True, sender=world.owner)
    node = world.nodes[0]
    supply, treasury = token.totalSupply(), token.balanceOf(world.treasury)
    taken = registry.slash(node, 100 * 10**18 + 7, "test", sender=slasher)
    burned = taken * 3_000 // 10_000
    assert token.totalSupply() == supply - burned
    assert token.balanceOf(world.treasury) - treasury == taken - burned
    (ev,) = events(registry, "Burned")
    assert (ev.node, ev.amount) == (node, burned)
    world.assert_invariants()


def test_all_burned(world, registry, token):
    registry.set_param(4, 10_000, sender=world.owner)
    slasher = boa.env.generate_address()
    registry.authorize(slasher, True, sender=world.owner)
    treasury = token.balanceOf(world.treasury)
    registry.slash(world.nodes[1], 10**18, "test", sender=slasher)
    assert token.balanceOf(world.treasury) == treasury


def test_refresh_takes_a_node_below_the_new_minimum_out_of_the_draw(world, registry):
    small = world.nodes[0]                         # stake 2 x MIN_STAKE
    stake_before = registry.model_stake(MODEL)
    with boa.reverts("registry: node is already in its right state"):
        registry.refresh(small, sender=world.requester)
    registry.set_param(1, node_stake(0) + 1, sender=world.owner)
    registry.refresh(small, sender=world.requester)
    assert not registry.is_active(small)
    assert registry.model_stake(MODEL) == stake_before - node_stake(0)
    with boa.reverts("registry: node is already in its right state"):
        registry.refresh(small, sender=world.requester)
    with boa.reverts("registry: node not registered"):
        registry.refresh(world.requester)
