"""A shard node's HTTP endpoint: it runs a contiguous block range of a model on what it is sent.

    POST /shard/{model}/{start}:{end}   body: a `BNA1` activation message (brainnet.shard.codec)
                                        returns: a `BNA1` message with the activations after
                                        block end-1, encoded with the codec the caller used
    GET  /shard/info                    what this node serves (model, blocks, rank, memory,
                                        measured throughput, open sessions)
    GET  /health                        {"ok": true, ...}

The range in the path must lie inside the node's range (a caller may use part of it).
Decoder calls may keep a KV cache: metadata {"cache": true} opens a session and the reply
names it ({"session": id, "pos": tokens cached}); later calls send {"session": id, "pos": p}
with p equal to the node's count, else 409 (the caller resends the prefix with a new
session). Sessions are dropped after `SESSION_TTL_S` idle seconds or when more than
`MAX_SESSIONS` are open (least recently used first).

Signed hops: a server given the node's key (`ShardServer.signer`, `brainnet shard serve --key`)
signs every reply to a call whose metadata names its hop ({"hop": {"model", "start", "end"}},
400 when it names another range) and that uses no session: headers x-brainnet-hop-fingerprint,
x-brainnet-hop-signature and x-brainnet-hop-signer carry the record of `brainnet.shard.hops`.
Without a key it serves the same replies, unsigned.

Everything a caller sends is untrusted: malformed messages, unknown models, ranges outside
the node's, wrong shapes or token ids are answered 4xx with {"detail": cause}, never 5xx.
This module is the `shard/` layer's only HTTP piece; it imports nothing from chain/ or node/.
"""
from __future__ import annotations

import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import torch
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from brainnet.errors import BrainnetError, ModelError
from brainnet.shard import codec
from brainnet.protocol.commitment import model_key
from brainnet.shard.blocks import Activations, Block, Session, ShardModel, get_model, run_blocks
from brainnet.shard.hops import H_FINGERPRINT, H_SIGNATURE, H_SIGNER, HopRecord, hop_fingerprint
from brainnet.shard.svd import RangePlan, lowrank_block, plan_range, stored_bytes

MAX_BODY = 64 << 20            # bytes of one request
MAX_SESSIONS = 64
SESSION_TTL_S = 300.0
_RANGE = re.compile(r"([0-9]{1,4}):([0-9]{1,4})")
MEDIA = "application/x-brainnet-activations"


