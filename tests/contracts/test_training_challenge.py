"""Training.vy: proof-of-training challenges: `challenge` (bond, window), the committee's
`vote`, `resolve_challenge` (slash, forfeited reward and bond to the challenger; or bond to the trainer)."""
from __future__ import annotations

import hashlib

import boa

from contract_world import events
from training_world import CHALLENGE_BOND, FRAUD_SLASH_BPS, _rollback, tw  # noqa: F401

EVIDENCE = hashlib.sha256(b"replay of segment 3 diverged").digest()


def open_challenge(tw, rid, trainer, challenger=None):
    challenger = challenger or tw.new_account(10 * CHALLENGE_BOND)
    tw.token.approve(tw.training.address, CHALLENGE_BOND, sender=challenger)
    cid = tw.training.challenge(rid, trainer, EVIDENCE, sender=challenger)
    return cid, challenger


def test_upheld_challenge_slashes_and_forfeits(tw):
    rid, members = tw.scored_round()
    trainer = tw.trainers[2]
    reward = tw.training.updates(rid, 2).reward
    assert reward > 0
    owed = tw.training.claimable(trainer)
    challenger = tw.new_account(10 * CHALLENGE_BOND)
    tw.token.approve(tw.training.address, CHALLENGE_BOND, sender=challenger)
    cid = tw.training.challenge(rid, trainer, EVIDENCE, sender=challenger)
    opened = events(tw.training, "ChallengeOpened")[0]
    assert (opened.trainer, opened.evidence_hash, opened.bond) == (trainer, EVIDENCE, CHALLENGE_BOND)
    tw.assert_invariants()                                  # the bond is escrowed
    stake = tw.registry.stake_of(trainer)
    for m in members[:2]:
        tw.training.vote(cid, True, sender=m)
    assert events(tw.training, "ChallengeVoted")[0].guilty
    with boa.reverts("training: vote still open"):
        tw.training.resolve_challenge(cid, sender=challenger)
    tw.training.vote(cid, True, sender=members[2])          # 3 of 5: decided
    assert tw.training.resolve_challenge(cid, sender=challenger)
    resolved = events(tw.training, "ChallengeResolved")[0]
    assert events(tw.training, "MemberSlashed")[0].reason == "training: proof of training failed"
    assert resolved.upheld and resolved.forfeited == reward
    assert resolved.slashed == stake * FRAUD_SLASH_BPS // 10_000
    assert tw.registry.stake_of(trainer) == stake - resolved.slashed
    assert tw.training.claimable(trainer) == owed - reward
    assert tw.training.claimable(challenger) == CHALLENGE_BOND + reward
    tw.assert_invariants()


def test_forfeit_is_capped_by_what_is_still_claimable(tw):
    rid, members = tw.scored_round()
    trainer = tw.trainers[0]
    tw.training.claim(sender=trainer)                       # already took its reward
    cid, challenger = open_challenge(tw, rid, trainer)
    for m in members[:3]:
        tw.training.vote(cid, True, sender=m)
    tw.training.resolve_challenge(cid, sender=tw.owner)
    assert events(tw.training, "ChallengeResolved")[0].forfeited == 0
    assert tw.training.claimable(challenger) == CHALLENGE_BOND
    tw.assert_invariants()


def test_rejected_challenge_pays_the_bond_to_the_trainer(tw):
    rid, members = tw.scored_round()
    trainer = tw.trainers[1]
    owed = tw.training.claimable(trainer)
    stake = tw.registry.stake_of(trainer)
    cid, challenger = open_challenge(tw, rid, trainer)
    tw.training.vote(cid, True, sender=members[0])
    for m in members[1:4]:
        tw.training.vote(cid, False, sender=m)              # 3 innocent of 5: guilty can no longer win
    assert not tw.training.resolve_challenge(cid, sender=tw.owner)
    assert tw.training.claimable(trainer) == owed + CHALLENGE_BOND
    assert tw.registry.stake_of(trainer) == stake
    tw.assert_invariants()


def test_undecided_challenge_resolves_after_the_vote_window(tw):
    rid, members = tw.scored_round()
    cid, _ = open_challenge(tw, rid, tw.trainers[3])
    tw.training.vote(cid, True, sender=members[0])
    tw.training.vote(cid, True, sender=members[1])          # 2 of 5: not a majority of the committee
    tw.travel_to(tw.training.challenges(cid).vote_deadline + 1)
    with boa.reverts("training: vote window closed"):
        tw.training.vote(cid, True, sender=members[2])
    assert not tw.training.resolve_challenge(cid, sender=tw.owner)
    with boa.reverts("training: challenge already resolved"):
        tw.training.resolve_challenge(cid, sender=tw.owner)
    with boa.reverts("training: challenge already resolved"):
        tw.training.vote(cid, True, sender=members[3])
    tw.assert_invariants()


def test_challenge_reverts(tw):
    rid = tw.open_round()
    members = tw.to_scoring(rid, trainers=tw.trainers, reveal=tw.trainers[:5])
    challenger = tw.new_account(10 * CHALLENGE_BOND)
    tw.token.approve(tw.training.address, 10 * CHALLENGE_BOND, sender=challenger)
    with boa.reverts("training: scores not finalized yet"):
        tw.training.challenge(rid, tw.trainers[0], EVIDENCE, sender=challenger)
    tw.score(rid, {m: [7000] * 6 for m in members})
    tw.training.finalize_scores(rid, sender=tw.owner)
    with boa.reverts("training: trainer revealed no update in this round"):
        tw.training.challenge(rid, tw.trainers[5], EVIDENCE, sender=challenger)
    with boa.reverts("training: trainer revealed no update in this round"):
        tw.training.challenge(rid, tw.committee_nodes[0], EVIDENCE, sender=challenger)
    with boa.reverts("training: evidence hash is empty"):
        tw.training.challenge(rid, tw.trainers[0], b"\0" * 32, sender=challenger)
    with boa.reverts():
        tw.training.challenge(rid, tw.trainers[0], EVIDENCE, sender=tw.new_account())   # no bond allowance
    cid = tw.training.challenge(rid, tw.trainers[0], EVIDENCE, sender=challenger)
    with boa.reverts("training: update already challenged"):
        tw.training.challenge(rid, tw.trainers[0], EVIDENCE, sender=challenger)
    outsider = next(x for x in tw.nodes() if x not in members)
    with boa.reverts("training: sender is not on the round's committee"):
        tw.training.vote(cid, True, sender=outsider)
    tw.training.vote(cid, True, sender=members[0])
    with boa.reverts("training: already voted"):
        tw.training.vote(cid, False, sender=members[0])
    with boa.reverts("training: unknown challenge"):
        tw.training.vote(cid + 1, True, sender=members[0])
    with boa.reverts("training: unknown challenge"):
        tw.training.resolve_challenge(cid + 1, sender=tw.owner)
    r = tw.round(rid)
    tw.travel_to(r.confirm_reveal_deadline + tw.training.challenge_window() + 1)
    with boa.reverts("training: challenge window closed"):
        tw.training.challenge(rid, tw.trainers[1], EVIDENCE, sender=challenger)
    tw.assert_invariants()
