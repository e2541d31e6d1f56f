"""Canonical weight files and the content-addressed model store.

Every node serving a model must run the very same weights, and the chain names them by
the sha256 of one file (`Registry.models(model_id).weights_hash`). So the file format is
canonical: identical tensors give identical bytes, whatever the torch or numpy version.

Format (`BNW1`):
    b"BNW1\\n"
    header: canonical JSON, one line: {"tensors":[[name,[dims...],"float32"], ...]}
    b"\\n"
    the tensors' raw little-endian float32 bytes, concatenated in header order

The store keeps each file as `<cache_dir>/models/<sha256>.bin`; `cache_dir` is
`$BRAINNET_HOME` or `~/.cache/brainnet`. Small pointer files `<recipe>.ref` remember which
hash a deterministic training recipe produced, so it is trained once per machine.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np
import torch

from brainnet import paths
from brainnet.errors import ModelError
from brainnet.fsutil import atomic_write_bytes

MAGIC = b"BNW1\n"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_MAX_HEADER = 1 << 20

# torch's thread count and determinism switch are process-wide: one lock serializes every
# block of code that needs them pinned, so two workers cannot undo each other's settings.
_TORCH_SETTINGS = threading.RLock()


@contextmanager
def deterministic(threads: int = 1) -> Iterator[None]:
    """Run torch with a fixed thread count and deterministic kernels, then restore both.

    Results are bit-identical across processes at the same thread count (not across
    counts), so every runtime computes inside this block with threads=1.
    """
    with _TORCH_SETTINGS:
        prev_threads = torch.get_num_threads()
        prev_det = torch.are_deterministic_algorithms_enabled()
        prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)
            torch.set_num_threads(prev_threads)


def weights_to_bytes(state: Mapping[str, torch.Tensor]) -> bytes:
    """Serialize a state_dict canonically (order of `state`, float32, little-endian)."""
    header, chunks = [], []
    for name, tensor in state.items():
        arr = tensor.detach().cpu().to(torch.float32).contiguous().numpy()
        header.append([name, list(arr.shape), "float32"])
        chunks.append(arr.astype("<f4", copy=False).tobytes(order="C"))
    head = json.dumps({"tensors": header}, sort_keys=True, separators=(",", ":")).encode()
    return MAGIC + head + b"\n" + b"".join(chunks)


def weights_from_bytes(data: bytes) -> "OrderedDict[str, torch.Tensor]":
    """Parse a `BNW1` file back into a state_dict; ModelError if it is not exactly one."""
    if not data.startswith(MAGIC):
        raise ModelError("not a brainnet weights file (missing BNW1 header); was it written by weights_to_bytes?")
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + _MAX_HEADER)
    if end < 0:
        raise ModelError("weights file header is not terminated; the file is truncated or corrupted")
    try:
        header = json.loads(data[len(MAGIC):end])
        entries = header["tensors"]
        specs = [(str(n), [int(d) for d in shape], str(dt)) for n, shape, dt in entries]
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"weights file header is malformed: {exc}") from None
    state: OrderedDict[str, torch.Tensor] = OrderedDict()
    offset = end + 1
    for name, shape, dtype in specs:
        if dtype != "float32" or any(d < 0 for d in shape):
            raise ModelError(f"weights file: tensor {name!r} has unsupported spec {shape} {dtype}")
        size = 4 * int(np.prod(shape, dtype=np.int64))
        if offset + size > len(data):
            raise ModelError(f"weights file is truncated inside tensor {name!r}")
        arr = np.frombuffer(data, dtype="<f4", count=size // 4, offset=offset).reshape(shape)
        state[name] = torch.from_numpy(arr.astype(np.float32))   # copy: writable, native order
        offset += size
    if offset != len(data):
        raise ModelError(f"weights file has {len(data) - offset} trailing bytes; it is corrupted")
    return state


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def default_cache_dir() -> Path:
    """`$BRAINNET_HOME`, else `~/.cache/brainnet` (see brainnet.paths)."""
    return paths.home()


def models_dir(cache_dir: Path | str | None = None) -> Path:
    return Path(cache_dir if cache_dir is not None else default_cache_dir()) / "models"


def normalize_hash(weights_hash: str | bytes) -> str:
    """Accept 32 raw bytes or 64 hex chars (optionally 0x-prefixed); return lowercase hex."""
    if isinstance(weights_hash, (bytes, bytearray)):
        if len(weights_hash) != 32:
            raise ModelError(f"weights hash must be 32 bytes, got {len(weights_hash)}")
        return bytes(weights_hash).hex()
    text = weights_hash.lower().removeprefix("0x")
    if not _HEX64.fullmatch(text):
        raise ModelError(f"not a sha256 weights hash: {weights_hash!r} (expected 64 hex characters)")
    return text


def weights_path(weights_hash: str | bytes, cache_dir: Path | str | None = None) -> Path:
    return models_dir(cache_dir) / f"{normalize_hash(weights_hash)}.bin"


def store_weights(data: bytes, cache_dir: Path | str | None = None) -> str:
    """Store a weights file under its sha256 (atomic, idempotent); return the hex hash."""
    digest = sha256_hex(data)
    path = weights_path(digest, cache_dir)
    try:
        intact = sha256_hex(path.read_bytes()) == digest
    except FileNotFoundError:
        intact = False
    if not intact:                       # absent, or a corrupted copy to replace
        atomic_write_bytes(path, data)
    return digest


def read_weights(weights_hash: str | bytes, cache_dir: Path | str | None = None) -> bytes:
    """Read stored weights and check they still hash to their name."""
    digest = normalize_hash(weights_hash)
    path = weights_path(digest, cache_dir)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(
            f"weights {digest} are not in {path.parent}; fetch them from a node's blob store "
            "and add them with store_weights()"
        ) from None
    actual = sha256_hex(data)
    if actual != digest:
        raise ModelError(f"stored weights {path} hash to {actual}, not {digest}; delete the file and fetch it again")
    return data


def read_ref(recipe: str, cache_dir: Path | str | None = None) -> str | None:
    """Hash recorded for a training recipe, if it was trained here before."""
    try:
        text = (models_dir(cache_dir) / f"{recipe}.ref").read_text().strip()
    except FileNotFoundError:
        return None
    return text if _HEX64.fullmatch(text) else None


def write_ref(recipe: str, digest: str, cache_dir: Path | str | None = None) -> None:
    atomic_write_bytes(models_dir(cache_dir) / f"{recipe}.ref", (normalize_hash(digest) + "\n").encode())
