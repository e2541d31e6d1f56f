"""The digits model: deterministic training, canonical weights, validated inputs, exact outputs."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from brainnet.errors import ModelError
from brainnet.models import (
    DigitsRuntime, deterministic, get_model, read_weights, store_weights, train_digits,
    weights_from_bytes, weights_path, weights_to_bytes,
)
from brainnet.models import digits as digits_mod
from brainnet.protocol import model_key


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("brainnet-home")


@pytest.fixture(scope="module")
def model(cache) -> DigitsRuntime:
    return get_model("digits-mlp", cache_dir=cache)


def test_training_is_deterministic_and_accurate(model):
    again = train_digits(seed=0)
    assert hashlib.sha256(again).hexdigest() == model.weights_sha256
    split = digits_mod.digits_split()
    assert digits_mod.accuracy(model.module, split.x_test, split.y_test) > 0.9
    assert hashlib.sha256(train_digits(seed=1)).hexdigest() != model.weights_sha256


def test_another_process_trains_the_same_weights(model):
    # what makes honest nodes agree: a fresh interpreter gets the same bytes
    code = "import hashlib; from brainnet.models import train_digits; print(hashlib.sha256(train_digits(0)).hexdigest())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == model.weights_sha256


def test_training_restores_torch_settings():
    torch.set_num_threads(2)
    before = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(), torch.initial_seed())
    state = torch.get_rng_state()
    with deterministic(threads=1):
        assert torch.get_num_threads() == 1 and torch.are_deterministic_algorithms_enabled()
    digits_mod.train_digits_model(seed=3, config=digits_mod.DigitsConfig(epochs=1))
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(), torch.initial_seed()) == before
    assert torch.equal(torch.get_rng_state(), state)


def test_weights_stored_content_addressed_and_not_retrained(cache, model, monkeypatch):
    path = weights_path(model.weights_sha256, cache)
    assert path == cache / "models" / f"{model.weights_sha256}.bin"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == model.weights_sha256
    monkeypatch.setattr(digits_mod, "train_digits", lambda *a, **k: pytest.fail("retrained"))
    assert digits_mod.ensure_digits_weights(0, cache) == model.weights_sha256


def test_corrupted_store_is_retrained(tmp_path, model):
    weights = train_digits(0)
    digest = store_weights(weights, tmp_path)
    digits_mod.ensure_digits_weights(0, tmp_path)
    weights_path(digest, tmp_path).write_bytes(b"garbage")
    with pytest.raises(ModelError, match="delete the file"):
        read_weights(digest, tmp_path)
    assert digits_mod.ensure_digits_weights(0, tmp_path) == digest
    assert read_weights(digest, tmp_path) == weights


def test_default_cache_dir_follows_brainnet_home(tmp_path, monkeypatch, model):
    monkeypatch.setenv("BRAINNET_HOME", str(tmp_path))
    store_weights(b"x")
    assert (tmp_path / "models" / f"{hashlib.sha256(b'x').hexdigest()}.bin").read_bytes() == b"x"


def test_weights_format_roundtrip_and_canonical(model):
    state = model.module.state_dict()
    data = weights_to_bytes(state)
    back = weights_from_bytes(data)
    assert list(back) == list(state)
    assert all(torch.equal(back[k], state[k]) for k in state)
    assert weights_to_bytes(back) == data


@pytest.mark.parametrize("bad, message", [
    (b"PK\x03\x04zip", "BNW1"),
    (b"BNW1\n{not json}\n", "malformed"),
    (b"BNW1\n" + b"x" * 10, "not terminated"),
])
def test_bad_weights_files_are_refused(bad, message):
    with pytest.raises(ModelError, match=message):
        weights_from_bytes(bad)


def test_truncated_or_padded_weights_are_refused(model):
    data = weights_to_bytes(model.module.state_dict())
    with pytest.raises(ModelError, match="truncated"):
        weights_from_bytes(data[:-1])
    with pytest.raises(ModelError, match="trailing"):
        weights_from_bytes(data + b"\0")


def test_runtime_identity(model, cache):
    assert model.name == "digits-mlp" and model.agreement == "exact"
    assert model.weights_hash == bytes.fromhex(model.weights_sha256) and len(model.weights_hash) == 32
    assert model.model_id == model_key("digits-mlp")
    assert get_model("digits-mlp", cache_dir=cache) is model   # loaded once per process


def test_load_from_path_and_hash(cache, model, tmp_path):
    path = weights_path(model.weights_sha256, cache)
    assert DigitsRuntime.load_from(path).weights_sha256 == model.weights_sha256
    assert DigitsRuntime.load_from(model.weights_hash, cache_dir=cache).weights_sha256 == model.weights_sha256
    assert DigitsRuntime.load_from("0x" + model.weights_sha256.upper(), cache_dir=cache).weights_hash == model.weights_hash
    renamed = tmp_path / "w.bin"
    renamed.write_bytes(path.read_bytes())
    assert DigitsRuntime.load_from(str(renamed), expected_sha256=model.weights_hash).weights_sha256 == model.weights_sha256


def test_load_from_refuses_mismatches(cache, model, tmp_path):
    other = train_digits(seed=1)
    liar = tmp_path / f"{model.weights_sha256}.bin"
    liar.write_bytes(other)
    with pytest.raises(ModelError, match="not the model the chain names"):
        DigitsRuntime.load_from(liar)
    plain = tmp_path / "w.bin"
    plain.write_bytes(other)
    with pytest.raises(ModelError, match="hashes to"):
        DigitsRuntime.load_from(plain, expected_sha256=model.weights_sha256)
    with pytest.raises(ModelError, match="are not in"):
        DigitsRuntime.load_from("ab" * 32, cache_dir=cache)
    with pytest.raises(ModelError, match="does not exist"):
        DigitsRuntime.load_from(tmp_path / "missing.bin")
    wrong_shape = tmp_path / "small.bin"
    wrong_shape.write_bytes(weights_to_bytes(digits_mod.DigitsMLP(hidden=8).state_dict()))
    with pytest.raises(ModelError, match="do not fit"):
        DigitsRuntime.load_from(wrong_shape)


def test_unknown_model_names_the_available_ones():
    with pytest.raises(ModelError, match="digits-mlp"):
        get_model("gpt-5")


def test_runs_sample_inputs_accurately_and_canonically(model):
    examples = model.sample_examples(100, seed=7)
    assert [b for b, _ in examples] == model.sample_inputs(100, seed=7)
    labels = [model.run(blob) for blob, _ in examples]
    assert np.mean([p == y for p, (_, y) in zip(labels, examples)]) > 0.9
    blob, label = examples[0]
    assert model.canonical(labels[0]) == f'{{"label":{labels[0]}}}'.encode()
    assert model.infer(blob) == model.canonical(model.run(blob))
    assert model.sample_inputs(3, seed=7) == model.sample_inputs(3, seed=7)
    assert model.sample_inputs(3, seed=7) != model.sample_inputs(3, seed=8)
    assert len(model.sample_inputs(500)) == 500


def test_same_output_in_another_process(model, cache):
    blobs = model.sample_inputs(20, seed=3)
    ours = [model.infer(b) for b in blobs]
    code = textwrap.dedent(f"""
        import json, sys
        from brainnet.models import get_model
        m = get_model("digits-mlp", weights="{model.weights_sha256}", cache_dir={str(cache)!r})
        blobs = [bytes.fromhex(h) for h in json.load(sys.stdin)]
        print(json.dumps([m.infer(b).decode() for b in blobs]))
    """)
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps([b.hex() for b in blobs]),
                         capture_output=True, text=True, timeout=120, check=True)
    assert [s.encode() for s in json.loads(out.stdout)] == ours


def test_encode_input_is_canonical(model):
    pixels = [0] * 63 + [16]
    blob = model.encode_input(pixels)
    assert blob == b'{"pixels":[' + b"0," * 63 + b"16]}"
    assert model.encode_input(np.array(pixels, dtype=np.float32).reshape(8, 8)) == blob
    assert model.encode_input(torch.tensor(pixels, dtype=torch.float64)) == blob
    assert model.decode_input(blob).shape == (64,)
    assert model.encode_input([0.5] * 64) == b'{"pixels":[' + b"0.5," * 63 + b"0.5]}"


@pytest.mark.parametrize("blob, message", [
    (b"\xff\xfe", "not JSON"),
    (b"[1,2]", "exactly one key"),
    (b'{"pixels":[0],"extra":1}', "exactly one key"),
    (b'{"pixels":"0000"}', "must be a list"),
    (b'{"pixels":[1,2,3]}', "64 values"),
    (json.dumps({"pixels": [0] * 65}).encode(), "got 65"),
    (json.dumps({"pixels": [0] * 63 + [17]}).encode(), "pixel 63 .* outside 0..16"),
    (json.dumps({"pixels": [-1] + [0] * 63}).encode(), "pixel 0"),
    (json.dumps({"pixels": [True] + [0] * 63}).encode(), "must be a number"),
    (json.dumps({"pixels": [None] + [0] * 63}).encode(), "must be a number"),
    (b'{"pixels":[NaN' + b",0" * 63 + b"]}", "outside"),
    (b'{"pixels":[Infinity' + b",0" * 63 + b"]}", "outside"),
    (b" " * 70000, "more than"),
])
def test_bad_inputs_are_refused_with_the_cause(model, blob, message):
    with pytest.raises(ModelError, match=message):
        model.run(blob)


def test_bad_outputs_and_encodings_are_refused(model):
    for bad in (10, -1, True, "3", 2.0):
        with pytest.raises(ModelError):
            model.canonical(bad)
    with pytest.raises(ModelError):
        model.encode_input([0] * 10)
    with pytest.raises(ModelError):
        model.decode_input("not bytes")


def test_models_layer_imports_no_io_layer():
    code = ("import sys, brainnet.models; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('web3', 'fastapi', 'httpx', 'uvicorn') "
            "or m.startswith(('brainnet.chain', 'brainnet.node', 'brainnet.cli', 'brainnet.sdk'))]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"