@dataclass
class ShardServer:
    """The blocks a node serves, with its sessions; `call` is the whole request path minus HTTP."""

    model: ShardModel
    plan: RangePlan
    blocks: list[Block]
    memory_mb: float
    threads: int = 1
    throughput: float = 0.0                      # blocks * tokens / s, measured by `measure_throughput`
    sessions: "OrderedDict[str, tuple[Session, float, int, int]]" = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: int = 0
    signer: Any = None                           # an eth_account account: replies to hop calls are signed

    @classmethod
    def load(cls, model_name: str, memory_mb: float, *, blocks: tuple[int, int] | None = None,
             start: int = 0, threads: int = 1) -> "ShardServer":
        """Load the range `blocks` (or the longest that fits `memory_mb` from `start`)."""
        model = get_model(model_name)
        if blocks is None:
            plan = plan_range(model, memory_mb, start)
        else:
            lo, hi = blocks
            if not 0 <= lo < hi <= model.n_blocks:
                raise ModelError(f"--blocks {lo}:{hi} is not inside 0:{model.n_blocks} of {model_name}")
            need = model.range_bytes(lo, hi)
            if need <= memory_mb * 2**20:
                plan = RangePlan(lo, hi, None, need)
            elif hi - lo == 1:
                plan = plan_range(model, memory_mb, lo, hi)          # one block: low rank if it must
            else:
                raise ModelError(f"blocks {lo}:{hi} of {model_name} need {need / 2**20:.1f} MiB dense, more than "
                                 f"--memory-mb {memory_mb}; serve fewer blocks or give the node more memory")
        built = model.build(range(plan.start, plan.end))
        if plan.rank is not None:
            built = [lowrank_block(b, plan.rank) for b in built]
        return cls(model, plan, built, memory_mb, threads)

    @property
    def served_bytes(self) -> int:
        return sum(stored_bytes(b) for b in self.blocks)

    def info(self) -> dict[str, Any]:
        return {"model": self.model.name, "start": self.plan.start, "end": self.plan.end, "rank": self.plan.rank,
                "n_blocks": self.model.n_blocks, "memory_mb": self.memory_mb,
                "weights_mb": round(self.served_bytes / 2**20, 3), "throughput": round(self.throughput, 1),
                "sessions": len(self.sessions), "calls": self.calls}

    # -- running ---------------------------------------------------------------------
    def forward(self, start: int, end: int, act: Activations, session: Session | None = None) -> Activations:
        blocks = self.blocks[start - self.plan.start:end - self.plan.start]
        torch.set_num_threads(self.threads)
        with self.lock:
            return run_blocks(blocks, act, session)

    def measure_throughput(self, tokens: int = 32, repeats: int = 3) -> float:
        """blocks * tokens / s on a synthetic input of `tokens` tokens (best of `repeats`)."""
        act = sample_activations(self.model, self.plan.start, tokens)
        self.forward(self.plan.start, self.plan.end, act)          # warm-up
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            self.forward(self.plan.start, self.plan.end, act)
            best = min(best, time.perf_counter() - t0)
        self.throughput = (self.plan.end - self.plan.start) * tokens / max(best, 1e-9)
        return self.throughput

    def call(self, model: str, start: int, end: int, body: bytes) -> tuple[bytes, dict[str, Any]]:
        """One request: decode, run, encode. Raises ShardRequestError (status 4xx) on bad input."""
        if model != self.model.name:
            raise ShardRequestError(404, f"this node serves {self.model.name}, not {model}")
        if not (self.plan.start <= start < end <= self.plan.end):
            raise ShardRequestError(404, f"this node serves blocks {self.plan.start}:{self.plan.end} of {model}; "
                                         f"{start}:{end} is not inside them")
        try:
            msg = codec.decode(body)
        except codec.CodecError as exc:
            raise ShardRequestError(400, str(exc)) from None
        out_codec, block = _reply_codec(msg.meta)
        hop = _hop_meta(msg.meta, self.model.name, start, end)
        session, sid = self._session(msg.meta, start, end)
        try:
            act = self.forward(start, end, msg.tensors, session)
        except ModelError as exc:
            if sid is not None:
                self.sessions.pop(sid, None)                          # a failed call leaves the cache unusable
            raise ShardRequestError(422, str(exc)) from None
        except (RuntimeError, ValueError, IndexError, TypeError) as exc:   # shapes or types torch refused
            if sid is not None:
                self.sessions.pop(sid, None)
            raise ShardRequestError(422, f"blocks {start}:{end} cannot run on these activations: {exc}") from None
        self.calls += 1
        meta: dict[str, Any] = {}
        if session is not None:
            meta = {"session": sid, "pos": session.pos}
        act.pop("mask", None)                  # the caller has it already: it never changes between blocks
        reply = codec.encode(act, out_codec, block=block, meta=meta)
        if self.signer is not None and hop and session is None:
            meta = {**meta, **self.sign(start, end, body, reply)}
        return reply, meta

    def sign(self, start: int, end: int, request: bytes, reply: bytes) -> dict[str, str]:
        """The signed hop record of one reply, as reply headers (brainnet.shard.hops)."""
        sent = codec.decode(reply).tensors                   # what the caller will read
        fp = hop_fingerprint(model_key(self.model.name), start, end, sent)
        record = HopRecord.of(self.model.name, start, end, request, reply, fp)
        return {H_FINGERPRINT: "0x" + fp.hex(), H_SIGNATURE: "0x" + record.sign(self.signer).hex(),
                H_SIGNER: self.signer.address}

    def _session(self, meta: dict[str, Any], start: int, end: int) -> tuple[Session | None, str | None]:
        now = time.monotonic()
        for sid, (_, seen, _, _) in list(self.sessions.items()):
            if now - seen > SESSION_TTL_S:
                del self.sessions[sid]
        sid = meta.get("session")
        if sid is None:
            if not meta.get("cache"):
                return None, None
            if self.model.name != "decoder":
                raise ShardRequestError(400, f"{self.model.name} keeps no cache; send no 'cache' or 'session'")
            sid = secrets.token_hex(16)
            session = Session()
            while len(self.sessions) >= MAX_SESSIONS:
                self.sessions.popitem(last=False)
        else:
            if not isinstance(sid, str) or sid not in self.sessions:
                raise ShardRequestError(409, f"unknown or expired session {sid!r}; start a new one with "
                                             "{\"cache\": true} and resend the prefix")
            session, _, s0, s1 = self.sessions[sid]
            if (s0, s1) != (start, end):
                raise ShardRequestError(409, f"session {sid} runs blocks {s0}:{s1}, not {start}:{end}")
            pos = meta.get("pos")
            if pos != session.pos:
                raise ShardRequestError(409, f"session {sid} holds {session.pos} tokens but the call says pos={pos!r}; "
                                             "resend the prefix with a new session")
        self.sessions[sid] = (session, now, start, end)
        self.sessions.move_to_end(sid)
        return session, sid


