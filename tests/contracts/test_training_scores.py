"""Training.vy: the committee's `commit_scores`/`reveal_scores`, and `finalize_scores`: on-chain
median per update, acceptance, rewards credited to the wei as `protocol.training.settle_scores`
predicts, no-show slashes, `claim`."""
from __future__ import annotations

import boa
import pytest

from brainnet.protocol.training import lower_median, settle_scores
from contract_world import events
from training_world import (
    COMMITTEE_BPS, COMMITTEE_SIZE, POOL, SLASH_BPS, THRESHOLD, _rollback, salt_of, tw,  # noqa: F401
)


def settle(tw, rid, members, rows):
    r = tw.round(rid)
    revealed = [tw.training.updates(rid, s).revealed for s in range(r.updates)]
    return settle_scores(r.pool, r.threshold, COMMITTEE_BPS, members, COMMITTEE_SIZE, revealed, rows)


def check_credits(tw, rid, members, rows, before):
    """Every credit of the round equals the mirror's, to the wei."""
    want = settle(tw, rid, members, rows)
    r = tw.round(rid)
    for s in range(r.updates):
        u = tw.training.updates(rid, s)
        assert (u.median, u.accepted, u.reward) == (want.medians[s], want.accepted[s], want.rewards[s])
    credits = want.credits([tw.training.updates(rid, s).trainer for s in range(r.updates)], tw.owner)
    for a in tw.accounts:
        assert tw.training.claimable(a) - before.get(a, 0) == credits.get(a, 0)
    assert want.trainer_paid + sum(want.committee_paid.values()) + want.refund == r.pool
    return want


def test_lower_median():
    assert lower_median([3]) == 3
    assert lower_median([5, 1, 9]) == 5
    assert lower_median([4, 1, 9, 7]) == 4
    with pytest.raises(ValueError):
        lower_median([])


def test_median_acceptance_and_rewards(tw):
    rid = tw.open_round()
    members = tw.to_scoring(rid)
    n = tw.round(rid).updates
    # seat i gives update s the score base[s] + noise; updates 4 and 5 are attackers: low scores
    base = [9000, 7000, 6000, 5000, 1000, 0]
    rows = {m: [min(10_000, base[s] + 300 * ((i + s) % 3) - 300) if base[s] else 10_000 * (i == 0)
                for s in range(n)] for i, m in enumerate(members)}
    tw.score(rid, rows)
    before = {a: tw.training.claimable(a) for a in tw.accounts}
    tw.training.finalize_scores(rid, sender=tw.owner)
    scored = events(tw.training, "UpdateScored")
    ev = events(tw.training, "RoundScored")[0]
    want = check_credits(tw, rid, members, rows, before)
    assert [e.median for e in scored] == want.medians
    assert want.accepted == [True, True, True, want.medians[3] >= THRESHOLD, False, False]
    assert want.medians[5] == 0            # one member's 10000 does not move the median
    assert ev.refund == want.refund and ev.accepted == sum(want.accepted)
    assert tw.round(rid).scores_final
    assert all(tw.registry.nodes(t).pending == 1 + (t in members) for t in tw.trainers)   # members wait for the confirm
    tw.assert_invariants()


def test_even_number_of_reveals_takes_the_lower_median(tw):
    rid = tw.open_round()
    members = tw.to_scoring(rid)
    n = tw.round(rid).updates
    rows = {m: [1000 * (i + 3) + s for s in range(n)] for i, m in enumerate(members[:4])}
    for m, row in rows.items():
        tw.commit_scores(rid, m, row)
    tw.past(rid, "score_commit_deadline")
    for m, row in rows.items():
        tw.reveal_scores(rid, m, row)
    tw.past(rid, "score_reveal_deadline")
    before = {a: tw.training.claimable(a) for a in tw.accounts}
    stake = tw.registry.stake_of(members[4])
    tw.training.finalize_scores(rid, sender=tw.owner)
    slashed = events(tw.training, "MemberSlashed")
    want = check_credits(tw, rid, members, rows, before)
    assert want.medians[0] == 4000           # of 3000, 4000, 5000, 6000
    assert [(e.node, e.reason) for e in slashed] == [(members[4], "training: no score reveal")]
    assert tw.registry.stake_of(members[4]) == stake - stake * SLASH_BPS // 10_000
    tw.assert_invariants()


