"""The node daemon's two modes on the embedded chain, side by side: `batch=False` (one
transaction per task and action) and `batch=True` (draw_many, commit_many with a Merkle root,
reveal_many with proofs, finalize_many). Both settle every task with the trusted label and
slash the liar; the batched nodes send fewer transactions for the same work."""
from __future__ import annotations

import pytest

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
