"""Proof of training: every cheat is caught, honest trainers never are, with exact replay
and with a float tolerance; the verifier replays only the segments it chose."""
from __future__ import annotations

import numpy as np
import pytest

from brainnet.train import pot
from brainnet.train.data import load_dataset, partition
from brainnet.train.local import LocalConfig
from brainnet.train.model import ModelSpec, init_weights

CFG = LocalConfig(epochs=3, batch_size=16, lr=0.1, trace_every=1)


@pytest.fixture(scope="module")
def world():
    ds = load_dataset("wine")
    part = partition(ds, 2, 100.0, 0)
    spec = ModelSpec(ds.features, ds.classes, 16)
    g = init_weights(spec, 1)
    mine = ds.x_train[part.clients[0]], ds.y_train[part.clients[0]]
    other = ds.x_train[part.clients[1]], ds.y_train[part.clients[1]]
    return spec, g, mine, other


def claim(world, kind, seed=0):
    spec, g, (x, y), (ox, oy) = world
    other = pot.honest_claim(spec, g, ox, oy, CFG, 999)
    return pot.make_claim(kind, spec, g, x, y, CFG, 7, np.random.default_rng(seed), other_x=ox, other_y=oy,
                          other_claim=other)


@pytest.mark.parametrize("tolerance", [0.0, 1e-6])
@pytest.mark.parametrize("challenge", range(3))
def test_honest_trainer_passes(world, challenge, tolerance):
    spec, g, (x, y), _ = world
    c = claim(world, "honest")
    v = pot.verify_claim(spec, g, x, y, CFG, 7, c, segments=4, challenge_seed=challenge, tolerance=tolerance)
    assert v.ok, v.reason
    assert v.replayed_steps == 4 and 0 in v.segments and len(c.trace.hashes) - 2 in v.segments


@pytest.mark.parametrize("kind", pot.CHEATS)
@pytest.mark.parametrize("seed", range(3))
def test_each_cheat_is_caught(world, kind, seed):
    spec, g, (x, y), _ = world
    c = claim(world, kind, seed)
    v = pot.verify_claim(spec, g, x, y, CFG, 7, c, segments=pot.DEFAULT_SEGMENTS, challenge_seed=seed)
    assert not v.ok
    assert v.reason
    assert len(v.evidence(c.trace.digest())) == 32


def test_trace_with_the_wrong_step_count_or_seeds_fails_before_any_replay(world):
    spec, g, (x, y), _ = world
    c = claim(world, "honest")
    short = pot.Trace(c.trace.steps - 1, c.trace.every, c.trace.seeds[:-1], c.trace.hashes[:-1], c.trace.checkpoints)
    v = pot.verify(spec, g, x, y, CFG, 7, c.update, short, c.checkpoint)
    assert not v.ok and "steps" in v.reason and v.replayed_steps == 0
    v = pot.verify_claim(spec, g, x, y, CFG, 8, c)          # another trainer's seeds
    assert not v.ok and "seeds" in v.reason


def test_a_tampered_checkpoint_is_caught(world):
    spec, g, (x, y), _ = world
    c = claim(world, "honest")
    c.trace.checkpoints[1] = c.trace.checkpoints[1] + 1e-3
    v = pot.verify_claim(spec, g, x, y, CFG, 7, c, segments=len(c.trace.hashes))
    assert not v.ok and "checkpoint" in v.reason
