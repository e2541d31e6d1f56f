"""Inference.commit and Inference.reveal: phases, membership and the commitment check."""
import boa
from inference_views import key_of, reveals_of, seat_of, tally_of, task_view

from contract_world import A, B, COMMIT_WINDOW, REVEAL_WINDOW, SILENT, events, salt_of
from brainnet.protocol import commitment


def block_number() -> int:
    return boa.env.evm.patch.block_number


def outsider(world, task_id):
    return next(n for n in world.nodes if not (seat_of(world.inference, task_id, n)[0] != 0))


# ------------------------------------------------------------------ commit

def test_commit_records_the_commitment(world, inference):
    task_id, members = world.open_task()
    c = commitment(task_id, A, str(members[0]), salt_of(members[0]))
    inference.commit_many([key_of(inference, task_id, members[0])], [c], sender=members[0])
    (log,) = events(inference, "CommitBatch")
    assert (log.member, list(log.seats), list(log.commitments)) == (members[0], [key_of(inference, task_id, members[0])], [c])
    assert seat_of(inference, task_id, members[0]) == (1, True, False)
    assert task_view(inference, task_id).commits == 1


def test_commit_on_the_deadline_block_is_accepted(world, inference):
    task_id, members = world.open_task()
    boa.env.time_travel(blocks=COMMIT_WINDOW)
    assert block_number() == task_view(inference, task_id).commit_deadline
    world.commit(task_id, members[0], A)
    assert task_view(inference, task_id).commits == 1


def test_non_member_commit_reverts(world, inference):
    task_id, _ = world.open_task()
    with boa.reverts("inference: not on the committee"):
        world.commit(task_id, outsider(world, task_id), A)
    with boa.reverts("inference: not on the committee"):
        world.commit(task_id, world.requester, A)


def test_double_commit_reverts(world, inference):
    task_id, members = world.open_task()
    world.commit(task_id, members[0], A)
    with boa.reverts("inference: already committed"):
        world.commit(task_id, members[0], B)
    assert task_view(inference, task_id).commits == 1


def test_commit_after_the_window_reverts(world, inference):
    task_id, members = world.open_task()
    world.past_commit_deadline(task_id)
    with boa.reverts("inference: commit window closed"):
        world.commit(task_id, members[0], A)


def test_empty_commitment_reverts(world, inference):
    task_id, members = world.open_task()
    with boa.reverts("inference: commitment is empty"):
        inference.commit_many([key_of(inference, task_id, members[0])], [b"\0" * 32], sender=members[0])


def test_commit_before_the_draw_reverts(world, inference):
    task_id = world.request()
    with boa.reverts("inference: not in commit phase"):
        inference.commit_many([key_of(inference, task_id, world.nodes[0])], [b"\1" * 32], sender=world.nodes[0])


def test_commit_after_finalize_reverts(world, inference):
    run = world.run_task([A, A, A, A, SILENT])
    silent = run.members[4]
    with boa.reverts("inference: commit window closed"):          # its seat is closed once the window is
        world.commit(run.task_id, silent, A)


# ------------------------------------------------------------------ reveal

def test_reveal_records_and_tallies(world, inference):
    task_id, members = world.open_task()
    for m in members:
        world.commit(task_id, m, A if m != members[2] else B)
    world.reveal(task_id, members[2], B)                 # all committed: reveal opens at once
    (log,) = events(inference, "RevealBatch")
    assert (log.member, list(log.seats)) == (members[2], [key_of(inference, task_id, members[2])])
    assert reveals_of(inference, task_id, members[2])[0] == B
    assert seat_of(inference, task_id, members[2])[2]
    assert (task_view(inference, task_id).top_result, task_view(inference, task_id).top_count) == (B, 1)
    world.reveal(task_id, members[0], A)                 # a tie keeps the first to reach it
    assert (task_view(inference, task_id).top_result, task_view(inference, task_id).top_count) == (B, 1)
    world.reveal(task_id, members[1], A)
    t = task_view(inference, task_id)
    assert (t.top_result, t.top_count, t.reveals) == (A, 2, 3)
    assert (tally_of(inference, task_id, A), tally_of(inference, task_id, B)) == (2, 1)


