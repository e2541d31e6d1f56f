"""Shard node behaviours (brainnet.shard.behaviours): a corrupting node's replies keep their
shapes, dtypes and integer tensors, but the float activations are far from honest ones."""
from __future__ import annotations

import pytest
import torch

from brainnet.errors import BrainnetError
from brainnet.shard.behaviours import apply_behaviour, corrupt


def test_corrupt_keeps_the_form_and_changes_the_content():
    gen = torch.Generator().manual_seed(0)
    h = torch.randn((2, 5, 16), generator=gen)
    out = torch.nn.functional.normalize(torch.randn((2, 16), generator=gen), dim=-1)
    mask = torch.ones((2, 5), dtype=torch.long)
    bad = corrupt({"h": h, "mask": mask, "out": out}, seed=3)
    assert bad["h"].shape == h.shape and bad["h"].dtype == h.dtype
    assert torch.equal(bad["mask"], mask)
    assert torch.allclose(bad["out"].norm(dim=-1), torch.ones(2), atol=1e-5)      # still unit vectors
    cos = torch.nn.functional.cosine_similarity(bad["out"], out, dim=-1)
    assert (cos < 0.9).all()
    assert (bad["h"] - h).std() > 0.5 * h.std()
    assert torch.equal(corrupt({"h": h}, seed=3)["h"], bad["h"])                  # seeded


class FakeServer:
    """The one method `apply_behaviour` wraps, as ShardServer has it."""

    def forward(self, start, end, act, session=None):
        return {"h": act["h"] * 2}


def test_apply_behaviour():
    h = torch.randn((1, 3, 8))
    honest = apply_behaviour(FakeServer(), "honest")
    assert honest.behaviour == "honest" and torch.equal(honest.forward(0, 1, {"h": h})["h"], h * 2)
    bad = apply_behaviour(FakeServer(), "corrupt")
    assert bad.behaviour == "corrupt" and not torch.allclose(bad.forward(0, 1, {"h": h})["h"], h * 2)
    with pytest.raises(BrainnetError, match="unknown shard behaviour"):
        apply_behaviour(FakeServer(), "sneaky")
