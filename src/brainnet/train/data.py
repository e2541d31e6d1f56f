"""Data for federated training: scikit-learn's bundled `digits`, `breast_cancer` and `wine`.

Every node must see the same data for the same seed, with nothing downloaded, so:
    - one fixed train/test split per data set (a seeded permutation, `SPLIT_SEED`), the
      features standardized with the training split's mean and std;
    - the training split is cut into a client pool and a validation pool; clients get
      non-IID shares of the client pool by Dirichlet(alpha) over classes (fixed seed);
    - each scoring-committee member gets its own held-out validation slice (a seeded
      sample of the validation pool), the data it scores updates on.
The test split is used only to report accuracy, never to score or train.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from brainnet.errors import ConfigError

DATASETS = ("digits", "breast_cancer", "wine")
SPLIT_SEED = 0            # the train/test split is the same for every run
TEST_FRACTION = 0.25      # share of each data set held out as the test split
VALIDATION_FRACTION = 0.2  # share of the training split kept for the committee (not given to clients)


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: np.ndarray   # (N_train, F) float32, standardized
    y_train: np.ndarray   # (N_train,) int64
    x_test: np.ndarray    # (N_test, F) float32, standardized with the training statistics
    y_test: np.ndarray    # (N_test,) int64
    classes: int

    @property
    def features(self) -> int:
        return int(self.x_train.shape[1])


def _frozen(*arrays: np.ndarray) -> None:
    for a in arrays:
        a.flags.writeable = False


@lru_cache(maxsize=8)
def load_dataset(name: str) -> Dataset:
    """The fixed split of a bundled data set, standardized (train statistics)."""
    from sklearn import datasets as skd

    loaders = {"digits": skd.load_digits, "breast_cancer": skd.load_breast_cancer, "wine": skd.load_wine}
    if name not in loaders:
        raise ConfigError(f"unknown data set {name!r}: choose one of {', '.join(DATASETS)}")
    raw = loaders[name]()
    x = np.asarray(raw.data, dtype=np.float64)
    y = np.asarray(raw.target, dtype=np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(x))
    n_test = int(round(TEST_FRACTION * len(x)))
    test, train = order[:n_test], order[n_test:]
    mean = x[train].mean(axis=0)
    std = x[train].std(axis=0)
    std[std == 0] = 1.0                      # constant pixels in digits
    xs = ((x - mean) / std).astype(np.float32)
    ds = Dataset(name, xs[train], y[train], xs[test], y[test], int(y.max()) + 1)
    _frozen(ds.x_train, ds.y_train, ds.x_test, ds.y_test)
    return ds


@dataclass(frozen=True)
class Partition:
    """Indices into `Dataset.x_train`: one array per client, and the validation pool."""
    clients: tuple[np.ndarray, ...]   # client i trains on x_train[clients[i]]
    validation: np.ndarray            # the committee's pool, disjoint from every client's data


def dirichlet_split(y: np.ndarray, clients: int, alpha: float, seed: int, min_size: int = 2) -> list[np.ndarray]:
    """Non-IID split: for each class, the shares of the clients are drawn from Dirichlet(alpha).

    Small alpha gives each client few classes; large alpha approaches IID. Draws are
    repeated (same generator) until every client has at least `min_size` samples; after
    100 tries the smallest clients take samples from the largest, so it always returns.
    Each client's indices are sorted, so the split is a pure function of its arguments.
    """
    if clients < 1:
        raise ConfigError("--clients must be at least 1")
    if alpha <= 0:
        raise ConfigError(f"--alpha must be positive (got {alpha}); try 0.5 for non-IID or 100 for near-IID")
    if len(y) < clients * min_size:
        raise ConfigError(f"{len(y)} samples cannot give {clients} clients {min_size} samples each; use fewer clients")
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    for _ in range(100):
        parts: list[list[int]] = [[] for _ in range(clients)]
        for c in classes:
            idx = np.flatnonzero(y == c)
            idx = idx[rng.permutation(len(idx))]
            shares = rng.dirichlet(np.full(clients, alpha))
            cuts = (np.cumsum(shares)[:-1] * len(idx)).astype(int)
            for i, chunk in enumerate(np.split(idx, cuts)):
                parts[i].extend(chunk.tolist())
        if min(len(p) for p in parts) >= min_size:
            break
    else:   # rebalance: move samples from the largest client to the smallest
        while min(len(p) for p in parts) < min_size:
            small = min(range(clients), key=lambda i: len(parts[i]))
            big = max(range(clients), key=lambda i: len(parts[i]))
            parts[small].append(parts[big].pop())
    return [np.sort(np.asarray(p, dtype=np.int64)) for p in parts]


def partition(ds: Dataset, clients: int, alpha: float, seed: int) -> Partition:
    """Cut the training split into the validation pool (fixed) and Dirichlet client shares (seeded)."""
    n = len(ds.y_train)
    order = np.random.default_rng(SPLIT_SEED + 1).permutation(n)
    n_val = int(round(VALIDATION_FRACTION * n))
    validation = np.sort(order[:n_val])
    pool = np.sort(order[n_val:])
    shares = dirichlet_split(ds.y_train[pool], clients, alpha, seed)
    parts = tuple(pool[s] for s in shares)
    _frozen(validation, *parts)
    return Partition(parts, validation)


def validation_slice(part: Partition, member: int, seed: int, fraction: float = 0.5) -> np.ndarray:
    """Committee member `member`'s held-out data: a seeded sample (without replacement) of
    `fraction` of the validation pool. Members' slices overlap but differ, as their own data
    would; every node computes the same slice for the same (member, seed)."""
    if member < 0:
        raise ConfigError("committee member index must be non-negative")
    pool = part.validation
    size = max(1, int(round(fraction * len(pool))))
    rng = np.random.default_rng([seed, 0x5C0E, member])
    return np.sort(pool[rng.choice(len(pool), size=size, replace=False)])
