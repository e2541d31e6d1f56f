"""Proof of training: a trainer's trace lets a verifier check, by replaying a few short
segments, that the claimed SGD steps were really run on the claimed data.

The trace (`local.Trace`) holds the batch seed of every step and the weights hash at
steps 0, k, 2k, ... and at the end; its digest is the `trace_hash` a trainer commits with
its update. The trainer keeps the checkpoints (weights at those steps). A verifier:

    1. checks the trace's shape for free: the number of steps the round requires for the
       trainer's data (`LocalConfig.steps`), k, the batch seeds (derived from the round's
       base seed, so they cannot be chosen), hashes[0] == hash(global weights) and
       hashes[-1] == hash(the update);
    2. draws r segments with a challenge seed the trainer could not know when it committed
       (on chain: a block hash after the reveal): always the first and the last, and r - 2
       more at random;
    3. for each, asks the trainer for the checkpoint at the segment's start, checks its hash
       against the trace, replays the segment's k steps (same code, one thread, deterministic
       kernels) and compares with the trace's next hash: exact bytes when tolerance == 0,
       else max |difference| <= tolerance against the checkpoint the trainer shows.

Any trainer that skips work must leave the segments it skipped inconsistent (a segment's
end can only be produced by running it), so a cheater who skipped a fraction f of the
segments escapes r random checks with probability about (1 - f)^r. A failed check is a
`Verdict` with the segment and both hashes: the evidence for an on-chain challenge.

`make_claim` builds an honest claim or one of the cheats the benchmark measures:
skipped (no training, global weights sent), fewer_steps (a contiguous block of
`FEWER_STEPS_SKIP` of the steps not run), other_data (the right seeds on another data
set), random_weights, copied (another trainer's update and checkpoints, own seeds).
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from brainnet.models.weights import deterministic
from brainnet.train.local import LocalConfig, Trace, batch_seed, checkpoint_steps, sgd_steps, train_local
from brainnet.train.model import MLP, ModelSpec, weights_hash

CHEATS = ("skipped", "fewer_steps", "other_data", "random_weights", "copied")
KINDS = ("honest",) + CHEATS
FEWER_STEPS_SKIP = 0.5          # share of the claimed steps a `fewer_steps` cheater does not run
DEFAULT_SEGMENTS = 12           # r


@dataclass
class Claim:
    """What a trainer publishes (update, trace) and keeps to answer a challenge (checkpoints)."""
    kind: str
    update: np.ndarray                       # (P,) float32
    trace: Trace                             # its checkpoints are what the trainer will show
    train_s: float = 0.0                     # seconds the trainer spent (training + hashing)

    def checkpoint(self, index: int) -> np.ndarray:
        return self.trace.checkpoints[index]


@dataclass
class Verdict:
    ok: bool
    reason: str = ""                         # why it failed: what a challenge on chain would cite
    segment: int | None = None               # the failing segment (index into checkpoint_steps)
    expected_hash: str = ""                  # the trace's hash at the segment's end
    replayed_hash: str = ""                  # what the verifier computed
    segments: list[int] = field(default_factory=list)
    replayed_steps: int = 0
    verify_s: float = 0.0

    def evidence(self, trace_hash: str) -> bytes:
        """32 bytes naming the failed check (the `evidence_hash` of an on-chain challenge):
        sha256 of "trace_hash|segment|expected_hash|replayed_hash|reason"."""
        if self.ok:
            raise ValueError("an accepted claim has no evidence against it")
        body = f"{trace_hash}|{self.segment}|{self.expected_hash}|{self.replayed_hash}|{self.reason}"
        return hashlib.sha256(body.encode()).digest()


def run_with_checkpoints(spec: ModelSpec, start: np.ndarray, x: np.ndarray, y: np.ndarray, config: LocalConfig,
                         seeds: list[int], skip: set[int] = frozenset()) -> tuple[np.ndarray, Trace]:
    """Train with a trace that records real checkpoints; steps in `skip` (0-based) are not run
    (a cheater's shortcut: the weights it reports there are simply the ones it had)."""
    total, k = len(seeds), config.trace_every
    marks = checkpoint_steps(total, k)
    cps = [np.array(start, dtype=np.float32)]
    w = cps[0]
    with deterministic(threads=1):
        for a, b in zip(marks[:-1], marks[1:]):
            run = [s for i, s in enumerate(seeds[a:b], start=a) if i not in skip]
            if run:     # a partly skipped segment runs the steps it kept, in order
                w = sgd_steps(spec, w, x, y, run, config)
            cps.append(w)
    hashes = [weights_hash(spec, c) for c in cps]
    return cps[-1], Trace(total, k, list(seeds), hashes, cps)


def honest_claim(spec, start, x, y, config: LocalConfig, base_seed: int) -> Claim:
    """The honest trainer: `local.train_local` keeping its checkpoints (its time is the training compute)."""
    t = time.perf_counter()
    final, trace = train_local(spec, start, x, y, config, base_seed, keep_checkpoints=True)
    return Claim("honest", final, trace, time.perf_counter() - t)


def _fabricated(spec, start, sent: np.ndarray, steps: int, k: int, seeds: list[int]) -> Trace:
    """A trace that starts at the global model and shows `sent` at every later checkpoint."""
    marks = checkpoint_steps(steps, k)
    cps = [np.array(start, dtype=np.float32)] + [sent] * (len(marks) - 1)
    return Trace(steps, k, seeds, [weights_hash(spec, c) for c in cps], cps)


def make_claim(kind: str, spec: ModelSpec, start: np.ndarray, x: np.ndarray, y: np.ndarray, config: LocalConfig,
               base_seed: int, rng: np.random.Generator, *, other_x: np.ndarray | None = None,
               other_y: np.ndarray | None = None, other_claim: Claim | None = None) -> Claim:
    """An honest claim or a cheat (see the module docstring) for a trainer with data (x, y)."""
    steps = config.steps(len(x))
    seeds = [batch_seed(base_seed, s) for s in range(steps)]
    t = time.perf_counter()
    if kind == "honest":
        return honest_claim(spec, start, x, y, config, base_seed)
    if kind == "skipped":
        sent = np.array(start, dtype=np.float32)
        return Claim(kind, sent, _fabricated(spec, start, sent, steps, config.trace_every, seeds), time.perf_counter() - t)
    if kind == "fewer_steps":
        n_skip = max(1, int(round(FEWER_STEPS_SKIP * steps)))
        first = int(rng.integers(0, steps - n_skip + 1))
        final, trace = run_with_checkpoints(spec, start, x, y, config, seeds, set(range(first, first + n_skip)))
        return Claim(kind, final, trace, time.perf_counter() - t)
    if kind == "other_data":
        if other_x is None:
            raise ValueError("other_data cheat needs other_x/other_y")
        final, trace = run_with_checkpoints(spec, start, other_x, other_y, config, seeds)
        return Claim(kind, final, trace, time.perf_counter() - t)
    if kind == "random_weights":
        sent = rng.normal(0.0, 0.1, size=np.shape(start)).astype(np.float32)
        return Claim(kind, sent, _fabricated(spec, start, sent, steps, config.trace_every, seeds), time.perf_counter() - t)
    if kind == "copied":
        if other_claim is None:
            raise ValueError("copied cheat needs another trainer's claim")
        src = other_claim.trace
        marks = checkpoint_steps(steps, config.trace_every)
        cps = [src.checkpoints[min(i, len(src.checkpoints) - 1)] for i in range(len(marks))]
        cps[0] = np.array(start, dtype=np.float32)
        cps[-1] = other_claim.update
        trace = Trace(steps, config.trace_every, seeds, [weights_hash(spec, c) for c in cps], cps)
        return Claim(kind, other_claim.update, trace, time.perf_counter() - t)
    raise ValueError(f"unknown claim kind {kind!r}: one of {', '.join(KINDS)}")


def choose_segments(n_segments: int, r: int, challenge_seed: int) -> list[int]:
    """The first and last segment, and r - 2 more drawn without replacement (sorted)."""
    if n_segments <= r:
        return list(range(n_segments))
    ends = {0, n_segments - 1}
    middle = np.random.default_rng(challenge_seed).choice(np.arange(1, n_segments - 1), size=max(0, r - 2),
                                                           replace=False)
    return sorted(ends | {int(i) for i in middle})


def verify(spec: ModelSpec, start: np.ndarray, x: np.ndarray, y: np.ndarray, config: LocalConfig, base_seed: int,
           update: np.ndarray, trace: Trace, checkpoint: Callable[[int], np.ndarray], *,
           segments: int = DEFAULT_SEGMENTS, challenge_seed: int = 0, tolerance: float = 0.0) -> Verdict:
    """Check a trainer's claim (see the module docstring); `checkpoint(i)` is the trainer's
    answer to "show me your weights at checkpoint i"."""
    t0 = time.perf_counter()

    def fail(reason: str, **kw) -> Verdict:
        return Verdict(False, reason, verify_s=time.perf_counter() - t0, **kw)

    need = config.steps(len(x))
    if trace.steps != need:
        return fail(f"trace claims {trace.steps} steps, the round requires {need}")
    if trace.every != config.trace_every:
        return fail(f"trace hashes every {trace.every} steps, the round requires {config.trace_every}")
    marks = checkpoint_steps(trace.steps, trace.every)
    if len(trace.hashes) != len(marks) or len(trace.seeds) != trace.steps:
        return fail("trace has the wrong number of hashes or seeds")
    if trace.seeds != [batch_seed(base_seed, s) for s in range(need)]:
        return fail("trace's batch seeds are not the ones the round assigned")
    if trace.hashes[0] != weights_hash(spec, start):
        return fail("trace does not start at the round's global weights", segment=0)
    if trace.hashes[-1] != weights_hash(spec, update):
        return fail("trace does not end at the update's weights", segment=len(marks) - 2)
    chosen = choose_segments(len(marks) - 1, segments, challenge_seed)
    replayed = 0
    net = MLP(spec)
    xt = torch.from_numpy(np.array(x, dtype=np.float32))      # (N, F), converted once for all segments
    yt = torch.from_numpy(np.array(y, dtype=np.int64))
    with deterministic(threads=1):
        for i in chosen:
            begin = np.asarray(checkpoint(i), dtype=np.float32)
            if weights_hash(spec, begin) != trace.hashes[i]:
                return fail("checkpoint shown does not match the trace", segment=i, segments=chosen,
                            replayed_steps=replayed)
            got = sgd_steps(spec, begin, xt, yt, trace.seeds[marks[i]:marks[i + 1]], config, model=net)
            replayed += marks[i + 1] - marks[i]
            got_hash = weights_hash(spec, got)
            if tolerance == 0.0:
                ok = got_hash == trace.hashes[i + 1]
            else:
                end = np.asarray(checkpoint(i + 1), dtype=np.float32)
                ok = (weights_hash(spec, end) == trace.hashes[i + 1]
                      and float(np.max(np.abs(end.astype(np.float64) - got))) <= tolerance)
            if not ok:
                return fail("replayed segment does not reach the trace's next checkpoint", segment=i,
                            expected_hash=trace.hashes[i + 1], replayed_hash=got_hash, segments=chosen,
                            replayed_steps=replayed)
    return Verdict(True, segments=chosen, replayed_steps=replayed, verify_s=time.perf_counter() - t0)


def verify_claim(spec, start, x, y, config: LocalConfig, base_seed: int, claim: Claim, **kw) -> Verdict:
    return verify(spec, start, x, y, config, base_seed, claim.update, claim.trace, claim.checkpoint, **kw)
