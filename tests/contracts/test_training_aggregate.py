"""Training.vy: `post_aggregate`, the committee's `commit_confirm`/`reveal_confirm`, and
`finalize_aggregate` recording the new version in Models (lineage), with its slashes."""
from __future__ import annotations

import hashlib

import boa

from contract_world import MODEL, events
from training_world import COMMITTEE_SIZE, SLASH_BPS, _rollback, salt_of, tw  # noqa: F401

NEW = hashlib.sha256(b"new global weights").digest()
OTHER = hashlib.sha256(b"someone else's aggregate").digest()


def confirm(tw, rid, votes: dict) -> None:
    for m, h in votes.items():
        tw.commit_confirm(rid, m, h)
    tw.past(rid, "confirm_commit_deadline")
    for m, h in votes.items():
        tw.reveal_confirm(rid, m, h)


def test_quorum_records_the_version(tw):
    rid, members = tw.scored_round()
    tw.training.post_aggregate(rid, NEW, "blob://v2", sender=members[0])
    posted = events(tw.training, "AggregatePosted")[0]
    assert (posted.aggregator, posted.weights_hash, posted.uri) == (members[0], NEW, "blob://v2")
    votes = {m: NEW for m in members[:4]} | {members[4]: OTHER}
    confirm(tw, rid, votes)
    tw.past(rid, "confirm_reveal_deadline")
    stake = tw.registry.stake_of(members[4])
    version = tw.training.finalize_aggregate(rid, sender=tw.owner)
    closed = events(tw.training, "RoundClosed")[0]
    slashed = events(tw.training, "MemberSlashed")
    assert version == 2 and closed.new_version == 2 and closed.confirmations == 4
    assert [(e.node, e.reason) for e in slashed] == [(members[4], "training: confirmed another aggregate")]
    assert tw.registry.stake_of(members[4]) == stake - stake * SLASH_BPS // 10_000
    v = tw.models.version(MODEL, 2)
    assert (v.weights_hash, v.parent, v.round_id, v.uri) == (NEW, 1, rid, "blob://v2")
    assert tw.models.latest(MODEL) == 2 and list(tw.models.lineage(MODEL, 2, 64)) == [2, 1]
    r = tw.round(rid)
    assert r.closed and r.new_version == 2
    assert all(tw.registry.nodes(m).pending == 1 for m in members)
    with boa.reverts("training: round already closed"):
        tw.training.finalize_aggregate(rid, sender=tw.owner)
    # the next round trains version 2 and yields version 3 with parent 2
    rid2, members2 = tw.scored_round()
    assert tw.round(rid2).version == 2
    new3 = hashlib.sha256(b"v3").digest()
    tw.training.post_aggregate(rid2, new3, "blob://v3", sender=tw.owner)      # the owner may post too
    for m in members2:
        tw.commit_confirm(rid2, m, new3)
    for m in members2:                                                          # all committed: reveal early
        tw.reveal_confirm(rid2, m, new3)
    assert tw.training.finalize_aggregate(rid2, sender=tw.owner) == 3           # all revealed: finalize early
    assert list(tw.models.lineage(MODEL, 3, 64)) == [3, 2, 1]
    tw.assert_invariants()


def test_no_quorum_records_nothing_and_slashes_only_the_silent(tw):
    rid, members = tw.scored_round()
    tw.training.post_aggregate(rid, NEW, "", sender=members[1])
    votes = {members[0]: NEW, members[1]: NEW, members[2]: OTHER, members[3]: OTHER}   # members[4] silent
    confirm(tw, rid, votes)
    tw.past(rid, "confirm_reveal_deadline")
    version = tw.training.finalize_aggregate(rid, sender=tw.owner)
    slashed = events(tw.training, "MemberSlashed")
    assert version == 0
    assert [(e.node, e.reason) for e in slashed] == [(members[4], "training: no confirm reveal")]
    assert tw.models.latest(MODEL) == 1 and tw.round(rid).closed


def test_the_quorum_decides_not_the_post(tw):
    """A member who posts a wrong hash cannot block the round: the hash a quorum revealed is recorded."""
    rid, members = tw.scored_round()
    tw.training.post_aggregate(rid, OTHER, "blob://wrong", sender=members[0])
    confirm(tw, rid, {m: NEW for m in members[1:]} | {members[0]: OTHER})
    assert tw.training.finalize_aggregate(rid, sender=tw.owner) == 2          # all revealed: no need to wait
    closed = events(tw.training, "RoundClosed")[0]
    slashed = events(tw.training, "MemberSlashed")
    assert (closed.weights_hash, closed.confirmations) == (NEW, 4)
    assert [e.node for e in slashed] == [members[0]]
    v = tw.models.version(MODEL, 2)
    assert (v.weights_hash, v.uri, v.parent) == (NEW, "", 1)                   # not the wrong post's URI


