"""The model zoo: a name on the chain -> a runtime a node can call.

A `ModelRuntime` is everything a node needs to take part in a task for one model: parse
and validate the requester's input blob, run the model deterministically, and turn the
output into the canonical bytes whose sha256 the committee votes on. Weights are named by
their sha256 (what `Registry` stores), so `load_from` refuses any file that does not hash
to the name it is asked for.
"""
from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np
import torch
from torch import nn

from brainnet.errors import ModelError
from brainnet.models import digits
from brainnet.models.weights import (
    deterministic, normalize_hash, read_weights, sha256_hex, store_weights, weights_from_bytes,
)
from brainnet.protocol.commitment import model_key

MAX_INPUT_BYTES = 64 * 1024   # a digits input is ~200 bytes; anything far larger is refused unparsed


def canonical_json(value: Any) -> bytes:
    """The one JSON encoding used for hashed payloads: sorted keys, no spaces, ASCII."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode()


class ModelRuntime:
    """One model with fixed weights. Subclasses say how to build, decode, run and canonicalize."""

    name: ClassVar[str]
    agreement: ClassVar[str] = "exact"   # "exact": sha256 of canonical bytes; "near": SimHash
    tolerance: ClassVar[int] = 0         # "near" only: most SimHash bits two agreeing outputs may differ in

    def __init__(self, module: nn.Module, weights_sha256: str):
        self.module = module.eval()
        self.weights_sha256 = weights_sha256           # hex, as in weights_path()

    @property
    def weights_hash(self) -> bytes:
        """32-byte sha256 of the weights file: the value `Registry` stores for this model."""
        return bytes.fromhex(self.weights_sha256)

    @property
    def model_id(self) -> bytes:
        """bytes32 model id on the chain (keccak of the name)."""
        return model_key(self.name)

    # -- to implement per model ------------------------------------------------------
    @classmethod
    def build(cls) -> nn.Module:
        raise NotImplementedError

    @classmethod
    def default_weights(cls, cache_dir: Path | str | None = None) -> str:
        """Hash of the weights this machine serves by default (trained or shipped)."""
        raise NotImplementedError

    def decode_input(self, blob: bytes) -> torch.Tensor:
        raise NotImplementedError

    def encode_input(self, value: Any) -> bytes:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> Any:
        raise NotImplementedError

    def canonical(self, output: Any) -> bytes:
        raise NotImplementedError

    def sample_inputs(self, n: int, seed: int = 0) -> list[bytes]:
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------
    @classmethod
    def load_from(cls, weights_path_or_hash: Path | str | bytes, *,
                  cache_dir: Path | str | None = None, expected_sha256: str | bytes | None = None) -> "ModelRuntime":
        """Load weights from a file, or from the store by hash; refuse any hash mismatch.

        A `Path` (or a str that is not a 64-hex hash) is read as a file; when its name is
        `<sha256>.bin` or `expected_sha256` is given, the content must hash to it.
        A hash (64 hex, 0x-prefixed or 32 raw bytes) is read from the model store.
        """
        if isinstance(weights_path_or_hash, Path) or (
            isinstance(weights_path_or_hash, str) and not _looks_like_hash(weights_path_or_hash)
        ):
            path = Path(weights_path_or_hash)
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                raise ModelError(f"weights file {path} does not exist") from None
            except IsADirectoryError:
                raise ModelError(f"weights path {path} is a folder, not a weights file") from None
            expected = expected_sha256
            if expected is None and _looks_like_hash(path.stem):
                expected = path.stem
            digest = sha256_hex(data)
            if expected is not None and normalize_hash(expected) != digest:
                raise ModelError(
                    f"weights file {path} hashes to {digest}, not {normalize_hash(expected)}: "
                    "it is not the model the chain names; fetch the right file"
                )
        else:
            digest = normalize_hash(weights_path_or_hash)
            if expected_sha256 is not None and normalize_hash(expected_sha256) != digest:
                raise ModelError(f"asked for weights {digest} but expected {normalize_hash(expected_sha256)}")
            data = read_weights(digest, cache_dir)
        module = cls.build()
        try:
            module.load_state_dict(weights_from_bytes(data), strict=True)
        except RuntimeError as exc:
            raise ModelError(f"weights {digest} do not fit model {cls.name!r}: {exc}") from None
        return cls(module, digest)

    def run(self, blob: bytes) -> Any:
        """Decode, validate and run one input; deterministic (one thread, deterministic kernels)."""
        x = self.decode_input(blob)
        with deterministic(threads=1), torch.no_grad():
            return self.forward(x)

    def infer(self, blob: bytes) -> bytes:
        """Canonical output bytes for an input blob: what a committee member hashes and commits."""
        return self.canonical(self.run(blob))

    def json_field(self, blob: bytes, key: str, expected: str) -> Any:
        """The one field of a canonical JSON input blob; ModelError names what is wrong."""
        if not isinstance(blob, (bytes, bytearray, memoryview)):
            raise ModelError(f"{self.name}: input must be bytes, got {type(blob).__name__}")
        if len(blob) > MAX_INPUT_BYTES:
            raise ModelError(f"{self.name}: input is {len(blob)} bytes, more than {MAX_INPUT_BYTES}")
        try:
            doc = json.loads(bytes(blob).decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ModelError(f"{self.name}: input is not JSON ({exc}); expected {expected}") from None
        if not isinstance(doc, dict) or set(doc) != {key}:
            raise ModelError(f'{self.name}: input must be a JSON object with exactly one key "{key}"')
        return doc[key]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} weights={self.weights_sha256[:12]}…>"


def _looks_like_hash(text: str) -> bool:
    try:
        normalize_hash(text)
        return True
    except ModelError:
        return False


class DigitsRuntime(ModelRuntime):
    """`digits-mlp`: input {"pixels": [64 numbers 0..16]} -> output {"label": 0..9}."""

    name = "digits-mlp"
    agreement = "exact"

    @classmethod
    def build(cls) -> nn.Module:
        return digits.DigitsMLP(digits.DigitsConfig().hidden)

    @classmethod
    def default_weights(cls, cache_dir: Path | str | None = None) -> str:
        return digits.ensure_digits_weights(seed=0, cache_dir=cache_dir)

    def decode_input(self, blob: bytes) -> torch.Tensor:
        """Input blob -> (64,) float32 tensor of raw pixel values; ModelError names what is wrong."""
        pixels = self.json_field(blob, "pixels", '{"pixels": [64 numbers 0..16]}')
        return torch.tensor(_check_pixels(pixels, self.name), dtype=torch.float32)

    def encode_input(self, pixels: Sequence[float] | np.ndarray | torch.Tensor) -> bytes:
        """Canonical input blob for 64 pixel values (integral values written as integers)."""
        if isinstance(pixels, torch.Tensor):
            pixels = pixels.detach().cpu().numpy()
        if isinstance(pixels, np.ndarray):
            pixels = pixels.reshape(-1).tolist()
        values = _check_pixels(list(pixels), self.name)
        return canonical_json({"pixels": [int(v) if float(v).is_integer() else float(v) for v in values]})

    def forward(self, x: torch.Tensor) -> int:
        # x: (64,) -> logits (1, 10) -> label
        return int(self.module(x.unsqueeze(0)).argmax(dim=1).item())

    def canonical(self, output: int) -> bytes:
        if isinstance(output, bool) or not isinstance(output, (int, np.integer)) or not 0 <= int(output) < digits.CLASSES:
            raise ModelError(f"{self.name}: output must be a label 0..9, got {output!r}")
        return canonical_json({"label": int(output)})

    def sample_examples(self, n: int, seed: int = 0) -> list[tuple[bytes, int]]:
        """n held-out test images as (input blob, true label), chosen by `seed`."""
        if n < 0:
            raise ModelError(f"sample size must be >= 0, got {n}")
        split = digits.digits_split()
        rng = np.random.default_rng(seed)
        count = len(split.x_test)
        idx = rng.permutation(count)[:n] if n <= count else rng.integers(0, count, size=n)
        return [(self.encode_input(split.x_test[i]), int(split.y_test[i])) for i in idx]

    def sample_inputs(self, n: int, seed: int = 0) -> list[bytes]:
        """n held-out test images as input blobs (no repeats while n <= 360)."""
        return [blob for blob, _ in self.sample_examples(n, seed)]


def _check_pixels(pixels: Any, model: str) -> list[float]:
    if not isinstance(pixels, list):
        raise ModelError(f'{model}: "pixels" must be a list of {digits.PIXELS} numbers, got {type(pixels).__name__}')
    if len(pixels) != digits.PIXELS:
        raise ModelError(f'{model}: "pixels" must have {digits.PIXELS} values (8x8, row by row), got {len(pixels)}')
    out = []
    for i, v in enumerate(pixels):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise ModelError(f'{model}: pixel {i} is {v!r}; every pixel must be a number 0..16')
        f = float(v)
        if not math.isfinite(f) or not 0.0 <= f <= digits.PIXEL_MAX:
            raise ModelError(f"{model}: pixel {i} is {v!r}, outside 0..16")
        out.append(f)
    return out


# minilm imports ModelRuntime from this module, so it is imported once everything above exists.
from brainnet.models.minilm import MiniLMRuntime  # noqa: E402

from brainnet.models.hop_audit import HopAuditRuntime  # noqa: E402  (audits signed shard hops: ShardAudit.vy)

ZOO: dict[str, type[ModelRuntime]] = {DigitsRuntime.name: DigitsRuntime, MiniLMRuntime.name: MiniLMRuntime,
                                      HopAuditRuntime.name: HopAuditRuntime}

_loaded: dict[tuple[str, str, str], ModelRuntime] = {}
_loaded_lock = threading.Lock()


def available_models() -> list[str]:
    return sorted(ZOO)


def get_model(name: str, *, weights: Path | str | bytes | None = None,
              cache_dir: Path | str | None = None) -> ModelRuntime:
    """Runtime for `name`, with the given weights (path or hash) or this machine's default ones.

    Default weights are trained on first use and read from the store afterwards.
    Runtimes are cached per (name, weights hash, store).
    """
    try:
        cls = ZOO[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; available: {', '.join(available_models())}") from None
    if weights is None:
        weights = cls.default_weights(cache_dir)
    if isinstance(weights, (bytes, bytearray)) or (isinstance(weights, str) and _looks_like_hash(weights)):
        key = (name, normalize_hash(weights), str(cache_dir))
        with _loaded_lock:
            runtime = _loaded.get(key)
        if runtime is None:
            runtime = cls.load_from(weights, cache_dir=cache_dir)
            with _loaded_lock:
                runtime = _loaded.setdefault(key, runtime)
        return runtime
    return cls.load_from(weights, cache_dir=cache_dir)


def add_weights(data: bytes, cache_dir: Path | str | None = None) -> str:
    """Put a weights file (e.g. fetched from a node by the hash the chain names) in the store."""
    return store_weights(data, cache_dir)
