"""The shard endpoint: right answers, 4xx (never 5xx) on bad input, decoder sessions, and
the client's failover and KV-cache replay over real HTTP (servers on threads)."""
import json
import struct

import pytest
import torch
from fastapi.testclient import TestClient

from brainnet.node.api import serve_in_thread
from brainnet.shard import codec
from brainnet.shard.blocks import MiniLMTokenizer
from brainnet.shard.client import LocalSequential, RemoteSequential, discover
from brainnet.node.shard_server import ShardServer, create_app

H = torch.randn(1, 5, 384)
MASK = torch.ones(1, 5, dtype=torch.long)


@pytest.fixture(scope="module")
def minilm_server():
    return ShardServer.load("minilm-l6", 64, blocks=(5, 8))


@pytest.fixture(scope="module")
def client(minilm_server):
    return TestClient(create_app(minilm_server))


def post(client, path, body):
    return client.post(path, content=body, headers={"content-type": "application/x-brainnet-activations"})


def test_shard_call_runs_the_blocks(client, minilm_server):
    r = post(client, "/shard/minilm-l6/5:8", codec.encode({"h": H, "mask": MASK}, "fp32"))
    assert r.status_code == 200
    out = codec.decode(r.content).tensors["out"]
    assert out.shape == (1, 384) and torch.allclose(out.norm(dim=-1), torch.ones(1))
    part = codec.decode(post(client, "/shard/minilm-l6/5:6", codec.encode({"h": H, "mask": MASK}, "fp32")).content)
    assert set(part.tensors) == {"h"}                       # a sub-range; the mask is not sent back
    info = client.get("/shard/info").json()
    assert (info["model"], info["start"], info["end"], info["rank"]) == ("minilm-l6", 5, 8, None)


def _header_only(header: dict) -> bytes:
    head = json.dumps(header).encode()
    return b"BNA1" + struct.pack("<I", len(head)) + head


@pytest.mark.parametrize("path,body,status", [
    ("/shard/minilm-l6/5:8", b"garbage", 400),
    ("/shard/minilm-l6/5:8", b"", 400),
    ("/shard/minilm-l6/five:8", codec.encode({"h": H, "mask": MASK}), 400),
    ("/shard/minilm-l6/5:9", codec.encode({"h": H, "mask": MASK}), 404),
    ("/shard/minilm-l6/0:3", codec.encode({"h": H, "mask": MASK}), 404),
    ("/shard/decoder/5:8", codec.encode({"h": H, "mask": MASK}), 404),
    ("/shard/minilm-l6/5:8", codec.encode({"h": torch.randn(1, 5, 100), "mask": MASK}), 422),
    ("/shard/minilm-l6/5:8", codec.encode({"h": H}), 422),                                   # no mask
    ("/shard/minilm-l6/5:8", codec.encode({"x": H, "mask": MASK}), 422),
    ("/shard/minilm-l6/5:8", codec.encode({"h": H, "mask": torch.ones(1, 4, dtype=torch.long)}), 422),
    ("/shard/minilm-l6/5:8", codec.encode({"h": H, "mask": MASK}, meta={"codec": "int3"}), 400),
    ("/shard/minilm-l6/5:8", codec.encode({"h": H, "mask": MASK}, meta={"block": 0}), 400),
    ("/shard/minilm-l6/5:8", codec.encode({"h": H, "mask": MASK}, meta={"cache": True}), 400),
    ("/shard/minilm-l6/5:8", codec.encode({"h": H, "mask": MASK}, meta={"session": "nope", "pos": 0}), 409),
    ("/shard/minilm-l6/5:8", _header_only({"tensors": [{"name": "h", "codec": "fp32", "shape": [99999999]}]}), 400),
])
def test_bad_input_is_answered_4xx(client, path, body, status):
    r = post(client, path, body)
    assert r.status_code == status, r.text
    assert r.json()["detail"]


def test_embedding_block_rejects_bad_token_ids():
    app = TestClient(create_app(ShardServer.load("minilm-l6", 64, blocks=(0, 1))))
    ids = torch.tensor([[101, 99999, 102]])
    r = post(app, "/shard/minilm-l6/0:1", codec.encode({"ids": ids, "mask": torch.ones_like(ids)}))
    assert r.status_code == 422 and "token ids" in r.json()["detail"]
    r = post(app, "/shard/minilm-l6/0:1", codec.encode({"ids": torch.ones(1, 300, dtype=torch.long),
                                                        "mask": torch.ones(1, 300, dtype=torch.long)}))
    assert r.status_code == 422


DECODER_NODES: list = []
_LOCAL: list = []


def local_decoder() -> LocalSequential:
    if not _LOCAL:
        torch.set_num_threads(1)
        _LOCAL.append(LocalSequential("decoder"))
    return _LOCAL[0]


@pytest.fixture(scope="module")
def decoder_servers():
    """Decoder blocks 0:26 over four servers, with a spare for 8:16, each on a uvicorn thread."""
    servers, eps, nodes = [], [], []
    for blocks in [(0, 8), (8, 16), (8, 16), (16, 26)]:
        node = ShardServer.load("decoder", 64, blocks=blocks)
        node.throughput = 1000.0
        server, port = serve_in_thread(create_app(node), port=0)
        servers.append(server)
        nodes.append(node)
        eps.append(f"http://127.0.0.1:{port}")
    DECODER_NODES[:] = nodes
    yield servers, eps
    for s in servers:
        s.stop()


