"""Aggregation functions: the properties a robust aggregate must have (Hypothesis), bit-for-bit
determinism, and agreement with Flower's own functions where the two should agree."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from brainnet.train import aggregate as agg

fl = pytest.importorskip("flwr.server.strategy.aggregate")


@st.composite
def updates(draw, min_n=1, max_n=9):
    n = draw(st.integers(min_n, max_n))
    p = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))
    ws = (rng.normal(size=(n, p)) * scale).astype(np.float32)
    counts = rng.integers(1, 200, size=n)
    return [(ws[i], int(counts[i])) for i in range(n)]


def as_flower(results):
    return [([w], n) for w, n in results]


@settings(max_examples=60, deadline=None)
@given(updates())
def test_fedavg_is_a_weighted_mean_inside_the_hull(results):
    out = agg.fedavg(results)
    ws = np.stack([w for w, _ in results]).astype(np.float64)
    assert out.dtype == np.float32
    assert np.all(out >= ws.min(axis=0) - 1e-6 * np.abs(ws).max() - 1e-30)
    assert np.all(out <= ws.max(axis=0) + 1e-6 * np.abs(ws).max() + 1e-30)
    counts = np.array([n for _, n in results], dtype=np.float64)
    np.testing.assert_allclose(out, (ws * counts[:, None]).sum(0) / counts.sum(), rtol=1e-6, atol=1e-6 * np.abs(ws).max())


@settings(max_examples=60, deadline=None)
@given(updates())
def test_same_inputs_same_bytes(results):
    copy = [(w.copy(), n) for w, n in results]
    for f in (agg.fedavg, agg.fedmedian, lambda r: agg.trimmed_mean(r, 0.2), lambda r: agg.krum(r, 1)):
        assert f(results).tobytes() == f(copy).tobytes()


@settings(max_examples=60, deadline=None)
@given(updates(min_n=3))
def test_median_and_trimmed_mean_ignore_a_minority_of_huge_outliers(results):
    n = len(results)
    bad = (n - 1) // 2 if n % 2 else n // 2 - 1                  # a strict minority
    honest = np.stack([w for w, _ in results]).astype(np.float64)
    poisoned = [(np.full_like(w, 1e30), c) if i < bad else (w, c) for i, (w, c) in enumerate(results)]
    med = agg.fedmedian(poisoned).astype(np.float64)
    assert np.all(med <= honest.max(axis=0) + 1e-3) and np.all(np.isfinite(med))
    beta = (bad + 0.5) / n if (bad + 0.5) / n < 0.5 else None
    if beta is not None and int(beta * n) >= bad:
        tm = agg.trimmed_mean(poisoned, beta).astype(np.float64)
        assert np.all(tm <= honest.max(axis=0) + 1e-3)


@settings(max_examples=60, deadline=None)
@given(updates(min_n=2))
def test_krum_returns_one_of_the_inputs(results):
    out = agg.krum(results, num_malicious=1)
    assert any(np.array_equal(out, w) for w, _ in results)
    keep = agg.krum_select(results, 1, to_keep=2)
    assert len(keep) == min(2, len(results)) or len(results) < 2


def test_krum_picks_from_the_honest_cluster():
    rng = np.random.default_rng(0)
    honest = [(rng.normal(0, 0.01, 20).astype(np.float32), 10) for _ in range(7)]
    bad = [(rng.normal(5, 0.01, 20).astype(np.float32), 10) for _ in range(3)]
    picked = agg.krum_select(honest + bad, num_malicious=3)
    assert picked[0] < 7


def test_median_int_is_the_lower_middle():
    assert agg.median_int([5, 1, 9]) == 5
    assert agg.median_int([4, 1, 9, 7]) == 4
    assert agg.median_int([3]) == 3


@settings(max_examples=60, deadline=None)
@given(updates())
def test_fedavg_and_median_agree_with_flower(results):
    ours = agg.fedavg(results).astype(np.float64)
    theirs = fl.aggregate(as_flower(results))[0].astype(np.float64)
    scale = max(1.0, float(np.abs(ours).max()))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5 * scale)
    np.testing.assert_allclose(agg.fedmedian(results), fl.aggregate_median(as_flower(results))[0], rtol=1e-6, atol=0)


@settings(max_examples=60, deadline=None)
@given(updates(), st.sampled_from([0.0, 0.1, 0.2, 0.3, 0.45]))
def test_trimmed_mean_agrees_with_flower(results, beta):
    ours = agg.trimmed_mean(results, beta).astype(np.float64)
    theirs = fl.aggregate_trimmed_avg(as_flower(results), beta)[0].astype(np.float64)
    scale = max(1.0, float(np.abs(ours).max()))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5 * scale)


@settings(max_examples=60, deadline=None)
@given(updates(min_n=3), st.integers(0, 3))
def test_krum_selects_what_flower_selects(results, f):
    # distinct vectors: Flower breaks score ties by argmin (first), as we do
    ours = agg.krum(results, f)
    theirs = fl.aggregate_krum(as_flower(results), f, 0)[0]
    scores = agg.krum_scores(results, f)
    if np.sort(scores)[0] != np.sort(scores)[1]:
        assert np.array_equal(ours, theirs)


def test_multikrum_averages_the_same_selection_as_flower():
    rng = np.random.default_rng(1)
    results = [(rng.normal(size=30).astype(np.float32), int(rng.integers(1, 50))) for _ in range(10)]
    ours = agg.krum(results, 2, to_keep=4)
    theirs = fl.aggregate_krum(as_flower(results), 2, 4)[0]
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