def test_reveal_waits_for_every_commit_or_the_deadline(world, inference):
    task_id, members = world.open_task()
    for m in members[:-1]:
        world.commit(task_id, m, A)
    with boa.reverts("inference: reveal not open yet"):
        world.reveal(task_id, members[0], A)
    world.past_commit_deadline(task_id)
    world.reveal(task_id, members[0], A)
    assert task_view(inference, task_id).reveals == 1


def test_reveal_on_the_deadline_block_is_accepted(world, inference):
    task_id, members = world.open_task()
    world.commit(task_id, members[0], A)
    boa.env.time_travel(blocks=COMMIT_WINDOW + REVEAL_WINDOW)
    assert block_number() == task_view(inference, task_id).reveal_deadline
    world.reveal(task_id, members[0], A)
    assert task_view(inference, task_id).reveals == 1


def test_reveal_after_the_deadline_reverts(world, inference):
    task_id, members = world.open_task()
    for m in members:
        world.commit(task_id, m, A)
    world.past_reveal_deadline(task_id)
    with boa.reverts("inference: reveal window closed"):
        world.reveal(task_id, members[0], A)


def test_reveal_that_does_not_match_reverts(world, inference):
    task_id, members = world.open_task()
    for m in members:
        world.commit(task_id, m, A)
    m = members[0]
    with boa.reverts("inference: reveal != commitment"):
        world.reveal(task_id, m, B)                                          # another result
    with boa.reverts("inference: reveal != commitment"):
        inference.reveal_many([key_of(inference, task_id, m)], [A], [], [salt_of(members[1])], [0], [], sender=m)          # another salt
    assert not seat_of(inference, task_id, m)[2]


def test_copied_commitment_does_not_open_for_the_copier(world, inference):
    """The member's address is in the hash: copying a commitment and its reveal fails."""
    task_id, members = world.open_task()
    honest, copier = members[0], members[1]
    world.commit(task_id, honest, A)
    copied = commitment(task_id, A, str(honest), salt_of(honest))          # as logged by the honest commit
    inference.commit_many([key_of(inference, task_id, copier)], [copied], sender=copier)
    world.past_commit_deadline(task_id)
    world.reveal(task_id, honest, A)
    with boa.reverts("inference: reveal != commitment"):
        inference.reveal_many([key_of(inference, task_id, copier)], [A], [], [salt_of(honest)], [0], [], sender=copier)


def test_reveal_binds_the_task_id(world, inference):
    """A commitment made for one task does not open on another."""
    task1, members1 = world.open_task()
    task2, members2 = world.open_task()
    m = next(x for x in members1 if x in members2)
    inference.commit_many([key_of(inference, task2, m)], [commitment(task1, A, str(m), salt_of(m))], sender=m)
    world.past_commit_deadline(task2)
    with boa.reverts("inference: reveal != commitment"):
        world.reveal(task2, m, A)


def test_reveal_without_commitment_reverts(world, inference):
    task_id, members = world.open_task()
    world.past_commit_deadline(task_id)
    with boa.reverts("inference: no commitment"):
        world.reveal(task_id, members[0], A)
    with boa.reverts("inference: not on the committee"):
        world.reveal(task_id, outsider(world, task_id), A)


def test_reveal_twice_reverts(world, inference):
    task_id, members = world.open_task()
    for m in members:
        world.commit(task_id, m, A)
    world.reveal(task_id, members[0], A)
    with boa.reverts("inference: already revealed"):
        world.reveal(task_id, members[0], A)
    assert tally_of(inference, task_id, A) == 1


def test_reveal_before_the_draw_reverts(world, inference):
    task_id = world.request()
    with boa.reverts("inference: not in reveal phase"):
        world.reveal(task_id, world.nodes[0], A)


def test_reveal_after_finalize_reverts(world, inference):
    run = world.run_task([A, A, A, A, SILENT], finalize=False)
    world.past_reveal_deadline(run.task_id)
    inference.finalize(run.task_id)
    with boa.reverts("inference: reveal window closed"):
        world.reveal(run.task_id, run.members[4], A)
