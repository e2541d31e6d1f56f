"""Hashes shared by the contracts, the node and the tests.

Every 32-byte value the chain stores is computed here and only here:
- `result_hash`: sha256 of a model output's canonical bytes (what members vote on);
- `commitment`: keccak256(abi.encode(task_id, result, member, salt)), as `Inference.reveal` checks;
- `near_result`: keccak256(abi.encode(fingerprint, blob_hash)), the committed value of a `near` model;
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
