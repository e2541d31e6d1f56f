"""Signed hops: what a shard node vouches for when it answers a call, so a relay can be blamed.

A shard node that runs with its Ethereum key (`brainnet shard serve --key ...`) signs every
reply it sends to a call that names its hop (request metadata {"hop": {"model", "start",
"end"}}, which `RemoteSequential` always sends). The signed **hop record** is

    model_id       bytes32  keccak of the model's name (its id on the chain)
    start, end     uint256  the block range the node ran
    request_hash   bytes32  sha256 of the whole request body (a `BNA1` activation message)
    reply_hash     bytes32  sha256 of the whole reply body (a `BNA1` message)
    fingerprint    bytes32  256-bit SimHash of the reply's float activations (`hop_fingerprint`)

    digest    = keccak256(abi.encode(HOP_TAG, model_id, start, end, request_hash, reply_hash, fingerprint))
    signature = EIP-191 personal_sign of the 32-byte digest (eth_account `encode_defunct(primitive=digest)`),
                65 bytes r ++ s ++ v, v in {27, 28}

so `ShardAudit.vy` recovers the signer with `ecrecover(keccak256("\\x19Ethereum Signed
Message:\\n32" ++ digest), v, r, s)`. HOP_TAG is the ASCII "brainnet hop" right-padded to 32
bytes. The record carries no chain id: a node that signs a false computation signed it
everywhere its key is staked.

Hop fingerprint: the reply's float tensors (decoded from the reply message, integer tensors
left out) in name order, flattened and concatenated into one float64 vector x of n values.
With seed = keccak256(abi.encode(model_id, start, end, "shardhop")) and a PCG64 generator
seeded with int(keccak256(seed ++ "sketch")) (as `protocol.simhash` seeds its projections),
draw bucket = integers(0, SKETCH, n) then sign = 2 * integers(0, 2, n) - 1; the count sketch
s[b] = sum of sign[i] * x[i] over the i with bucket[i] = b, in index order (`numpy.bincount`),
has SKETCH values whatever the activation size, and the fingerprint is
`protocol.simhash.fingerprint(s, seed)`. A sketch keeps inner products (and so angles) in
expectation, so honest drift stays a few bits and a corrupted tensor lands far, while a hop
costs one small matrix product instead of projections as wide as its activations. The seed is
fixed per hop range, so the node can compute the value when it answers and a committee can
recompute it later (an audit task ignores its task id for this model).

Pure: no I/O.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import torch

from brainnet.errors import BrainnetError
from brainnet.protocol.commitment import abi_encode, keccak, model_key
from brainnet.protocol.simhash import BITS, fingerprint, hamming

HOP_TAG = b"brainnet hop".ljust(32, b"\0")          # domain separator of hop records
HOP_SIMHASH_TAG = b"shardhop".ljust(32, b"\0")      # domain separator of hop fingerprint seeds
SKETCH = 1024                                       # values of the count sketch a hop is fingerprinted by
HOP_TOLERANCE = 16                                  # bits two fingerprints of one honest hop may differ in
# headers of a signed reply
H_FINGERPRINT = "x-brainnet-hop-fingerprint"
H_SIGNATURE = "x-brainnet-hop-signature"
H_SIGNER = "x-brainnet-hop-signer"


class HopSignatureError(BrainnetError):
    """A shard reply whose hop signature is missing, malformed or not the node's."""


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def hop_seed(model_id: bytes, start: int, end: int) -> bytes:
    """keccak256(abi.encode(model_id, start, end, "shardhop")): the projections' seed of one hop range."""
    return keccak(abi_encode(model_id, start, end, HOP_SIMHASH_TAG))


def hop_vector(tensors: Mapping[str, torch.Tensor | np.ndarray]) -> np.ndarray:
    """The float tensors of a message, by name, flattened into one float64 vector."""
    parts = []
    for name in sorted(tensors):
        t = tensors[name]
        arr = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
        if np.issubdtype(arr.dtype, np.floating):
            parts.append(arr.astype(np.float64).reshape(-1))
    if not parts:
        return np.zeros(0, dtype=np.float64)
    return np.concatenate(parts)


