"""SimHash fingerprints for `near` agreement: the exact spec (seed, bit order), Hamming
distance, and the cluster rule the contract mirrors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from brainnet.protocol.commitment import keccak
from brainnet.protocol.simhash import (
    BITS, fingerprint, fingerprints, hamming, near, near_clusters, projection_seed, projections,
)

MODEL = bytes.fromhex("11" * 32)
SEED = projection_seed(7, MODEL)


def fp_from_bits(bits: list[int]) -> bytes:
    """Pack a list of 0/1 (bit 0 first) the way the spec says: bit 0 = MSB of byte 0."""
    return int("".join(map(str, bits)), 2).to_bytes(len(bits) // 8, "big")


# ------------------------------------------------------------------------- the spec
def test_projection_seed_is_keccak_of_abi_encoded_task_model_and_tag():
    expected = keccak((7).to_bytes(32, "big") + MODEL + b"simhash" + b"\0" * 25)
    assert SEED == expected
    assert SEED.hex() == "3ae27a0300639537fec1bc1fb49f769766052940b94a3dfd1408f9c75ce8db0f"
    assert projection_seed(8, MODEL) != SEED and projection_seed(7, bytes(32)) != SEED


def test_projections_are_pcg64_standard_normals_pinned_by_golden_values():
    p = projections(SEED, 4, 8)
    assert p.shape == (8, 4) and p.dtype == np.float64 and not p.flags.writeable
    rng = np.random.Generator(np.random.PCG64(int.from_bytes(SEED, "big")))
    assert np.array_equal(p, rng.standard_normal((8, 4)))
    # golden: a numpy that changed PCG64 seeding or its normal sampler would break every node
    assert np.allclose(p[0], [0.23975414, 0.66659788, -0.50247489, -0.78864752], atol=1e-8)
    assert not np.array_equal(projections(projection_seed(8, MODEL), 4, 8), p)


def test_bit_i_is_the_sign_of_projection_i_packed_big_endian():
    v = np.array([1.0, -2.0, 3.0, 0.5])
    dots = projections(SEED, 4, BITS) @ v
    fp = fingerprint(v, SEED)
    assert len(fp) == 32
    assert fp == fp_from_bits([int(d >= 0) for d in dots])
    value = int.from_bytes(fp, "big")
    for i in range(BITS):
        assert (value >> (BITS - 1 - i)) & 1 == int(dots[i] >= 0)
        assert (fp[i // 8] >> (7 - i % 8)) & 1 == int(dots[i] >= 0)
    assert fp.hex() == "78f2c780a9afe87c353a9a885cd3e798e4db48c98d392fc8b460754d91fdbe35"   # golden


def test_fingerprint_is_deterministic_and_float32_is_cast_to_float64():
    v = np.random.default_rng(1).standard_normal(384).astype(np.float32)
    assert fingerprint(v, SEED) == fingerprint(v.copy(), SEED) == fingerprint(v.astype(np.float64), SEED)
    assert fingerprint(v, SEED) != fingerprint(v, projection_seed(8, MODEL))   # projections differ per task


def test_zero_dot_products_give_one_bits_and_widths_follow_bits():
    assert fingerprint(np.zeros(5), SEED) == b"\xff" * 32
    assert len(fingerprint(np.ones(5), SEED, bits=64)) == 8


def test_many_at_once_equals_one_by_one():
    m = np.random.default_rng(2).standard_normal((6, 16))
    assert fingerprints(m, SEED) == [fingerprint(row, SEED) for row in m]


@pytest.mark.parametrize("bad", [np.array([1.0, np.nan]), np.array([np.inf, 0.0]), np.ones((2, 2)), np.ones(0)])
def test_bad_vectors_are_refused(bad):
    with pytest.raises(ValueError):
        fingerprint(bad, SEED)


def test_bad_projection_arguments_are_refused():
    for args in ((b"", 4, 8), (SEED, 0, 8), (SEED, 4, 12)):
        with pytest.raises(ValueError):
            projections(*args)


# ------------------------------------------------------------------------- distance
def test_hamming_counts_differing_bits():
    zero, ones = bytes(32), b"\xff" * 32
    assert hamming(zero, ones) == 256
    assert hamming(zero, zero) == 0
    assert hamming(zero, b"\x80" + bytes(31)) == 1
    assert hamming(b"\x0f" + bytes(31), b"\xf0" + bytes(30) + b"\x01") == 9
    with pytest.raises(ValueError):
        hamming(zero, bytes(31))


def test_near_includes_the_tolerance():
    a, b = bytes(32), b"\x07" + bytes(31)          # 3 bits apart
    assert near(a, b, 3) and not near(a, b, 2)


# ------------------------------------------------------------------------- clusters
def fp_with(bits_set: list[int]) -> bytes:
    value = 0
    for i in bits_set:
        value |= 1 << (BITS - 1 - i)
    return value.to_bytes(32, "big")


A, A1 = fp_with([]), fp_with([0])                          # 1 bit apart
B, B1 = fp_with(list(range(100))), fp_with(list(range(101)))


def test_clusters_largest_group_wins():
    assert near_clusters([A, B, B1, B], 2) == (1, [1, 2, 3])


def test_clusters_tie_goes_to_the_earliest_reveal():
    assert near_clusters([B, A, A1, B1], 2) == (0, [0, 3])
    assert near_clusters([A1, B, A, B1], 2) == (0, [0, 2])
    assert near_clusters([A, B], 2) == (0, [0])


def test_clusters_count_distance_to_the_center_only():
    left, mid, right = fp_with([]), fp_with([0, 1]), fp_with([0, 1, 2, 3])   # left-right: 4 > 2
    assert near_clusters([left, right, mid], 2) == (2, [0, 1, 2])


def test_clusters_need_a_fingerprint():
    with pytest.raises(ValueError):
        near_clusters([], 2)


# ------------------------------------------------------------------------- properties
fps = st.binary(min_size=32, max_size=32)
vectors = st.integers(2, 48).flatmap(
    lambda d: arrays(np.float64, d, elements=st.integers(-1000, 1000).map(lambda k: k / 8)))


@given(fps, fps, fps)
def test_hamming_is_a_metric(a, b, c):
    assert hamming(a, b) == hamming(b, a)
    assert (hamming(a, b) == 0) == (a == b)
    assert hamming(a, c) <= hamming(a, b) + hamming(b, c)


@settings(max_examples=60, deadline=None)
@given(vectors, st.integers(0, 2**64))
def test_fingerprint_ignores_positive_scale_and_complements_on_negation(v, task_id):
    seed = projection_seed(task_id, MODEL)
    fp = fingerprint(v, seed)
    assert fingerprint(2 * v, seed) == fp
    assert fingerprint(v / 4, seed) == fp
    assume(np.all(projections(seed, len(v)) @ v != 0))      # a zero dot product is 1 both ways
    assert hamming(fingerprint(-v, seed), fp) == BITS


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([A, A1, B, B1, fp_with([5]), fp_with(list(range(50)))]), min_size=1, max_size=11),
       st.integers(0, 60))
def test_cluster_center_has_the_largest_count_and_the_earliest_index(reveals, tolerance):
    center, members = near_clusters(reveals, tolerance)
    counts = [sum(near(x, y, tolerance) for y in reveals) for x in reveals]
    assert counts[center] == max(counts) == len(members)
    assert center == counts.index(max(counts))
    assert center in members and members == sorted(members)
    assert all(near(reveals[center], reveals[j], tolerance) for j in members)
