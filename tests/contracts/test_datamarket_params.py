"""DataMarket's constructor checks, its readable parameters, and the governance setters
(`set_params`, `set_governance`) with their reverts."""
import boa
import pytest

from datamarket_world import (CENTROID, CLAIM_WAIT, N_FEATURES, ONE, PERCEPTRON, REFUND_WAIT, WEIGHTS, build,
                              events, market_deployer, token_deployer)

ZERO = "0x" + "00" * 20


def test_parameters_are_readable():
    m = build(cost_weight=3)
    mk = m.market
    assert (mk.token(), mk.governance(), mk.model_kind(), mk.n_features()) == (m.token.address, m.governance,
                                                                               PERCEPTRON, N_FEATURES)
    assert (mk.cost_weight(), mk.refund_wait(), mk.claim_wait(), mk.learning_rate()) == (3, REFUND_WAIT,
                                                                                          CLAIM_WAIT, 1)
    assert [mk.weights(j) for j in range(N_FEATURES)] == WEIGHTS
    assert mk.contribution_count() == 0 and mk.total_good() == 0 and mk.deposits_held() == 0


def test_set_params_by_governance():
    m = build()
    m.market.set_params(5, 3_600, 7_200, sender=m.governance)
    (log,) = events(m.market, "ParamsChanged")
    assert (log.cost_weight, log.refund_wait, log.claim_wait) == (5, 3_600, 7_200)
    assert (m.market.cost_weight(), m.market.refund_wait(), m.market.claim_wait()) == (5, 3_600, 7_200)
    m.after(4)
    m.market.add_data(ONE, 1, sender=m.alice)
    assert m.market.contributions(0).initial_deposit == 5 * 60 // 2
    m.after(3_600)                                   # the new, shorter wait applies
    m.refund(m.alice, 0, ONE)


def test_set_params_reverts():
    m = build()
    with boa.reverts("datamarket: only governance may set parameters"):
        m.market.set_params(5, 1, 2, sender=m.alice)
    with boa.reverts("datamarket: claim_wait must exceed refund_wait"):
        m.market.set_params(5, 10, 10, sender=m.governance)


def test_set_governance_hands_over():
    m = build()
    new = boa.env.generate_address("governance contract")
    m.market.set_governance(new, sender=m.governance)
    (log,) = events(m.market, "GovernanceChanged")
    assert (log.previous, log.governance) == (m.governance, new)
    assert m.market.governance() == new
    with boa.reverts("datamarket: only governance may set parameters"):
        m.market.set_params(5, 1, 2, sender=m.governance)
    m.market.set_params(5, 1, 2, sender=new)


def test_set_governance_reverts():
    m = build()
    with boa.reverts("datamarket: only governance may set governance"):
        m.market.set_governance(m.alice, sender=m.alice)
    with boa.reverts("datamarket: governance is the zero address"):
        m.market.set_governance(ZERO, sender=m.governance)


def _deploy(kind=PERCEPTRON, n=N_FEATURES, refund=REFUND_WAIT, claim=CLAIM_WAIT, lr=1, values=(), counts=(0, 0)):
    token = token_deployer().deploy("brainnet", "BRN", [], [], boa.env.generate_address())
    gov = boa.env.generate_address()
    return market_deployer().deploy(token.address, gov, kind, n, 1, refund, claim, lr, 0, list(values), list(counts))


@pytest.mark.parametrize("kwargs, reason", [
    (dict(kind=2), "datamarket: unknown model kind"),
    (dict(n=0), "datamarket: n_features out of range"),
    (dict(n=257), "datamarket: n_features out of range"),
    (dict(refund=10, claim=10), "datamarket: claim_wait must exceed refund_wait"),
    (dict(lr=0), "datamarket: learning_rate must be positive"),
    (dict(values=[1, 2]), "datamarket: need n_features initial weights"),
    (dict(kind=CENTROID, values=[0] * N_FEATURES), "datamarket: need 2 * n_features initial counts"),
    (dict(kind=CENTROID, values=[2] + [0] * (2 * N_FEATURES - 1), counts=(1, 0)),
     "datamarket: a feature count exceeds its class count"),
    (dict(kind=CENTROID, values=[-1] + [0] * (2 * N_FEATURES - 1), counts=(1, 0)),
     "datamarket: a feature count exceeds its class count"),
])
def test_constructor_reverts(kwargs, reason):
    with boa.reverts(reason):
        _deploy(**kwargs)


def test_constructor_logs_and_empty_models():
    mk = _deploy()
    assert mk.predict(ONE) == 0                      # all-zero weights, score 0
    mk = _deploy(kind=CENTROID)
    assert mk.class_count(0) == 0 and mk.predict(ONE) == 0
