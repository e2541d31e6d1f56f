"""Signed hops and local blame: every reply of a keyed shard server carries a hop record
signed by the node; re-executing each hop on its signed input names exactly the hops whose
node corrupted its output (never an honest hop after a corrupt one). In-process servers
(`ShardServer.call`, no HTTP), MiniLM split in three hops."""
from __future__ import annotations

import pytest
import torch
from eth_account import Account
from hypothesis import HealthCheck, given, settings, strategies as st

from brainnet.models.minilm import sample_sentences
from brainnet.node.shard_server import ShardRequestError, ShardServer
from brainnet.protocol import keccak
from brainnet.protocol.commitment import model_key
from brainnet.shard import codec
from brainnet.shard.behaviours import apply_behaviour
from brainnet.shard.blame import blame
from brainnet.shard.blocks import MiniLMTokenizer
from brainnet.shard.hops import (
    H_FINGERPRINT, H_SIGNATURE, H_SIGNER, HopCall, HopRecord, HopSignatureError, hop_fingerprint, verify_call,
)

RANGES = [(0, 2), (2, 5), (5, 8)]
KEYS = [Account.from_key(keccak(b"hop signer %d" % i)) for i in range(len(RANGES))]


def _server(lo, hi, key, behaviour="honest"):
    node = ShardServer.load("minilm-l6", 512, blocks=(lo, hi))
    node.signer = key
    return apply_behaviour(node, behaviour)


@pytest.fixture(scope="module")
def servers():
    torch.set_num_threads(1)
    honest = [_server(lo, hi, k) for (lo, hi), k in zip(RANGES, KEYS)]
    corrupt = []
    for (lo, hi), k, h in zip(RANGES, KEYS, honest):     # the same blocks, corrupting
        c = ShardServer(h.model, h.plan, h.blocks, h.memory_mb, signer=k)
        corrupt.append(apply_behaviour(c, "corrupt"))
    return honest, corrupt


def run_route(nodes, text, codec_name="fp32"):
    """Carry `text` over `nodes` as RemoteSequential does; return (output, transcript)."""
    act = MiniLMTokenizer()([text])
    mask = act["mask"]
    calls = []
    for node in nodes:
        lo, hi = node.plan.start, node.plan.end
        body = codec.encode(act, codec_name, meta={"codec": codec_name, "block": codec.DEFAULT_BLOCK,
                                                   "hop": {"model": "minilm-l6", "start": lo, "end": hi}})
        reply, meta = node.call("minilm-l6", lo, hi, body)
        calls.append(HopCall(node.signer.address, "", "minilm-l6", lo, hi, body, reply,
                             bytes.fromhex(meta[H_FINGERPRINT][2:]), bytes.fromhex(meta[H_SIGNATURE][2:])))
        assert meta[H_SIGNER] == node.signer.address
        act = codec.decode(reply).tensors
        act["mask"] = mask
    return act["out"], calls


def test_an_honest_transcript_is_signed_and_blames_nobody(servers):
    honest, _ = servers
    out, calls = run_route(honest, "The farmer sold a jar of honey at the airport.")
    assert out.shape == (1, 384)
    for call, key in zip(calls, KEYS):
        assert verify_call(call, key.address) == key.address
    assert blame(calls) == []


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad=st.sets(st.integers(0, len(RANGES) - 1), min_size=1), text=st.sampled_from(sample_sentences(4, seed=3)),
       codec_name=st.sampled_from(["fp32", "int8"]))
def test_every_corrupted_hop_is_blamed_and_no_honest_one(servers, bad, text, codec_name):
    honest, corrupt = servers
    nodes = [corrupt[i] if i in bad else honest[i] for i in range(len(RANGES))]
    _, calls = run_route(nodes, text, codec_name)
    verdicts = blame(calls)
    assert [v.index for v in verdicts] == sorted(bad)
    assert all(v.provable and v.node == KEYS[v.index].address for v in verdicts)
    assert all(v.rel_error > 0.5 for v in verdicts)


