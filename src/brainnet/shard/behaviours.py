"""How a shard node may misbehave, for tests, demos and the verification e2e.

- `honest`: runs its blocks as they are;
- `corrupt`: runs its blocks, then adds Gaussian noise as large as the activations
  themselves (relative scale `CORRUPT_SCALE`) to every float tensor it returns, keeping
  shapes and dtypes (and unit length where the output was unit length, e.g. MiniLM's
  pooled embedding), so the reply looks well-formed. A route through such a node ends far
  from the honest output: its SimHash lands tens of bits away, beyond any `near` tolerance,
  and the committee member who carried that route dissents and is slashed. A corrupting
  node with a key signs what it returns, so the member can blame it and have it slashed
  through `ShardAudit` (`brainnet.shard.blame`).

`apply_behaviour(server, name)` wraps a `brainnet.node.shard_server.ShardServer` in place;
`brainnet shard serve --behaviour corrupt` uses it.
"""
from __future__ import annotations

import torch

from brainnet.errors import ConfigError

BEHAVIOURS = ("honest", "corrupt")
CORRUPT_SCALE = 1.0          # noise std relative to the std of the tensor it is added to


def corrupt(act: dict[str, torch.Tensor], seed: int = 0, scale: float = CORRUPT_SCALE) -> dict[str, torch.Tensor]:
    """`act` with noise on every float tensor (integer tensors, e.g. token ids and masks, untouched)."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for name, x in act.items():
        if not torch.is_floating_point(x) or x.numel() == 0:
            out[name] = x
            continue
        std = float(x.float().std()) if x.numel() > 1 else 1.0
        noise = torch.randn(x.shape, generator=gen, dtype=torch.float32) * (scale * (std or 1.0))
        y = x.float() + noise
        norms = x.float().norm(dim=-1, keepdim=True)
        if x.dim() >= 1 and torch.allclose(norms, torch.ones_like(norms), atol=1e-3):
            y = y / y.norm(dim=-1, keepdim=True).clamp_min(1e-12)     # a unit vector stays one
        out[name] = y.to(x.dtype)
    return out


def apply_behaviour(server, behaviour: str):
    """Make `server` (a ShardServer) behave as `behaviour`; returns it."""
    if behaviour not in BEHAVIOURS:
        raise ConfigError(f"unknown shard behaviour {behaviour!r}; choose one of {', '.join(BEHAVIOURS)}")
    server.behaviour = behaviour
    if behaviour == "honest":
        return server
    honest_forward = server.forward
    calls = [0]

    def forward(start, end, act, session=None):
        calls[0] += 1
        return corrupt(honest_forward(start, end, act, session), seed=calls[0])

    server.forward = forward
    return server
