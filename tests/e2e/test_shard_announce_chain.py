"""Shard announcements through the Python chain bindings on the embedded chain: nodes declare
the shard capability, announce their block ranges, and a client reads them back into the
route planner's input and plans a route over them."""
from __future__ import annotations

import hashlib
import json

import pytest
from eth_account import Account

from brainnet.chain import TOKEN, Contracts, DeployParams, deploy, open_backend
from brainnet.errors import ContractRevert
from brainnet.protocol import keccak
from brainnet.shard.route import Announcement, plan

CAP_INFERENCE, CAP_SHARD = 1, 4
MODEL = "minilm-l6"


@pytest.fixture(scope="module")
def chain():
    backend = open_backend("embedded")
    deployment = deploy(backend, DeployParams(committee_size=3, quorum=2),
                        {MODEL: (hashlib.sha256(b"weights").digest(), 7), "decoder": hashlib.sha256(b"decoder").digest()})
    contracts = Contracts(backend, deployment)
    boss = contracts.as_(backend.funder)
    actors = []
    for i in range(4):
        account = Account.from_key(keccak(b"shard-node %d" % i))
        boss.signer.transfer_eth(account.address, 10**20)
        boss.transfer(account.address, 200 * TOKEN)
        actor = contracts.as_(account)
        actor.approve(deployment.addresses["Registry"], 200 * TOKEN)
        actor.register(200 * TOKEN, f"http://127.0.0.1:{7100 + i}", keccak(b"pk %d" % i), [deployment.model_id(MODEL)])
        actors.append(actor)
    yield contracts, actors, backend
    backend.close()


def test_announce_and_read_back_into_the_planner(chain):
    contracts, actors, _ = chain
    mid = contracts.deployment.model_id(MODEL)
    # the binding declares the shard capability when the node has not (the contract insists on it)
    assert contracts.capabilities(actors[0].address) == CAP_INFERENCE
    actors[0].announce_shard(mid, 0, 4, 512, 1000.0, "http://127.0.0.1:9000")
    assert contracts.capabilities(actors[0].address) == CAP_INFERENCE | CAP_SHARD
    with pytest.raises(ContractRevert, match="registry: empty block range"):
        actors[0].announce_shard(mid, 4, 4, 512, 1000.0, "http://127.0.0.1:9000")
    ranges = [(0, 4), (4, 8), (0, 8), (2, 6)]
    for i, (actor, (a, b)) in enumerate(zip(actors, ranges)):
        actor.set_capabilities(CAP_INFERENCE | CAP_SHARD)
        actor.announce_shard(mid, a, b, 256 * (i + 1), 1000.4 * (i + 1), f"http://127.0.0.1:{9000 + i}")
    shards = contracts.shards(mid)
    assert [(s.node, s.start, s.end, s.memory_mb, s.throughput) for s in shards] == [
        (actor.address, a, b, 256 * (i + 1), round(1000.4 * (i + 1))) for i, (actor, (a, b)) in enumerate(zip(actors, ranges))]
    nodes = contracts.shard_announcements(mid, MODEL, pings_ms={actors[2].address: 50.0})
    assert all(isinstance(n, Announcement) and n.model == MODEL for n in nodes)
    assert nodes[2] == Announcement(actors[2].address, "http://127.0.0.1:9002", MODEL, 0, 8, 768, 3001.0, 50.0)
    route = plan(nodes, 8, tokens=16)
    assert route.start == 0 and route.end == 8 and set(route.node_ids) <= {a.address for a in actors}
    # a node that stops announcing is no longer planned over
    actors[1].withdraw_shard(mid)
    assert actors[1].address not in {n.id for n in contracts.shard_announcements(mid, MODEL)}


def test_cli_plans_over_the_registry_announcements(chain, tmp_path, monkeypatch):
    """`brainnet shard routes --deployment`: announcements read from the chain, pings measured,
    a silent node left out, the cheapest route beside greedy first-fit, as JSON."""
    import brainnet.chain
    from typer.testing import CliRunner

    from brainnet.cli.main import app
    from brainnet.node.api import create_app, serve_in_thread
    from brainnet.node.blobs import BlobStore

    contracts, actors, backend = chain
    did = contracts.deployment.model_id("decoder")
    servers = [serve_in_thread(create_app(BlobStore(tmp_path / f"s{i}"))) for i in range(3)]
    try:
        ranges = [(0, 13), (13, 26), (0, 26), (0, 26)]          # the last one's endpoint does not answer
        for i, (actor, (a, b)) in enumerate(zip(actors, ranges)):
            actor.set_capabilities(CAP_INFERENCE | CAP_SHARD)
            url = f"http://127.0.0.1:{servers[i][1]}" if i < 3 else "http://127.0.0.1:9"
            actor.announce_shard(did, a, b, 1024, 5000.0 if i < 2 else 100.0, url)
        path = tmp_path / "deployment.json"
        contracts.deployment.chain = "rpc:http://127.0.0.1:1"       # as a real network's file would say
        contracts.deployment.save(path)
        monkeypatch.setattr(brainnet.chain, "open_backend", lambda spec: backend)
        result = CliRunner().invoke(app, ["shard", "routes", "--model", "decoder", "--deployment", str(path),
                                          "--k", "2", "--json", "-"])
        assert result.exit_code == 0, result.output
        out = json.loads(result.stdout)
        assert out["nodes"] == 3 and out["blocks"] == 26 and out["unreachable"] == [actors[3].address]
        assert [h["node"] for h in out["route"]["hops"]] == [actors[0].address, actors[1].address]
        assert out["greedy_over_planner"] >= 1.0
        assert [[h["node"] for h in r["hops"]] for r in out["disjoint"]] == [
            [actors[0].address, actors[1].address], [actors[2].address]]
    finally:
        contracts.deployment.chain = "embedded"
        for server, _ in servers:
            server.stop()


def test_cli_routes_needs_one_source():
    from typer.testing import CliRunner

    from brainnet.cli.main import app

    result = CliRunner().invoke(app, ["shard", "routes"])
    assert result.exit_code != 0 and "exactly one source" in str(result.exception)
    result = CliRunner().invoke(app, ["shard", "routes", "--synthetic", "20", "--json", "-"])
    assert result.exit_code == 0 and json.loads(result.stdout)["greedy_over_planner"] > 1


def test_node_start_refuses_a_model_that_cannot_run_sharded():
    from typer.testing import CliRunner

    from brainnet.cli.main import app

    result = CliRunner().invoke(app, ["node", "start", "--deployment", "d.json", "--key", "k", "--password", "p",
                                      "--sharded", "decoder"])
    assert result.exit_code != 0 and "only minilm-l6 can run sharded" in str(result.exception)
