"""Inference.finalize (settle, refund, slash) and Inference.claim."""
import boa

from inference_views import task_view
from contract_world import (
    A, ABSENT, B, C, FEE, MIN_FEE, REFUNDED, SEED_HORIZON, SETTLED, SILENT, SLASH_BPS, events,
)


def block_number() -> int:
    return boa.env.evm.patch.block_number


def stakes(world):
    return {n: world.registry.stake_of(n) for n in world.nodes}


def cut(stake: int) -> int:
    return stake * SLASH_BPS // 10_000


# ------------------------------------------------------------------ settling

def test_unanimous_task_settles_as_soon_as_all_revealed(world, inference, token):
    before = token.balanceOf(world.requester)
    run = world.run_task([A] * 5)             # finalized without waiting for the deadline
    share = FEE // 5
    (log,) = events(inference, "TaskSettled")
    assert (log.task_id, log.result, log.agreeing, log.share) == (run.task_id, A, 5, share)
    t = task_view(inference, run.task_id)
    assert (t.status, t.result, t.final_block) == (SETTLED, A, block_number())
    assert block_number() < t.reveal_deadline
    for m in run.members:
        assert inference.claimable(m) == share
        assert world.registry.nodes(m).pending == 1
    assert token.balanceOf(world.requester) == before - 5 * share     # the dust came back
    assert token.balanceOf(world.treasury) == 0
    world.assert_invariants()


def test_dissenters_and_no_shows_are_slashed_and_dust_returned(world, inference, registry, token):
    before_stakes, before = stakes(world), token.balanceOf(world.requester)
    run = world.run_task([A, B, A, ABSENT, A], reveal_order=[1, 0, 2, 4])
    slashes = {e.member: (e.amount, e.reason) for e in events(inference, "MemberSlashed")}
    dissenter, absent = run.members[1], run.members[3]
    assert slashes == {
        dissenter: (cut(before_stakes[dissenter]), "inference: dissent from the final result"),
        absent: (cut(before_stakes[absent]), "inference: no reveal"),
    }
    share, dust = FEE // 3, FEE % 3
    assert dust > 0
    t = task_view(inference, run.task_id)
    assert (t.status, t.result, t.top_count) == (SETTLED, A, 3)
    for m in run.members:
        paid = run.behaviours[m] == A
        assert inference.claimable(m) == (share if paid else 0)
        assert registry.stake_of(m) == before_stakes[m] - (0 if paid else cut(before_stakes[m]))
        assert registry.nodes(m).slashes == (0 if paid else 1)
    assert token.balanceOf(world.requester) == before - FEE + dust
    assert token.balanceOf(world.treasury) == cut(before_stakes[dissenter]) + cut(before_stakes[absent])
    world.assert_invariants()


def test_silent_member_is_slashed_as_a_no_show(world, inference, registry):
    before = stakes(world)
    run = world.run_task([A, A, A, A, SILENT])
    (slash,) = events(inference, "MemberSlashed")
    assert (slash.member, slash.reason) == (run.members[4], "inference: no reveal")
    assert registry.stake_of(run.members[4]) == before[run.members[4]] - cut(before[run.members[4]])
    assert inference.claimable(run.members[4]) == 0
    assert inference.claimable(run.members[0]) == FEE // 4


# ------------------------------------------------------------------ refunds

def test_refund_when_no_quorum_slashes_only_no_shows(world, inference, registry, token):
    before_stakes, before = stakes(world), token.balanceOf(world.requester)
    run = world.run_task([A, B, A, B, SILENT])
    (log,) = events(inference, "TaskRefunded")
    assert (log.task_id, log.fee, log.top_count) == (run.task_id, FEE, 2)
    assert [e.member for e in events(inference, "MemberSlashed")] == [run.members[4]]
    assert task_view(inference, run.task_id).status == REFUNDED
    assert token.balanceOf(world.requester) == before                  # whole fee back
    for m in run.members[:4]:
        assert registry.stake_of(m) == before_stakes[m]                  # disagreeing is not cheating
        assert inference.claimable(m) == 0
        assert registry.nodes(m).pending == 1
    world.assert_invariants()


