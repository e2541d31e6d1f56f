"""DataMarket.refund, report and take: who may claim what and when, the good-contribution
share, every revert path, and that the market always holds exactly what is claimable."""
import boa
import pytest

from datamarket_world import CLAIM_WAIT, ONE, REFUND_WAIT, ZERO_X, build, events


@pytest.fixture
def m():
    return build()


def _good(m, who, n=1):
    """`who` earns n good contributions (added, then refunded after the wait)."""
    ids = [m.add(who, ONE, 1) for _ in range(n)]
    m.after(REFUND_WAIT)
    for cid in ids:
        m.refund(who, cid, ONE)


# ---------------------------------------------------------------- refund

def test_refund_returns_the_whole_deposit_and_counts_good(m):
    m.after(100)
    cid = m.add(m.alice, ONE, 1, wait=0)
    dep = m.market.contributions(cid).initial_deposit
    before = m.token.balanceOf(m.alice)
    m.after(REFUND_WAIT)
    assert m.refund(m.alice, cid, ONE) == dep
    (log,) = events(m.market, "Refunded")
    assert (log.id, log.contributor, log.amount, log.good_count) == (cid, m.alice, dep, 1)
    assert m.token.balanceOf(m.alice) == before + dep
    assert m.market.good_count(m.alice) == 1 and m.market.total_good() == 1
    assert m.market.claimed_by(cid, m.alice) is True
    assert m.market.contributions(cid).claimable == 0
    m.assert_conserved()


def test_refund_after_the_claim_wait_still_works(m):
    cid = m.add(m.alice, ONE, 1)
    m.after(CLAIM_WAIT + 5)
    assert m.refund(m.alice, cid, ONE) > 0


def test_refund_too_early(m):
    cid = m.add(m.alice, ONE, 1)
    m.after(REFUND_WAIT - 1)
    with boa.reverts("datamarket: refund wait not over"):
        m.refund(m.alice, cid, ONE)
    m.after(1)
    m.refund(m.alice, cid, ONE)


def test_refund_only_by_the_contributor(m):
    cid = m.add(m.alice, ONE, 1)
    m.after(REFUND_WAIT)
    with boa.reverts("datamarket: only the contributor may refund"):
        m.refund(m.bob, cid, ONE)


def test_refund_needs_the_model_to_agree(m):
    cid = m.add(m.alice, ZERO_X, 1)          # perceptron: a mistake, one step is not enough to flip it
    assert m.market.predict(ZERO_X) == 0
    m.after(REFUND_WAIT)
    with boa.reverts("datamarket: the model does not agree with the contribution"):
        m.refund(m.alice, cid, ZERO_X)


def test_refund_twice(m):
    cid = m.add(m.alice, ONE, 1)
    m.after(REFUND_WAIT)
    m.refund(m.alice, cid, ONE)
    with boa.reverts("datamarket: nothing left to claim"):
        m.refund(m.alice, cid, ONE)


def test_refund_checks_the_features_and_the_id(m):
    cid = m.add(m.alice, ONE, 1)
    m.after(REFUND_WAIT)
    with boa.reverts("datamarket: features differ from the contribution"):
        m.refund(m.alice, cid, [0])
    with boa.reverts("datamarket: no such contribution"):
        m.refund(m.alice, cid + 1, ONE)


# ---------------------------------------------------------------- report

def test_report_takes_the_good_share():
    m = build(cost_weight=1_000)
    _good(m, m.bob, 3)
    _good(m, m.carol, 1)                     # bob has 3 of the 4 good contributions
    cid = m.add(m.alice, ZERO_X, 1, wait=1_000)   # wrong label; the model keeps predicting 0
    dep = m.market.contributions(cid).initial_deposit
    assert dep >= 100                        # big enough that the shares do not round to 0
    m.after(REFUND_WAIT)
    bob_before = m.token.balanceOf(m.bob)
    share = m.report(m.bob, cid, ZERO_X)
    (log,) = events(m.market, "Reported")
    assert share == dep * 3 // 4
    assert (log.id, log.reporter, log.amount, log.claimable_left) == (cid, m.bob, share, dep - share)
    assert m.token.balanceOf(m.bob) == bob_before + share
    assert m.market.claimed_by(cid, m.bob) is True
    assert m.report(m.carol, cid, ZERO_X) == dep // 4
    assert m.market.contributions(cid).claimable == dep - share - dep // 4 == 1    # rounding dust
    m.assert_conserved()
    m.after(CLAIM_WAIT)
    assert m.take(m.carol, cid) == 1
    m.assert_conserved()