def test_decoder_sessions_and_409_when_out_of_step(decoder_servers):
    _, eps = decoder_servers
    app = TestClient(create_app(ShardServer.load("decoder", 64, blocks=(0, 2))))
    first = codec.decode(post(app, "/shard/decoder/0:2", codec.encode({"ids": torch.tensor([[1, 2, 3]])},
                                                                       meta={"cache": True})).content)
    sid = first.meta["session"]
    assert first.meta["pos"] == 3 and first.tensors["h"].shape == (1, 3, 256)
    ok = post(app, "/shard/decoder/0:2", codec.encode({"ids": torch.tensor([[4]])}, meta={"session": sid, "pos": 3}))
    assert ok.status_code == 200 and codec.decode(ok.content).meta["pos"] == 4
    stale = post(app, "/shard/decoder/0:2", codec.encode({"ids": torch.tensor([[4]])}, meta={"session": sid, "pos": 3}))
    assert stale.status_code == 409
    other_range = post(app, "/shard/decoder/0:1", codec.encode({"ids": torch.tensor([[4]])},
                                                               meta={"session": sid, "pos": 4}))
    assert other_range.status_code == 409


def test_expired_sessions_are_rebuilt_from_the_prefix(decoder_servers):
    _, eps = decoder_servers
    remote = RemoteSequential("decoder", discover(eps), codec_name="fp32", timeout=5.0)
    prompt = torch.tensor([[7, 8, 9]])
    expected = local_decoder().generate(prompt, 8, kv=True)
    original = remote._kv_step
    calls = {"n": 0}

    def kv_step(state, hop, act):
        calls["n"] += 1
        if calls["n"] == 4 * len(remote.route()):          # at the 4th step every node forgets every session
            for node in DECODER_NODES:
                node.sessions.clear()
        return original(state, hop, act)

    remote._kv_step = kv_step
    assert torch.equal(remote.generate(prompt, 8, kv=True), expected)
    assert not remote.dead
    remote.close()


def test_remote_decoder_with_kv_equals_local_and_survives_a_node_dying(decoder_servers):
    servers, eps = decoder_servers
    nodes = discover(eps)
    prompt = torch.tensor([[11, 12, 13, 14]])
    expected = local_decoder().generate(prompt, 12, kv=True)
    remote = RemoteSequential("decoder", nodes, codec_name="fp32", timeout=5.0)
    assert torch.equal(remote.generate(prompt, 12, kv=True), expected)
    assert torch.equal(remote.generate(prompt, 6, kv=False), expected[:, :10])

    # stop the node serving blocks 8:16 at the 6th step: the spare takes over, given the prefix
    original = remote._kv_step
    steps = {"n": 0}
    killed = []

    def kv_step(state, hop, act):
        if hop.start == 8:
            steps["n"] += 1
            if steps["n"] == 6:
                killed.append(hop.endpoint)
                servers[eps.index(hop.endpoint)].stop()   # the node is gone: connections refused from now on
        return original(state, hop, act)

    remote._kv_step = kv_step
    out = remote.generate(prompt, 12, kv=True)
    assert torch.equal(out, expected)
    assert killed and killed[0] in remote.dead
    remote.close()


def test_remote_minilm_equals_local_within_the_codec_bound():
    nodes, servers = [], []
    for blocks in [(0, 3), (3, 8)]:
        node = ShardServer.load("minilm-l6", 64, blocks=blocks)
        server, port = serve_in_thread(create_app(node), port=0)
        servers.append(server)
        nodes.append(f"http://127.0.0.1:{port}")
    try:
        act = MiniLMTokenizer()(["A jar of honey was surprisingly cheap.", "The pilot lost the chess trophy."])
        local = LocalSequential("minilm-l6")(act["ids"], act["mask"])
        for name, tol in [("fp32", 1e-6), ("fp16", 1e-3), ("int8", 2e-2)]:
            out = RemoteSequential("minilm-l6", discover(nodes), codec_name=name)(act["ids"], act["mask"])
            assert (out - local).abs().max() <= tol
            assert torch.nn.functional.cosine_similarity(out, local).min() >= 0.999
    finally:
        for s in servers:
            s.stop()


from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_specs = st.fixed_dictionaries({
    "name": st.sampled_from(["h", "mask", "ids", "x"]),
    "codec": st.sampled_from(["fp32", "fp16", "int8", "i32", "bad"]),
    "shape": st.lists(st.integers(-1, 6), max_size=4),
}, optional={"block": st.integers(-1, 70)})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(_specs, max_size=3), body=st.binary(max_size=600),
       meta=st.dictionaries(st.sampled_from(["codec", "block", "cache", "session", "pos"]),
                            st.one_of(st.integers(-2, 70), st.text(max_size=5), st.booleans(), st.none()), max_size=3))
def test_random_messages_never_get_a_5xx(client, specs, body, meta):
    head = json.dumps({**meta, "tensors": specs}).encode()
    r = post(client, "/shard/minilm-l6/5:8", b"BNA1" + struct.pack("<I", len(head)) + head + body)
    assert r.status_code < 500, r.text
