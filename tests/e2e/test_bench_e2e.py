"""`brainnet bench e2e` on a tiny network (anvil automine, 3 node processes, K = 3, 2 tasks,
2 clients) writes well-formed JSON and its plots. It checks shapes and counts, never timings.
Run alone with `pytest -m anvil`."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from brainnet.cli.main import app

pytestmark = pytest.mark.anvil

TOP = {"ceiling_tx_per_s", "txs_per_task", "tasks_per_s", "efficiency", "latency_blocks", "latency_s",
       "single_phase_tasks_per_s", "two_phase_over_single_phase", "batched", "per_k", "per_mode", "config"}
METRICS = {"tasks_per_s", "txs_per_task", "efficiency", "latency_blocks", "latency_s",
           "single_phase_tasks_per_s", "two_phase_over_single_phase"}


def _check_metrics(m: dict) -> None:
    assert METRICS <= set(m)
    for key in ("latency_blocks", "latency_s"):
        assert set(m[key]) == {"median", "p95"} and m[key]["p95"] >= m[key]["median"] >= 0
    assert m["tasks_per_s"] > 0 and m["txs_per_task"] > 0 and m["efficiency"] > 0


def test_e2e_command_writes_report(tmp_path):
    out = tmp_path / "e2e.json"
    result = CliRunner().invoke(app, ["bench", "e2e", "--nodes", "3", "--k", "3", "--mode", "automine", "--tasks", "2",
                                      "--clients", "2", "--ceiling-txs", "64", "--phase-cap", "150",
                                      "--workdir", str(tmp_path / "work"), "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert TOP <= set(report)
    _check_metrics(report)
    assert report["ceiling_tx_per_s"] > 0 and report["single_phase_tasks_per_s"] > 0
    assert report["config"]["nodes"] == 3 and report["config"]["ks"] == [3] and report["config"]["modes"] == ["automine"]
    run = report["runs"]["automine"]["runs"]["k3"]["unbatched"]
    # every task settled with the model's own answer; a settled task took request + draw + 3 commits
    # + 3 reveals + finalize = 9 successful transactions unbatched
    assert run["settled"] == run["correct"] == 2 and run["client_errors"] == []
    assert run["txs_per_task"] == 9
    assert report["per_k"]["k3"]["unbatched"]["tasks_per_s"] == report["tasks_per_s"]
    if report["config"]["node_batch_flags"]:
        _check_metrics(report["batched"])
        assert report["runs"]["automine"]["runs"]["k3"]["batched"]["settled"] == 2
    else:
        assert report["batched"] is None
    for name in report["plots"]:
        assert (tmp_path / name).stat().st_size > 0
