"""Data for federated training: fixed splits, non-IID Dirichlet client shares, committee slices."""
from __future__ import annotations

import numpy as np
import pytest

from brainnet.errors import ConfigError
from brainnet.train.data import DATASETS, dirichlet_split, load_dataset, partition, validation_slice


@pytest.mark.parametrize("name", DATASETS)
def test_datasets_are_standardized_and_split_the_same_way(name):
    ds = load_dataset(name)
    assert len(ds.x_train) + len(ds.x_test) == {"digits": 1797, "breast_cancer": 569, "wine": 178}[name]
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-4)
    assert ds.classes == len(np.unique(ds.y_train))


def test_unknown_dataset_says_what_to_choose():
    with pytest.raises(ConfigError, match="digits"):
        load_dataset("mnist")


def test_partition_is_disjoint_deterministic_and_keeps_validation_apart():
    ds = load_dataset("digits")
    a, b = partition(ds, 20, 0.5, 3), partition(ds, 20, 0.5, 3)
    assert all(np.array_equal(x, y) for x, y in zip(a.clients, b.clients))
    every = np.concatenate(a.clients)
    assert len(every) == len(np.unique(every))
    assert not set(every) & set(a.validation)
    assert len(every) + len(a.validation) == len(ds.y_train)
    assert min(len(c) for c in a.clients) >= 2
    c = partition(ds, 20, 0.5, 4)
    assert any(not np.array_equal(x, y) for x, y in zip(a.clients, c.clients))


def test_small_alpha_is_more_skewed_than_large_alpha():
    y = load_dataset("digits").y_train

    def classes_per_client(alpha):
        parts = dirichlet_split(y, 10, alpha, seed=0)
        return np.mean([np.sum(np.bincount(y[p], minlength=10) > 0.05 * len(p)) for p in parts])

    assert classes_per_client(0.1) < classes_per_client(100.0)


def test_committee_slices_differ_and_come_from_the_validation_pool():
    part = partition(load_dataset("wine"), 5, 0.5, 0)
    s0, s1 = validation_slice(part, 0, 0), validation_slice(part, 1, 0)
    assert set(s0) <= set(part.validation) and set(s1) <= set(part.validation)
    assert not np.array_equal(s0, s1)
    assert np.array_equal(s0, validation_slice(part, 0, 0))