def test_report_share_rounding_to_zero_gives_the_rest(m):
    _good(m, m.bob, 1)
    _good(m, m.carol, 5)
    cid = m.add(m.alice, ZERO_X, 1, wait=3_600 * 24)   # deposit 1: bob's 1 * 1 // 6 == 0
    assert m.market.contributions(cid).initial_deposit == 1
    m.after(REFUND_WAIT)
    assert m.report(m.bob, cid, ZERO_X) == 1
    assert m.market.contributions(cid).claimable == 0
    with boa.reverts("datamarket: nothing left to claim"):
        m.report(m.carol, cid, ZERO_X)


def test_report_by_the_only_good_contributor_takes_everything(m):
    _good(m, m.bob, 2)
    cid = m.add(m.alice, ZERO_X, 1, wait=5)
    dep = m.market.contributions(cid).initial_deposit
    m.after(REFUND_WAIT)
    assert m.report(m.bob, cid, ZERO_X) == dep
    m.assert_conserved()


def test_report_own_contribution(m):
    _good(m, m.alice, 1)
    cid = m.add(m.alice, ZERO_X, 1)
    m.after(REFUND_WAIT)
    with boa.reverts("datamarket: cannot report your own contribution; refund it"):
        m.report(m.alice, cid, ZERO_X)


def test_report_too_early_and_too_late(m):
    _good(m, m.bob, 1)
    cid = m.add(m.alice, ZERO_X, 1)
    m.after(REFUND_WAIT - 1)
    with boa.reverts("datamarket: refund wait not over"):
        m.report(m.bob, cid, ZERO_X)
    m.after(CLAIM_WAIT - REFUND_WAIT + 1)
    with boa.reverts("datamarket: claim wait over; use take"):
        m.report(m.bob, cid, ZERO_X)


def test_report_twice_by_one_reporter():
    m = build(cost_weight=1_000)              # a deposit the half share does not round to 0
    _good(m, m.bob, 1)
    _good(m, m.carol, 1)
    cid = m.add(m.alice, ZERO_X, 1, wait=2)
    m.after(REFUND_WAIT)
    m.report(m.bob, cid, ZERO_X)
    with boa.reverts("datamarket: already reported by this address"):
        m.report(m.bob, cid, ZERO_X)


def test_report_needs_good_contributions(m):
    cid = m.add(m.alice, ZERO_X, 1)
    m.after(REFUND_WAIT)
    with boa.reverts("datamarket: the reporter has no good contributions"):
        m.report(m.bob, cid, ZERO_X)


def test_report_needs_the_model_to_disagree(m):
    _good(m, m.bob, 1)
    cid = m.add(m.alice, ONE, 1)
    m.after(REFUND_WAIT)
    with boa.reverts("datamarket: the model agrees with the contribution"):
        m.report(m.bob, cid, ONE)


def test_report_checks_features_and_id(m):
    _good(m, m.bob, 1)
    cid = m.add(m.alice, ZERO_X, 1)
    m.after(REFUND_WAIT)
    with boa.reverts("datamarket: features differ from the contribution"):
        m.report(m.bob, cid, [5])
    with boa.reverts("datamarket: no such contribution"):
        m.report(m.bob, 99, ZERO_X)


# ---------------------------------------------------------------- take

def test_take_after_the_claim_wait(m):
    cid = m.add(m.alice, ZERO_X, 1, wait=7)
    dep = m.market.contributions(cid).initial_deposit
    m.after(CLAIM_WAIT - 1)
    with boa.reverts("datamarket: claim wait not over"):
        m.take(m.carol, cid)
    m.after(1)
    before = m.token.balanceOf(m.carol)
    assert m.take(m.carol, cid) == dep
    (log,) = events(m.market, "Taken")
    assert (log.id, log.taker, log.amount) == (cid, m.carol, dep)
    assert m.token.balanceOf(m.carol) == before + dep
    with boa.reverts("datamarket: nothing left to claim"):
        m.take(m.carol, cid)
    m.assert_conserved()


def test_take_the_rest_after_a_report_even_by_the_contributor():
    m = build(cost_weight=1_000)
    _good(m, m.bob, 1)
    _good(m, m.carol, 1)
    cid = m.add(m.alice, ZERO_X, 1, wait=3)
    dep = m.market.contributions(cid).initial_deposit
    m.after(REFUND_WAIT)
    share = m.report(m.bob, cid, ZERO_X)
    m.after(CLAIM_WAIT)
    assert m.take(m.alice, cid) == dep - share
    m.assert_conserved()


def test_take_unknown_contribution(m):
    with boa.reverts("datamarket: no such contribution"):
        m.take(m.alice, 0)
