"""Every way a node can fail, on the real stack: colluders, lazy copiers and late nodes are
slashed, no wrong result is accepted, honest nodes keep their stake."""
from __future__ import annotations

from dataclasses import replace

from brainnet.chain import Status
from brainnet.node.daemon import Behaviour
from brainnet.sim.local import LocalNetwork, NetworkConfig, run_demo


def test_colluding_lazy_and_late_nodes_lose_and_honest_nodes_win():
    config = NetworkConfig(nodes=9, committee=5, quorum=3, faulty=0, max_in_flight=6)
    with LocalNetwork(config) as net:
        # four nodes misbehave: two collude, one is lazy, one is late
        for node, behaviour in zip(net.nodes[-4:], (Behaviour.COLLUDING, Behaviour.COLLUDING,
                                                     Behaviour.LAZY, Behaviour.LATE)):
            node.behaviour = node.daemon.behaviour = behaviour
        report = run_demo(replace(config, faulty=4), tasks=6, network=net)
        c = net.contracts
        assert report.wrong_accepted == 0
        assert report.tasks_settled + report.tasks_refunded == 6
        assert report.honest_slashed == 0
        settled = [t for t in range(1, 7) if c.task(t).status == Status.SETTLED]
        assert settled
        for node in net.nodes[-4:]:
            address = node.account.address
            sat_on = [t for t in range(1, 7) if address in c.members(t)]
            if node.behaviour is Behaviour.COLLUDING:
                # a colluder that revealed in a settled task dissented from it
                if any(c.revealed_result(t, address) is not None for t in settled):
                    assert c.node(address).slashes >= 1
            elif sat_on:
                # lazy and late members never reveal: no-shows are slashed settled or refunded
                assert all(c.revealed_result(t, address) is None for t in sat_on)
                assert c.node(address).slashes >= 1, node.behaviour
