"""The README's benchmark tables are what `brainnet bench readme` renders from the committed
bench/results/*.json: never typed by hand, never stale."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from brainnet.bench.readme import END, START, readme_block, render, update_readme
from brainnet.cli.main import app
from brainnet.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "results"


def test_readme_tables_match_committed_results():
    block = readme_block((REPO / "README.md").read_text())
    assert block == render(RESULTS), "README tables are stale: run `brainnet bench readme` and commit README.md"


def test_readme_command_rewrites_only_the_block(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    shutil.copy(RESULTS / "pipeline.json", results / "pipeline.json")
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nbefore\n\n{START}\nold hand-typed table\n{END}\n\nafter\n")
    runner = CliRunner()
    result = runner.invoke(app, ["bench", "readme", "--results", str(results), "--readme", str(readme), "--check"])
    assert result.exit_code != 0                      # stale until rendered
    result = runner.invoke(app, ["bench", "readme", "--results", str(results), "--readme", str(readme)])
    assert result.exit_code == 0, result.output
    text = readme.read_text()
    assert text.startswith("# title\n\nbefore\n\n") and text.endswith(f"{END}\n\nafter\n")
    assert "old hand-typed" not in text and "454.40" in text
    assert "Not measured yet: run `brainnet bench gas`" in text and "run `brainnet bench e2e`" in text
    assert not update_readme(readme, results)          # idempotent
    result = runner.invoke(app, ["bench", "readme", "--results", str(results), "--readme", str(readme), "--check"])
    assert result.exit_code == 0, result.output


def test_e2e_table_renders_every_run(tmp_path):
    metrics = {"tasks_per_s": 1.5, "txs_per_task": 13.0, "efficiency": 0.01, "latency_blocks": {"median": 6, "p95": 9},
               "latency_s": {"median": 2.0, "p95": 3.5}, "two_phase_over_single_phase": 0.02, "settled": 4, "tasks": 4,
               "gas_per_task": 900_000, "efficiency_gas_bound": 0.9}
    report = {"config": {"nodes": 21, "clients": 4, "tasks": 4}, "headline": {"mode": "automine", "k": 5},
              "tasks_per_s": 1.5, "efficiency": 0.01, "two_phase_over_single_phase": 0.02, "transfer_gas": 63_000,
              "per_mode": {"automine": {"ceiling_tx_per_s": 1800.0, "single_phase_tasks_per_s": 75.0,
                                        "k5": {"unbatched": metrics, "batched": None}}},
              "runs": {"automine": {"single_phase": {"latency_s": {"median": 0.05, "p95": 0.08}}}},
              "notes": {"batched": "no batching yet"}, "plots": ["e2e_latency.png"]}
    (tmp_path / "e2e.json").write_text(json.dumps(report))
    text = render(tmp_path)
    assert "| automine | two-phase K = 5, unbatched | 4/4 | 1.5 | 13 | 0.01 | 900,000 | 0.9 | 6 / 9 | 2 / 3.5 | 0.02 |" in text
    assert "a ceiling transfer costs 63,000 gas" in text
    assert "| automine | two-phase K = 5, batched | not run |" in text
    assert "1,800 tx/s" in text and "![e2e_latency](bench/results/e2e_latency.png)" in text


def test_missing_markers_say_what_to_do():
    with pytest.raises(ConfigError, match="markers"):
        readme_block("# no markers here\n")


def test_gas_table_shows_training_and_governance_rows(tmp_path):
    row = {"mean": 100, "max": 120, "n": 1, "chain": "anvil"}
    report = {"per_op": {"commit": {**row, "brain": 45_700, "ratio_to_brain": 0.002}, "training_commit_update": row,
                         "governance_vote": row, "training_round": {**row, "mean": 4_800_000, "max": 4_900_000}},
              "per_task": {"k5": {"unbatched": {"mean": 900_000}, "batched": None},
                           "training_round": {"mean": 4_800_000, "max": 4_900_000, "shape": {"trainers": 5, "committee": 3},
                                              "what": "one round"},
                           "governance_proposal": {"mean": 770_000, "max": 780_000, "shape": {"voters": 4},
                                                   "what": "one change"}},
              "notes": {"primary_chain": "anvil"}}
    (tmp_path / "gas.json").write_text(json.dumps(report))
    text = render(tmp_path)
    assert "| training_commit_update | 100 | 120 |" in text and "| governance_vote | 100 | 120 |" in text
    assert "| training round | 4,800,000 | 4,900,000 | trainers 5, committee 3 | one round |" in text
    assert "| governance proposal | 770,000 | 780,000 | voters 4 | one change |" in text
    assert "| K = 5 | 900,000 | — |" in text and "raining" not in text.split("Per settled task")[1].split("Per training")[0]
