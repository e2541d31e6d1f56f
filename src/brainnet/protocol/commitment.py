"""Hashes shared by the contracts, the node and the tests.

Every 32-byte value the chain stores is computed here and only here:
- `result_hash`: sha256 of a model output's canonical bytes (what members vote on);
- `commitment`: keccak256(abi.encode(task_id, result, member, salt)), as `Inference.reveal` checks;
- `near_result`: keccak256(abi.encode(fingerprint, blob_hash)), the committed value of a `near` model;
- `seat_key`: task_id | position << 240 | level << 248, the id members commit and reveal under
  (it names the member's seat, so the contract reads only that seat's word);
- `batch_leaf`: keccak256(abi.encode(seat key, commitment)), a commitment's leaf in a batch;
- `merkle_root` / `merkle_proof`: the root `Inference.commit_many` stores for a batch of
  leaves, and the proof (siblings, leaf index) `Inference.reveal_many` checks;
- `task_seed`: keccak256(abi.encode(blockhash(request_block + 1), task_id)), as `Inference.draw` does;
- `model_key`: the bytes32 id of a model from its human name.
"""
from __future__ import annotations

import hashlib

from eth_hash.auto import keccak as _keccak


def keccak(data: bytes) -> bytes:
    return _keccak(data)


def word(value: int | bytes | str) -> bytes:
    """ABI-encode one static value as a 32-byte word (uint256, bytes32 or address)."""
    if isinstance(value, int):
        if value < 0 or value >= 1 << 256:
            raise ValueError(f"uint256 out of range: {value}")
        return value.to_bytes(32, "big")
    if isinstance(value, str):  # 0x-address
        raw = bytes.fromhex(value.removeprefix("0x"))
        if len(raw) != 20:
            raise ValueError(f"not an address: {value!r}")
        return raw.rjust(32, b"\0")
    if len(value) != 32:
        raise ValueError(f"bytes32 must be 32 bytes, got {len(value)}")
    return bytes(value)


def abi_encode(*values: int | bytes | str) -> bytes:
    return b"".join(word(v) for v in values)


def result_hash(canonical: bytes) -> bytes:
    return hashlib.sha256(canonical).digest()


def commitment(task_id: int, result: bytes, member: str, salt: bytes) -> bytes:
    return keccak(abi_encode(task_id, result, member, salt))


LEVEL_TAG = 248
POSITION_AT = 240


def seat_key(task_id: int, level: int = 0, position: int = 0) -> int:
    """The id a member commits and reveals under: the task, the committee level it sits on and
    its position in that level's draw order (`CommitteeDrawn.members`)."""
    if not 0 <= level < 256 or not 0 <= position < 128 or not 0 <= task_id < 1 << POSITION_AT:
        raise ValueError(f"no seat key for task {task_id} level {level} position {position}")
    return task_id | position << POSITION_AT | level << LEVEL_TAG


def task_of(key: int) -> int:
    """The task id inside a seat key."""
    return key & ((1 << POSITION_AT) - 1)


def batch_leaf(key: int, commitment_: bytes) -> bytes:
    """Leaf of a commitment in a `commit_many` batch, bound to its seat key."""
    return keccak(abi_encode(key, commitment_))


def _merkle_layers(leaves: list[bytes]) -> list[list[bytes]]:
    """Leaves padded with zero words to a power of two, then each layer up to the root."""
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    width = 1
    while width < len(leaves):
        width *= 2
    layer = [bytes(x) for x in leaves] + [bytes(32)] * (width - len(leaves))
    layers = [layer]
    while len(layer) > 1:
        layer = [keccak(layer[2 * j] + layer[2 * j + 1]) for j in range(len(layer) // 2)]
        layers.append(layer)
    return layers


def merkle_root(leaves: list[bytes]) -> bytes:
    """Root of a batch of commitments, exactly as `Inference.commit_many` computes it."""
    return _merkle_layers(leaves)[-1][0]


def merkle_proof(leaves: list[bytes], index: int) -> list[bytes]:
    """Siblings of leaf `index` from the leaf up (empty for a batch of one)."""
    proof = []
    for layer in _merkle_layers(leaves)[:-1]:
        proof.append(layer[index ^ 1])
        index //= 2
    return proof


def reveal_path(leaves: list[bytes], index: int) -> tuple[int, list[bytes]]:
    """(path, proof) of leaf `index` for `reveal_many`: path = index + (depth << 8)."""
    proof = merkle_proof(leaves, index)
    return index + (len(proof) << 8), proof


def near_result(fingerprint: bytes, blob_hash: bytes) -> bytes:
    """What a member of a `near` model commits to: keccak256(abi.encode(fingerprint, blob sha256))."""
    return keccak(abi_encode(fingerprint, blob_hash))


def task_seed(seed_block_hash: bytes, task_id: int) -> bytes:
    return keccak(abi_encode(seed_block_hash, task_id))


def ticket(seed: bytes, i: int) -> int:
    return int.from_bytes(keccak(abi_encode(seed, i)), "big")


def model_key(name: str) -> bytes:
    """bytes32 model id of a model name, e.g. model_key("digits-mlp")."""
    return keccak(name.encode())