def test_refund_when_nobody_shows_up(world, inference, registry, token):
    before_stakes, before = stakes(world), token.balanceOf(world.requester)
    run = world.run_task([ABSENT] * 5)
    assert task_view(inference, run.task_id).status == REFUNDED
    assert token.balanceOf(world.requester) == before
    for m in run.members:
        assert registry.stake_of(m) == before_stakes[m] - cut(before_stakes[m])
    world.assert_invariants()


def test_refund_when_three_different_results(world, inference, token):
    before = token.balanceOf(world.requester)
    run = world.run_task([A, B, C, A, B])
    assert task_view(inference, run.task_id).status == REFUNDED
    assert token.balanceOf(world.requester) == before
    assert token.balanceOf(world.treasury) == 0


def test_refund_when_committee_never_drawn_after_256_blocks(world, inference, token):
    before = token.balanceOf(world.requester)
    task_id = world.request()
    boa.env.time_travel(blocks=1 + SEED_HORIZON)             # draw is still possible here
    with boa.reverts("inference: not drawn, call draw"):
        inference.finalize(task_id)
    boa.env.time_travel(blocks=1)
    inference.finalize(task_id, sender=world.nodes[0])       # anyone may finalize
    (log,) = events(inference, "TaskRefunded")
    assert (log.task_id, log.fee, log.top_count) == (task_id, FEE, 0)
    t = task_view(inference, task_id)
    assert (t.status, t.final_block) == (REFUNDED, block_number())
    assert token.balanceOf(world.requester) == before
    with boa.reverts("inference: not awaiting a draw"):
        inference.draw(task_id)
    world.assert_invariants()


# ------------------------------------------------------------------ finalize reverts

def test_finalize_before_the_draw_reverts(world, inference):
    task_id = world.request()
    with boa.reverts("inference: not drawn, call draw"):
        inference.finalize(task_id)                          # in the request block itself
    boa.env.time_travel(blocks=2)
    with boa.reverts("inference: not drawn, call draw"):
        inference.finalize(task_id)


def test_finalize_too_early_reverts(world, inference):
    run = world.run_task([A, A, A, A, SILENT], finalize=False)
    with boa.reverts("inference: too early to finalize"):
        inference.finalize(run.task_id)
    boa.env.time_travel(blocks=task_view(inference, run.task_id).reveal_deadline - block_number())
    with boa.reverts("inference: too early to finalize"):        # the deadline block is still open
        inference.finalize(run.task_id)
    boa.env.time_travel(blocks=1)
    inference.finalize(run.task_id)
    assert task_view(inference, run.task_id).status == SETTLED


def test_finalize_of_an_unknown_task_reverts(world, inference):
    with boa.reverts("inference: task is not open"):
        inference.finalize(7)


def test_finalize_twice_reverts(world, inference):
    run = world.run_task([A] * 5)
    with boa.reverts("inference: task is not open"):
        inference.finalize(run.task_id)
    refunded = world.run_task([ABSENT] * 5)
    with boa.reverts("inference: task is not open"):
        inference.finalize(refunded.task_id)


# ------------------------------------------------------------------ claim

def test_claim_pays_what_was_earned_across_tasks(world, inference, token):
    first = world.run_task([A] * 5, fee=MIN_FEE)
    second = world.run_task([B] * 5)
    earned = {m: 0 for m in world.nodes}
    for m in first.members:
        earned[m] += MIN_FEE // 5
    for m in second.members:
        earned[m] += FEE // 5
    for m, amount in earned.items():
        assert inference.claimable(m) == amount
        if amount == 0:
            continue
        balance = token.balanceOf(m)
        assert inference.claim(sender=m) == amount
        (log,) = events(inference, "Claimed")
        assert (log.account, log.amount) == (m, amount)
        assert token.balanceOf(m) == balance + amount
        assert inference.claimable(m) == 0
        world.assert_invariants()
    assert token.balanceOf(inference.address) == 0


def test_claim_with_nothing_to_claim_reverts(world, inference):
    with boa.reverts("inference: nothing to claim"):
        inference.claim(sender=world.nodes[0])
    run = world.run_task([A] * 5)
    inference.claim(sender=run.members[0])
    with boa.reverts("inference: nothing to claim"):
        inference.claim(sender=run.members[0])