def test_a_signature_by_another_key_or_over_other_bytes_is_refused(servers):
    honest, _ = servers
    _, calls = run_route(honest, "The pilot lost the train timetable.")
    call = calls[1]
    with pytest.raises(HopSignatureError, match="not by the announcing node"):
        verify_call(call, KEYS[0].address)
    forged = HopCall(call.node_id, "", call.model, call.start, call.end, call.request, calls[0].reply,
                     call.fingerprint, call.signature)
    assert forged.record.signer(forged.signature) != KEYS[1].address    # another record: some other address
    with pytest.raises(HopSignatureError, match="not by the announcing node"):
        verify_call(forged, KEYS[1].address)
    unsigned = HopCall(call.node_id, "", call.model, call.start, call.end, call.request, call.reply, None, None)
    with pytest.raises(HopSignatureError, match="unsigned"):
        verify_call(unsigned)
    record = HopRecord.of("minilm-l6", call.start, call.end, call.request, call.reply, call.fingerprint)
    assert record.signer(call.signature) == KEYS[1].address
    assert record.model_id == model_key("minilm-l6")


def test_a_fingerprint_that_is_not_the_replys_is_refused(servers):
    honest, _ = servers
    _, calls = run_route(honest, "A curious child hid an umbrella.")
    call = calls[2]
    other = hop_fingerprint(model_key("minilm-l6"), call.start, call.end, {"x": torch.randn(384)})
    record = HopRecord.of(call.model, call.start, call.end, call.request, call.reply, other)
    lying = HopCall(call.node_id, "", call.model, call.start, call.end, call.request, call.reply, other,
                    record.sign(KEYS[2]))
    with pytest.raises(HopSignatureError, match="bits away from the reply"):
        verify_call(lying, KEYS[2].address)


def test_a_request_naming_another_hop_is_a_400_and_unnamed_hops_are_unsigned(servers):
    honest, _ = servers
    act = {"h": torch.randn(1, 4, 384), "mask": torch.ones(1, 4, dtype=torch.long)}
    body = codec.encode(act, "fp32", meta={"hop": {"model": "minilm-l6", "start": 2, "end": 4}})
    with pytest.raises(ShardRequestError) as exc:
        honest[1].call("minilm-l6", 2, 5, body)
    assert exc.value.status == 400
    _, meta = honest[1].call("minilm-l6", 2, 5, codec.encode(act, "fp32"))
    assert H_SIGNATURE not in meta


