"""The node daemon's two modes on the embedded chain, side by side: `batch=False` (one
transaction per task and action) and `batch=True` (draw_many, commit_many with a Merkle root,
reveal_many with proofs, finalize_many). Both settle every task with the trusted label and
slash the liar; the batched nodes send fewer transactions for the same work. After a
governance vote changes K, batches are still sized by each task's own K (read from the chain),
and tasks of both sizes share one batch."""
from __future__ import annotations

from collections import Counter

import pytest

from brainnet.chain.params import lookup
from brainnet.sim.local import LocalNetwork, NetworkConfig, run_demo


def _run(batch: bool):
    config = NetworkConfig(nodes=6, committee=3, quorum=2, faulty=1, batch=batch, max_in_flight=8)
    with LocalNetwork(config) as net:
        report = run_demo(config, tasks=8, network=net)
        sent = {n.name: (n.daemon.stats.committed, n.daemon.stats.revealed) for n in net.nodes}
        txs = sum(net.backend.w3.eth.get_transaction_count(n.account.address) for n in net.nodes)
        return report, sent, txs


@pytest.fixture(scope="module")
def both():
    return {mode: _run(mode) for mode in (False, True)}


@pytest.mark.parametrize("batch", [False, True])
def test_every_task_settles_in_both_modes(both, batch):
    report, _sent, _txs = both[batch]
    assert report.tasks_settled == 8 and report.tasks_refunded == 0 and report.wrong_accepted == 0
    assert report.faulty_slashed == 1 and report.honest_slashed == 0


def test_batched_nodes_send_fewer_transactions(both):
    (_r0, sent0, txs0), (_r1, sent1, txs1) = both[False], both[True]
    # the same commitments and reveals were made...
    assert sum(s[0] for s in sent0.values()) == sum(s[0] for s in sent1.values())
    assert sum(s[1] for s in sent0.values()) == sum(s[1] for s in sent1.values())
    # ... in fewer transactions
    assert txs1 < txs0


def test_batches_follow_each_task_s_committee_size_after_a_vote_changes_k():
    config = NetworkConfig(nodes=7, committee=3, quorum=2, faulty=0, batch=True, max_in_flight=4,
                           params={"voting_period": 5, "timelock_blocks": 2, "grace_blocks": 100})
    with LocalNetwork(config) as net:
        c = net.contracts
        inputs = net.runtime.sample_inputs(4, seed=5)
        before = net.client.submit(config.model, inputs[0], config.fee)       # requested under K = 3
        boss = c.as_(net.backend.funder)                                        # the genesis holder
        net.backend.mine(1)
        pid, _ = boss.propose(c.inference.address, lookup("inference.committee_size").param_id, 5)
        boss.vote(pid, True)
        net.backend.mine(c.governance.functions.proposals(pid).call()[6] - c.block_number())
        boss.execute(pid)
        assert c.inference.functions.committee_size().call() == 5
        assert c.deployment.params.committee_size == 3                          # deployment.json is now stale
        after = [net.client.submit(config.model, x, config.fee) for x in inputs[1:]]   # K = 5
        net.backend.mine(2)                                                     # past the seed blocks
        first = c.block_number()
        net.step()                    # the first node draws all four tasks in one draw_many
        daemon = net.nodes[-1].daemon
        assert {tid: daemon._level_size(task, 0) for tid, task in daemon.tasks.items()} == \
            {before.task_id: 3, **{s.task_id: 5 for s in after}}
        for sub in (before, *after):
            net.client.wait(sub, timeout_s=240)
        assert [len(c.committee(s.task_id)) for s in (before, *after)] == [3, 5, 5, 5]
        per_tx = Counter((e.name, e.tx_hash) for e in c.events(first, c.block_number()))
        assert max(n for (name, _), n in per_tx.items() if name == "CommitteeDrawn") == 4   # K = 3 and K = 5 together
        # 3 x 5 + 3 seats on 7 nodes: some node sits on three tasks and commits them in one commit_many
        assert max(len(e.args["seats"]) for e in c.events(first, c.block_number()) if e.name == "CommitBatch") >= 3
        assert all(n.daemon.stats.errors == 0 for n in net.nodes), [n.daemon.stats.last_error for n in net.nodes]
