"""The emission schedule and reward split of `Emission.vy`, in plain integers.

`epoch_amount` is the contract's fixed-point power exactly (same rounding), so the
simulation of the economy and the tests can say what an epoch mints without a chain.
"""
from __future__ import annotations

from typing import Mapping

ONE = 10**18
INFERENCE, TRAINING = 1, 2


def epoch_amount(initial: int, decay_bps: int, epoch: int) -> int:
    """Tokens epoch `epoch` may mint: initial * ((10000 - decay_bps) / 10000) ** epoch, rounded as on chain."""
    base = (10000 - decay_bps) * ONE // 10000
    factor, e = ONE, epoch
    while e:
        if e & 1:
            factor = factor * base // ONE
        base = base * base // ONE
        e >>= 1
    return initial * factor // ONE


def pools(amount: int, inference_weight_bps: int, worked: Mapping[int, int]) -> dict[int, int]:
    """The pools an epoch mints: split by weight; a kind without work (worked[kind] == 0) gets nothing."""
    for_inference = amount * inference_weight_bps // 10000
    split = {INFERENCE: for_inference, TRAINING: amount - for_inference}
    return {k: (v if worked.get(k, 0) > 0 else 0) for k, v in split.items()}


def share(pool: int, units: int, total_units: int) -> int:
    """A node's reward from one pool: pool * units // total (dust stays in the contract)."""
    return pool * units // total_units if units else 0
