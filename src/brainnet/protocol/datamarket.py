"""Pure mirror of contracts/DataMarket.vy: the deposit rule, the two on-chain models and the
Deposit-Refund-Take bookkeeping, in plain integers.

Agents in the data-market simulation ask this mirror what the contract would do before they
send a transaction (so no transaction reverts), the simulation evaluates accuracy with it,
and the Hypothesis state machine runs it beside the contract and compares after every step.
Every rule here is the contract's, line for line; a difference is a bug in one of them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

PERCEPTRON, NEAREST_CENTROID = 0, 1
MAX_FEATURES = 256
MAX_ACTIVE = 64
DAY = 86_400


class MarketRuleError(ValueError):
    """The contract would revert; `args[0]` is its revert reason."""


def deposit(cost_weight: int, dt: int) -> int:
    """max(1, floor(w * 60 / floor(sqrt(dt)))), dt seconds since the last update (> 0)."""
    if dt <= 0:
        raise MarketRuleError("datamarket: wait at least one second after the last update")
    return max(cost_weight * 60 // math.isqrt(dt), 1)


def check_features(features: list[int], n_features: int) -> None:
    if len(features) > MAX_ACTIVE:
        raise MarketRuleError(f"more than {MAX_ACTIVE} active features")
    for i, j in enumerate(features):
        if j >= n_features:
            raise MarketRuleError("datamarket: feature index out of range")
        if i > 0 and features[i - 1] >= j:
            raise MarketRuleError("datamarket: feature indices must be strictly increasing")


class Perceptron:
    """score = intercept + sum of the active features' weights; label 1 iff score > 0.
    A mistake moves every active weight and the intercept by +-learning_rate."""
    kind = PERCEPTRON

    def __init__(self, n_features: int, learning_rate: int = 1, weights: list[int] | None = None, intercept: int = 0):
        self.n_features = n_features
        self.learning_rate = learning_rate
        self.weights = list(weights) if weights else [0] * n_features
        self.intercept = intercept

    def score(self, features: list[int]) -> int:
        w = self.weights
        return self.intercept + sum(w[j] for j in features)

    def predict(self, features: list[int]) -> int:
        return 1 if self.score(features) > 0 else 0

    def update(self, features: list[int], label: int) -> bool:
        if self.predict(features) == label:
            return False
        step = self.learning_rate if label == 1 else -self.learning_rate
        for j in features:
            self.weights[j] += step
        self.intercept += step
        return True

    def fit(self, samples: list[tuple[list[int], int]], epochs: int = 10) -> "Perceptron":
        """Train off-chain with the same integer rule (the deployer's initial model)."""
        for _ in range(epochs):
            for x, y in samples:
                self.update(x, y)
        return self

    def constructor_args(self) -> tuple[int, int, list[int], list[int]]:
        """(learning_rate, intercept, init_values, init_counts) for DataMarket's constructor."""
        return self.learning_rate, self.intercept, list(self.weights), [0, 0]


class NearestCentroid:
    """Centroids kept as per-class feature counts S[c][j] and sample counts n_c; a sample goes
    to the class with the smaller |x - S_c/n_c|^2, compared exactly as
    (Q_c - 2 n_c sum_{j in x} S_cj + |x| n_c^2) / n_c^2 with Q_c = sum_j S_cj^2; ties go to 0.
    Every sample updates its class."""
    kind = NEAREST_CENTROID

    def __init__(self, n_features: int, sums: list[list[int]] | None = None, counts: list[int] | None = None):
        self.n_features = n_features
        self.sums = [list(s) for s in sums] if sums else [[0] * n_features, [0] * n_features]
        self.counts = list(counts) if counts else [0, 0]
        self.squares = [sum(v * v for v in s) for s in self.sums]

    def _distance(self, c: int, features: list[int]) -> int:
        n = self.counts[c]
        s = sum(self.sums[c][j] for j in features)
        return self.squares[c] - 2 * n * s + len(features) * n * n

    def predict(self, features: list[int]) -> int:
        n0, n1 = self.counts
        if n1 == 0:
            return 0
        if n0 == 0:
            return 1
        d0, d1 = self._distance(0, features), self._distance(1, features)
        return 1 if d1 * n0 * n0 < d0 * n1 * n1 else 0

    def update(self, features: list[int], label: int) -> bool:
        row = self.sums[label]
        for j in features:
            self.squares[label] += 2 * row[j] + 1
            row[j] += 1
        self.counts[label] += 1
        return True

    def fit(self, samples: list[tuple[list[int], int]], epochs: int = 1) -> "NearestCentroid":
        for x, y in samples:
            self.update(x, y)
        return self

    def constructor_args(self) -> tuple[int, int, list[int], list[int]]:
        return 1, 0, self.sums[0] + self.sums[1], list(self.counts)


def make_model(kind: str | int, n_features: int, learning_rate: int = 1):
    if kind in ("perceptron", PERCEPTRON):
        return Perceptron(n_features, learning_rate)
    if kind in ("centroid", "nearest-centroid", NEAREST_CENTROID):
        return NearestCentroid(n_features)
    raise MarketRuleError(f"unknown model kind {kind!r}; use perceptron or centroid")


@dataclass
class Contribution:
    contributor: str
    label: int
    added_at: int
    initial_deposit: int
    claimable: int
    features: list[int]
    claimed_by: set = field(default_factory=set)


class MarketMirror:
    """The contract's state and rules. Each method returns what the contract returns (the
    amount moved) or raises MarketRuleError with the contract's revert reason."""

    def __init__(self, model, cost_weight: int, refund_wait: int, claim_wait: int, deployed_at: int):
        self.model = model
        self.cost_weight = cost_weight
        self.refund_wait = refund_wait
        self.claim_wait = claim_wait
        self.last_update = deployed_at
        self.contributions: list[Contribution] = []
        self.good_count: dict[str, int] = {}
        self.total_good = 0
        self.deposits_held = 0
        self.paid_out = 0
        self.deposited = 0

    def deposit_at(self, now: int) -> int:
        return deposit(self.cost_weight, now - self.last_update)

    def add_data(self, sender: str, features: list[int], label: int, now: int, max_deposit: int | None = None) -> int:
        if label not in (0, 1):
            raise MarketRuleError("datamarket: label must be 0 or 1")
        check_features(features, self.model.n_features)
        amount = self.deposit_at(now)
        if max_deposit is not None and amount > max_deposit:
            raise MarketRuleError("datamarket: deposit exceeds max_deposit")
        self.model.update(features, label)
        self.last_update = now
        self.contributions.append(Contribution(sender, label, now, amount, amount, list(features)))
        self.deposits_held += amount
        self.deposited += amount
        return len(self.contributions) - 1

    def _load(self, cid: int, features: list[int]) -> Contribution:
        if cid >= len(self.contributions):
            raise MarketRuleError("datamarket: no such contribution")
        c = self.contributions[cid]
        if c.features != list(features):
            raise MarketRuleError("datamarket: features differ from the contribution")
        if c.claimable == 0:
            raise MarketRuleError("datamarket: nothing left to claim")
        return c

    def _pay(self, c: Contribution, amount: int) -> int:
        c.claimable -= amount
        self.deposits_held -= amount
        self.paid_out += amount
        return amount

    def refund(self, sender: str, cid: int, now: int) -> int:
        c = self._load(cid, self.contributions[cid].features if cid < len(self.contributions) else [])
        if sender != c.contributor:
            raise MarketRuleError("datamarket: only the contributor may refund")
        if now < c.added_at + self.refund_wait:
            raise MarketRuleError("datamarket: refund wait not over")
        if self.model.predict(c.features) != c.label:
            raise MarketRuleError("datamarket: the model does not agree with the contribution")
        c.claimed_by.add(sender)
        self.good_count[sender] = self.good_count.get(sender, 0) + 1
        self.total_good += 1
        return self._pay(c, c.claimable)

    def report(self, sender: str, cid: int, now: int) -> int:
        c = self._load(cid, self.contributions[cid].features if cid < len(self.contributions) else [])
        if sender == c.contributor:
            raise MarketRuleError("datamarket: cannot report your own contribution; refund it")
        if now < c.added_at + self.refund_wait:
            raise MarketRuleError("datamarket: refund wait not over")
        if now >= c.added_at + self.claim_wait:
            raise MarketRuleError("datamarket: claim wait over; use take")
        if sender in c.claimed_by:
            raise MarketRuleError("datamarket: already reported by this address")
        good = self.good_count.get(sender, 0)
        if good == 0:
            raise MarketRuleError("datamarket: the reporter has no good contributions")
        if self.model.predict(c.features) == c.label:
            raise MarketRuleError("datamarket: the model agrees with the contribution")
        share = c.initial_deposit * good // self.total_good
        if share == 0 or share > c.claimable:
            share = c.claimable
        c.claimed_by.add(sender)
        return self._pay(c, share)

    def take(self, sender: str, cid: int, now: int) -> int:
        if cid >= len(self.contributions):
            raise MarketRuleError("datamarket: no such contribution")
        c = self.contributions[cid]
        if c.claimable == 0:
            raise MarketRuleError("datamarket: nothing left to claim")
        if now < c.added_at + self.claim_wait:
            raise MarketRuleError("datamarket: claim wait not over")
        return self._pay(c, c.claimable)
