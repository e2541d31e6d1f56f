"""Activation codec: how hidden states travel between shard nodes, byte for byte.

A sharded model streams activations from node to node; on a real network the bytes, not
the arithmetic, set the latency. Blockwise absmax int8 sends 1 byte per value plus one
float32 scale per block (block size `block`, default 64): 4x fewer bytes than float32 for
a relative error of at most 1/254 of each block's largest magnitude. fp16 and fp32 are
the lossless-ish and lossless options; `i32` carries token ids and attention masks exactly.

Wire format of one message (`BNA1`), all integers little-endian:

    b"BNA1"
    u32   length of the header
    header: canonical JSON (sorted keys, no spaces), an object with
            "tensors": [{"name": str, "codec": "fp32"|"fp16"|"int8"|"i32",
                         "shape": [int, ...], "block": int (int8 only)}, ...]
            and any metadata the caller adds ("session", "pos", ...)
    then, for each tensor in header order, its body:
        fp32: n float32          fp16: n float16          i32: n int32
        int8: ceil(n / block) float32 scales (absmax / 127 of each block, 0 for an
              all-zero block), then n int8 values q = round(x / scale) in [-127, 127]
    where n is the product of the shape; nothing follows the last body.

Decoding checks every length and field and raises CodecError (a ModelError) on anything
else, so a server can answer 400 for a malformed message.
"""
from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import torch

from brainnet.errors import ModelError

MAGIC = b"BNA1"
CODECS = ("fp32", "fp16", "int8")        # choices for activations
ALL_CODECS = CODECS + ("i32",)           # i32: token ids and masks, exact
DEFAULT_BLOCK = 64
MAX_HEADER = 1 << 16                     # bytes of JSON header accepted
MAX_ELEMENTS = 1 << 26                   # values per tensor accepted (256 MiB of fp32)
MAX_DIMS = 8
FP16_MAX = 65504.0


class CodecError(ModelError):
    """An activation message is malformed (wrong magic, lengths, codec or shape)."""


@dataclass
class Message:
    """Named tensors plus JSON metadata: what one shard call sends or returns."""

    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any] = field(default_factory=dict)


def _check_block(block: int) -> int:
    if not isinstance(block, int) or isinstance(block, bool) or not 1 <= block <= 1 << 20:
        raise CodecError(f"int8 block size must be an integer in 1..{1 << 20}, got {block!r}")
    return block


def int8_bound(x: torch.Tensor | np.ndarray, block: int = DEFAULT_BLOCK) -> np.ndarray:
    """Per-element bound on |decode(encode(x)) - x| for int8: half a step, absmax/254, of x's block."""
    flat = np.asarray(x, dtype=np.float32).reshape(-1)
    n = flat.size
    nb = max(1, math.ceil(n / block))
    padded = np.zeros(nb * block, dtype=np.float32)
    padded[:n] = np.abs(flat)
    absmax = padded.reshape(nb, block).max(axis=1)
    return np.repeat(absmax / 254.0, block)[:n].reshape(np.shape(x))


def _encode_body(arr: np.ndarray, codec: str, block: int) -> bytes:
    flat = arr.reshape(-1)
    if codec == "fp32":
        return flat.astype("<f4", copy=False).tobytes()
    if codec == "fp16":
        return flat.astype("<f2").tobytes()
    if codec == "i32":
        return flat.astype("<i4").tobytes()
    # int8: per block scale = absmax / 127; q = round(x / scale)
    n = flat.size
    nb = math.ceil(n / block)
    padded = np.zeros(nb * block, dtype=np.float32)
    padded[:n] = flat
    blocks = padded.reshape(nb, block)
    absmax = np.abs(blocks).max(axis=1)
    scale = (absmax / 127.0).astype(np.float32)
    safe = np.where(scale > 0, scale, np.float32(1.0))
    q = np.clip(np.rint(blocks / safe[:, None]), -127, 127).astype(np.int8).reshape(-1)[:n]
    return scale.astype("<f4").tobytes() + q.tobytes()


def _body_size(n: int, codec: str, block: int) -> int:
    if codec in ("fp32", "i32"):
        return 4 * n
    if codec == "fp16":
        return 2 * n
    return 4 * math.ceil(n / block) + n


def _decode_body(data: memoryview, n: int, codec: str, block: int) -> np.ndarray:
    if codec == "fp32":
        return np.frombuffer(data, dtype="<f4", count=n).astype(np.float32)
    if codec == "fp16":
        return np.frombuffer(data, dtype="<f2", count=n).astype(np.float32)
    if codec == "i32":
        return np.frombuffer(data, dtype="<i4", count=n).astype(np.int64)
    nb = math.ceil(n / block)
    scale = np.frombuffer(data, dtype="<f4", count=nb).astype(np.float32)
    q = np.frombuffer(data, dtype=np.int8, count=n, offset=4 * nb).astype(np.float32)
    padded = np.zeros(nb * block, dtype=np.float32)
    padded[:n] = q
    return (padded.reshape(nb, block) * scale[:, None]).reshape(-1)[:n]


