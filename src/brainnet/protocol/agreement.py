"""The agreement rule of `Inference.finalize`, computed locally.

The value revealed by at least `quorum` members wins; agreeing members share the fee
(integer division, the dust goes back to the requester); members who revealed another
value are dissenters, members who did not reveal are no-shows; both are slashed. Without
a quorum the fee is refunded and only no-shows are slashed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence


@dataclass(frozen=True)
class Outcome:
    settled: bool
    result: bytes | None              # accepted value when settled
    agreeing: list[str] = field(default_factory=list)
    dissenters: list[str] = field(default_factory=list)
    no_shows: list[str] = field(default_factory=list)
    share: int = 0                    # paid to each agreeing member
    refund: int = 0                   # returned to the requester (whole fee, or the dust)

    @property
    def slashed(self) -> list[str]:
        return self.dissenters + self.no_shows


def decide(members: Sequence[str], reveals: Sequence[tuple[str, bytes]], quorum: int, fee: int) -> Outcome:
    """`reveals` is (member, result) in the order they were revealed on-chain."""
    counts: dict[bytes, int] = {}
    top, top_count = None, 0
    for _, result in reveals:
        counts[result] = counts.get(result, 0) + 1
        if counts[result] > top_count:           # first to reach a count keeps it on ties
            top, top_count = result, counts[result]
    revealed: Mapping[str, bytes] = dict(reveals)
    no_shows = [m for m in members if m not in revealed]
    if top_count < quorum:
        return Outcome(False, None, no_shows=no_shows, refund=fee)
    agreeing = [m for m in members if revealed.get(m) == top]
    dissenters = [m for m in members if m in revealed and revealed[m] != top]
    share = fee // top_count
    return Outcome(True, top, agreeing, dissenters, no_shows, share, fee - share * top_count)
