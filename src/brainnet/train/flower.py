"""The baselines run through Flower's own aggregation functions, not our re-implementation.

`flwr.server.strategy.aggregate` (Flower 1.42) works on lists of numpy layers without a
server or ray: `aggregate` (weighted mean), `aggregate_median`, `aggregate_krum(results,
num_malicious, to_keep)`, `aggregate_trimmed_avg(results, proportiontocut)`. Each class
here hands them the same client weights (one layer: the flat vector) that our strategies
get, so a benchmark row with source "flower" is Flower's arithmetic on identical inputs.
flwr is the optional `bench` extra; importing this module without it raises ConfigError.
"""
from __future__ import annotations

import numpy as np

from brainnet.errors import ConfigError
from brainnet.train.strategy import Aggregation, Strategy

FLOWER_STRATEGIES = ("fedavg", "fedmedian", "trimmed_mean", "krum")


def _flower():
    try:
        from flwr.server.strategy import aggregate as fl
    except ImportError:
        raise ConfigError("Flower is not installed: pip install 'brainnet[bench]' (flwr==1.42.0)") from None
    return fl


def flower_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("flwr")
    except Exception:   # noqa: BLE001 - not installed
        return None


def _as_flower(results) -> list[tuple[list[np.ndarray], int]]:
    return [([np.asarray(w, dtype=np.float32)], int(n)) for w, n in results]


def _flat(layers) -> np.ndarray:
    return np.asarray(layers[0], dtype=np.float32).reshape(-1)


class FlowerFedAvg(Strategy):
    name, source = "fedavg", "flower"

    def aggregate(self, global_w, results, scores=None):
        return Aggregation(_flat(_flower().aggregate(_as_flower(results))), [True] * len(results))


class FlowerFedMedian(Strategy):
    name, source = "fedmedian", "flower"

    def aggregate(self, global_w, results, scores=None):
        return Aggregation(_flat(_flower().aggregate_median(_as_flower(results))), [True] * len(results))


class FlowerTrimmedMean(Strategy):
    name, source = "trimmed_mean", "flower"

    def __init__(self, beta: float = 0.2):
        self.beta = beta

    def aggregate(self, global_w, results, scores=None):
        return Aggregation(_flat(_flower().aggregate_trimmed_avg(_as_flower(results), self.beta)),
                           [True] * len(results))


class FlowerKrum(Strategy):
    name, source = "krum", "flower"

    def __init__(self, num_malicious: int = 0, to_keep: int = 0):
        self.num_malicious, self.to_keep = int(num_malicious), int(to_keep)

    def aggregate(self, global_w, results, scores=None):
        out = _flat(_flower().aggregate_krum(_as_flower(results), self.num_malicious, self.to_keep))
        if self.to_keep > 0:
            accepted = [True] * len(results)      # multi-krum: Flower does not say which it kept
        else:
            accepted = [bool(np.array_equal(out, np.asarray(w, dtype=np.float32))) for w, _ in results]
        return Aggregation(out, accepted)


def make_flower_strategy(name: str, *, num_malicious: int = 0, beta: float = 0.2, to_keep: int = 0) -> Strategy:
    _flower()
    if name == "fedavg":
        return FlowerFedAvg()
    if name == "fedmedian":
        return FlowerFedMedian()
    if name == "trimmed_mean":
        return FlowerTrimmedMean(beta)
    if name == "krum":
        return FlowerKrum(num_malicious, to_keep)
    raise ConfigError(f"Flower has no {name!r} strategy here: choose one of {', '.join(FLOWER_STRATEGIES)}")
