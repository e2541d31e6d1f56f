"""DataMarket.add_data: the deposit rule max(1, w*60 // isqrt(dt)), its reverts, the model
updates (perceptron on a mistake only, nearest centroid always), predict and deposit_at."""
import math

import boa
import pytest

from datamarket_world import CENTROID, N_FEATURES, ONE, START, WEIGHTS, ZERO_X, build, events
from brainnet.protocol.datamarket import NearestCentroid, deposit


@pytest.fixture
def m():
    return build()


@pytest.mark.parametrize("dt", [1, 2, 3, 4, 99, 600, 3_599, 3_600, 86_400])
def test_deposit_follows_the_rule(dt):
    m = build(cost_weight=7)
    m.after(dt)
    expected = max(1, 7 * 60 // math.isqrt(dt))
    assert expected == deposit(7, dt)
    assert m.market.deposit_at(m.market.last_update() + dt) == expected
    before = m.token.balanceOf(m.alice)
    cid = m.add(m.alice, ONE, 1, wait=0)
    assert m.token.balanceOf(m.alice) == before - expected
    c = m.market.contributions(cid)
    assert (c.contributor, c.label, c.initial_deposit, c.claimable) == (m.alice, 1, expected, expected)
    assert m.market.deposits_held() == expected
    m.assert_conserved()


def test_deposit_is_at_least_one(m):
    m.add(m.alice, ONE, 1, wait=10 * 86_400)      # 60 // 929 == 0 -> 1
    assert m.token.balanceOf(m.alice) == START - 1


def test_zero_cost_weight_still_charges_one():
    m = build(cost_weight=0)
    m.add(m.alice, ONE, 1)
    assert m.token.balanceOf(m.alice) == START - 1


def test_dt_zero_is_rejected(m):
    m.add(m.alice, ONE, 1)
    with boa.reverts("datamarket: wait at least one second after the last update"):
        m.add(m.bob, ONE, 1, wait=0)          # same block timestamp as the last update
    with boa.reverts("datamarket: wait at least one second after the last update"):
        m.market.deposit_at(m.market.last_update())


def test_add_logs_and_counts(m):
    cid = m.add(m.alice, ZERO_X, 1, wait=3_600)
    (log,) = events(m.market, "DataAdded")
    assert cid == 0 and m.market.contribution_count() == 1
    assert (log.id, log.contributor, log.label, log.deposit, log.model_updated) == (0, m.alice, 1, 1, True)
    assert list(log.features) == ZERO_X
    assert m.market.last_update() == m.market.contributions(0).added_at
    assert m.add(m.bob, ONE, 1) == 1


def test_max_deposit_guards_the_price(m):
    m.after(3)                                   # deposit 60 // 1 = 60
    with boa.reverts("datamarket: deposit exceeds max_deposit"):
        m.market.add_data(ONE, 1, 59, sender=m.alice)
    m.market.add_data(ONE, 1, 60, sender=m.alice)


@pytest.mark.parametrize("features, reason", [
    ([N_FEATURES], "datamarket: feature index out of range"),
    ([2, 2], "datamarket: feature indices must be strictly increasing"),
    ([3, 1], "datamarket: feature indices must be strictly increasing"),
])
def test_bad_features_revert(m, features, reason):
    m.after(60)
    with boa.reverts(reason):
        m.market.add_data(features, 1, sender=m.alice)
    with boa.reverts(reason):
        m.market.predict(features)


def test_label_must_be_binary(m):
    m.after(60)
    with boa.reverts("datamarket: label must be 0 or 1"):
        m.market.add_data(ONE, 2, sender=m.alice)


def test_deposit_needs_allowance_and_balance(m):
    stranger = boa.env.generate_address("stranger")
    m.after(60)
    with boa.reverts("token: allowance too low"):
        m.market.add_data(ONE, 1, sender=stranger)
    m.token.approve(m.market.address, 10, sender=stranger)
    with boa.reverts("token: balance too low"):
        m.market.add_data(ONE, 1, sender=stranger)


def test_perceptron_updates_only_on_a_mistake(m):
    assert m.market.predict(ONE) == 1 and m.market.predict(ZERO_X) == 0 and m.market.predict([]) == 0
    m.add(m.alice, ONE, 1)                      # agrees: nothing changes
    assert events(m.market, "DataAdded")[0].model_updated is False
    assert [m.market.weights(j) for j in range(N_FEATURES)] == WEIGHTS
    m.add(m.alice, [3], 1)                      # score 0 -> predicts 0: a mistake, +1
    assert m.market.weights(3) == 1 and m.market.intercept() == 1
    assert m.market.predict([3]) == 1
    m.add(m.alice, [0], 0)                      # 3 + 1 > 0 -> predicts 1, label 0: -1
    assert m.market.weights(0) == 2 and m.market.intercept() == 0


def test_nearest_centroid_counts_every_sample():
    m = build(kind=CENTROID)
    mirror = NearestCentroid(N_FEATURES)
    assert m.market.predict(ONE) == 0            # no samples: class 0
    samples = [([0, 1, 2], 1), ([5, 6], 0), ([0, 2], 1), ([4, 6, 7], 0), ([1], 1), ([2, 5], 0), ([], 0)]
    for x, y in samples:
        m.add(m.alice, x, y)
        mirror.update(x, y)
        assert events(m.market, "DataAdded")[0].model_updated is True
    assert [m.market.class_count(c) for c in (0, 1)] == mirror.counts
    assert [m.market.sum_squares(c) for c in (0, 1)] == mirror.squares
    for x in ([0], [6], [0, 6], [2, 5], [], [1, 2, 3, 4], [7], list(range(N_FEATURES))):
        assert m.market.predict(x) == mirror.predict(x), x


def test_nearest_centroid_with_one_class_predicts_it():
    m = build(kind=CENTROID)
    m.add(m.alice, [3], 1)
    assert m.market.predict([5]) == 1


def test_nearest_centroid_initial_counts():
    sums0 = [2, 0, 0, 0, 0, 1, 2, 0]
    sums1 = [3, 3, 1, 0, 0, 0, 0, 0]
    m = build(kind=CENTROID, init_values=sums0 + sums1, init_counts=(2, 3))
    mirror = NearestCentroid(N_FEATURES, [sums0, sums1], [2, 3])
    assert m.market.feature_sum(1, 1) == 3 and m.market.class_count(1) == 3
    assert [m.market.sum_squares(c) for c in (0, 1)] == mirror.squares
    for x in ([0, 1], [5, 6], [0], [2, 6], []):
        assert m.market.predict(x) == mirror.predict(x), x