def sketch(vector: np.ndarray, seed: bytes) -> np.ndarray:
    """The SKETCH-value count sketch of a vector of any length (see the module docstring)."""
    x = np.asarray(vector, dtype=np.float64).reshape(-1)
    if not np.isfinite(x).all():
        raise ValueError("cannot fingerprint activations with NaN or infinite values")
    rng = np.random.Generator(np.random.PCG64(int.from_bytes(keccak(bytes(seed) + b"sketch"), "big")))
    bucket = rng.integers(0, SKETCH, size=x.size)
    sign = 2 * rng.integers(0, 2, size=x.size) - 1
    return np.bincount(bucket, weights=sign * x, minlength=SKETCH).astype(np.float64)


def vector_fingerprint(vector: np.ndarray, seed: bytes, bits: int = BITS) -> bytes:
    """SimHash of a vector of any length: the fingerprint of its count sketch."""
    return fingerprint(sketch(vector, seed), seed, bits)


def hop_fingerprint(model_id: bytes, start: int, end: int, tensors: Mapping[str, torch.Tensor | np.ndarray]) -> bytes:
    """The 32-byte fingerprint a node signs for the reply tensors of hop (model_id, start, end)."""
    return vector_fingerprint(hop_vector(tensors), hop_seed(model_id, start, end))


@dataclass(frozen=True)
class HopRecord:
    """What a node signs for one reply (see the module docstring)."""

    model_id: bytes
    start: int
    end: int
    request_hash: bytes
    reply_hash: bytes
    fingerprint: bytes

    @classmethod
    def of(cls, model: str, start: int, end: int, request: bytes, reply: bytes, fingerprint: bytes) -> "HopRecord":
        return cls(model_key(model), start, end, sha256(request), sha256(reply), fingerprint)

    def digest(self) -> bytes:
        return keccak(abi_encode(HOP_TAG, self.model_id, self.start, self.end, self.request_hash, self.reply_hash,
                                 self.fingerprint))

    def sign(self, account) -> bytes:
        """65-byte signature r ++ s ++ v of the digest by an eth_account account (EIP-191)."""
        from eth_account.messages import encode_defunct

        return bytes(account.sign_message(encode_defunct(primitive=self.digest())).signature)

    def signer(self, signature: bytes) -> str:
        """The address that signed this record (HopSignatureError when the signature is malformed)."""
        from eth_account import Account
        from eth_account.messages import encode_defunct

        if not isinstance(signature, (bytes, bytearray)) or len(signature) != 65:
            raise HopSignatureError("a hop signature is 65 bytes (r, s, v)")
        try:
            return Account.recover_message(encode_defunct(primitive=self.digest()), signature=bytes(signature))
        except Exception as exc:  # noqa: BLE001 - eth_keys raises several types for bad signatures
            raise HopSignatureError(f"hop signature does not recover: {exc}") from None

    def to_json(self) -> dict:
        return {"model_id": "0x" + self.model_id.hex(), "start": self.start, "end": self.end,
                "request_hash": "0x" + self.request_hash.hex(), "reply_hash": "0x" + self.reply_hash.hex(),
                "fingerprint": "0x" + self.fingerprint.hex()}

    @classmethod
    def from_json(cls, data: Mapping) -> "HopRecord":
        b = lambda k: bytes.fromhex(str(data[k]).removeprefix("0x"))   # noqa: E731
        return cls(b("model_id"), int(data["start"]), int(data["end"]), b("request_hash"), b("reply_hash"),
                   b("fingerprint"))


BUNDLE_MAGIC = b"BNH1"


def audit_bundle(request_hash: bytes, reply_hash: bytes) -> bytes:
    """The input blob of a hop's audit task: b"BNH1" ++ sha256(request) ++ sha256(reply) (68 bytes).
    `ShardAudit.report` opens the task with input hash sha256(bundle), so the bundle, and through
    it both messages, are bound to the signed record."""
    if len(request_hash) != 32 or len(reply_hash) != 32:
        raise ValueError("a hop bundle names two sha256 hashes of 32 bytes")
    return BUNDLE_MAGIC + bytes(request_hash) + bytes(reply_hash)


def parse_bundle(blob: bytes) -> tuple[bytes, bytes]:
    """(request sha256, reply sha256) of an audit bundle; ValueError when it is not one."""
    if len(blob) != 68 or bytes(blob[:4]) != BUNDLE_MAGIC:
        raise ValueError('a hop audit input is 68 bytes: b"BNH1" ++ sha256(request) ++ sha256(reply)')
    return bytes(blob[4:36]), bytes(blob[36:68])


