"""A real, small classifier every node can train identically: an MLP on sklearn's digits.

The network needs a model whose outputs honest nodes agree on exactly (labels, `exact`
agreement) and that trains in seconds on a laptop with no downloads. The 8x8 digits set
ships with scikit-learn; a 64 -> 64 -> 10 MLP reaches ~97% test accuracy in about a
second, and training is deterministic (fixed seed, split, batch order, one thread), so
`train_digits(seed)` gives the same weights bytes, and so the same sha256, on every run.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from brainnet.errors import ModelError
from brainnet.models.weights import (
    deterministic, read_ref, read_weights, store_weights, weights_to_bytes, write_ref,
)

PIXELS = 64          # 8x8 image, flattened
PIXEL_MAX = 16.0     # sklearn digits pixel values are integers 0..16
CLASSES = 10


@dataclass(frozen=True)
class DigitsConfig:
    hidden: int = 64          # width of the one hidden layer
    epochs: int = 20          # passes over the training split
    batch_size: int = 64      # minibatches in a seeded, fixed order
    lr: float = 0.01          # Adam learning rate
    test_size: int = 360      # images held out (20% of 1797) for accuracy and samples
    split_seed: int = 0       # the train/test split is the same for every seed


class DigitsMLP(nn.Module):
    def __init__(self, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(PIXELS, hidden), nn.ReLU(), nn.Linear(hidden, CLASSES))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        # pixels: (B, 64) raw values 0..16  ->  logits: (B, 10)
        return self.net(pixels / PIXEL_MAX)


@dataclass(frozen=True)
class DigitsSplit:
    x_train: np.ndarray   # (N_train, 64) float32, 0..16
    y_train: np.ndarray   # (N_train,) int64
    x_test: np.ndarray    # (N_test, 64) float32
    y_test: np.ndarray    # (N_test,) int64


@lru_cache(maxsize=4)
def digits_split(split_seed: int = 0, test_size: int = 360) -> DigitsSplit:
    """The fixed train/test split (a seeded permutation of sklearn's bundled digits)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = data.data.astype(np.float32)
    y = data.target.astype(np.int64)
    order = np.random.default_rng(split_seed).permutation(len(x))
    test, train = order[:test_size], order[test_size:]
    arrays = [x[train], y[train], x[test], y[test]]
    for a in arrays:
        a.flags.writeable = False
    return DigitsSplit(*arrays)


def train_digits_model(seed: int = 0, config: DigitsConfig = DigitsConfig()) -> DigitsMLP:
    """Train deterministically; torch's global RNG and settings are left as they were."""
    split = digits_split(config.split_seed, config.test_size)
    x = torch.from_numpy(split.x_train.copy())
    y = torch.from_numpy(split.y_train.copy())
    with deterministic(threads=1), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DigitsMLP(config.hidden)
        opt = torch.optim.Adam(model.parameters(), lr=config.lr)
        order = torch.Generator().manual_seed(seed)
        for _ in range(config.epochs):
            perm = torch.randperm(len(x), generator=order)
            for start in range(0, len(x), config.batch_size):
                batch = perm[start:start + config.batch_size]
                opt.zero_grad()
                loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
                loss.backward()
                opt.step()
    return model.eval()


def train_digits(seed: int = 0, config: DigitsConfig = DigitsConfig()) -> bytes:
    """Train the digits MLP and return its canonical weights file (same seed, same bytes)."""
    return weights_to_bytes(train_digits_model(seed, config).state_dict())


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    with deterministic(threads=1), torch.no_grad():
        pred = model(torch.tensor(np.asarray(x), dtype=torch.float32)).argmax(dim=1).numpy()
    return float((pred == y).mean())


def recipe_name(seed: int) -> str:
    return f"digits-mlp-seed{seed}"


def ensure_digits_weights(seed: int = 0, cache_dir: Path | str | None = None) -> str:
    """sha256 hex of the digits weights for `seed`: trained and stored on first use only."""
    recipe = recipe_name(seed)
    known = read_ref(recipe, cache_dir)
    if known is not None:
        try:
            read_weights(known, cache_dir)   # still there and intact
            return known
        except ModelError:
            pass                             # missing or corrupted: train again
    digest = store_weights(train_digits(seed), cache_dir)
    write_ref(recipe, digest, cache_dir)
    return digest
