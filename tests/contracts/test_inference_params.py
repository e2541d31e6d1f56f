"""Inference parameters behind governance: set_param for every parameter, its reverts, set_governance,
and tasks keeping the committee size, quorum and levels they were requested under."""
import boa
from brainnet.protocol.escalation import level_size, level_quorum
import pytest

from contract_world import A, E18, events

ZERO = "0x" + "00" * 20


@pytest.mark.parametrize("param, value, getter", [
    (2, 4, "quorum"),
    (3, 12, "commit_window"),
    (4, 13, "reveal_window"),
    (5, 2_500, "slash_bps"),
    (6, 3 * E18, "min_fee"),
    (7, 3, "max_levels"),
    (8, 9, "challenge_window"),
    (9, 77 * E18, "challenge_bond"),
])
def test_governance_sets_each_parameter(world, inference, param, value, getter):
    assert inference.governance() == world.owner
    inference.set_param(param, value, sender=world.owner)
    (ev,) = events(inference, "ParamSet")
    assert (ev.param, ev.value) == (param, value)
    assert getattr(inference, getter)() == value


def test_committee_size_resets_the_quorum_to_a_bare_majority(world, inference):
    inference.set_param(1, 3, sender=world.owner)
    assert (inference.committee_size(), inference.quorum()) == (3, 2)
    assert level_size(inference.committee_size(), 0) == 3 and level_quorum(inference.committee_size(), inference.quorum(), 0) == 2
    inference.set_param(1, 8, sender=world.owner)
    assert (inference.committee_size(), inference.quorum()) == (8, 5)
    assert level_size(inference.committee_size(), 1) == 17 and level_quorum(inference.committee_size(), inference.quorum(), 1) == 9


def test_emission_address(world, inference):
    target = boa.env.generate_address()
    inference.set_param(10, int(target, 16), sender=world.owner)
    assert inference.emission() == target
    inference.set_param(10, 0, sender=world.owner)
    assert inference.emission() == ZERO


@pytest.mark.parametrize("param, value, reason", [
    (1, 0, "inference: bad committee size"),
    (1, 129, "inference: bad committee size"),
    (2, 2, "inference: quorum not a majority"),
    (2, 6, "inference: quorum not a majority"),
    (3, 0, "inference: window must be > 0"),
    (4, 0, "inference: window must be > 0"),
    (5, 10_001, "inference: slash_bps above 10000"),
    (7, 0, "inference: bad max_levels"),
    (7, 7, "inference: bad max_levels"),
    (10, 2**160, "inference: emission not address"),
    (0, 1, "inference: unknown parameter"),
    (11, 1, "inference: unknown parameter"),
])
def test_set_param_reverts(world, inference, param, value, reason):
    with boa.reverts(reason):
        inference.set_param(param, value, sender=world.owner)


def test_levels_too_large_for_the_committee(world, inference):
    inference.set_param(1, 40, sender=world.owner)
    with boa.reverts("inference: levels too large"):
        inference.set_param(7, 3, sender=world.owner)       # 40 + 81 + 163: a level above 128


def test_only_governance(world, inference):
    with boa.reverts("inference: only governance"):
        inference.set_param(2, 4, sender=world.requester)


def test_set_governance(world, inference):
    new = boa.env.generate_address()
    with boa.reverts("inference: zero governance"):
        inference.set_governance(ZERO, sender=world.owner)
    inference.set_governance(new, sender=world.owner)
    (ev,) = events(inference, "GovernanceChanged")
    assert ev.governance == new
    with boa.reverts("inference: only governance"):
        inference.set_governance(world.owner, sender=world.owner)


def test_an_open_task_keeps_its_terms(world, inference):
    """K drops from 5 to 3 while a task is open: it still needs all 5 reveals to finalize early."""
    task_id, members = world.open_task()
    inference.set_param(1, 3, sender=world.owner)
    assert level_size(inference.task_terms(task_id)[0], 0) == 5
    for m in members:
        world.commit(task_id, m, A)
    for m in members[:3]:
        world.reveal(task_id, m, A)
    with boa.reverts("inference: too early to finalize"):
        inference.finalize(task_id)
    for m in members[3:]:
        world.reveal(task_id, m, A)
    inference.finalize(task_id)
    t = world.task(task_id)
    assert t.status == 4 and t.top_count == 5
    new_id, new_members = world.open_task()
    assert len(new_members) == 3 and level_size(inference.task_terms(new_id)[0], 0) == 3
    world.assert_invariants()
