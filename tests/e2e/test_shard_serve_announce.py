"""`brainnet shard serve --deployment --key`: the node announces the range its memory chose,
with its measured throughput and endpoint, in the Registry (embedded chain), and a client
planning over the Registry's announcements reaches it."""
from __future__ import annotations

import hashlib

from brainnet.chain import TOKEN, Contracts, DeployParams, deploy, open_backend
from brainnet.node.keys import load_key, new_key
from brainnet.protocol import keccak
from brainnet.node.shard_server import ShardServer


def test_serve_announces_its_blocks_in_the_registry(tmp_path, monkeypatch):
    import brainnet.chain
    from brainnet.cli.shard import _announce

    backend = open_backend("embedded")
    try:
        deployment = deploy(backend, DeployParams(committee_size=3, quorum=2),
                            {"minilm-l6": (hashlib.sha256(b"weights").digest(), 7)})
        contracts = Contracts(backend, deployment)
        boss = contracts.as_(backend.funder)
        key = tmp_path / "node.json"
        address = new_key(key, "pw", iterations=2)
        account = load_key(key, "pw")
        boss.signer.transfer_eth(address, 10**20)
        boss.transfer(address, 200 * TOKEN)
        actor = contracts.as_(account)
        actor.approve(deployment.addresses["Registry"], 200 * TOKEN)
        actor.register(200 * TOKEN, "http://127.0.0.1:7200", keccak(b"pk"), [deployment.model_id("minilm-l6")])

        node = ShardServer.load("minilm-l6", 10, start=6)                  # 10 MiB: blocks 6:8
        node.measure_throughput(tokens=4, repeats=1)
        path = tmp_path / "deployment.json"
        deployment.chain = "rpc:http://127.0.0.1:1"                        # as a real network's file says
        deployment.save(path)
        deployment.chain = "embedded"
        monkeypatch.setattr(brainnet.chain, "open_backend", lambda spec: backend)
        _announce(path, key, "pw", node, "http://127.0.0.1:7301")

        shards = contracts.shards(deployment.model_id("minilm-l6"))
        assert [(s.node, s.start, s.end, s.endpoint) for s in shards] == [(address, 6, 8, "http://127.0.0.1:7301")]
        assert shards[0].memory_mb == 10 and shards[0].throughput == max(1, round(node.throughput))
        planned = contracts.shard_announcements(deployment.model_id("minilm-l6"), "minilm-l6")
        assert [(a.endpoint, a.start, a.end) for a in planned] == [("http://127.0.0.1:7301", 6, 8)]
    finally:
        backend.close()
