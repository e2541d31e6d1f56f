"""SimHash fingerprints for `near` agreement: float outputs compared by Hamming distance.

Floats (embeddings, logits) differ bit-wise across CPUs, GPUs, thread counts and dtypes,
so a committee cannot vote on their sha256. Instead each member commits a 256-bit
fingerprint of its output vector: the signs of 256 random projections. Two outputs at
angle θ differ in each bit with probability θ/π, so honest runs (θ ≈ 0) land a few bits
apart while another model or another input lands far away. `Inference.vy` checks
agreement with xor + popcount; this module is its exact mirror plus what only nodes need
(the projections and the fingerprint itself).

Spec (everything a second implementation needs):

- `projection_seed(task_id, model_id)` = keccak256(abi.encode(uint256 task_id,
  bytes32 model_id, bytes32 "simhash")), where the third word is the 7 ASCII bytes
  `simhash` right-padded with zeros to 32 bytes (a Vyper/Solidity `bytes32` literal).
  The task id makes the projections differ per task, so nothing can be tuned against
  them before the task exists.
- `projections(seed, dim, bits)`: a `(bits, dim)` float64 matrix of standard normals,
  `numpy.random.Generator(numpy.random.PCG64(int.from_bytes(seed, "big"))).standard_normal((bits, dim))`,
  filled row by row (row i is projection i). PCG64 seeded with an int goes through
  numpy's SeedSequence; the stream is pinned by a golden-value test.
- `fingerprint(vector, seed, bits)`: the vector is cast to float64; bit i is 1 when
  `projections[i] · vector >= 0` (so a zero dot product gives 1). Bits are packed
  big-endian: bit 0 is the most significant bit of byte 0, bit 8 the most significant
  bit of byte 1, …; read as a big-endian uint256 (what the contract stores as bytes32),
  bit i is `(value >> (bits - 1 - i)) & 1`.
- `hamming(a, b)` = popcount(a xor b); `near(a, b, tolerance)` is `hamming(a, b) <= tolerance`.
- `near_clusters(fingerprints, tolerance)`: the cluster rule of `Inference.finalize`
  (see its docstring).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np

from brainnet.protocol.commitment import abi_encode, keccak

BITS = 256                                   # fingerprint width: one EVM word
SIMHASH_TAG = b"simhash".ljust(32, b"\0")    # domain separator, a bytes32 word


def projection_seed(task_id: int, model_id: bytes) -> bytes:
    """32-byte seed of a task's projections: keccak256(abi.encode(task_id, model_id, "simhash"))."""
    return keccak(abi_encode(task_id, model_id, SIMHASH_TAG))


def projections(seed: bytes, dim: int, bits: int = BITS) -> np.ndarray:
    """(bits, dim) float64 standard normals from PCG64(int.from_bytes(seed, "big")); read-only."""
    if not isinstance(seed, (bytes, bytearray)) or len(seed) == 0:
        raise ValueError("projection seed must be non-empty bytes (use projection_seed())")
    if dim < 1 or bits < 1 or bits % 8:
        raise ValueError(f"need dim >= 1 and bits a positive multiple of 8, got dim={dim} bits={bits}")
    return _projections(bytes(seed), int(dim), int(bits))


@lru_cache(maxsize=16)   # a node computes several fingerprints per task; 16 x 0.8 MB at most
def _projections(seed: bytes, dim: int, bits: int) -> np.ndarray:
    rng = np.random.Generator(np.random.PCG64(int.from_bytes(seed, "big")))
    out = rng.standard_normal((bits, dim))    # (bits, dim) float64
    out.flags.writeable = False
    return out


def _as_matrix(vectors: np.ndarray, dim: int | None = None) -> np.ndarray:
    m = np.asarray(vectors, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] < 1:
        raise ValueError(f"expected vectors of shape (n, dim), got {m.shape}")
    if not np.isfinite(m).all():
        raise ValueError("cannot fingerprint a vector with NaN or infinite values")
    return m


def fingerprints(vectors: np.ndarray, seed: bytes, bits: int = BITS) -> list[bytes]:
    """Fingerprints of many vectors (n, dim) under one seed (one task): `fingerprint` row by row."""
    m = _as_matrix(vectors)
    signs = (m @ projections(seed, m.shape[1], bits).T) >= 0.0    # (n, bits) bool
    packed = np.packbits(signs, axis=1, bitorder="big")           # (n, bits // 8) uint8
    return [row.tobytes() for row in packed]


def fingerprint(vector: np.ndarray, seed: bytes, bits: int = BITS) -> bytes:
    """`bits // 8` bytes: bit i = (projections[i] · vector >= 0), bit 0 = MSB of byte 0."""
    v = np.asarray(vector, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"expected a 1-d vector, got shape {v.shape}")
    return fingerprints(v[None, :], seed, bits)[0]


def hamming(a: bytes, b: bytes) -> int:
    """Number of bits in which two fingerprints differ (popcount of their xor)."""
    if len(a) != len(b):
        raise ValueError(f"fingerprints of different widths: {len(a)} and {len(b)} bytes")
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


def near(a: bytes, b: bytes, tolerance: int) -> bool:
    """True when the two fingerprints differ in at most `tolerance` bits."""
    return hamming(a, b) <= tolerance


def near_clusters(fingerprints: Sequence[bytes], tolerance: int) -> tuple[int, list[int]]:
    """The cluster rule for revealed fingerprints; returns (center, members).

    `fingerprints` are in reveal order (index 0 revealed first). For each i, its count is
    the number of j (i itself included) with hamming(fingerprints[i], fingerprints[j]) <=
    tolerance. The center is the i with the largest count; on a tie, the smallest i (the
    earliest reveal) wins. `members` are the indices j, ascending, within tolerance of the
    center (the center included). The caller accepts the center's value when
    len(members) reaches the quorum. Note that "within tolerance" is not transitive: two
    members may be up to 2 x tolerance apart; only the distance to the center counts.

    The contract may count incrementally as reveals arrive; it must end in this answer.
    """
    n = len(fingerprints)
    if n == 0:
        raise ValueError("near_clusters needs at least one fingerprint")
    center, best = 0, -1
    for i in range(n):
        count = sum(1 for j in range(n) if hamming(fingerprints[i], fingerprints[j]) <= tolerance)
        if count > best:                     # strictly greater: the earliest i keeps a tie
            center, best = i, count
    members = [j for j in range(n) if hamming(fingerprints[center], fingerprints[j]) <= tolerance]
    return center, members