def test_no_aggregate_posted_still_records_the_quorum_hash(tw):
    rid, members = tw.scored_round()
    confirm(tw, rid, {m: NEW for m in members})
    tw.past(rid, "confirm_reveal_deadline")
    assert tw.training.finalize_aggregate(rid, sender=tw.owner) == 2
    assert tw.models.weights_hash(MODEL, 2) == NEW


def test_nothing_accepted_nothing_to_confirm(tw):
    rid, members = tw.scored_round(rows_of=lambda i: [100] * len(tw.trainers))
    assert tw.round(rid).accepted == 0
    with boa.reverts("training: no accepted update to aggregate"):
        tw.training.post_aggregate(rid, NEW, "", sender=members[0])
    tw.past(rid, "confirm_reveal_deadline")
    tw.training.finalize_aggregate(rid, sender=tw.owner)
    assert events(tw.training, "MemberSlashed") == []          # no one had anything to confirm


def test_aggregate_reverts(tw):
    rid = tw.open_round()
    members = tw.to_scoring(rid)
    outsider = next(x for x in tw.nodes() if x not in members)
    with boa.reverts("training: scores not finalized yet"):
        tw.training.post_aggregate(rid, NEW, "", sender=members[0])
    with boa.reverts("training: scores not finalized yet"):
        tw.commit_confirm(rid, members[0], NEW)
    with boa.reverts("training: scores not finalized yet"):
        tw.training.finalize_aggregate(rid, sender=tw.owner)
    tw.score(rid, {m: [7000] * len(tw.trainers) for m in members})
    tw.training.finalize_scores(rid, sender=tw.owner)
    with boa.reverts("training: only a committee member or the owner may post the aggregate"):
        tw.training.post_aggregate(rid, NEW, "", sender=outsider)
    with boa.reverts("training: weights hash is empty"):
        tw.training.post_aggregate(rid, b"\0" * 32, "", sender=members[0])
    tw.training.post_aggregate(rid, NEW, "", sender=members[0])
    with boa.reverts("training: aggregate already posted"):
        tw.training.post_aggregate(rid, OTHER, "", sender=members[1])
    with boa.reverts("training: sender is not on the committee"):
        tw.commit_confirm(rid, outsider, NEW)
    with boa.reverts("training: commitment is empty"):
        tw.training.commit_confirm(rid, b"\0" * 32, sender=members[0])
    with boa.reverts("training: no confirm committed by this sender"):
        tw.reveal_confirm(rid, members[0], NEW)
    tw.commit_confirm(rid, members[0], NEW)
    assert events(tw.training, "ConfirmCommitted")[0].member == members[0]
    with boa.reverts("training: confirm already committed"):
        tw.commit_confirm(rid, members[0], NEW)
    with boa.reverts("training: confirm reveal window not open yet"):
        tw.reveal_confirm(rid, members[0], NEW)
    with boa.reverts("training: confirm still open"):
        tw.training.finalize_aggregate(rid, sender=tw.owner)
    tw.commit_confirm(rid, members[1], b"\0" * 32)
    tw.past(rid, "confirm_commit_deadline")
    with boa.reverts("training: confirm commit window closed"):
        tw.commit_confirm(rid, members[2], NEW)
    with boa.reverts("training: aggregate window closed"):
        tw.training.post_aggregate(rid, NEW, "", sender=tw.owner)
    with boa.reverts("training: reveal does not match the commitment"):
        tw.reveal_confirm(rid, members[0], OTHER)
    with boa.reverts("training: weights hash is empty"):
        tw.reveal_confirm(rid, members[1], b"\0" * 32)
    tw.reveal_confirm(rid, members[0], NEW)
    assert events(tw.training, "ConfirmRevealed")[0].weights_hash == NEW
    with boa.reverts("training: confirm already revealed"):
        tw.reveal_confirm(rid, members[0], NEW)
    tw.past(rid, "confirm_reveal_deadline")
    with boa.reverts("training: confirm reveal window closed"):
        tw.reveal_confirm(rid, members[1], NEW)
    tw.training.finalize_aggregate(rid, sender=tw.owner)
    tw.assert_invariants()
