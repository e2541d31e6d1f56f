"""The chain-free round loop and its pieces: committee scores, the median rule, strategies,
Flower's strategies on the same inputs, and a small run where brain keeps attackers out."""
from __future__ import annotations

import numpy as np
import pytest

from brainnet.errors import ConfigError
from brainnet.train.model import weights_hash
from brainnet.train.rounds import (
    FLConfig, aggregate_round, client_update, make_setup, member_scores, run_federated, score_matrix,
)
from brainnet.train.strategy import Brain, make_strategy, median_scores, score_from_losses

SMALL = FLConfig(dataset="digits", clients=8, byzantine=0.25, attack="scale", rounds=3, committee=3)


def test_score_scale():
    assert score_from_losses(1.0, 1.0) == 5000
    assert score_from_losses(1.0, 0.0) == 10000
    assert score_from_losses(1.0, 2.5) == 0
    assert score_from_losses(1.0, float("inf")) == 0


def test_committee_scores_and_median_rule():
    s = make_setup(SMALL)
    ups = [client_update(s, c, s.initial, 0) for c in range(SMALL.clients)]
    S = score_matrix(s, s.initial, ups)
    assert S.shape == (3, 8) and S.dtype == np.int64 and S.min() >= 0 and S.max() <= 10000
    assert list(S[1]) == member_scores(s, 1, s.initial, ups)
    med = median_scores(S)
    for j, u in enumerate(ups):
        assert (med[j] >= 5000) == u.honest, (u.behaviour, med[j])
    out = aggregate_round(s, s.initial, ups, S)
    assert out.accepted == [u.honest for u in ups]
    assert out.weights_hash == weights_hash(s.spec, out.weights)


def test_free_rider_scores_zero():
    s = make_setup(SMALL)
    u = client_update(s, 0, s.initial, 0, behaviour="free_rider")
    assert member_scores(s, 0, s.initial, [u]) == [0]


def test_brain_mix_moves_part_of_the_way():
    g = np.zeros(4, np.float32)
    results = [(np.ones(4, np.float32), 1)]
    out = Brain(mix=0.25).aggregate(g, results, np.array([[9000]]))
    np.testing.assert_allclose(out.weights, 0.25)
    none = Brain().aggregate(g, results, np.array([[100]]))
    assert none.accepted == [False] and np.array_equal(none.weights, g)


@pytest.mark.parametrize("name", ["fedavg", "fedmedian", "trimmed_mean", "krum"])
def test_flower_strategies_agree_with_ours_on_a_round(name):
    pytest.importorskip("flwr")
    s = make_setup(SMALL)
    ups = [client_update(s, c, s.initial, 0) for c in range(SMALL.clients)]
    results = [(u.weights, u.num_examples) for u in ups]
    ours = make_strategy(name, num_malicious=2).aggregate(s.initial, results)
    theirs = make_strategy(name, num_malicious=2, source="flower").aggregate(s.initial, results)
    np.testing.assert_allclose(ours.weights, theirs.weights, rtol=1e-5, atol=1e-6)
    if name == "krum":
        assert ours.accepted == theirs.accepted


def test_brain_keeps_scaled_updates_out_and_fedavg_does_not():
    brain = run_federated(SMALL)
    fedavg = run_federated(FLConfig(**{**SMALL.__dict__, "strategy": "fedavg"}))
    assert brain.accepted_byzantine == 0
    assert brain.final_accuracy > fedavg.final_accuracy
    assert len(brain.versions) == SMALL.rounds + 1
    assert all(v["parent"] == p["weights_hash"] for p, v in zip(brain.versions, brain.versions[1:]))
    assert run_federated(SMALL).versions == brain.versions


def test_bad_config_names_the_choices():
    with pytest.raises(ConfigError, match="krum"):
        FLConfig(strategy="bulyan").check()
    with pytest.raises(ConfigError, match="sign_flip"):
        FLConfig(attack="backdoor").check()
