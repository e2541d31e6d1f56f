"""The single-level agreement rule (BRAIN's: one committee, no escalation).

A special case of `brainnet.protocol.escalation` with one level: the value revealed by
at least `quorum` members wins; agreeing members share the fee (the dust goes back to the
requester); dissenters and no-shows are slashed. Without a quorum the fee is refunded and
only no-shows are slashed.
"""
from __future__ import annotations

from typing import Sequence

from brainnet.protocol.escalation import EXACT, Resolution, decide_level, resolve, tally, SETTLE

Outcome = Resolution


def decide(members: Sequence[str], reveals: Sequence[tuple[str, bytes]], quorum: int, fee: int,
           mode: int = EXACT, tolerance: int = 0) -> Resolution:
    """`reveals` is (member, result) in the order they were revealed on-chain."""
    t = tally([v for _, v in reveals], mode, tolerance)
    verdict = decide_level(t, 0, len(members), quorum, max_levels=1)
    return resolve([(members, dict(reveals))], t.center if verdict == SETTLE else None, fee, mode, tolerance)
