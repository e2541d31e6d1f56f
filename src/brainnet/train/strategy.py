"""Strategies: small classes that turn one round's client weights into the next global model.

Each strategy calls the pure functions of `aggregate.py` (ours) or, in `flower.py`,
Flower's own; the round loop treats them alike. `brain` is the only one that uses the
committee: each member scores each update on its held-out slice (`score_update`, an
integer 0..10000), the median per update decides (accept if median >= threshold, the
rule `Training.vy` applies on chain), and the accepted updates are averaged (FedAvg).
With `mix < 1` the result is BRAIN's moving average: new = (1 - mix) * global + mix * avg.

The score: 5000 means "as good as the current global model on my data"; it rises to
10000 as the update's cross-entropy falls to 0 and sinks to 0 as it doubles (or is not
finite). An update identical to the global model (no work) scores 0.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from brainnet.errors import ConfigError
from brainnet.train import aggregate as agg
from brainnet.train.model import ModelSpec, loss

SCORE_MAX = 10_000
SCORE_NEUTRAL = 5_000
STRATEGIES = ("brain", "fedavg", "fedmedian", "trimmed_mean", "krum")


@dataclass
class Aggregation:
    weights: np.ndarray          # (P,) float32: the new global model
    accepted: list[bool]         # per update: did it enter the aggregate


def score_from_losses(global_loss: float, update_loss: float) -> int:
    """Integer score 0..10000 from the held-out loss before (global) and after (update)."""
    if not np.isfinite(update_loss):
        return 0
    base = max(float(global_loss), 1e-12)
    rel = 0.5 + 0.5 * (base - float(update_loss)) / base
    return int(round(SCORE_MAX * min(1.0, max(0.0, rel))))


def score_update(spec: ModelSpec, global_w: np.ndarray, update_w: np.ndarray, x: np.ndarray, y: np.ndarray,
                 global_loss: float | None = None) -> int:
    """One committee member's score of one update on its held-out (x, y)."""
    update_w = np.asarray(update_w, dtype=np.float32)
    if update_w.shape != np.shape(global_w) or np.array_equal(update_w, global_w):
        return 0
    g = loss(spec, global_w, x, y) if global_loss is None else global_loss
    return score_from_losses(g, loss(spec, update_w, x, y))


def median_scores(scores: np.ndarray) -> list[int]:
    """Median per update (column) of a (members, updates) integer score matrix."""
    scores = np.asarray(scores)
    return [agg.median_int(scores[:, j]) for j in range(scores.shape[1])]


class Strategy(ABC):
    name: str = ""
    source: str = "brainnet"        # "flower" for the strategies that call Flower's functions
    needs_scores: bool = False      # whether `aggregate` needs the committee's score matrix

    @abstractmethod
    def aggregate(self, global_w: np.ndarray, results: Sequence[tuple[np.ndarray, int]],
                  scores: np.ndarray | None = None) -> Aggregation:
        """results: (weights, num_examples) per update in a fixed order; scores: (members, updates)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name}, {self.source})"


class Brain(Strategy):
    name = "brain"
    needs_scores = True

    def __init__(self, threshold: int = SCORE_NEUTRAL, mix: float = 1.0):
        if not 0 < mix <= 1:
            raise ConfigError(f"brain: mix must be in (0, 1], got {mix}")
        self.threshold, self.mix = int(threshold), float(mix)

    def aggregate(self, global_w, results, scores=None):
        if scores is None:
            raise ConfigError("brain strategy needs the committee's score matrix")
        medians = median_scores(scores)
        accepted = [m >= self.threshold for m in medians]
        kept = [r for r, ok in zip(results, accepted) if ok]
        if not kept:
            return Aggregation(np.asarray(global_w, dtype=np.float32).copy(), accepted)
        avg = agg.fedavg(kept)
        if self.mix < 1.0:
            avg = ((1.0 - self.mix) * np.asarray(global_w, dtype=np.float64)
                   + self.mix * avg.astype(np.float64)).astype(np.float32)
        return Aggregation(avg, accepted)


class FedAvg(Strategy):
    name = "fedavg"

    def aggregate(self, global_w, results, scores=None):
        return Aggregation(agg.fedavg(results), [True] * len(results))


class FedMedian(Strategy):
    name = "fedmedian"

    def aggregate(self, global_w, results, scores=None):
        return Aggregation(agg.fedmedian(results), [True] * len(results))


class TrimmedMean(Strategy):
    name = "trimmed_mean"

    def __init__(self, beta: float = 0.2):
        self.beta = beta

    def aggregate(self, global_w, results, scores=None):
        return Aggregation(agg.trimmed_mean(results, self.beta), [True] * len(results))


class Krum(Strategy):
    name = "krum"

    def __init__(self, num_malicious: int = 0, to_keep: int = 0):
        self.num_malicious, self.to_keep = int(num_malicious), int(to_keep)

    def aggregate(self, global_w, results, scores=None):
        keep = set(agg.krum_select(results, self.num_malicious, self.to_keep))
        return Aggregation(agg.krum(results, self.num_malicious, self.to_keep),
                           [i in keep for i in range(len(results))])


def make_strategy(name: str, *, num_malicious: int = 0, threshold: int = SCORE_NEUTRAL, mix: float = 1.0,
                  beta: float = 0.2, to_keep: int = 0, source: str = "brainnet") -> Strategy:
    """A strategy by name; source "flower" gives the one that calls Flower's own functions."""
    if source == "flower":
        from brainnet.train.flower import make_flower_strategy

        return make_flower_strategy(name, num_malicious=num_malicious, beta=beta, to_keep=to_keep)
    if source != "brainnet":
        raise ConfigError(f"unknown strategy source {source!r}: brainnet or flower")
    if name == "brain":
        return Brain(threshold, mix)
    if name == "fedavg":
        return FedAvg()
    if name == "fedmedian":
        return FedMedian()
    if name == "trimmed_mean":
        return TrimmedMean(beta)
    if name == "krum":
        return Krum(num_malicious, to_keep)
    raise ConfigError(f"unknown strategy {name!r}: choose one of {', '.join(STRATEGIES)}")
