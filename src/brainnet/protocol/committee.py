"""Stake-weighted committee sampling without replacement, as `Registry.sample` does it.

Ticket i draws r = keccak(seed, i) mod (stake not yet drawn). r is mapped back onto the
full stake line by walking the members already drawn in ascending order of where their
interval starts, adding each one's stake when r lies at or past that start. The member
is the node whose interval [prefix(j-1), prefix(j)) holds r. This is exactly successive
sampling without replacement, each pick proportional to stake among the rest.

Nodes are identified by their 1-based registry index; `stakes[i]` is the stake counted in
the model's tree for index i+1 (0 for inactive nodes).
"""
from __future__ import annotations

import bisect
from itertools import accumulate
from typing import Sequence

from brainnet.protocol.commitment import ticket


def sample_committee(stakes: Sequence[int], seed: bytes, k: int, exclude: Sequence[int] = ()) -> list[int]:
    """Return the 1-based indices of the k members, in draw order.

    `exclude` holds 1-based indices that may not be drawn (earlier levels' members when a
    task escalates); their stake is treated exactly like that of members already drawn.
    """
    prefix = list(accumulate(stakes))
    total = prefix[-1] if prefix else 0
    starts: list[int] = []   # ascending interval starts of drawn (or excluded) nodes
    weights: list[int] = []
    drawn = 0
    for index in dict.fromkeys(exclude):
        pos = index - 1
        if 0 <= pos < len(stakes) and stakes[pos] > 0:
            _insert(starts, weights, prefix[pos] - stakes[pos], stakes[pos])
            drawn += stakes[pos]
    free = sum(1 for s in stakes if s > 0) - len(starts)
    if k > free:
        raise ValueError(f"need {k} active nodes, only {free} are active and not excluded")
    out: list[int] = []
    for i in range(k):
        r = ticket(seed, i) % (total - drawn)
        for start, weight in zip(starts, weights):
            if r < start:
                break
            r += weight
        pos = bisect.bisect_right(prefix, r)     # smallest index with prefix > r
        _insert(starts, weights, prefix[pos] - stakes[pos], stakes[pos])
        drawn += stakes[pos]
        out.append(pos + 1)
    return out


def _insert(starts: list[int], weights: list[int], start: int, weight: int) -> None:
    at = bisect.bisect_right(starts, start)
    starts.insert(at, start)
    weights.insert(at, weight)
