"""Small MLPs for federated training, and their weights as flat float32 vectors.

Aggregation, scoring, hashing and proof of training all work on one flat float32 vector
per model (the parameters in `state_dict` order, each flattened C-order), so they never
depend on torch. `weights_bytes` turns a vector into the canonical `BNW1` file of
`brainnet.models.weights` — the bytes a node stores and serves — and `weights_hash` is
their sha256, the hash a trainer commits and `Models` records for a version.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from brainnet.errors import ModelError
from brainnet.models.weights import deterministic, sha256_hex, weights_from_bytes, weights_to_bytes


@dataclass(frozen=True)
class ModelSpec:
    features: int          # input width (64 digits, 30 breast_cancer, 13 wine)
    classes: int           # output width
    hidden: int = 32       # one hidden layer


class MLP(nn.Module):
    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(spec.features, spec.hidden), nn.ReLU(),
                                 nn.Linear(spec.hidden, spec.classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, features) standardized  ->  logits: (B, classes)
        return self.net(x)


@lru_cache(maxsize=32)
def layout(spec: ModelSpec) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """(name, shape) of every parameter in state_dict order."""
    return tuple((k, tuple(v.shape)) for k, v in MLP(spec).state_dict().items())


def size(spec: ModelSpec) -> int:
    return int(sum(np.prod(s) for _, s in layout(spec)))


def init_weights(spec: ModelSpec, seed: int) -> np.ndarray:
    """The seeded initial global model (torch's default init under `manual_seed(seed)`)."""
    with deterministic(threads=1), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return get_flat(MLP(spec))


def get_flat(model: nn.Module) -> np.ndarray:
    """Parameters in state_dict order as one (P,) float32 vector (a copy)."""
    return np.concatenate([v.detach().reshape(-1).numpy() for v in model.state_dict().values()]).astype(np.float32)


def set_flat(model: nn.Module, flat: np.ndarray) -> nn.Module:
    """Copy a flat vector into `model`'s parameters in place (state_dict order); returns it."""
    flat = np.array(flat, dtype=np.float32)          # a private, writable copy
    state = model.state_dict()                        # references to the live tensors
    need = sum(v.numel() for v in state.values())
    if flat.shape != (need,):
        raise ModelError(f"weights vector has shape {flat.shape}, the model needs ({need},)")
    src = torch.from_numpy(flat)
    with torch.no_grad():
        offset = 0
        for v in state.values():
            n = v.numel()
            v.copy_(src[offset:offset + n].view_as(v))
            offset += n
    return model


def build(spec: ModelSpec, flat: np.ndarray) -> MLP:
    return set_flat(MLP(spec), flat)


def to_state(spec: ModelSpec, flat: np.ndarray) -> "OrderedDict[str, torch.Tensor]":
    flat = np.asarray(flat, dtype=np.float32)
    if flat.shape != (size(spec),):
        raise ModelError(f"weights vector has shape {flat.shape}, the model {spec} needs ({size(spec)},)")
    state: OrderedDict[str, torch.Tensor] = OrderedDict()
    offset = 0
    for name, shape in layout(spec):
        n = int(np.prod(shape))
        state[name] = torch.from_numpy(flat[offset:offset + n].reshape(shape).copy())
        offset += n
    return state


def weights_bytes(spec: ModelSpec, flat: np.ndarray) -> bytes:
    """Canonical `BNW1` bytes of a weights vector (float32 little-endian, named tensors)."""
    return weights_to_bytes(to_state(spec, flat))


def from_bytes(spec: ModelSpec, data: bytes) -> np.ndarray:
    state = weights_from_bytes(data)
    names = [(k, tuple(v.shape)) for k, v in state.items()]
    if tuple(names) != layout(spec):
        raise ModelError(f"weights file holds {names}, not the layout of {spec}")
    return np.concatenate([v.reshape(-1).numpy() for v in state.values()]).astype(np.float32)


def weights_hash(spec: ModelSpec, flat: np.ndarray) -> str:
    """sha256 (hex) of the canonical bytes: the hash committed, confirmed and recorded on chain."""
    return sha256_hex(weights_bytes(spec, flat))


def predict(spec: ModelSpec, flat: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Logits (N, classes) as float32, computed deterministically on one thread."""
    with deterministic(threads=1), torch.no_grad():
        return build(spec, flat)(torch.from_numpy(np.array(x, dtype=np.float32))).numpy()


def accuracy(spec: ModelSpec, flat: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    if not np.all(np.isfinite(flat)):
        return 0.0
    return float((predict(spec, flat, x).argmax(axis=1) == y).mean())


def loss(spec: ModelSpec, flat: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy (inf for non-finite weights or outputs)."""
    if not np.all(np.isfinite(flat)):
        return float("inf")
    with deterministic(threads=1), torch.no_grad():
        logits = build(spec, flat)(torch.from_numpy(np.array(x, dtype=np.float32)))
        value = float(nn.functional.cross_entropy(logits, torch.from_numpy(np.array(y, dtype=np.int64))))
    return value if np.isfinite(value) else float("inf")
