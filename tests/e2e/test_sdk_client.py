"""The SDK client against a live in-process network on the embedded chain: inputs are
uploaded to nodes chosen by the input's hash (so they spread over the network), a node
that stopped serving is skipped, the Inference allowance is read once and then tracked,
and a submitted task settles with the right output."""
from __future__ import annotations

import hashlib

import pytest

from brainnet.sim.local import LocalNetwork, NetworkConfig


@pytest.fixture(scope="module")
def net():
    config = NetworkConfig(nodes=5, committee=3, quorum=2, faulty=0)
    with LocalNetwork(config) as network:
        yield network


def _expected(net, data: bytes, copies: int = 3) -> list[str]:
    order = net.client._serving(net.model_id)
    assert sorted(order) == sorted(n.endpoint for n in net.nodes)
    first = int(hashlib.sha256(data).hexdigest(), 16) % len(order)
    return (order[first:] + order[:first])[:copies]


def test_uploads_spread_by_input_hash(net):
    inputs = [bytes([i]) * 64 for i in range(8)]
    chosen = [net.client.upload(x, net.model_id) for x in inputs]
    assert all(len(c) == 3 for c in chosen)
    assert chosen == [_expected(net, x) for x in inputs]
    assert len({c[0] for c in chosen}) > 1           # not every input lands on the same first node
    for x, urls in zip(inputs, chosen):               # each chosen node really holds the blob
        sha = hashlib.sha256(x).hexdigest()
        assert all(net.client.http.get(f"{u}/blobs/{sha}").content == x for u in urls)


def test_allowance_is_read_once_then_tracked(net):
    calls = []
    fn = net.contracts.token.functions.allowance
    net.contracts.token.functions.allowance = lambda *a: (calls.append(a), fn(*a))[1]
    try:
        subs = [net.client.submit(net.config.model, x) for x in net.runtime.sample_inputs(3, seed=1)]
    finally:
        net.contracts.token.functions.allowance = fn
    assert len({s.task_id for s in subs}) == 3
    assert len(calls) <= 1
    result = net.client.wait(subs[0], timeout_s=120)
    assert result.task_id == subs[0].task_id and result.agreeing


def test_a_deposit_pays_the_fees_of_later_submits(net):
    c, client = net.contracts, net.client
    fee = 10**18
    client.deposit(3 * fee)
    before = (c.balance(client.address), c.claimable(client.address))
    subs = [client.submit(net.config.model, x, fee=fee) for x in net.runtime.sample_inputs(2, seed=7)]
    assert c.balance(client.address) == before[0]                 # no transfer per request
    assert c.claimable(client.address) == before[1] - 2 * fee     # the deposit paid both (nothing settles
                                                                  # before the client pumps the network)
    result = client.wait(subs[0], timeout_s=120)
    assert result.task_id == subs[0].task_id and result.agreeing


def test_submit_many_is_one_request_for_several_tasks(net):
    c, client = net.contracts, net.client
    fee = 10**18
    inputs = net.runtime.sample_inputs(3, seed=11)
    before = c.task_count()
    subs = client.submit_many(net.config.model, inputs, fee=fee)
    assert [s.task_id for s in subs] == [before + 1, before + 2, before + 3]
    assert len({s.tx_hashes["request"] for s in subs}) == 1          # one transaction
    assert [s.input_hash for s in subs] == [hashlib.sha256(x).hexdigest() for x in inputs]
    single = client.submit(net.config.model, inputs[0], fee=fee)
    assert subs[0].gas_used < single.gas_used                         # each task's share of the batch
    for sub in subs:
        result = client.wait(sub, timeout_s=120)
        assert result.task_id == sub.task_id and result.agreeing


def test_submit_many_rejects_an_empty_or_oversized_batch(net):
    from brainnet.errors import ConfigError

    with pytest.raises(ConfigError, match="at least one input"):
        net.client.submit_many(net.config.model, [])
    with pytest.raises(ConfigError, match="at most 64"):
        net.client.submit_many(net.config.model, [b"x"] * 65)


def test_a_stopped_node_is_skipped(net):
    data = b"skip the dead node" * 4
    victim = _expected(net, data)[0]
    node = next(n for n in net.nodes if n.endpoint == victim)
    node.server.stop()
    urls = net.client.upload(data, net.model_id)       # (last test: the node stays down)
    assert victim not in urls and len(urls) == 3
