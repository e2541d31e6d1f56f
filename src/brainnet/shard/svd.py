"""Low-rank weights for nodes too small to hold even one dense block, and the block plan.

A linear layer's weight W (out, in) is replaced by a mixed decomposition: the input
columns with outlier magnitudes (the largest column norms: those that carry most of the
signal in transformers) stay dense, the rest is a truncated SVD of rank r:

    y = x[:, dense] @ W_dense^T + (x[:, rest] @ V_r) @ (U_r S_r)^T + b

Memory is out * n_dense + r * (out + in - n_dense) + out floats. `fit_rank` picks the
largest r whose block fits a byte budget; `plan_range` decides which contiguous block range
a node with `--memory-mb` serves (dense blocks while they fit, else one low-rank block).
The accuracy cost is measured by the caller (`brainnet bench shard` reports cosine to the
dense model per layer and rank).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from brainnet.errors import ConfigError
from brainnet.models.weights import deterministic
from brainnet.shard.blocks import Block, ShardModel

FLOAT_BYTES = 4
DEFAULT_OUTLIER_FRACTION = 0.01     # share of input columns kept dense (at least one)


class LowRankLinear(nn.Module):
    """A linear layer stored as dense outlier columns + a rank-r factorization of the rest."""

    def __init__(self, linear: nn.Linear, rank: int, outlier_fraction: float = DEFAULT_OUTLIER_FRACTION):
        super().__init__()
        w = linear.weight.detach().to(torch.float32)                      # (out, in)
        out_f, in_f = w.shape
        n_dense = max(1, round(outlier_fraction * in_f)) if outlier_fraction > 0 else 0
        order = torch.argsort(w.norm(dim=0), descending=True)
        dense_cols = torch.sort(order[:n_dense]).values
        rest_cols = torch.sort(order[n_dense:]).values
        rank = max(1, min(int(rank), out_f, len(rest_cols)))
        u, s, vh = torch.linalg.svd(w[:, rest_cols], full_matrices=False)
        self.in_features, self.out_features, self.rank = in_f, out_f, rank
        self.register_buffer("dense_cols", dense_cols)
        self.register_buffer("rest_cols", rest_cols)
        self.dense = nn.Parameter(w[:, dense_cols].clone())               # (out, n_dense)
        self.v = nn.Parameter(vh[:rank].T.contiguous())                   # (in - n_dense, r)
        self.us = nn.Parameter((u[:, :rank] * s[:rank]).contiguous())     # (out, r)
        self.bias = nn.Parameter(linear.bias.detach().clone()) if linear.bias is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = (x[..., self.rest_cols] @ self.v) @ self.us.T
        if self.dense.shape[1]:
            y = y + x[..., self.dense_cols] @ self.dense.T
        return y + self.bias if self.bias is not None else y

    def weight_bytes(self) -> int:
        """Bytes of the floats this layer stores (index buffers are not counted: int columns)."""
        n = self.dense.numel() + self.v.numel() + self.us.numel() + (self.bias.numel() if self.bias is not None else 0)
        return n * FLOAT_BYTES


def lowrank_bytes(out_f: int, in_f: int, rank: int, bias: bool = True,
                  outlier_fraction: float = DEFAULT_OUTLIER_FRACTION) -> int:
    n_dense = max(1, round(outlier_fraction * in_f)) if outlier_fraction > 0 else 0
    rank = max(1, min(rank, out_f, in_f - n_dense))
    return FLOAT_BYTES * (out_f * n_dense + rank * (out_f + in_f - n_dense) + (out_f if bias else 0))


def _linears(block: nn.Module) -> list[tuple[str, nn.Linear]]:
    return [(name, m) for name, m in block.named_modules() if isinstance(m, nn.Linear)]


def block_bytes_at_rank(block: Block, rank: int, outlier_fraction: float = DEFAULT_OUTLIER_FRACTION) -> int:
    """Bytes of `block` if every linear layer becomes rank-`rank` mixed (other params stay dense)."""
    total = block.nbytes()
    for _, lin in _linears(block):
        dense = lin.weight.numel() + (lin.bias.numel() if lin.bias is not None else 0)
        total += lowrank_bytes(lin.out_features, lin.in_features, rank, lin.bias is not None,
                               outlier_fraction) - FLOAT_BYTES * dense
    return total


def fit_rank(block: Block, budget_bytes: int, outlier_fraction: float = DEFAULT_OUTLIER_FRACTION) -> int | None:
    """Largest rank whose low-rank block fits `budget_bytes`; None if not even rank 1 fits.

    Returns the full rank (no saving) when the dense block already fits.
    """
    lins = _linears(block)
    if not lins:
        return None
    full = max(min(lin.out_features, lin.in_features) for _, lin in lins)
    if block_bytes_at_rank(block, 1, outlier_fraction) > budget_bytes:
        return None
    lo, hi = 1, full
    while lo < hi:                                    # block bytes grow with rank: binary search
        mid = (lo + hi + 1) // 2
        if block_bytes_at_rank(block, mid, outlier_fraction) <= budget_bytes:
            lo = mid
        else:
            hi = mid - 1
    return lo


def lowrank_block(block: Block, rank: int, outlier_fraction: float = DEFAULT_OUTLIER_FRACTION) -> Block:
    """A copy of `block` whose linear layers are rank-`rank` mixed decompositions."""
    low = copy.deepcopy(block)
    with deterministic(threads=1):     # one thread: SVDs on 2 busy cores were 50x slower with 2 (measured)
        for name, lin in _linears(low):
            parent = low
            *path, leaf = name.split(".")
            for part in path:
                parent = getattr(parent, part)
            setattr(parent, leaf, LowRankLinear(lin, rank, outlier_fraction))
    low.index = block.index
    return low.eval()


def stored_bytes(block: nn.Module) -> int:
    """Bytes of float parameters a block holds (low-rank layers counted by what they store)."""
    return sum(p.numel() * p.element_size() for p in block.parameters())


@dataclass(frozen=True)
class RangePlan:
    """Which blocks a node serves: [start, end), and the SVD rank (None = dense)."""

    start: int
    end: int
    rank: int | None
    bytes: int

    @property
    def blocks(self) -> str:
        return f"{self.start}:{self.end}"


def plan_range(model: ShardModel, memory_mb: float, start: int = 0, end: int | None = None,
               outlier_fraction: float = DEFAULT_OUTLIER_FRACTION) -> RangePlan:
    """The longest dense range from `start` (up to `end`) that fits `memory_mb`; else one low-rank block."""
    if not 0 <= start < model.n_blocks:
        raise ConfigError(f"{model.name} has blocks 0..{model.n_blocks - 1}; start {start} is outside")
    stop = model.n_blocks if end is None else end
    if not start < stop <= model.n_blocks:
        raise ConfigError(f"block range {start}:{stop} is not inside 0:{model.n_blocks}")
    budget = int(memory_mb * 1024 * 1024)
    used, last = 0, start
    while last < stop and used + model.block_bytes[last] <= budget:
        used += model.block_bytes[last]
        last += 1
    if last > start:
        return RangePlan(start, last, None, used)
    block = model.build([start])[0]
    rank = fit_rank(block, budget, outlier_fraction)
    if rank is None:
        raise ConfigError(f"--memory-mb {memory_mb} cannot hold block {start} of {model.name} even at rank 1 "
                          f"(dense it needs {model.block_bytes[start] / 2**20:.1f} MiB); give the node more memory")
    return RangePlan(start, start + 1, rank, block_bytes_at_rank(block, rank, outlier_fraction))
