"""Committee security on the real stack (embedded chain, node daemons, SDK):
- lying members split a committee, the task escalates to a fresh, larger committee drawn
  without them, and the liars are slashed while no wrong result is ever accepted;
- a float model in `near` mode: honest nodes agree on SimHash fingerprints although their
  embeddings are floats, and a node revealing a noisy embedding is a dissenter."""
from __future__ import annotations

import pytest

from brainnet.chain import Status
from brainnet.node.daemon import Behaviour
from brainnet.sim.local import LocalNetwork, NetworkConfig, run_demo


@pytest.fixture(scope="module")
def escalating():
    # 12 nodes, K=3, Q=2, two levels (3 then 7 members): a liar on level 0 splits it
    config = NetworkConfig(nodes=12, committee=3, quorum=2, faulty=2, params={"max_levels": 2})
    with LocalNetwork(config) as net:
        yield net, run_demo(config, tasks=8, network=net)


def test_split_committees_escalate_and_no_wrong_result_is_accepted(escalating):
    net, report = escalating
    assert report.tasks_settled == 8 and report.wrong_accepted == 0
    levels = [t["level"] for t in report.tasks]
    assert max(levels) == 1, "some task should have met a liar at level 0 and escalated"
    c = net.contracts
    for task_id in range(1, c.task_count() + 1):
        task = c.task(task_id)
        assert task.status == Status.SETTLED
        members = c.members(task_id)
        assert len(members) == len(set(members)) == (3 if task.level == 0 else 3 + 7)


def test_liars_are_slashed_honest_nodes_are_not(escalating):
    net, report = escalating
    assert report.honest_slashed == 0
    liars = [n for n in net.nodes if n.behaviour is Behaviour.WRONG]
    sat = [n for n in liars if n.daemon.stats.committed]
    assert sat and all(net.contracts.node(n.account.address).slashes >= 1 for n in sat)


def test_near_mode_settles_float_outputs_and_slashes_the_noisy_node():
    config = NetworkConfig(nodes=6, committee=5, quorum=3, faulty=1, model="minilm-l6")
    with LocalNetwork(config) as net:
        report = run_demo(config, tasks=4, network=net)
        assert report.tasks_settled == 4 and report.wrong_accepted == 0
        assert report.honest_slashed == 0 and report.faulty_slashed == 1
        mode, tolerance = net.contracts.model_agreement(net.model_id)
        assert mode == 1 and 0 < tolerance < 128
        blob = net.runtime.encode_input("a committee agrees on floats")
        result = net.client.infer("minilm-l6", blob)
        local = net.runtime.run(blob)
        assert result.value.shape == (384,)
        assert float(result.value @ local) > 0.99       # unit vectors: cosine similarity
