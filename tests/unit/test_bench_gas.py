"""`brainnet bench gas` on a tiny configuration writes well-formed JSON with positive gas from
real receipts. No timing thresholds."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from brainnet.cli.main import app

OPS = ("request", "commit", "reveal", "reveal_near", "draw_k5", "draw_k11", "draw_level1", "finalize_settle_k5",
       "finalize_settle_k11", "finalize_escalate", "finalize_settle_slash2", "escalation", "challenge", "register",
       "add_stake", "approve", "claim")
# training rounds, governance and emission (bench/gas_rounds.py)
ROUND_OPS = ("training_open_round", "training_commit_update", "training_draw_k3", "training_reveal_update",
             "training_commit_scores", "training_reveal_scores", "training_finalize_scores", "training_post_aggregate",
             "training_commit_confirm", "training_reveal_confirm", "training_finalize_aggregate", "training_challenge",
             "training_challenge_vote", "training_resolve_challenge", "training_claim", "governance_propose",
             "governance_vote", "governance_execute", "governance_cancel", "token_transfer_checkpoint",
             "emission_claim_close", "training_round", "governance", "datamarket_add_data",
             "datamarket_add_data_update", "datamarket_refund", "datamarket_report", "datamarket_take")


def test_gas_command_writes_report(tmp_path):
    out = tmp_path / "gas.json"
    result = CliRunner().invoke(app, ["bench", "gas", "--tasks", "1", "--chain", "embedded", "--batch-tasks", "3",
                                      "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert {"per_op", "per_task", "brain_reference"} <= set(report)
    for op in OPS + ROUND_OPS:
        row = report["per_op"][op]
        assert row["mean"] > 0 and row["max"] >= row["mean"] and row["n"] >= 1, op
        assert row["chain"] == "embedded" and row["by_chain"]["embedded"]["mean"] == row["mean"]
        assert row["note"], op
    # a training round and a parameter change are the sums of their parts, with their shape
    rnd = report["per_task"]["training_round"]
    assert rnd["n"] == 1 and rnd["shape"] == {"trainers": 5, "committee": 3, "nodes": 8, "rejected_updates": 1}
    parts = rnd["breakdown_mean"]["embedded"]
    assert sum(parts.values()) == rnd["mean"] == report["per_op"]["training_round"]["mean"]
    assert abs(parts["commit_update"] - report["per_op"]["training_commit_update"]["mean"] * 5) <= 5
    assert parts["draw"] == report["per_op"]["training_draw_k3"]["mean"]
    gov = report["per_task"]["governance_proposal"]
    assert set(gov["breakdown_mean"]["embedded"]) == {"propose", "vote", "execute"} and gov["shape"]["voters"] == 4
    assert sum(gov["breakdown_mean"]["embedded"].values()) == gov["mean"] == report["per_op"]["governance"]["mean"]
    assert report["per_op"]["governance_vote"]["n"] == 4 and report["per_op"]["governance_cancel"]["n"] == 1
    for key in ("k5", "k11"):
        task = report["per_task"][key]
        assert task["unbatched"]["mean"] > 0 and task["unbatched"]["n"] == 1
        b = task["batched"]
        assert b["mean"] > 0 and b["n"] == 1 and b["shape"]["embedded"]["tasks_in_flight"] == 3
        # the batched per-task figure is the sum of its parts (each a share of its batch txs)
        assert abs(sum(b["breakdown_mean"]["embedded"].values()) - b["mean"]) <= 5
    assert report["per_task"]["k11"]["batched"]["goal"] == 500_000
    for op in ("commit_many", "reveal_many", "draw_many_k11", "finalize_many_k11", "commit_batch_per_task",
               "reveal_batch_per_task"):
        assert report["per_op"][op]["mean"] > 0, op
    # a settled task is the sum of its parts: request + draw + K commits + K reveals + finalize
    parts = report["per_task"]["k11"]["unbatched"]["breakdown_mean"]["embedded"]
    assert sum(parts.values()) == report["per_task"]["k11"]["unbatched"]["mean"]
    brain = report["brain_reference"]
    assert brain["commit"] == 45_700 and brain["reveal"] == 47_400 and brain["ecvrf_verify"] == 1_640_000
    assert brain["ratios"]["commit"] > 0 and brain["ratios"]["ecvrf_verify"] is None
