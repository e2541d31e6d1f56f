"""Local training is deterministic: the same weights hash twice, and in another process;
weights vectors round-trip through the canonical file; attacks do what they say."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from brainnet.train import attacks
from brainnet.train.local import LocalConfig
from brainnet.train.model import from_bytes, weights_bytes, weights_hash
from brainnet.train.rounds import FLConfig, client_update, make_setup

SCRIPT = """
import json
from brainnet.train.rounds import FLConfig, make_setup, client_update, aggregate_round
s = make_setup(FLConfig(dataset="wine", clients=4, rounds=1, byzantine=0.25, attack="sign_flip"))
ups = [client_update(s, c, s.initial, 0) for c in range(4)]
out = aggregate_round(s, s.initial, ups)
print(json.dumps({"updates": [u.weights_hash for u in ups], "traces": [u.trace_hash for u in ups],
                  "aggregate": out.weights_hash}))
"""


def run_here():
    from brainnet.train.rounds import aggregate_round

    s = make_setup(FLConfig(dataset="wine", clients=4, rounds=1, byzantine=0.25, attack="sign_flip"))
    ups = [client_update(s, c, s.initial, 0) for c in range(4)]
    out = aggregate_round(s, s.initial, ups)
    return {"updates": [u.weights_hash for u in ups], "traces": [u.trace_hash for u in ups],
            "aggregate": out.weights_hash}


def test_same_hashes_twice_and_in_a_subprocess():
    first, second = run_here(), run_here()
    assert first == second
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == first


def test_weights_roundtrip_through_canonical_bytes():
    s = make_setup(FLConfig(dataset="wine", clients=2))
    data = weights_bytes(s.spec, s.initial)
    assert np.array_equal(from_bytes(s.spec, data), s.initial)
    assert weights_hash(s.spec, s.initial) == __import__("hashlib").sha256(data).hexdigest()


def test_trace_records_every_kth_step():
    s = make_setup(FLConfig(dataset="wine", clients=2, local=LocalConfig(epochs=3, batch_size=8, trace_every=2)))
    u = client_update(s, 0, s.initial, 0)
    steps = s.config.local.steps(u.num_examples)
    assert u.trace.steps == steps and len(u.trace.seeds) == steps
    assert len(u.trace.hashes) == len(range(0, steps, 2)) + 1
    assert u.trace.hashes[0] == weights_hash(s.spec, s.initial) and u.trace.hashes[-1] == u.weights_hash


@pytest.mark.parametrize("behaviour", attacks.BEHAVIOURS)
def test_behaviours(behaviour):
    s = make_setup(FLConfig(dataset="wine", clients=3))
    honest = client_update(s, 0, s.initial, 0, behaviour="honest")
    u = client_update(s, 0, s.initial, 0, behaviour=behaviour)
    g = s.initial
    delta = honest.weights - g
    if behaviour == "honest":
        assert u.weights_hash == honest.weights_hash
    elif behaviour == "sign_flip":
        np.testing.assert_allclose(u.weights - g, -delta, atol=1e-6)
    elif behaviour == "scale":
        np.testing.assert_allclose(u.weights - g, -10 * delta, atol=1e-5)
    elif behaviour == "free_rider":
        assert np.array_equal(u.weights, g)
    elif behaviour == "gaussian":
        assert 0.5 < float(np.std(u.weights - g)) < 2.0
    elif behaviour == "label_flip":
        assert not np.array_equal(u.weights, honest.weights)
        assert u.trace.hashes[-1] == u.weights_hash
