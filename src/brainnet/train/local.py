"""Deterministic local training: the same start weights, data, config and seeds give the
same bytes, and so the same hash, on every machine with the same torch build.

Plain minibatch SGD (no momentum, so a checkpoint is the weights alone and a verifier can
replay any segment from it, see `pot.py`), one torch thread, deterministic kernels. Step
s draws its batch with its own 64-bit seed `batch_seed(base, s)`; `base` is derived from
(run seed, round, client), so a trainer cannot pick its batches. Every `trace_every`
steps the weights hash is recorded: that list and the seeds are the training trace.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from brainnet.models.weights import deterministic
from brainnet.train.model import MLP, ModelSpec, get_flat, set_flat, weights_hash


@dataclass(frozen=True)
class LocalConfig:
    epochs: int = 2            # passes over the client's data per round
    batch_size: int = 16       # samples per SGD step (the last batch of an epoch may not be smaller: steps = ceil(n/B))
    lr: float = 0.1            # SGD learning rate
    trace_every: int = 1       # k: a weights hash every k steps (and at the end)

    def steps(self, n: int) -> int:
        """SGD steps a client with n samples must take in one round."""
        return self.epochs * max(1, math.ceil(n / self.batch_size))


def derive_seed(*parts: int | str) -> int:
    """A 64-bit seed from any tuple of ints/strings (sha256 of their decimal/text joined by '/')."""
    text = "/".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big")


def batch_seed(base: int, step: int) -> int:
    return derive_seed(base, step)


def batch_indices(seed: int, n: int, batch_size: int) -> np.ndarray:
    """Which of the n samples step's batch uses: a seeded draw without replacement."""
    return np.sort(np.random.default_rng(seed).choice(n, size=min(batch_size, n), replace=False))


@dataclass
class Trace:
    """Proof-of-training trace: what a trainer publishes beside its update."""
    steps: int                        # SGD steps taken
    every: int                        # k
    seeds: list[int]                  # batch seed of every step (len == steps)
    hashes: list[str]                 # weights hash at steps 0, k, 2k, ..., and at `steps` (last)
    checkpoints: list[np.ndarray] = field(default_factory=list, repr=False)   # kept by the trainer, shown on challenge

    def checkpoint_steps(self) -> list[int]:
        return checkpoint_steps(self.steps, self.every)

    def digest(self) -> str:
        """sha256 of the canonical trace (steps, k, seeds, hashes): the `trace_hash` committed on chain."""
        body = f"{self.steps}|{self.every}|" + ",".join(map(str, self.seeds)) + "|" + ",".join(self.hashes)
        return hashlib.sha256(body.encode()).hexdigest()


def checkpoint_steps(steps: int, every: int) -> list[int]:
    marks = list(range(0, steps, every))
    return marks + [steps]


def sgd_steps(spec: ModelSpec, start: np.ndarray, x: np.ndarray, y: np.ndarray, seeds: list[int],
              config: LocalConfig, *, on_step=None, model: MLP | None = None) -> np.ndarray:
    """Run one SGD step per seed from `start`; returns the final weights. `on_step(i, model)`
    is called after step i (1-based); `model` is a module to reuse (a verifier replaying many
    segments). The caller holds `deterministic()`."""
    model = set_flat(model if model is not None else MLP(spec), start)
    params = list(model.parameters())
    xt = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.array(x, dtype=np.float32))
    yt = y if isinstance(y, torch.Tensor) else torch.from_numpy(np.array(y, dtype=np.int64))
    for i, s in enumerate(seeds, start=1):
        idx = torch.from_numpy(batch_indices(s, len(xt), config.batch_size))
        for p in params:
            p.grad = None
        nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()      # (B, F) -> (B, C) -> scalar
        with torch.no_grad():
            for p in params:                                                  # plain SGD: p <- p - lr * grad
                p.add_(p.grad, alpha=-config.lr)
        if on_step is not None:
            on_step(i, model)
    return get_flat(model)


def train_local(spec: ModelSpec, start: np.ndarray, x: np.ndarray, y: np.ndarray, config: LocalConfig,
                base_seed: int, *, steps: int | None = None, keep_checkpoints: bool = False) -> tuple[np.ndarray, Trace]:
    """Train from `start` on (x, y) for `config.steps(len(x))` steps (or `steps`); returns the
    new weights and the trace. Bit-identical across runs and processes (one thread)."""
    total = config.steps(len(x)) if steps is None else steps
    seeds = [batch_seed(base_seed, s) for s in range(total)]
    marks = set(checkpoint_steps(total, config.trace_every))
    hashes = [weights_hash(spec, start)]
    checkpoints = [np.array(start, dtype=np.float32)] if keep_checkpoints else []

    def record(i: int, model: nn.Module) -> None:
        if i in marks:
            flat = get_flat(model)
            hashes.append(weights_hash(spec, flat))
            if keep_checkpoints:
                checkpoints.append(flat)

    with deterministic(threads=1):
        final = sgd_steps(spec, start, x, y, seeds, config, on_step=record)
    return final, Trace(total, config.trace_every, seeds, hashes, checkpoints)
