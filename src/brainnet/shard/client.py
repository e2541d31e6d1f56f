"""The client side of sharded inference: a remote model the user calls like a local one.

`RemoteSequential(model, nodes)` is an `nn.Module`; `remote(ids, mask)` returns what the
local model would (MiniLM: (B, 384) unit embeddings; decoder: (B, V) logits of the last
position). Under the hood it plans a route over the announced nodes with
`brainnet.shard.route.plan`, posts the activations to each hop in turn (the client carries
them from node to node, as Petals does), encoded with the chosen codec, and counts the
bytes on the wire. When a hop fails (timeout, connection refused or reset, a 5xx), the node
is marked dead, the route is planned again from the last completed block boundary, and the
request goes on from there: no block is computed twice.

The decoder path keeps a KV cache per session on each node (`generate(..., kv=True)`):
after the prompt, each step sends one token's activations. The client remembers the
activations it saw at each block boundary, so when a node dies mid-generation the
replacement nodes are given the whole prefix at their first boundary once, and the cache
goes on from there.

Every call names its hop in the request metadata ({"hop": {"model", "start", "end"}}); a node
that runs with its key signs the reply (`brainnet.shard.hops`). `remote.transcript` keeps, for
the last `run()`, each hop's node, range, request and reply bytes and signed record, checked
against the announcing node's address; with `require_signatures=True` a reply without a valid
signature counts as that node failing (what verification routes use, so every hop can be
blamed: `brainnet.shard.blame`).

`LocalSequential` runs the same blocks in this process, for baselines and tests.
"""
from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import httpx
import torch
from torch import nn

from brainnet.errors import BrainnetError, ModelError
from brainnet.shard import codec
from brainnet.shard.blocks import Activations, Block, Session, ShardModel, get_model, run_blocks
from brainnet.shard.hops import H_FINGERPRINT, H_SIGNATURE, HopCall, HopSignatureError, verify_call
from brainnet.shard.route import Hop, Route, RouteError, plan

try:                                          # the announcement type of shard/route.py
    from brainnet.shard.route import Announcement
except ImportError:                           # pragma: no cover - older name
    from brainnet.shard.route import ShardNode as Announcement   # type: ignore[no-redef]

RETRYABLE = (httpx.TimeoutException, httpx.TransportError, HopSignatureError)   # a bad signature = a failed node
# TCP_NODELAY: httpx writes headers and body separately; with Nagle's algorithm the body then
# waits for the server's delayed ACK (measured ~3 ms per call on loopback, vs ~0.9 ms without)
_NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


def http_client(timeout: float) -> httpx.Client:
    """A keep-alive HTTP client with TCP_NODELAY, for shard calls."""
    return httpx.Client(timeout=timeout, transport=httpx.HTTPTransport(socket_options=_NODELAY))


class ShardCallError(BrainnetError):
    """A shard node refused a call (4xx): the input is wrong, not the node."""


@dataclass
class CallStats:
    """What the last request cost: bytes on the wire, hops run, failovers."""

    bytes_sent: int = 0
    bytes_received: int = 0
    hops: int = 0
    failovers: int = 0
    node_ms: float = 0.0          # time the nodes say they spent decoding, running and encoding
    routes: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return self.bytes_sent + self.bytes_received


def discover(endpoints: Iterable[str], *, timeout: float = 5.0, pings: int = 3) -> list[Announcement]:
    """Ask each endpoint what it serves (GET /shard/info) and measure its ping (best of `pings`)."""
    nodes = []
    with http_client(timeout) as http:
        for endpoint in endpoints:
            endpoint = endpoint.rstrip("/")
            best = float("inf")
            info: dict[str, Any] = {}
            for _ in range(max(1, pings)):
                t0 = time.perf_counter()
                try:
                    r = http.get(f"{endpoint}/shard/info")
                    r.raise_for_status()
                except httpx.HTTPError as exc:
                    raise BrainnetError(f"shard node {endpoint} did not answer /shard/info ({exc}); "
                                        "is `brainnet shard serve` running there?") from None
                best = min(best, (time.perf_counter() - t0) * 1000)
                info = r.json()
            nodes.append(Announcement(id=endpoint, endpoint=endpoint, model=info["model"], start=info["start"],
                                      end=info["end"], memory_mb=int(info.get("memory_mb") or 0),
                                      throughput=max(float(info.get("throughput") or 1.0), 1e-6), ping_ms=best))
    return nodes


