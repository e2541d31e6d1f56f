"""Sharded MiniLM over real `brainnet shard serve` processes on 127.0.0.1: the output equals
the local model's within the codec's bound, and a node killed (SIGKILL) mid-stream costs
no request: the client re-plans from the last completed block onto the spare."""
import pytest
import torch

from brainnet.bench.shard import start_nodes
from brainnet.models.minilm import sample_sentences
from brainnet.shard.blocks import MiniLMTokenizer
from brainnet.shard.client import LocalSequential, RemoteSequential, discover


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    specs = [["--model", "minilm-l6", "--blocks", b, "--memory-mb", "128", "--bench-tokens", "4"]
             for b in ("0:3", "3:6", "6:8", "3:6")]                      # the last is a spare for 3:6
    procs = start_nodes(specs, tmp_path_factory.mktemp("shard-logs"))
    yield procs
    for p in procs:
        p.stop()


@pytest.fixture(scope="module")
def local():
    torch.set_num_threads(1)
    return LocalSequential("minilm-l6")


def test_sharded_output_equals_local_within_the_codec_bound(nodes, local):
    act = MiniLMTokenizer()(sample_sentences(3, seed=5))
    expected = local(act["ids"], act["mask"])
    announced = discover([n.endpoint for n in nodes[:3]])
    assert [(a.start, a.end) for a in announced] == [(0, 3), (3, 6), (6, 8)]
    assert all(a.throughput > 0 for a in announced)
    sizes = {}
    for name, tol in [("fp32", 1e-6), ("fp16", 1e-3), ("int8", 2e-2)]:
        remote = RemoteSequential("minilm-l6", announced, codec_name=name)
        out = remote(act["ids"], act["mask"])
        assert remote.stats.hops == 3
        assert (out - expected).abs().max() <= tol
        assert torch.nn.functional.cosine_similarity(out, expected).min() >= 0.999
        sizes[name] = remote.stats.bytes
        remote.close()
    assert sizes["fp32"] > 1.9 * sizes["fp16"] > 3.4 * sizes["int8"]


def test_a_node_killed_mid_stream_costs_no_request(nodes, local):
    remote = RemoteSequential("minilm-l6", discover([n.endpoint for n in nodes]), codec_name="int8", timeout=5.0)
    assert len(remote.route()) == 3
    by_endpoint = {n.endpoint: n for n in nodes}
    killed = []
    tok = MiniLMTokenizer()
    sentences = sample_sentences(8, seed=6)
    completed = 0
    post = remote._post
    armed = {"now": False}

    def post_and_maybe_kill(hop, act, meta):          # SIGKILL the second hop's node while a request is in flight
        if armed["now"] and hop.start > 0:
            armed["now"] = False
            killed.append(hop.endpoint)
            by_endpoint[hop.endpoint].kill()
        return post(hop, act, meta)

    remote._post = post_and_maybe_kill
    for i, text in enumerate(sentences):
        x = tok([text])
        armed["now"] = i == 3
        out = remote(x["ids"], x["mask"])
        assert torch.nn.functional.cosine_similarity(out, local(x["ids"], x["mask"])).item() >= 0.999
        completed += 1
        assert remote.stats.failovers == (1 if i == 3 else 0)
    assert completed == len(sentences)
    middle = killed[0]
    assert by_endpoint[middle].proc.poll() is not None and middle in remote.dead
    after = remote.route()
    assert middle not in after.node_ids and (after.hops[1].start, after.hops[1].end) == (3, 6)
    remote.close()
