"""`minilm-l6`: the shipped MiniLM loads offline, runs deterministically, and `near`
agreement accepts honest drift (bf16) while rejecting the output of another input; the
`brainnet bench near` measurement runs end to end on a tiny set."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from brainnet.errors import ModelError
from brainnet.models import MiniLMRuntime, get_model, sample_sentences
from brainnet.models import minilm as minilm_mod
from brainnet.protocol.commitment import model_key
from brainnet.protocol.simhash import hamming

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model() -> MiniLMRuntime:
    return get_model("minilm-l6")


def test_registered_in_the_zoo_as_a_near_model(model):
    assert isinstance(model, MiniLMRuntime)
    assert model.name == "minilm-l6" and model.agreement == "near" and 0 < model.tolerance < 256
    assert model.model_id == model_key("minilm-l6")
    assert get_model("minilm-l6") is model
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"


def test_weights_hash_is_sha256_of_the_sorted_sha256sum_listing(model):
    folder = minilm_mod.package_model_dir()
    listing = "".join(f"{hashlib.sha256((folder / rel).read_bytes()).hexdigest()}  {rel}\n"
                      for rel in sorted(minilm_mod.MODEL_FILES))
    assert model.weights_sha256 == hashlib.sha256(listing.encode()).hexdigest()
    assert "model.safetensors" in minilm_mod.MODEL_FILES
    with pytest.raises(ModelError, match="not the ones shipped"):
        MiniLMRuntime.load_from("ab" * 32)


def test_run_is_a_deterministic_unit_vector_with_a_canonical_blob(model):
    blob = model.encode_input("The pilot sold an umbrella at the airport.")
    assert blob == b'{"text":"The pilot sold an umbrella at the airport."}'
    v = model.run(blob)
    assert v.shape == (384,) and v.dtype == np.float32
    assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-5
    assert np.array_equal(model.run(blob), v)
    data = model.canonical(v)
    assert data == v.astype("<f4").tobytes() and len(data) == 1536
    assert np.array_equal(model.decode_output(data), v)
    assert model.infer(blob) == data
    assert np.array_equal(model.embed(["The pilot sold an umbrella at the airport."], batch_size=1)[0], v)


@pytest.mark.parametrize("blob, message", [
    (b"not json", "not JSON"),
    (b'{"text": 3}', "must be a string"),
    (b'{"text": "a", "extra": 1}', "exactly one key"),
    (json.dumps({"text": "x" * 2001}).encode(), "more than 2000"),
    (b" " * 70000, "more than"),
])
def test_bad_inputs_are_refused_with_the_cause(model, blob, message):
    with pytest.raises(ModelError, match=message):
        model.run(blob)


def test_bad_outputs_are_refused(model):
    for bad in (np.zeros(383, np.float32), np.full(384, np.nan, np.float32), "x", np.zeros(384, np.int64)):
        with pytest.raises(ModelError):
            model.canonical(bad)
    with pytest.raises(ModelError):
        model.decode_output(b"\0" * 100)


def test_honest_bf16_is_near_and_another_sentence_is_far(model):
    texts = sample_sentences(16, seed=3)
    reference = model.embed(texts, batch_size=1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        bf16 = model.embed(texts, batch_size=8, threads=2)
    assert not np.array_equal(bf16, reference)              # the bits really differ…
    for i, (r, h) in enumerate(zip(reference, bf16)):
        task = 1000 + i
        fp = model.fingerprint(r, task)
        assert hamming(fp, model.fingerprint(h, task)) <= model.tolerance            # …the fingerprints agree
        other = reference[(i + 1) % len(texts)]
        assert hamming(fp, model.fingerprint(other, task)) > model.tolerance         # another input does not
    assert model.fingerprint(reference[0], 1) != model.fingerprint(reference[0], 2)   # projections per task


def test_sample_sentences_are_distinct_and_deterministic():
    a = sample_sentences(300, seed=5)
    assert a == sample_sentences(300, seed=5) and len(set(a)) == 300
    assert a != sample_sentences(300, seed=6)
    assert all(isinstance(s, str) and 0 < len(s) <= 2000 for s in a)


def test_loads_offline_and_keeps_the_pure_layer_pure():
    """In a fresh process with every socket refused, MiniLM loads and runs; no I/O layer is imported."""
    code = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise OSError('network is off in this test')\n"
        "socket.socket.connect = refuse; socket.create_connection = refuse; socket.getaddrinfo = refuse\n"
        "from brainnet.models import get_model\n"
        "m = get_model('minilm-l6'); v = m.run(m.encode_input('offline'))\n"
        "bad = [n for n in sys.modules if n.split('.')[0] in ('web3', 'fastapi', 'httpx', 'uvicorn') "
        "or n.startswith(('brainnet.chain', 'brainnet.node', 'brainnet.cli', 'brainnet.sdk'))]\n"
        "print(v.shape, bad)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "(384,) []"


KEYS = {"tolerance", "sentences", "false_reject_rate", "false_accept_rate", "per_variant", "per_cheat"}


def check_report(report: dict, n: int) -> None:
    assert KEYS <= set(report)
    assert report["sentences"] == n and isinstance(report["tolerance"], int)
    assert 0 <= report["false_reject_rate"] <= 1 and 0 <= report["false_accept_rate"] <= 1
    assert set(report["per_variant"]) >= {"fp32_threads2", "fp32_batch32", "bf16_autocast"}
    for row in report["per_variant"].values():
        assert set(row) == {"max_hamming", "mean_hamming"} and 0 <= row["mean_hamming"] <= row["max_hamming"]
    assert {"other_input", "drop_layer_0", "noise_0.01"} <= set(report["per_cheat"])
    for row in report["per_cheat"].values():
        assert set(row) == {"min_hamming", "accepted"} and 0 <= row["accepted"] <= n


def test_bench_near_command_writes_the_report(tmp_path, model):
    from typer.testing import CliRunner

    from brainnet.cli.main import app

    out = tmp_path / "results" / "near.json"
    result = CliRunner().invoke(app, ["bench", "near", "--sentences", "8", "--json", str(out)])
    assert result.exit_code == 0, result.output
    check_report(json.loads(out.read_text()), 8)


def test_committed_measurement_matches_the_runtime_tolerance():
    path = ROOT / "bench" / "results" / "near_agreement.json"
    report = json.loads(path.read_text())
    check_report(report, report["sentences"])
    assert report["sentences"] >= 500
    assert report["tolerance"] == MiniLMRuntime.tolerance
    assert report["false_reject_rate"] == 0 and report["false_accept_rate"] == 0