class ShardRequestError(BrainnetError):
    """A shard call the node refuses; `status` is the HTTP code (always 4xx)."""

    def __init__(self, status: int, detail: str):
        self.status = status
        super().__init__(detail)


def _hop_meta(meta: dict[str, Any], model: str, start: int, end: int) -> bool:
    """True when the request names its hop ({"hop": {"model", "start", "end"}}); 400 when it names another."""
    hop = meta.get("hop")
    if hop is None:
        return False
    if hop != {"model": model, "start": start, "end": end}:
        raise ShardRequestError(400, f"the request names hop {hop!r} but was sent to {model} blocks {start}:{end}")
    return True


def _reply_codec(meta: dict[str, Any]) -> tuple[str, int]:
    name = meta.get("codec", "fp32")
    block = meta.get("block", codec.DEFAULT_BLOCK)
    if name not in codec.CODECS:
        raise ShardRequestError(400, f"reply codec {name!r} is unknown; choose one of {', '.join(codec.CODECS)}")
    if not isinstance(block, int) or isinstance(block, bool) or not 1 <= block <= 1 << 20:
        raise ShardRequestError(400, f"reply block size {block!r} must be an integer in 1..{1 << 20}")
    return name, block


def sample_activations(model: ShardModel, start: int, tokens: int, batch: int = 1, seed: int = 0) -> Activations:
    """A synthetic input at boundary `start` (token ids at 0, hidden states elsewhere)."""
    gen = torch.Generator().manual_seed(seed)
    if start == 0:
        act = {"ids": torch.randint(0, model.vocab, (batch, tokens), generator=gen)}
    else:
        act = {"h": torch.randn((batch, tokens, model.width), generator=gen)}
    if model.uses_mask:
        act["mask"] = torch.ones((batch, tokens), dtype=torch.long)
    return act


def create_app(node: ShardServer) -> FastAPI:
    """The FastAPI app of one shard node."""
    app = FastAPI(title="brainnet shard node", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/health")
    async def health() -> dict:
        return {"ok": True, **node.info()}

    @app.get("/shard/info")
    async def info() -> dict:
        return node.info()

    @app.post("/shard/{model}/{blocks}")
    async def shard(model: str, blocks: str, request: Request) -> Response:
        m = _RANGE.fullmatch(blocks)
        if not m:
            return JSONResponse({"detail": f"block range {blocks!r} must be START:END, e.g. 0:3"}, status_code=400)
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
            return JSONResponse({"detail": f"body larger than {MAX_BODY} bytes"}, status_code=413)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return JSONResponse({"detail": f"body larger than {MAX_BODY} bytes"}, status_code=413)
        # run the blocks on the event loop's own thread: calls are serialized by the node's lock
        # anyway, and a hand-off to a worker thread costs two more wake-ups per hop, which on a
        # busy machine is most of a hop's latency
        t0 = time.perf_counter()
        try:
            data, meta = node.call(model, int(m[1]), int(m[2]), bytes(body))
        except ShardRequestError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=exc.status)
        headers = {"x-brainnet-compute-ms": f"{(time.perf_counter() - t0) * 1000:.3f}"}
        if meta.get("session"):
            headers["x-brainnet-session"] = meta["session"]
        for h in (H_FINGERPRINT, H_SIGNATURE, H_SIGNER):
            if h in meta:
                headers[h] = meta[h]
        return Response(data, media_type=MEDIA, headers=headers)

    return app


def serve(node: ShardServer, host: str = "127.0.0.1", port: int = 0) -> None:
    """Run the node's app under uvicorn in this process until interrupted (binds 127.0.0.1 by default)."""
    import uvicorn

    uvicorn.run(create_app(node), host=host, port=port, log_level="warning", access_log=False)
