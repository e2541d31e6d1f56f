"""The whole network in one process on the embedded chain, checked end to end:
7 nodes, one of them lying, 20 tasks on the real digits model, every one settled by
committee commit-reveal; the liar is slashed, honest nodes are paid, and every wei the
requester spent is accounted for."""
from __future__ import annotations

import pytest

from brainnet.chain import TOKEN, Status
from brainnet.node.daemon import Behaviour
from brainnet.protocol import decide
from brainnet.sim.local import LocalNetwork, NetworkConfig, run_demo

REQUESTER_FUNDS = 1_000_000 * TOKEN


@pytest.fixture(scope="module")
def demo():
    config = NetworkConfig(nodes=7, committee=5, quorum=3, faulty=1)
    with LocalNetwork(config) as net:
        report = run_demo(config, tasks=20, network=net)
        yield net, report


def test_every_task_settles_with_the_trusted_label(demo):
    net, report = demo
    assert report.tasks_requested == 20
    assert report.tasks_settled == 20
    assert report.tasks_refunded == 0
    assert report.wrong_accepted == 0
    assert all(t["correct"] for t in report.tasks)


def test_the_liar_is_slashed_and_honest_nodes_are_not(demo):
    net, report = demo
    assert report.faulty_slashed == 1
    assert report.honest_slashed == 0
    liar = next(n for n in net.nodes if n.behaviour is Behaviour.WRONG)
    view = net.contracts.node(liar.account.address)
    assert view.slashes >= 1
    assert view.stake < liar.stake
    for n in net.nodes:
        if n.behaviour is Behaviour.HONEST:
            assert net.contracts.node(n.account.address).stake == n.stake


def test_payments_are_exact_to_the_wei(demo):
    net, report = demo
    c = net.contracts
    paid_to = {n.account.address: 0 for n in net.nodes}
    spent = 0
    for task_id in range(1, c.task_count() + 1):
        task = c.task(task_id)
        assert task.status == Status.SETTLED
        members = c.committee(task_id)
        reveals = [(m, r) for m in members if (r := c.revealed_result(task_id, m)) is not None]
        # the mirror's verdict equals the contract's
        outcome = decide(members, reveals, net.deployment.params.quorum, task.fee)
        assert outcome.settled and outcome.result == task.result
        for m in outcome.agreeing:
            paid_to[m] += outcome.share
        spent += task.fee - outcome.refund
    assert c.balance(net.requester.address) == REQUESTER_FUNDS - spent
    for n in net.nodes:
        # the demo claimed everything, so a node's balance is exactly what it earned
        assert c.claimable(n.account.address) == 0
        assert c.balance(n.account.address) == paid_to[n.account.address]
        if n.behaviour is Behaviour.HONEST and n.daemon.stats.revealed:
            assert paid_to[n.account.address] > 0
    liar = next(n for n in net.nodes if n.behaviour is Behaviour.WRONG)
    assert paid_to[liar.account.address] == 0


def test_summary_has_the_documented_keys(demo):
    _, report = demo
    summary = report.summary()
    for key in ("chain", "nodes", "committee", "quorum", "tasks_requested", "tasks_settled", "tasks_refunded",
                "wrong_accepted", "faulty_slashed", "honest_slashed", "median_latency_blocks", "tasks_per_s",
                "gas_per_task"):
        assert key in summary
    assert summary["chain"] == "embedded" and summary["nodes"] == 7
    assert summary["gas_per_task"] > 0 and summary["median_latency_blocks"] > 0
