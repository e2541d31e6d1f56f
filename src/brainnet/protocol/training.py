"""The rules of a training round, in plain Python: what `Training.vy` computes, mirrored.

Used by the node agents (to build commitments), by the contract tests and the Hypothesis
state machine (to predict every median, acceptance and payout to the wei) and by the
on-chain runner (to check the chain's rewards against the rule).

- `update_commitment`: keccak256(abi_encode(round_id, keccak256(abi_encode(update_hash,
  trace_hash)), trainer, salt));
- `scores_commitment`: keccak256(abi_encode(round_id, keccak256(abi_encode(scores)), member,
  salt)) where abi_encode(scores) is the ABI encoding of one uint256[] (offset, length, items);
- `confirm_commitment`: keccak256(abi_encode(round_id, weights_hash, member, salt));
- `lower_median`: the median of n integers, the lower middle one when n is even;
- `settle_scores`: medians, acceptance and the credits of `finalize_scores`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from brainnet.protocol.commitment import abi_encode, commitment, keccak

MAX_COMMITTEE = 32          # Training.MAX_COMMITTEE
MAX_UPDATES = 32            # Training.MAX_UPDATES
MAX_SCORE = 10_000          # Training.MAX_SCORE
CAP_TRAINING = 2            # Registry.CAP_TRAINING


def update_value(update_hash: bytes, trace_hash: bytes) -> bytes:
    return keccak(abi_encode(update_hash, trace_hash))


def update_commitment(round_id: int, update_hash: bytes, trace_hash: bytes, trainer: str, salt: bytes) -> bytes:
    return commitment(round_id, update_value(update_hash, trace_hash), trainer, salt)


def encode_scores(scores: Sequence[int]) -> bytes:
    """ABI encoding of one uint256[] argument, as Vyper's abi_encode(scores) writes it."""
    return abi_encode(32, len(scores), *[int(s) for s in scores])


def scores_commitment(round_id: int, scores: Sequence[int], member: str, salt: bytes) -> bytes:
    return commitment(round_id, keccak(encode_scores(scores)), member, salt)


def confirm_commitment(round_id: int, weights_hash: bytes, member: str, salt: bytes) -> bytes:
    return commitment(round_id, weights_hash, member, salt)


def lower_median(values: Sequence[int]) -> int:
    if not values:
        raise ValueError("median of no values")
    ordered = sorted(int(v) for v in values)
    return ordered[(len(ordered) - 1) // 2]


def seat_reward(pool: int, committee_bps: int, committee_size: int) -> int:
    return pool * committee_bps // 10_000 // committee_size


@dataclass
class Settlement:
    """What `finalize_scores` decides, slot by slot, and the credits it makes."""
    medians: list[int]                       # per slot (0 for unrevealed slots or no score reveals)
    accepted: list[bool]
    rewards: list[int]                       # per slot, to its trainer
    seat_reward: int
    committee_paid: dict[str, int] = field(default_factory=dict)   # member -> credit
    refund: int = 0                          # to the round owner (dust + unearned seats, or the whole trainer pool)
    no_show_trainers: list[int] = field(default_factory=list)       # slots slashed for not revealing
    silent_members: list[str] = field(default_factory=list)         # members slashed for not revealing scores

    @property
    def trainer_paid(self) -> int:
        return sum(self.rewards)

    def credits(self, trainers: Sequence[str], owner: str) -> dict[str, int]:
        """Account -> total credit of the round (`trainers[slot]` is each slot's trainer; an
        account may be a trainer, a committee member and the owner at once)."""
        out: dict[str, int] = {}
        for account, amount in [*zip(trainers, self.rewards), *self.committee_paid.items(), (owner, self.refund)]:
            if amount:
                out[account] = out.get(account, 0) + amount
        return out


def settle_scores(
    pool: int,
    threshold: int,
    committee_bps: int,
    committee: Sequence[str],
    committee_size: int,
    revealed: Sequence[bool],
    scores: Mapping[str, Sequence[int]],
) -> Settlement:
    """Mirror of `Training.finalize_scores`.

    `committee`: the drawn members (empty if never drawn); `revealed[slot]`: whether the
    slot's update was revealed; `scores`: member -> its revealed score vector (one entry per
    slot), only for members who revealed scores. Every sum is exact integer arithmetic:
    trainer rewards are floor(trainer_pool * median / sum of accepted medians), and the pool
    minus every credit goes back to the owner, so the credits add up to the pool exactly.
    """
    seat = seat_reward(pool, committee_bps, committee_size)
    trainer_pool = pool - seat * committee_size
    n_slots = len(revealed)
    medians, accepted = [0] * n_slots, [False] * n_slots
    for slot in range(n_slots):
        if revealed[slot] and scores:
            medians[slot] = lower_median([vec[slot] for vec in scores.values()])
            accepted[slot] = medians[slot] >= threshold
    total = sum(m for m, ok in zip(medians, accepted) if ok)
    rewards = [trainer_pool * m // total if ok and total > 0 else 0 for m, ok in zip(medians, accepted)]
    out = Settlement(medians, accepted, rewards, seat)
    out.no_show_trainers = [s for s in range(n_slots) if not revealed[s]]
    for m in committee:
        if m in scores:
            out.committee_paid[m] = seat
        else:
            out.silent_members.append(m)
    out.refund = pool - out.trainer_paid - sum(out.committee_paid.values())
    return out