def near_fingerprints(a: bytes, b: bytes, tolerance: int = HOP_TOLERANCE) -> bool:
    return hamming(a, b) <= tolerance


@dataclass
class HopCall:
    """One hop of a transcript: who ran which blocks on what, what it answered, what it signed."""

    node_id: str
    endpoint: str
    model: str
    start: int
    end: int
    request: bytes                  # the request body sent (a BNA1 message)
    reply: bytes                    # the reply body received (a BNA1 message)
    fingerprint: bytes | None       # from the reply's headers (None: unsigned reply)
    signature: bytes | None
    signer: str | None = None       # address recovered from the signature (None: unsigned or invalid)

    @property
    def record(self) -> HopRecord | None:
        if self.fingerprint is None:
            return None
        return HopRecord.of(self.model, self.start, self.end, self.request, self.reply, self.fingerprint)

    def to_json(self) -> dict:
        import base64

        record = self.record
        return {"node": self.node_id, "endpoint": self.endpoint, "model": self.model, "start": self.start,
                "end": self.end, "request": base64.b64encode(self.request).decode(),
                "reply": base64.b64encode(self.reply).decode(),
                "fingerprint": None if self.fingerprint is None else "0x" + self.fingerprint.hex(),
                "signature": None if self.signature is None else "0x" + self.signature.hex(),
                "signer": self.signer, "record": None if record is None else record.to_json()}

    @classmethod
    def from_json(cls, data: Mapping) -> "HopCall":
        import base64

        h = lambda v: None if v is None else bytes.fromhex(str(v).removeprefix("0x"))   # noqa: E731
        try:
            return cls(str(data["node"]), str(data.get("endpoint", "")), str(data["model"]), int(data["start"]),
                       int(data["end"]), base64.b64decode(data["request"]), base64.b64decode(data["reply"]),
                       h(data.get("fingerprint")), h(data.get("signature")), data.get("signer"))
        except (KeyError, TypeError, ValueError) as exc:
            raise BrainnetError(f"not a hop transcript entry ({exc}); write transcripts with "
                                "brainnet.shard.hops.save_transcript") from None


def verify_call(call: HopCall, expected: str | None = None) -> str:
    """Check a signed reply: the signature recovers, to `expected` when given, and the signed
    fingerprint is the reply's own (within HOP_TOLERANCE). Returns the signer; HopSignatureError if not."""
    from brainnet.shard import codec

    if call.fingerprint is None or call.signature is None:
        raise HopSignatureError(f"node {call.node_id} sent blocks {call.start}:{call.end} unsigned")
    if len(call.fingerprint) != 32:
        raise HopSignatureError(f"node {call.node_id} signed a fingerprint of {len(call.fingerprint)} bytes, not 32")
    signer = call.record.signer(call.signature)
    if expected is not None and signer.lower() != expected.lower():
        raise HopSignatureError(f"blocks {call.start}:{call.end} from node {call.node_id} are signed by {signer}, "
                                f"not by the announcing node {expected}")
    try:
        own = hop_fingerprint(model_key(call.model), call.start, call.end, codec.decode(call.reply).tensors)
    except (codec.CodecError, ValueError) as exc:
        raise HopSignatureError(f"node {call.node_id}'s reply cannot be read: {exc}") from None
    if hamming(own, call.fingerprint) > HOP_TOLERANCE:
        raise HopSignatureError(f"node {call.node_id} signed a fingerprint {hamming(own, call.fingerprint)} bits away "
                                "from the reply it sent")
    return signer


def save_transcript(path, calls: list[HopCall], **extra) -> None:
    """Write a transcript as JSON ({"hops": [...], **extra})."""
    import json
    from pathlib import Path

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps({**extra, "hops": [c.to_json() for c in calls]}, indent=1))


def load_transcript(path) -> tuple[list[HopCall], dict]:
    import json
    from pathlib import Path

    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise BrainnetError(f"no transcript at {path}; a sharded member writes one per task with --transcripts") from None
    except ValueError as exc:
        raise BrainnetError(f"{path} is not a JSON transcript ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("hops"), list):
        raise BrainnetError(f'{path} is not a transcript: expected {{"hops": [...]}}')
    return [HopCall.from_json(h) for h in data["hops"]], {k: v for k, v in data.items() if k != "hops"}
