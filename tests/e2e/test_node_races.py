"""Draws and finalizes are anyone's to send, and the first mined wins. So that 7 nodes do not
all send them (and 6 revert), the node first in line for a task (lowest keccak(task id,
level, address)) goes first and the others wait `race_grace_s`; when the first in line is
down, the others take over after that wait. On a live network on the embedded chain."""
from __future__ import annotations

import time

import pytest

from brainnet.node.daemon import Behaviour
from brainnet.protocol import keccak
from brainnet.protocol.commitment import abi_encode
from brainnet.sim.local import LocalNetwork, NetworkConfig


def _first_in_line(task_id: int, addresses: list[str]) -> str:
    return min(addresses, key=lambda a: keccak(abi_encode(task_id, 0) + bytes.fromhex(a[2:])))


@pytest.fixture(params=[False, True], ids=["one-by-one", "batched"])
def net(request):
    config = NetworkConfig(nodes=7, committee=3, quorum=2, faulty=0, batch=request.param)
    with LocalNetwork(config) as network:
        for n in network.nodes:
            n.daemon.race_grace_s = 0.3
        yield network


def _draws(net, first: int) -> list:
    c = net.contracts
    return [e for e in c.events(first, c.block_number()) if e.name == "CommitteeDrawn"]


def test_only_the_first_in_line_draws(net):
    c = net.contracts
    sub = net.client.submit(net.config.model, net.runtime.sample_inputs(1, seed=3)[0], net.config.fee)
    net.backend.mine(2)                                   # past the seed block
    first = c.block_number()
    net.step()
    drawn = _draws(net, first)
    assert len(drawn) == 1 and drawn[0].args["task_id"] == sub.task_id
    leader = _first_in_line(sub.task_id, [n.account.address for n in net.nodes])
    sender = c.w3.eth.get_transaction(drawn[0].tx_hash)["from"]
    assert sender == leader
    assert all(n.daemon.stats.errors == 0 for n in net.nodes)        # nobody raced and reverted


def test_the_others_take_over_when_the_first_is_down(net):
    c = net.contracts
    sub = net.client.submit(net.config.model, net.runtime.sample_inputs(1, seed=4)[0], net.config.fee)
    leader = _first_in_line(sub.task_id, [n.account.address for n in net.nodes])
    down = next(n for n in net.nodes if n.account.address == leader)
    down.daemon.behaviour = Behaviour.OFFLINE
    net.backend.mine(2)
    first = c.block_number()
    net.step()
    assert _draws(net, first) == []                       # the others wait for it
    time.sleep(0.35)
    net.step()
    drawn = _draws(net, first)
    assert [e.args["task_id"] for e in drawn] == [sub.task_id]
    assert c.w3.eth.get_transaction(drawn[0].tx_hash)["from"] != leader