def test_brainnet_shard_blame_reads_a_transcript_and_writes_json(servers, tmp_path):
    import json

    from typer.testing import CliRunner

    from brainnet.cli.main import app
    from brainnet.shard.hops import load_transcript, save_transcript

    honest, corrupt = servers
    _, calls = run_route([honest[0], corrupt[1], honest[2]], "The mayor borrowed an expensive violin.", "int8")
    path = tmp_path / "task-7.json"
    save_transcript(path, calls, task_id=7)
    loaded, extra = load_transcript(path)
    assert extra == {"task_id": 7} and [c.to_json() for c in loaded] == [c.to_json() for c in calls]
    result = CliRunner().invoke(app, ["shard", "blame", str(path), "--json", "-"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["task_id"] == 7 and out["hops"] == 3 and out["report"] is None
    assert [(b["index"], b["node"], b["blocks"], b["provable"]) for b in out["blamed"]] == \
        [(1, KEYS[1].address, "2:5", True)]
    result = CliRunner().invoke(app, ["shard", "blame", str(path), "--report"])
    assert result.exit_code != 0 and "--deployment" in str(result.exception)


def audit_output(audit, call: HopCall, reply: bytes | None = None):
    """What an audit committee member reveals for `call` (its reply, or `reply` in its place)."""
    import hashlib

    from brainnet.shard.hops import audit_bundle

    reply = call.reply if reply is None else reply
    bundle = audit_bundle(hashlib.sha256(call.request).digest(), hashlib.sha256(reply).digest())
    assert audit.blobs_needed(bundle) == [hashlib.sha256(call.request).hexdigest(), hashlib.sha256(reply).hexdigest()]
    return audit.run_with(bundle, {hashlib.sha256(b).hexdigest(): b for b in (call.request, reply)})


def test_the_hop_audit_model_attests_honest_replies_and_flips_corrupt_ones(servers):
    from brainnet.errors import ModelError
    from brainnet.models import get_model
    from brainnet.protocol.simhash import hamming

    audit = get_model("shard-hop-audit")
    assert (audit.agreement, audit.tolerance) == ("near", 16)
    honest, corrupt = servers
    text = "Everyone said that the chess trophy near the river looked outdated."
    _, good = run_route(honest, text, "int8")
    _, bad = run_route([honest[0], honest[1], corrupt[2]], text, "int8")
    for call in good:
        out = audit_output(audit, call)
        again = audit.decode_output(audit.canonical(out))
        assert (again.start, again.end) == (call.start, call.end) and (again.vector == out.vector).all()
        assert audit.fingerprint(again, task_id=11) == audit.fingerprint(out, task_id=12) == call.fingerprint
    flipped = audit.fingerprint(audit_output(audit, bad[2]), 1)
    assert hamming(flipped, bad[2].fingerprint) == 256                 # what the corrupting node signed
    zero = codec.encode({"out": torch.zeros(1, 384)}, "int8")            # an all-zero reply still lands far
    assert hamming(audit.fingerprint(audit_output(audit, bad[2], zero), 1),
                   hop_fingerprint(model_key("minilm-l6"), 5, 8, {"out": torch.zeros(1, 384)})) > audit.tolerance
    with pytest.raises(ModelError, match="run_with"):
        audit.run(bad[2].request)
    with pytest.raises(ModelError, match="68 bytes"):
        audit.blobs_needed(b'{"text": "hello"}')
    with pytest.raises(ModelError, match="do not hash"):
        audit.run_with(b"BNH1" + bytes(64), {})
    unnamed = HopCall("x", "", "minilm-l6", 2, 5, codec.encode({"h": torch.zeros(1, 2, 384)}, "fp32"), good[1].reply,
                      None, None)
    with pytest.raises(ModelError, match="names no hop"):
        audit_output(audit, unnamed)


def test_a_corruption_chosen_to_keep_the_fingerprint_is_still_audited_as_corrupt(servers):
    """A node that knows the public hop projections can corrupt its reply along their null space:
    the fingerprint it signs is the honest one, yet the audit compares whole tensors and flips."""
    import numpy as np

    from brainnet.models import get_model
    from brainnet.protocol.simhash import hamming, projections
    from brainnet.shard.hops import SKETCH, hop_seed, hop_vector, sketch

    honest, _ = servers
    _, calls = run_route(honest, "The old fisherman forgot the quarterly report in the desert.", "fp32")
    call = calls[1]                                                  # blocks 2:5, h of shape (1, T, 384)
    h = codec.decode(call.reply).tensors["h"]
    x = hop_vector({"h": h})
    seed = hop_seed(model_key("minilm-l6"), 2, 5)
    # M = P S: the 256 x n map from the reply to the projections the fingerprint signs
    rng = np.random.Generator(np.random.PCG64(int.from_bytes(keccak(seed + b"sketch"), "big")))
    bucket = rng.integers(0, SKETCH, size=x.size)                          # the sketch's own draws
    sign = 2 * rng.integers(0, 2, size=x.size) - 1
    m = projections(seed, SKETCH)[:, bucket] * sign                        # (256, n)
    assert np.allclose(m @ x, projections(seed, SKETCH) @ sketch(x, seed))
    z = np.random.default_rng(0).standard_normal(x.size) * float(np.std(x))
    stealth = z - m.T @ np.linalg.solve(m @ m.T, m @ z)                     # M @ stealth = 0
    y = torch.from_numpy((x + stealth).astype(np.float32)).reshape(h.shape)
    reply = codec.encode({"h": y}, "fp32")
    signed = hop_fingerprint(model_key("minilm-l6"), 2, 5, {"h": y})
    assert signed == call.fingerprint                                 # the fingerprint cannot tell
    assert float((y - h).norm() / h.norm()) > 0.5                     # ... a reply this far off
    audit = get_model("shard-hop-audit")
    assert hamming(audit.fingerprint(audit_output(audit, call, reply), 1), signed) == 256


def test_the_hop_fingerprint_follows_its_spec_and_separates_drift_from_corruption():
    import numpy as np

    from brainnet.protocol.simhash import fingerprint, hamming
    from brainnet.shard.hops import SKETCH, hop_seed, hop_vector, vector_fingerprint

    seed = hop_seed(model_key("minilm-l6"), 2, 5)
    x = np.random.default_rng(0).standard_normal(3 * 384 + 5)
    rng = np.random.Generator(np.random.PCG64(int.from_bytes(keccak(seed + b"sketch"), "big")))
    bucket = rng.integers(0, SKETCH, size=x.size)
    sign = 2 * rng.integers(0, 2, size=x.size) - 1
    s = np.zeros(SKETCH)
    for i in range(x.size):                                  # the docstring's rule, value by value
        s[bucket[i]] += sign[i] * x[i]
    assert vector_fingerprint(x, seed) == fingerprint(s, seed)
    assert hop_fingerprint(model_key("minilm-l6"), 2, 5, {"h": torch.from_numpy(x), "ids": torch.arange(3)}) == \
        vector_fingerprint(hop_vector({"h": torch.from_numpy(x)}), seed)
    noise = np.random.default_rng(1).standard_normal(x.size)
    assert hamming(vector_fingerprint(x + 1e-4 * noise, seed), vector_fingerprint(x, seed)) <= 2
    assert hamming(vector_fingerprint(x + noise, seed), vector_fingerprint(x, seed)) > 40


def test_remote_sequential_keeps_a_transcript_and_fails_over_from_unsigned_or_foreign_signatures(servers):
    from brainnet.node.api import serve_in_thread
    from brainnet.node.shard_server import create_app
    from brainnet.shard.client import RemoteSequential
    from brainnet.shard.route import Announcement

    honest, _ = servers
    mid = honest[1]
    unsigned = ShardServer(mid.model, mid.plan, mid.blocks, mid.memory_mb)                  # no key
    foreign = ShardServer(mid.model, mid.plan, mid.blocks, mid.memory_mb, signer=KEYS[0])   # not its own key
    spare_key = Account.from_key(keccak(b"spare hop signer"))
    spare = ShardServer(mid.model, mid.plan, mid.blocks, mid.memory_mb, signer=spare_key)
    nodes, running = [], []
    try:
        for node, address, cost in ((honest[0], KEYS[0].address, 1.0), (unsigned, KEYS[1].address, 1000.0),
                                    (foreign, "0x" + "11" * 20, 100.0), (spare, spare_key.address, 1.0),
                                    (honest[2], KEYS[2].address, 1.0)):
            server, port = serve_in_thread(create_app(node), port=0)
            running.append(server)
            nodes.append(Announcement(id=address, endpoint=f"http://127.0.0.1:{port}", model="minilm-l6",
                                      start=node.plan.start, end=node.plan.end, throughput=cost))
        act = MiniLMTokenizer()(["The research team celebrated the vaccine trial data."])
        want = RemoteSequential("minilm-l6", [nodes[0], nodes[3], nodes[4]], codec_name="fp32")
        expected = want(act["ids"], act["mask"])
        assert [c.signer for c in want.transcript] == [KEYS[0].address, spare_key.address, KEYS[2].address]
        want.close()
        # the middle hop is planned through the unsigned node (fastest), then the foreign signer
        for require, failovers in ((False, 0), (True, 2)):
            remote = RemoteSequential("minilm-l6", [nodes[0], nodes[1], nodes[2], nodes[3], nodes[4]],
                                      codec_name="fp32", require_signatures=require, timeout=5.0)
            remote.nodes[3] = Announcement(**{**nodes[3].__dict__, "throughput": 1e-3})   # the spare: slowest
            out = remote(act["ids"], act["mask"])
            assert torch.allclose(out, expected, atol=1e-6)
            assert remote.stats.failovers == failovers
            middle = remote.transcript[1]
            if require:
                assert remote.dead == {KEYS[1].address, "0x" + "11" * 20} and middle.signer == spare_key.address
                assert blame(remote.transcript) == []
            else:
                assert middle.node_id == KEYS[1].address and middle.signature is None and middle.signer is None
            remote.close()
    finally:
        for server in running:
            server.stop()


def test_a_lying_audit_member_lands_far_from_the_honest_fingerprint(servers):
    import numpy as np

    from brainnet.models import get_model
    from brainnet.protocol.simhash import hamming

    audit = get_model("shard-hop-audit")
    honest, _ = servers
    _, calls = run_route(honest, "The delivery driver carried a basket of apples.", "fp32")
    out = audit_output(audit, calls[1])
    lie = audit.perturb(out, np.random.default_rng(0))
    assert hamming(audit.fingerprint(lie, 1), audit.fingerprint(out, 1)) > audit.tolerance
