"""Training parameters behind governance: set_param for every parameter, its reverts,
set_governance, rounds keeping the committee size and quorum they were opened with, and
finalized rounds reporting their accepted trainers to Emission (never blocking the round)."""
from __future__ import annotations

import boa
import pytest

from contract_world import CONTRACTS, E18, events
from training_world import (  # noqa: F401
    CHALLENGE_BOND, CHALLENGE_WINDOW, COMMITTEE_BPS, COMMITTEE_SIZE, CONFIRM_QUORUM, FRAUD_SLASH_BPS, SLASH_BPS,
    VOTE_WINDOW, _rollback, tw,
)

ZERO = "0x" + "00" * 20
TRAINING_KIND = 2
P_EMISSION = 9


def test_constructor_values_and_governance(tw):
    t = tw.training
    assert t.governance() == tw.owner
    assert t.emission() == ZERO
    assert (t.committee_size(), t.confirm_quorum(), t.committee_bps(), t.slash_bps(), t.fraud_slash_bps(),
            t.challenge_window(), t.vote_window(), t.challenge_bond()) == (
        COMMITTEE_SIZE, CONFIRM_QUORUM, COMMITTEE_BPS, SLASH_BPS, FRAUD_SLASH_BPS, CHALLENGE_WINDOW, VOTE_WINDOW,
        CHALLENGE_BOND)


@pytest.mark.parametrize("param, value, getter", [
    (2, 4, "confirm_quorum"),
    (3, 2_500, "committee_bps"),
    (4, 3_000, "slash_bps"),
    (5, 10_000, "fraud_slash_bps"),
    (6, 0, "challenge_window"),
    (6, 99, "challenge_window"),
    (7, 17, "vote_window"),
    (8, 0, "challenge_bond"),
    (8, 77 * E18, "challenge_bond"),
])
def test_governance_sets_each_parameter(tw, param, value, getter):
    tw.training.set_param(param, value, sender=tw.owner)
    (ev,) = events(tw.training, "ParamSet")
    assert (ev.param, ev.value) == (param, value)
    assert getattr(tw.training, getter)() == value


def test_committee_size_resets_the_quorum_to_a_bare_majority(tw):
    tw.training.set_param(1, 3, sender=tw.owner)
    assert (tw.training.committee_size(), tw.training.confirm_quorum()) == (3, 2)
    tw.training.set_param(1, 32, sender=tw.owner)
    assert (tw.training.committee_size(), tw.training.confirm_quorum()) == (32, 17)
    tw.training.set_param(1, 1, sender=tw.owner)
    assert (tw.training.committee_size(), tw.training.confirm_quorum()) == (1, 1)


def test_emission_address(tw):
    target = boa.env.generate_address()
    tw.training.set_param(P_EMISSION, int(target, 16), sender=tw.owner)
    assert tw.training.emission() == target
    tw.training.set_param(P_EMISSION, 0, sender=tw.owner)
    assert tw.training.emission() == ZERO


@pytest.mark.parametrize("param, value, message", [
    (0, 1, "training: unknown parameter"),
    (10, 1, "training: unknown parameter"),
    (1, 0, "training: committee size out of range"),
    (1, 33, "training: committee size out of range"),
    (2, 2, "training: quorum must be a majority of the committee"),       # K = 5: 2 is no majority
    (2, 6, "training: quorum must be a majority of the committee"),       # above K
    (3, 10_001, "training: bps above 10000"),
    (4, 10_001, "training: bps above 10000"),
    (5, 10_001, "training: bps above 10000"),
    (7, 0, "training: vote window must be positive"),
    (P_EMISSION, 2**160, "training: emission is not an address"),
])
def test_invalid_values_revert(tw, param, value, message):
    with boa.reverts(message):
        tw.training.set_param(param, value, sender=tw.owner)


def test_only_governance_may_set_parameters(tw):
    stranger = tw.new_account()
    with boa.reverts("training: only governance may set parameters"):
        tw.training.set_param(3, 100, sender=stranger)
    with boa.reverts("training: only governance may set parameters"):
        tw.training.set_param(1, 3, sender=tw.trainers[0])


def test_set_governance_hands_over(tw):
    new = tw.new_account()
    tw.training.set_governance(new, sender=tw.owner)
    (ev,) = events(tw.training, "GovernanceChanged")
    assert ev.governance == new
    assert tw.training.governance() == new
    with boa.reverts("training: only governance may set parameters"):
        tw.training.set_param(3, 100, sender=tw.owner)
    with boa.reverts("training: only governance may change governance"):
        tw.training.set_governance(tw.owner, sender=tw.owner)
    tw.training.set_param(3, 100, sender=new)
    assert tw.training.committee_bps() == 100


