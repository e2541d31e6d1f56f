"""Escalation: how a task moves through committee levels until one value is final.

The exact mirror of `Inference.vy`'s levels (see `finalize`, `challenge`, `_close`):

- Level l has `level_size(K, l)` members (K, 2K+1, 4K+3, ...) drawn by `Registry.sample`
  from `level_seed(blockhash(seed_block), task_id, l)`, excluding every earlier member.
- Reveals of a level are tallied by `tally`: every revealed value counts the reveals
  that agree with it (itself included; in `exact` mode agreeing means equal, in `near`
  mode a Hamming distance within the model's tolerance); the *center* is the value with
  the largest count, ties going to the one revealed first.
- `decide_level`: a level whose revealers all agree with the center and whose center has
  at least `level_quorum` reveals settles; otherwise the task escalates while a level is
  left and enough nodes remain; at the last level the center settles if it has a quorum,
  else the fee is refunded.
- A settled level opens a challenge window (unless it is the last level): the requester
  may post a bond to escalate anyway.
- `resolve`: once final, every member of every level who revealed a value that agrees
  with the final value is paid an equal share of the fee (plus a lost challenge bond);
  dissenters and no-shows at every level are slashed. A refunded task slashes only
  no-shows. The challenger's bond comes back when the final value differs from the one
  challenged.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from brainnet.protocol.commitment import abi_encode, keccak, task_seed

EXACT, NEAR = 0, 1


def level_size(k: int, level: int) -> int:
    size = k
    for _ in range(level):
        size = 2 * size + 1
    return size


def level_quorum(k: int, q: int, level: int) -> int:
    return q if level == 0 else level_size(k, level) // 2 + 1


def level_seed(seed_block_hash: bytes, task_id: int, level: int) -> bytes:
    if level == 0:
        return task_seed(seed_block_hash, task_id)
    return keccak(abi_encode(seed_block_hash, task_id, level))


def hamming(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


def agree(a: bytes, b: bytes, mode: int = EXACT, tolerance: int = 0) -> bool:
    return a == b if mode == EXACT else hamming(a, b) <= tolerance


@dataclass(frozen=True)
class LevelTally:
    center: bytes | None        # the value most reveals agree with
    center_count: int
    reveals: int

    @property
    def unanimous(self) -> bool:
        return self.reveals > 0 and self.center_count == self.reveals


def tally(values: Sequence[bytes], mode: int = EXACT, tolerance: int = 0) -> LevelTally:
    """`values` in reveal order."""
    counts = [sum(1 for w in values if agree(v, w, mode, tolerance)) for v in values]
    if not values:
        return LevelTally(None, 0, 0)
    best = max(range(len(values)), key=lambda i: (counts[i], -i))
    return LevelTally(values[best], counts[best], len(values))


SETTLE, ESCALATE, REFUND = "settle", "escalate", "refund"


def decide_level(t: LevelTally, level: int, k: int, q: int, max_levels: int, can_escalate: bool = True) -> str:
    quorum = level_quorum(k, q, level)
    if t.center_count >= quorum and t.unanimous:
        return SETTLE
    if level + 1 < max_levels and can_escalate:
        return ESCALATE
    return SETTLE if t.center_count >= quorum else REFUND


@dataclass(frozen=True)
class Resolution:
    settled: bool
    result: bytes | None
    agreeing: list[str] = field(default_factory=list)
    dissenters: list[str] = field(default_factory=list)
    no_shows: list[str] = field(default_factory=list)
    share: int = 0                  # credited to each agreeing member
    refund: int = 0                 # back to the requester (whole fee, or the dust)
    bond_back: int = 0              # back to the challenger

    @property
    def slashed(self) -> list[str]:
        return self.dissenters + self.no_shows


def resolve(levels: Sequence[tuple[Sequence[str], dict[str, bytes]]], final: bytes | None, fee: int,
            mode: int = EXACT, tolerance: int = 0, bond: int = 0, challenged: bytes | None = None) -> Resolution:
    """`levels`: (members in draw order, member -> revealed value) per level."""
    members = [m for ms, _ in levels for m in ms]
    revealed = {m: v for _, rv in levels for m, v in rv.items()}
    no_shows = [m for m in members if m not in revealed]
    if final is None:
        return Resolution(False, None, no_shows=no_shows, refund=fee, bond_back=bond)
    agreeing = [m for m in members if m in revealed and agree(revealed[m], final, mode, tolerance)]
    dissenters = [m for m in members if m in revealed and m not in agreeing]
    changed = challenged is not None and not agree(final, challenged, mode, tolerance)
    pot = fee + (0 if changed else bond)
    share = pot // len(agreeing)
    return Resolution(True, final, agreeing, dissenters, no_shows, share, pot - share * len(agreeing),
                      bond if changed else 0)
