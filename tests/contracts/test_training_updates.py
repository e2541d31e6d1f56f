"""Training.vy: trainers `commit_update` then `reveal_update` (capability, windows, slots, every revert)."""
from __future__ import annotations

import boa

from brainnet.protocol.training import update_commitment
from contract_world import MIN_STAKE, events
from training_world import _rollback, salt_of, trace_hash_of, tw, update_hash_of  # noqa: F401


def test_commit_and_reveal(tw):
    rid = tw.open_round()
    t0, t1 = tw.trainers[:2]
    tw.commit_update(rid, t0)
    ev = events(tw.training, "UpdateCommitted")[0]
    assert ev.trainer == t0 and ev.slot == 0
    tw.commit_update(rid, t1)
    assert tw.training.slot_of(rid, t1) == 2 and tw.round(rid).updates == 2
    assert tw.registry.nodes(t0).pending == 2
    tw.past(rid, "update_commit_deadline")
    tw.reveal_update(rid, t1)
    ev = events(tw.training, "UpdateRevealed")[0]
    assert ev.slot == 1 and ev.update_hash == update_hash_of(t1, rid) and ev.trace_hash == trace_hash_of(t1, rid)
    u = tw.training.updates(rid, 1)
    assert u.revealed and u.trainer == t1 and u.update_hash == update_hash_of(t1, rid)
    assert tw.round(rid).revealed_updates == 1
    assert not tw.training.updates(rid, 0).revealed


def test_commit_update_reverts(tw):
    rid = tw.open_round()
    trainer, committee_node = tw.trainers[0], tw.committee_nodes[0]
    with boa.reverts("training: unknown round"):
        tw.commit_update(rid + 1, trainer)
    with boa.reverts("training: sender is not an active training node"):
        tw.commit_update(rid, committee_node)
    with boa.reverts("training: sender is not an active training node"):
        tw.commit_update(rid, tw.new_account())
    with boa.reverts("training: commitment is empty"):
        tw.training.commit_update(rid, b"\0" * 32, sender=trainer)
    tw.commit_update(rid, trainer)
    with boa.reverts("training: update already committed"):
        tw.commit_update(rid, trainer)
    tw.past(rid, "update_commit_deadline")
    with boa.reverts("training: update commit window closed"):
        tw.commit_update(rid, tw.trainers[1])


def test_round_holds_at_most_32_updates(tw):
    rid = tw.open_round(windows=(100, 10, 10, 10, 10, 10))
    extra = [tw.register(MIN_STAKE, caps=3) for _ in range(32 - len(tw.trainers))]
    tw.trainers.extend(extra)
    for t in tw.trainers:
        tw.commit_update(rid, t)
    late = tw.register(MIN_STAKE, caps=3)
    tw.trainers.append(late)
    with boa.reverts("training: round is full"):
        tw.commit_update(rid, late)


def test_reveal_update_reverts(tw):
    rid = tw.open_round()
    trainer = tw.trainers[0]
    tw.commit_update(rid, trainer)
    with boa.reverts("training: update reveal window not open yet"):
        tw.reveal_update(rid, trainer)
    tw.past(rid, "update_commit_deadline")
    with boa.reverts("training: no update committed by this sender"):
        tw.reveal_update(rid, tw.trainers[1])
    with boa.reverts("training: reveal does not match the commitment"):
        tw.reveal_update(rid, trainer, update_hash=update_hash_of(tw.trainers[1], rid))
    with boa.reverts("training: reveal does not match the commitment"):
        tw.training.reveal_update(rid, update_hash_of(trainer, rid), trace_hash_of(trainer, rid), b"\1" * 32, sender=trainer)
    with boa.reverts("training: update hash is empty"):
        tw.training.reveal_update(rid, b"\0" * 32, trace_hash_of(trainer, rid), salt_of(trainer), sender=trainer)
    tw.reveal_update(rid, trainer)
    with boa.reverts("training: update already revealed"):
        tw.reveal_update(rid, trainer)
    tw.past(rid, "update_reveal_deadline")
    other = tw.trainers[1]
    rid2 = tw.open_round()
    tw.commit_update(rid2, other)
    tw.past(rid2, "update_reveal_deadline")
    with boa.reverts("training: update reveal window closed"):
        tw.reveal_update(rid2, other)


def test_commitment_is_bound_to_the_trainer(tw):
    """A lazy trainer cannot copy another's commitment: the reveal checks msg.sender."""
    rid = tw.open_round()
    a, b = tw.trainers[:2]
    c = update_commitment(rid, update_hash_of(a, rid), trace_hash_of(a, rid), str(a), salt_of(a))
    tw.training.commit_update(rid, c, sender=a)
    tw.training.commit_update(rid, c, sender=b)          # copied
    tw.past(rid, "update_commit_deadline")
    tw.reveal_update(rid, a)
    with boa.reverts("training: reveal does not match the commitment"):
        tw.training.reveal_update(rid, update_hash_of(a, rid), trace_hash_of(a, rid), salt_of(a), sender=b)