def test_set_governance_reverts(tw):
    with boa.reverts("training: only governance may change governance"):
        tw.training.set_governance(tw.trainers[0], sender=tw.trainers[0])
    with boa.reverts("training: governance is the zero address"):
        tw.training.set_governance(ZERO, sender=tw.owner)


def test_open_round_keeps_its_committee_size_and_quorum(tw):
    rid = tw.open_round()
    r = tw.round(rid)
    assert (r.committee_size, r.confirm_quorum) == (COMMITTEE_SIZE, CONFIRM_QUORUM)
    tw.training.set_param(1, 3, sender=tw.owner)               # K = 3, Q = 2 for new rounds
    tw.training.set_param(3, 5_000, sender=tw.owner)            # committee_bps for new rounds' seats
    members = tw.to_scoring(rid)
    assert len(members) == COMMITTEE_SIZE
    n = tw.round(rid).updates
    tw.score(rid, {m: [7000] * n for m in members})
    tw.training.finalize_scores(rid, sender=tw.owner)
    ev = events(tw.training, "RoundScored")[0]
    assert ev.committee_paid == r.seat_reward * COMMITTEE_SIZE
    assert ev.trainer_paid + ev.committee_paid + ev.refund == r.pool
    tw.assert_invariants()
    # the next round is opened under the new terms
    rid2 = tw.open_round()
    r2 = tw.round(rid2)
    assert (r2.committee_size, r2.confirm_quorum) == (3, 2)
    assert r2.seat_reward == r2.pool * 5_000 // 10_000 // 3
    assert len(tw.draw(rid2)) == 3


def test_finalized_round_reports_accepted_trainers_to_emission(tw):
    emission = boa.load_partial(str(CONTRACTS / "Emission.vy")).deploy(tw.token.address, 100, 1_000 * E18, 100, 7_000,
                                                                       sender=tw.owner)
    emission.set_param(3, int(tw.training.address, 16), sender=tw.owner)     # Training reports training work
    tw.training.set_param(P_EMISSION, int(emission.address, 16), sender=tw.owner)
    rid = tw.open_round()
    members = tw.to_scoring(rid)
    n = tw.round(rid).updates
    # slot 0 is scored below the threshold by everyone: not accepted, not reported
    tw.score(rid, {m: [1000] + [8000] * (n - 1) for m in members})
    tw.training.finalize_scores(rid, sender=tw.owner)
    (ev,) = events(tw.training, "WorkRecorded")          # logged by Emission, a child call
    accepted = [tw.training.updates(rid, s).trainer for s in range(n) if tw.training.updates(rid, s).accepted]
    assert len(accepted) == n - 1
    assert list(ev.nodes) == accepted and ev.units == 1 and ev.kind == TRAINING_KIND
    epoch = emission.current_epoch()
    for s in range(n):
        trainer = tw.training.updates(rid, s).trainer
        assert emission.work(epoch, TRAINING_KIND, trainer) == (1 if trainer in accepted else 0)
        assert emission.work(epoch, 1, trainer) == 0
    for m in members:               # committee seats are paid by the round, not reported
        if m not in accepted:
            assert emission.work(epoch, TRAINING_KIND, m) == 0
    assert emission.total_work(epoch, TRAINING_KIND) == n - 1
    tw.assert_invariants()


def test_failing_emission_never_blocks_the_round(tw):
    # a real Emission where Training is not a work source: record_work reverts
    emission = boa.load_partial(str(CONTRACTS / "Emission.vy")).deploy(tw.token.address, 100, 1_000 * E18, 100, 7_000,
                                                                       sender=tw.owner)
    tw.training.set_param(P_EMISSION, int(emission.address, 16), sender=tw.owner)
    rid, _ = tw.scored_round()
    assert tw.round(rid).scores_final and tw.round(rid).accepted > 0
    assert emission.total_work(emission.current_epoch(), TRAINING_KIND) == 0
    tw.assert_invariants()
    # a contract without record_work (the token) does not block it either
    tw.training.set_param(P_EMISSION, int(tw.token.address, 16), sender=tw.owner)
    rid, _ = tw.scored_round()
    assert tw.round(rid).scores_final and tw.round(rid).accepted > 0
    tw.assert_invariants()


def test_no_report_without_accepted_updates(tw):
    emission = boa.load_partial(str(CONTRACTS / "Emission.vy")).deploy(tw.token.address, 100, 1_000 * E18, 100, 7_000,
                                                                       sender=tw.owner)
    emission.set_param(3, int(tw.training.address, 16), sender=tw.owner)
    tw.training.set_param(P_EMISSION, int(emission.address, 16), sender=tw.owner)
    rid, _ = tw.scored_round(rows_of=lambda i: [0] * tw.round(1).updates)
    assert tw.round(rid).accepted == 0
    assert emission.total_work(emission.current_epoch(), TRAINING_KIND) == 0
