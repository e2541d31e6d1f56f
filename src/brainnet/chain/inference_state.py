"""Inference's stored state, decoded: tasks, levels, seats and members.

`Inference.vy` keeps a task in one hot word and each level's committee in seat words (the
layout is in the contract's header and in docs/architecture.md, "Storage"). Its one view
for readers, `state(task_id, level)`, returns those words as they are; the views that only
readers off chain need (a task as a record, the members of every level, a member's seat,
what it revealed) are computed here, so the contract's bytecode is spent on the protocol.

`InferenceReader` takes the calls it needs as functions, so the web3 bindings
(`brainnet.chain.contracts.Contracts`) and the titanoboa tests read through the same code.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag
from typing import Callable

from brainnet.protocol.escalation import level_size
from brainnet.protocol.simhash import hamming

CURRENT = 255              # `state`'s level argument for "the task's current level"
SEED_HORIZON = 256         # blocks whose hash the EVM still knows

# the hot word: (shift, width) of the fields read here (status: bits 0..7; the model slot and
# requester id are resolved by `state` itself)
H_LEVEL, H_MODE, H_TOLERANCE = (8, 4), (12, 2), (14, 8)
H_REQUEST_BLOCK, H_SEED_BLOCK, H_FINAL_BLOCK, H_RESULT = (38, 32), (70, 32), (102, 32), (134, 12)
H_PREPAID, H_CHALLENGED, H_HAS_RESULT = 1 << 146, 1 << 147, 1 << 148
H_FEE = 177
# seat words: a 40-bit header, then 11 seats of 19 bits (Registry index: 11 bits, committed:
# 1 bit, revealed value index + 1: 7 bits); word 0's header holds the commit
# deadline (32 bits), the commits (7 bits at 32), the near flag (bit 39), and its top 7 bits
# the number of values stored
SEAT_BASE, SEAT_BITS, SEATS_PER_WORD = 40, 19, 11
COMMITS_AT, WORD_NEAR = 32, 1 << 39
# packed terms: K | Q << 16 | L << 32 | commit window << 48 | reveal window << 88
T_COMMIT_WINDOW, T_REVEAL_WINDOW = 48, 88


def field(word: int, at_width: tuple[int, int]) -> int:
    at, width = at_width
    return (word >> at) & ((1 << width) - 1)


def window(terms: int, at: int) -> int:
    return (terms >> at) & (2**40 - 1)


class Status(IntFlag):
    NONE = 0
    REQUESTED = 1
    DRAWN = 2
    SETTLED = 4
    REFUNDED = 8
    PROVISIONAL = 16


@dataclass(frozen=True)
class Terms:
    """What a task was requested under: committee size K, quorum Q, levels L and windows."""
    committee_size: int
    quorum: int
    max_levels: int
    commit_window: int
    reveal_window: int

    @classmethod
    def decode(cls, terms: int) -> Terms:
        return cls(terms & 0xFFFF, (terms >> 16) & 0xFFFF, (terms >> 32) & 0xFFFF,
                   window(terms, T_COMMIT_WINDOW), window(terms, T_REVEAL_WINDOW))


@dataclass(frozen=True)
class Seat:
    index: int               # the member's Registry index
    committed: bool
    value: int               # index + 1 of its revealed value in the level's values; 0 = no reveal

    @property
    def revealed(self) -> bool:
        return self.value != 0


@dataclass(frozen=True)
class Level:
    """One level of a task as stored: empty seats and no deadline until it is drawn."""
    level: int
    deadline: int            # commit deadline
    commits: int
    near: bool
    seats: tuple[Seat, ...]
    values: tuple[bytes, ...]     # exact: each distinct value once; near: every reveal's fingerprint

    @classmethod
    def decode(cls, level: int, size: int, words: list[int], values: list[bytes]) -> Level:
        head = words[0] if words else 0
        seats = []
        for word in words:
            x = word >> SEAT_BASE
            for _ in range(SEATS_PER_WORD):
                if len(seats) == size:
                    break
                seat = x & (2**SEAT_BITS - 1)
                seats.append(Seat(index=seat & 2047, committed=bool(seat & 2048), value=seat >> 12))
                x >>= SEAT_BITS
        return cls(level, head & (2**32 - 1), (head >> COMMITS_AT) & 127, bool(head & WORD_NEAR),
                   tuple(seats) if head else (), tuple(bytes(v) for v in values))

    @property
    def drawn(self) -> bool:
        return bool(self.seats)

    @property
    def reveals(self) -> int:
        return sum(1 for s in self.seats if s.revealed)

    def center(self, tolerance: int) -> tuple[int, int]:
        """(top count, index of the center value): the value most reveals agree with, ties to
        the earliest (Inference._center)."""
        counts = [0] * len(self.values)
        if self.near:
            for i, a in enumerate(self.values):
                counts[i] += 1
                for j in range(i + 1, len(self.values)):
                    if hamming(a, self.values[j]) <= tolerance:
                        counts[i] += 1
                        counts[j] += 1
        else:
            for s in self.seats:
                if s.value:
                    counts[s.value - 1] += 1
        top, center = 0, 0
        for i, c in enumerate(counts):
            if c > top:
                top, center = c, i
        return top, center

    def value_of(self, seat: Seat) -> bytes | None:
        return self.values[seat.value - 1] if seat.value else None


@dataclass(frozen=True)
class TaskView:
    task_id: int
    requester: str
    model_id: bytes
    fee: int
    request_block: int
    status: Status
    commit_deadline: int
    reveal_deadline: int
    commits: int
    reveals: int
    top_result: bytes
    top_count: int
    result: bytes
    final_block: int
    level: int
    seed_block: int
    mode: int
    tolerance: int
    challenge_deadline: int
    challenger: str
    bond: int
    challenged: bytes
    prepaid: bool = False

    def finalizable(self, block: int, level_size: int) -> bool:
        """`finalize` would not revert: the level is complete or past its deadline, or a
        provisional result's challenge window has passed, or an undrawn level expired."""
        if self.status == Status.DRAWN:
            return self.reveals == level_size or block > self.reveal_deadline
        if self.status == Status.PROVISIONAL:
            return block > self.challenge_deadline
        return self.status == Status.REQUESTED and block > self.seed_block + SEED_HORIZON


