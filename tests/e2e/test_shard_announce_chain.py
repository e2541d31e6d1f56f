"""Shard announcements through the Python chain bindings on the embedded chain: nodes declare
the shard capability, announce their block ranges, and a client reads them back into the
route planner's input and plans a route over them."""
from __future__ import annotations

import hashlib

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
                        {MODEL: (hashlib.sha256(b"weights").digest(), 7)})
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
    yield contracts, actors
    backend.close()


def test_announce_and_read_back_into_the_planner(chain):
    contracts, actors = chain
    mid = contracts.deployment.model_id(MODEL)
    with pytest.raises(ContractRevert, match="registry: declare the shard capability first"):
        actors[0].announce_shard(mid, 0, 4, 512, 1000.0, "http://127.0.0.1:9000")
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