class RemoteSequential(nn.Module):
    """A sharded model over announced nodes, called like the local model."""

    def __init__(self, model: str | ShardModel, nodes: Sequence[Announcement], *, codec_name: str = "int8",
                 block: int = codec.DEFAULT_BLOCK, timeout: float = 10.0, max_failovers: int = 8,
                 planner: Callable[..., Route] = plan, require_signatures: bool = False,
                 signers: dict[str, str] | None = None):
        """`require_signatures`: a reply without a valid hop signature by the announcing node (its id
        when that is a 0x address, else `signers[id]`) counts as that node failing."""
        super().__init__()
        self.model = get_model(model) if isinstance(model, str) else model
        if codec_name not in codec.CODECS:
            raise ModelError(f"unknown activation codec {codec_name!r}; choose one of {', '.join(codec.CODECS)}")
        # announcements from the chain name the model by its 0x id: the caller picked them for this model
        self.nodes = [n for n in nodes if n.model == self.model.name or str(n.model).startswith("0x")]
        self.codec, self.block = codec_name, block
        self.max_failovers = max_failovers
        self.planner = planner
        self.dead: set[str] = set()
        self.http = http_client(timeout)
        self.stats = CallStats()
        self.require_signatures = require_signatures
        self.signers = dict(signers or {})
        self.transcript: list[HopCall] = []      # the hops of the last run(), signed or not
        self._route: Route | None = None

    def close(self) -> None:
        self.http.close()

    # -- routing -------------------------------------------------------------------------
    def route(self, from_block: int = 0, tokens: int = 1) -> Route:
        """The planned route from `from_block`, avoiding nodes seen dead."""
        try:
            return self.planner(self.nodes, self.model.n_blocks, from_block, tokens=tokens, exclude=self.dead)
        except RouteError as exc:
            raise RouteError(f"{exc} (dead nodes: {sorted(self.dead) or 'none'})") from None

    def _post(self, hop: Hop, act: Activations, meta: dict[str, Any]) -> codec.Message:
        hop_meta = {"model": self.model.name, "start": hop.start, "end": hop.end}
        body = codec.encode(act, self.codec, block=self.block,
                            meta={"codec": self.codec, "block": self.block, "hop": hop_meta, **meta})
        r = self.http.post(f"{hop.endpoint}/shard/{self.model.name}/{hop.start}:{hop.end}", content=body,
                           headers={"content-type": "application/x-brainnet-activations"})
        self.stats.bytes_sent += len(body)
        self.stats.bytes_received += len(r.content)
        try:
            self.stats.node_ms += float(r.headers.get("x-brainnet-compute-ms", 0.0))
        except ValueError:
            pass
        if r.status_code >= 500:
            raise httpx.RemoteProtocolError(f"node answered {r.status_code}")
        if r.status_code == 409:
            raise _SessionLost(r.text)
        if r.status_code >= 400:
            try:
                detail = r.json().get("detail", r.text)
            except ValueError:
                detail = r.text
            raise ShardCallError(f"shard node {hop.endpoint} refused blocks {hop.start}:{hop.end}: {detail}")
        try:
            message = codec.decode(r.content)
        except codec.CodecError as exc:
            raise httpx.RemoteProtocolError(f"node sent a malformed reply: {exc}") from None
        call = HopCall(hop.node_id, hop.endpoint, self.model.name, hop.start, hop.end, body, r.content,
                       _hex(r.headers.get(H_FINGERPRINT)), _hex(r.headers.get(H_SIGNATURE)))
        if call.signature is not None or self.require_signatures:
            try:
                call.signer = verify_call(call, self._expected_signer(hop.node_id))
            except HopSignatureError:
                if self.require_signatures:
                    raise
        self.transcript.append(call)
        return message

    def _expected_signer(self, node_id: str) -> str | None:
        if node_id in self.signers:
            return self.signers[node_id]
        if node_id.startswith("0x") and len(node_id) == 42:
            return node_id
        return None

    def run(self, act: Activations, *, from_block: int = 0,
            step: Callable[[Hop, Activations], Activations] | None = None) -> Activations:
        """Carry `act` from boundary `from_block` to the end; re-plan from the last boundary on failure."""
        self.stats = CallStats()
        self.transcript = []
        tokens = next((v.shape[0] * v.shape[1] for k, v in act.items() if k in ("ids", "h")), 1)
        boundary = from_block
        route = self._route if self._route is not None and self._route.start == from_block \
            and not set(self._route.node_ids) & self.dead else self.route(from_block, tokens)
        self.stats.routes.append(route.node_ids)
        i = 0
        while boundary < self.model.n_blocks:
            hop = route.hops[i]
            try:
                reply = step(hop, act) if step else self._post(hop, act, {}).tensors
                if "mask" in act and "mask" not in reply:       # nodes do not send the mask back
                    reply["mask"] = act["mask"]
                act = reply
            except RETRYABLE:
                self.dead.add(hop.node_id)
                self.stats.failovers += 1
                if self.stats.failovers > self.max_failovers:
                    raise BrainnetError(f"gave up after {self.max_failovers} failovers; "
                                        f"dead nodes: {sorted(self.dead)}") from None
                route = self.route(boundary, tokens)
                self.stats.routes.append(route.node_ids)
                i = 0
                continue
            self.stats.hops += 1
            boundary = hop.end
            i += 1
        if from_block == 0:
            self._route = route if route.start == 0 else None
        return act

    # -- the nn.Module face --------------------------------------------------------------
    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """ids (B, T) [, mask (B, T)] -> the model's output (see the module docstring)."""
        return self.run(_inputs(self.model, ids, mask))["out"]

    def generate(self, ids: torch.Tensor, new_tokens: int, *, kv: bool = True) -> torch.Tensor:
        """Greedy generation: (B, T) prompt -> (B, T + new_tokens) ids."""
        if self.model.name != "decoder":
            raise ModelError(f"{self.model.name} is not a decoder; generate() needs the decoder")
        if not kv:
            return _greedy(lambda seq, _new: self.forward(seq), ids, new_tokens)
        state = _KVState()

        def step(seq: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
            out = self.run({"ids": new}, step=lambda hop, act: self._kv_step(state, hop, act))["out"]
            state.done += new.shape[1]
            return out

        return _greedy(step, ids, new_tokens)

    def _kv_step(self, state: "_KVState", hop: Hop, act: Activations) -> Activations:
        """One hop of one generation step, with the node's session (or a replay of the prefix)."""
        key = (hop.node_id, hop.start, hop.end)
        past = state.history.get(hop.start)
        for _ in range(2):
            sess = state.sessions.get(key)
            if sess is not None:
                sid, pos = sess
                try:
                    reply = self._post(hop, act, {"session": sid, "pos": pos})
                except _SessionLost:
                    state.sessions.pop(key, None)
                    continue
                sent, full = act, False
            else:
                if (0 if past is None else _tokens(past)) != state.done:
                    raise BrainnetError(f"cannot resume generation at block {hop.start}: the prefix there was "
                                        "not kept; generate again")
                sent = _cat(past, act) if past is not None else act
                reply = self._post(hop, sent, {"cache": True})
                full = past is not None
            state.sessions[key] = (reply.meta["session"], reply.meta["pos"])
            state.history[hop.start] = _cat(past, act) if past is not None else act
            out = reply.tensors
            if "h" in out and full:                       # replayed: keep only the new tokens' states
                t_new = _tokens(act)
                state.history[hop.end] = {"h": out["h"][:, :-t_new]}
                out = {"h": out["h"][:, -t_new:]}
            return out
        raise BrainnetError(f"node {hop.endpoint} lost its session twice in a row; try again")


def _hex(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        return bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        return b""                                 # malformed: verify_call rejects it


class _SessionLost(BrainnetError):
    """409 from a node: the session is unknown, expired or out of step (handled inside _kv_step)."""


@dataclass
class _KVState:
    sessions: dict[tuple[str, int, int], tuple[str, int]] = field(default_factory=dict)
    history: dict[int, Activations | None] = field(default_factory=dict)   # boundary -> activations of past tokens
    done: int = 0                                                          # tokens processed by earlier steps


def _tokens(act: Activations) -> int:
    return (act["ids"] if "ids" in act else act["h"]).shape[1]


def _cat(a: Activations | None, b: Activations) -> Activations:
    if a is None:
        return b
    return {k: torch.cat([a[k], b[k]], dim=1) for k in b}


def _inputs(model: ShardModel, ids: torch.Tensor, mask: torch.Tensor | None) -> Activations:
    ids = torch.as_tensor(ids, dtype=torch.long)
    if ids.dim() == 1:
        ids = ids.unsqueeze(0)
    act = {"ids": ids}
    if model.uses_mask:
        act["mask"] = torch.ones_like(ids) if mask is None else torch.as_tensor(mask, dtype=torch.long)
    return act


def _greedy(step: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], ids: torch.Tensor, n: int) -> torch.Tensor:
    seq = torch.as_tensor(ids, dtype=torch.long)
    if seq.dim() == 1:
        seq = seq.unsqueeze(0)
    new = seq
    for _ in range(n):
        logits = step(seq, new)                                   # (B, V) of the last position
        new = logits.argmax(dim=-1, keepdim=True)                 # (B, 1)
        seq = torch.cat([seq, new], dim=1)
    return seq


class LocalSequential(nn.Module):
    """The same blocks in this process: the baseline a remote model must match."""

    def __init__(self, model: str | ShardModel, blocks: Sequence[Block] | None = None, *,
                 roundtrip: str | None = None, block: int = codec.DEFAULT_BLOCK):
        super().__init__()
        self.model = get_model(model) if isinstance(model, str) else model
        self.blocks = nn.ModuleList(blocks if blocks is not None else self.model.build(range(self.model.n_blocks)))
        self.roundtrip, self.block = roundtrip, block

    def run(self, act: Activations, session: Session | None = None) -> Activations:
        return run_blocks(list(self.blocks), act, session)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.run(_inputs(self.model, ids, mask))["out"]

    def generate(self, ids: torch.Tensor, new_tokens: int, *, kv: bool = True) -> torch.Tensor:
        if not kv:
            return _greedy(lambda seq, _new: self.forward(seq), ids, new_tokens)
        session = Session()
        return _greedy(lambda seq, new: self.run({"ids": new}, session)["out"], ids, new_tokens)