ZERO_ADDRESS = "0x" + "00" * 20
EMPTY = bytes(32)


class InferenceReader:
    """Tasks, members and seats of an Inference contract, read through the functions given:
    `state(task_id, level)` and `challenge(task_id)` of Inference, `blob(task_id, member)` (its
    `blobs` getter), and the Registry's `nodes_at(indices)` and `index_of(address)`."""

    def __init__(self, state: Callable, challenge: Callable, blob: Callable, nodes_at: Callable, index_of: Callable):
        self._state, self._challenge, self._blob = state, challenge, blob
        self._nodes_at, self._index_of = nodes_at, index_of

    def raw(self, task_id: int, level: int = CURRENT) -> tuple[int, Terms, str, bytes, Level]:
        """(hot word, terms, requester, model id, the level) of a task; `level` defaults to its current one."""
        hot, terms, requester, model_id, words, values = self._state(task_id, level)
        terms = Terms.decode(terms)
        if level == CURRENT:
            level = field(hot, H_LEVEL)
        return hot, terms, requester, bytes(model_id), Level.decode(level, level_size(terms.committee_size, level),
                                                                    list(words), list(values))

    def task(self, task_id: int) -> TaskView:
        hot, terms, requester, model_id, lv = self.raw(task_id)
        status = Status(hot & 255)
        commit_deadline = reveal_deadline = top_count = 0
        top_result = result = challenged = EMPTY
        challenger, bond = ZERO_ADDRESS, 0
        if lv.drawn:
            commit_deadline = lv.deadline
            reveal_deadline = lv.deadline + terms.reveal_window
            if lv.reveals:
                top_count, center = lv.center(field(hot, H_TOLERANCE))
                top_result = lv.values[center]
        if hot & H_HAS_RESULT:
            ref = field(hot, H_RESULT)
            at = lv if ref >> 8 == lv.level else self.raw(task_id, ref >> 8)[4]
            result = at.values[ref & 255]
        if hot & H_CHALLENGED:
            challenger, bond, challenged = self._challenge(task_id)
            challenged = bytes(challenged)
        final = field(hot, H_FINAL_BLOCK)
        return TaskView(
            task_id=task_id, requester=requester if hot else ZERO_ADDRESS, model_id=model_id if hot else EMPTY,
            fee=hot >> H_FEE, request_block=field(hot, H_REQUEST_BLOCK), status=status,
            commit_deadline=commit_deadline, reveal_deadline=reveal_deadline, commits=lv.commits if lv.drawn else 0,
            reveals=lv.reveals, top_result=top_result, top_count=top_count, result=result,
            final_block=final if status in (Status.SETTLED, Status.REFUNDED) else 0, level=lv.level,
            seed_block=field(hot, H_SEED_BLOCK), mode=field(hot, H_MODE), tolerance=field(hot, H_TOLERANCE),
            challenge_deadline=final if status == Status.PROVISIONAL else 0, challenger=challenger, bond=bond,
            challenged=challenged, prepaid=bool(hot & H_PREPAID))

    def levels(self, task_id: int) -> list[Level]:
        """Every drawn level of the task, in order."""
        *_, current = self.raw(task_id)
        out = [self.raw(task_id, lv)[4] for lv in range(current.level)]
        return out + [current] if current.drawn else out

    def members(self, task_id: int) -> list[str]:
        """Members of every drawn level of the task, in draw order."""
        indices = [s.index for lv in self.levels(task_id) for s in lv.seats]
        return list(self._nodes_at(indices)) if indices else []

    def committee(self, task_id: int) -> list[str]:
        """Members of the task's current level (empty while an escalated level waits for its draw)."""
        *_, lv = self.raw(task_id)
        return list(self._nodes_at([s.index for s in lv.seats])) if lv.drawn else []

    def find(self, task_id: int, member: str) -> tuple[Level, Seat] | None:
        """The level and seat of `member` in the task (None when it sits on none)."""
        index = self._index_of(member)
        if index == 0:
            return None
        for lv in self.levels(task_id):
            for seat in lv.seats:
                if seat.index == index:
                    return lv, seat
        return None

    def seat(self, task_id: int, member: str) -> tuple[int, bool, bool]:
        """(level + 1 of the committee `member` sits on, 0 = none; committed; revealed)."""
        found = self.find(task_id, member)
        if found is None:
            return 0, False, False
        lv, seat = found
        return lv.level + 1, seat.committed, seat.revealed

    def reveals(self, task_id: int, member: str) -> tuple[bytes, bytes]:
        """What `member` revealed: (value, sha256 of its output blob); near: (fingerprint, blob
        hash); exact: (result, result). Empty before its reveal."""
        found = self.find(task_id, member)
        if found is None or not found[1].revealed:
            return EMPTY, EMPTY
        lv, seat = found
        value = lv.value_of(seat)
        return value, (bytes(self._blob(task_id, member)) if lv.near else value)
