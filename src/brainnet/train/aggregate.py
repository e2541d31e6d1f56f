"""Aggregation functions, pure numpy, deterministic (Flower's shape, our own arithmetic).

Every function takes `results`: a list of (weights, num_examples) in a fixed order (the
caller sorts, e.g. by trainer address), where weights is a flat float32 vector, and
returns a float32 vector. Sums are accumulated in float64 one vector at a time in list
order and medians/sorts are exact, so every committee member that runs the same function
on the same inputs gets the same bytes, and so the same new-weights hash.

    fedavg        mean weighted by num_examples
    fedmedian     coordinate-wise median
    trimmed_mean  coordinate-wise mean after cutting int(beta * n) values at each end
    krum          the vector whose n - f - 2 nearest neighbours are closest (squared L2);
                  multi-krum: the fedavg of the `to_keep` best (Blanchard et al. 2017)
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

Results = Sequence[tuple[np.ndarray, int]]


def _stack(results: Results) -> np.ndarray:
    if not results:
        raise ValueError("aggregate: no updates to aggregate")
    return np.stack([np.asarray(w, dtype=np.float64) for w, _ in results])   # (n, P) float64


def fedavg(results: Results) -> np.ndarray:
    """Weighted mean, sum in float64 in list order."""
    if not results:
        raise ValueError("aggregate: no updates to aggregate")
    total = sum(int(n) for _, n in results)
    if total <= 0:
        raise ValueError("aggregate: num_examples must sum to a positive number")
    acc = np.zeros(np.asarray(results[0][0]).shape, dtype=np.float64)
    for w, n in results:
        acc += np.asarray(w, dtype=np.float64) * float(n)
    return (acc / float(total)).astype(np.float32)


def fedmedian(results: Results) -> np.ndarray:
    """Coordinate-wise median (mean of the two middle values for an even count)."""
    return np.median(_stack(results), axis=0).astype(np.float32)


def trimmed_mean(results: Results, beta: float) -> np.ndarray:
    """Cut int(beta * n) smallest and largest values per coordinate, mean of the rest."""
    if not 0.0 <= beta < 0.5:
        raise ValueError("aggregate: trimmed_mean needs 0 <= beta < 0.5")
    w = np.sort(_stack(results), axis=0)
    n = w.shape[0]
    cut = int(beta * n)
    kept = w[cut:n - cut]
    acc = np.zeros(w.shape[1], dtype=np.float64)
    for row in kept:
        acc += row
    return (acc / kept.shape[0]).astype(np.float32)


def pairwise_sq_distances(results: Results) -> np.ndarray:
    """(n, n) squared L2 distances in float64."""
    w = _stack(results)
    d = np.zeros((len(w), len(w)), dtype=np.float64)
    for i in range(len(w)):
        diff = w - w[i]
        d[i] = np.einsum("ij,ij->i", diff, diff)
    return d


def krum_scores(results: Results, num_malicious: int) -> np.ndarray:
    """Krum score of each vector: the sum of squared distances to its n - f - 2 nearest others."""
    d = pairwise_sq_distances(results)
    n = len(d)
    closest = max(1, n - num_malicious - 2)
    scores = np.empty(n, dtype=np.float64)
    for i in range(n):
        others = np.sort(np.delete(d[i], i))
        scores[i] = others[:closest].sum()
    return scores


def krum_select(results: Results, num_malicious: int, to_keep: int = 0) -> list[int]:
    """Indices krum keeps: the best one (to_keep <= 0), or the `to_keep` best (multi-krum),
    ties broken by list order."""
    scores = krum_scores(results, num_malicious)
    order = np.argsort(scores, kind="stable")
    return sorted(int(i) for i in order[:max(1, to_keep)])


def krum(results: Results, num_malicious: int, to_keep: int = 0) -> np.ndarray:
    """Krum (to_keep <= 0) or multi-krum (fedavg of the `to_keep` best)."""
    keep = krum_select(results, num_malicious, to_keep)
    if to_keep <= 0:
        return np.asarray(results[keep[0]][0], dtype=np.float32).copy()
    return fedavg([results[i] for i in keep])


def median_int(values: Sequence[int]) -> int:
    """The median of integer scores as the contract computes it: the lower middle value of
    the sorted list (the middle one for an odd committee)."""
    s = sorted(int(v) for v in values)
    if not s:
        raise ValueError("median of no scores")
    return s[(len(s) - 1) // 2]