def encode(tensors: Mapping[str, torch.Tensor | np.ndarray], codec: str = "fp32", *,
           block: int = DEFAULT_BLOCK, meta: Mapping[str, Any] | None = None,
           exact: Mapping[str, str] | None = None) -> bytes:
    """Tensors -> one `BNA1` message. Float tensors use `codec`; integer tensors travel as i32.

    `exact` forces a codec per tensor name (e.g. {"mask": "i32"}).
    """
    if codec not in CODECS:
        raise CodecError(f"unknown activation codec {codec!r}; choose one of {', '.join(CODECS)}")
    _check_block(block)
    specs, bodies = [], []
    for name, value in tensors.items():
        arr = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        kind = (exact or {}).get(name) or ("i32" if np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool
                                           else codec)
        if kind not in ALL_CODECS:
            raise CodecError(f"unknown codec {kind!r} for tensor {name!r}")
        if kind != "i32" and not np.isfinite(arr).all():
            raise CodecError(f"tensor {name!r} has NaN or infinite values; they cannot be encoded")
        if kind == "fp16" and arr.size and float(np.abs(arr).max()) > FP16_MAX:
            raise CodecError(f"tensor {name!r} has values beyond fp16's range ({FP16_MAX}); send it as fp32 or int8")
        spec: dict[str, Any] = {"name": str(name), "codec": kind, "shape": [int(d) for d in arr.shape]}
        if kind == "int8":
            spec["block"] = block
        specs.append(spec)
        bodies.append(_encode_body(arr.astype(np.float32) if kind != "i32" else arr, kind, block))
    header = dict(meta or {})
    header["tensors"] = specs
    head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    if len(head) > MAX_HEADER:
        raise CodecError(f"message header is {len(head)} bytes, more than {MAX_HEADER}")
    return MAGIC + struct.pack("<I", len(head)) + head + b"".join(bodies)


def decode(data: bytes) -> Message:
    """One `BNA1` message -> tensors (float32, or int64 for i32) and metadata; CodecError if malformed."""
    if len(data) < 8 or data[:4] != MAGIC:
        raise CodecError("not an activation message: it must start with b'BNA1' (see brainnet.shard.codec)")
    (hlen,) = struct.unpack_from("<I", data, 4)
    if hlen > MAX_HEADER or 8 + hlen > len(data):
        raise CodecError(f"activation message header length {hlen} does not fit the message of {len(data)} bytes")
    try:
        header = json.loads(bytes(data[8:8 + hlen]))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CodecError(f"activation message header is not JSON: {exc}") from None
    if not isinstance(header, dict) or not isinstance(header.get("tensors"), list):
        raise CodecError('activation message header must be an object with a "tensors" list')
    view = memoryview(data)
    offset = 8 + hlen
    tensors: dict[str, torch.Tensor] = {}
    for spec in header.pop("tensors"):
        if not isinstance(spec, dict):
            raise CodecError("each tensor spec must be an object")
        name, kind, shape = spec.get("name"), spec.get("codec"), spec.get("shape")
        if not isinstance(name, str) or name in tensors:
            raise CodecError(f"tensor name {name!r} is missing or repeated")
        if kind not in ALL_CODECS:
            raise CodecError(f"tensor {name!r}: unknown codec {kind!r}")
        if (not isinstance(shape, list) or len(shape) > MAX_DIMS
                or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= MAX_ELEMENTS for d in shape)):
            raise CodecError(f"tensor {name!r}: shape must be a list of at most {MAX_DIMS} non-negative ints")
        n = math.prod(shape)
        if n > MAX_ELEMENTS:
            raise CodecError(f"tensor {name!r} has {n} values, more than {MAX_ELEMENTS}")
        block = _check_block(spec.get("block")) if kind == "int8" else DEFAULT_BLOCK
        size = _body_size(n, kind, block)
        if offset + size > len(data):
            raise CodecError(f"tensor {name!r} needs {size} bytes but the message has {len(data) - offset} left")
        arr = _decode_body(view[offset:offset + size], n, kind, block).reshape(shape)
        offset += size
        if kind != "i32" and not np.isfinite(arr).all():
            raise CodecError(f"tensor {name!r} has NaN or infinite values")
        tensors[name] = torch.from_numpy(arr)
    if offset != len(data):
        raise CodecError(f"activation message has {len(data) - offset} bytes after the last tensor")
    return Message(tensors, header)


def roundtrip(x: torch.Tensor, codec: str, block: int = DEFAULT_BLOCK) -> torch.Tensor:
    """decode(encode(x)) for one float tensor: what the far side of a hop sees."""
    return decode(encode({"x": x}, codec, block=block)).tensors["x"]