def test_unrevealed_updates_are_slashed_and_unscored(tw):
    rid = tw.open_round()
    t = tw.trainers
    members = tw.to_scoring(rid, trainers=t, reveal=t[:4])
    rows = {m: [7000] * len(t) for m in members}
    tw.score(rid, rows)
    before = {a: tw.training.claimable(a) for a in tw.accounts}
    stakes = [tw.registry.stake_of(x) for x in t]
    tw.training.finalize_scores(rid, sender=tw.owner)
    slashed = events(tw.training, "MemberSlashed")
    assert [e.node for e in slashed] == t[4:]
    assert all(e.reason == "training: update not revealed" for e in slashed)
    want = check_credits(tw, rid, members, rows, before)
    assert want.accepted == [True] * 4 + [False] * 2
    assert want.rewards[0] == want.rewards[3] > 0
    assert [tw.registry.stake_of(x) for x in t[4:]] == [s - s * SLASH_BPS // 10_000 for s in stakes[4:]]
    tw.assert_invariants()


def test_nobody_scores_refunds_the_trainer_pool(tw):
    rid = tw.open_round()
    members = tw.to_scoring(rid)
    tw.past(rid, "score_reveal_deadline")
    before = {a: tw.training.claimable(a) for a in tw.accounts}
    tw.training.finalize_scores(rid, sender=tw.owner)
    slashed = events(tw.training, "MemberSlashed")
    want = check_credits(tw, rid, members, {}, before)
    assert want.refund == POOL and sum(want.accepted) == 0
    assert len(slashed) == COMMITTEE_SIZE  # drawn but silent
    tw.assert_invariants()


def test_never_drawn_round_refunds_everything(tw):
    rid = tw.open_round()
    for x in tw.trainers[:2]:
        tw.commit_update(rid, x)
    tw.past(rid, "update_commit_deadline")
    for x in tw.trainers[:2]:
        tw.reveal_update(rid, x)
    tw.past(rid, "score_reveal_deadline")
    tw.training.finalize_scores(rid, sender=tw.owner)
    assert tw.training.claimable(tw.owner) == POOL
    tw.assert_invariants()


def test_early_finalize_when_every_member_revealed(tw):
    rid = tw.open_round()
    members = tw.to_scoring(rid)
    n = tw.round(rid).updates
    rows = {m: [8000] * n for m in members}
    for m, row in rows.items():
        tw.commit_scores(rid, m, row)
    # every member committed: reveals open before the commit deadline
    for m, row in rows.items():
        tw.reveal_scores(rid, m, row)
    assert boa.env.evm.patch.block_number <= tw.round(rid).score_commit_deadline
    tw.training.finalize_scores(rid, sender=tw.owner)
    assert tw.round(rid).accepted == n


def test_score_reverts(tw):
    rid = tw.open_round()
    members = tw.draw(rid)
    outsider = next(x for x in tw.nodes() if x not in members)
    for x in tw.trainers[:3]:
        tw.commit_update(rid, x)
    m = members[0]
    row = [7000, 7000, 7000]
    with boa.reverts("training: score commit window not open yet"):
        tw.commit_scores(rid, m, row)
    tw.past(rid, "update_commit_deadline")
    for x in tw.trainers[:3]:
        tw.reveal_update(rid, x)
    tw.past(rid, "update_reveal_deadline")
    with boa.reverts("training: sender is not on the committee"):
        tw.commit_scores(rid, outsider, row)
    with boa.reverts("training: commitment is empty"):
        tw.training.commit_scores(rid, b"\0" * 32, sender=m)
    with boa.reverts("training: no scores committed by this sender"):
        tw.reveal_scores(rid, m, row)
    tw.commit_scores(rid, m, row)
    assert events(tw.training, "ScoresCommitted")[0].member == m
    with boa.reverts("training: scores already committed"):
        tw.commit_scores(rid, m, row)
    with boa.reverts("training: score reveal window not open yet"):
        tw.reveal_scores(rid, m, row)
    bad = [7000, 7000, 10_001]
    tw.commit_scores(rid, members[1], bad)
    short = [7000, 7000]
    tw.commit_scores(rid, members[2], short)
    with boa.reverts("training: scores still open"):
        tw.training.finalize_scores(rid, sender=tw.owner)
    tw.past(rid, "score_commit_deadline")
    with boa.reverts("training: score commit window closed"):
        tw.commit_scores(rid, members[3], row)
    with boa.reverts("training: reveal does not match the commitment"):
        tw.reveal_scores(rid, m, [7000, 7000, 6999])
    with boa.reverts("training: score above the maximum"):
        tw.reveal_scores(rid, members[1], bad)
    with boa.reverts("training: one score per update slot"):
        tw.reveal_scores(rid, members[2], short)
    tw.reveal_scores(rid, m, row)
    assert list(events(tw.training, "ScoresRevealed")[0].scores) == row
    assert tw.training.score_of(rid, 2, 0) == 7000
    with boa.reverts("training: scores already revealed"):
        tw.reveal_scores(rid, m, row)
    tw.past(rid, "score_reveal_deadline")
    with boa.reverts("training: score reveal window closed"):
        tw.reveal_scores(rid, members[1], bad)
    with boa.reverts("training: unknown round"):
        tw.training.finalize_scores(rid + 1, sender=tw.owner)
    tw.training.finalize_scores(rid, sender=tw.owner)
    with boa.reverts("training: scores already finalized"):
        tw.training.finalize_scores(rid, sender=tw.owner)
    tw.assert_invariants()


def test_claim(tw):
    rid, members = tw.scored_round()
    t = tw.trainers[0]
    owed = tw.training.claimable(t)
    assert owed > 0
    before = tw.token.balanceOf(t)
    tw.training.claim(sender=t)
    assert events(tw.training, "Claimed")[0].amount == owed
    assert tw.token.balanceOf(t) == before + owed and tw.training.claimable(t) == 0
    with boa.reverts("training: nothing to claim"):
        tw.training.claim(sender=t)
    for a in [*members, tw.owner]:
        if tw.training.claimable(a):
            tw.training.claim(sender=a)
    tw.assert_invariants()
