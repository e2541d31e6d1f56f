"""`brainnet train --chain none` and `brainnet bench fl|pot --quick` on tiny configurations:
they run, and their JSON has the fields the issue names."""
from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import pytest


def brainnet(*args, monkeypatch=None, capsys=None):
    """Run the `brainnet` entry point in this process (as the console script does)."""
    from brainnet.cli.main import run

    monkeypatch.setattr(sys, "argv", ["brainnet", *args])
    code = 0
    try:
        run()
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)


@pytest.fixture
def cli(monkeypatch, capsys):
    return lambda *args: brainnet(*args, monkeypatch=monkeypatch, capsys=capsys)


def test_train_chain_none_tiny_run(tmp_path, cli):
    out = tmp_path / "train.json"
    proc = cli("train", "--dataset", "wine", "--clients", "6", "--byzantine", "0.34", "--attack", "sign_flip",
                    "--rounds", "2", "--strategy", "brain", "--alpha", "0.5", "--seed", "1", "--chain", "none",
                    "--json", str(out))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    report = json.loads(out.read_text())
    for key in ("final_accuracy", "clean_accuracy", "accuracy_per_round", "accepted_byzantine", "rejected_honest",
                "rounds", "gas_per_round", "versions"):
        assert key in report, key
    assert report["rounds"] == 2 and len(report["accuracy_per_round"]) == 2
    assert len(report["versions"]) == 3 and report["gas_per_round"] == []
    assert 0.0 <= report["final_accuracy"] <= 1.0


def test_train_bad_flag_prints_cause_not_traceback(cli):
    proc = cli("train", "--dataset", "mnist", "--rounds", "1")
    assert proc.returncode == 1
    assert "digits" in proc.stderr and "Traceback" not in proc.stderr


def test_bench_fl_quick(tmp_path, cli):
    out = tmp_path / "fl.json"
    proc = cli("bench", "fl", "--quick", "--json", str(out))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    report = json.loads(out.read_text())
    assert report["clean"] and {"dataset", "final_accuracy"} <= set(report["clean"][0])
    sources = {r["source"] for r in report["rows"]}
    assert sources == {"brainnet", "flower"}
    for row in report["rows"]:
        assert {"dataset", "attack", "byzantine", "strategy", "source", "final_accuracy"} <= set(row)
    assert report["checks"] and "pass" in report["checks"][0] and report["note"]
    assert out.with_suffix(".png").stat().st_size > 1000


def test_bench_pot_quick(tmp_path, cli):
    out = tmp_path / "pot.json"
    proc = cli("bench", "pot", "--quick", "--json", str(out))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    report = json.loads(out.read_text())
    for key in ("detection_rate", "false_positive_rate", "replay_cost_ratio", "per_cheat"):
        assert key in report
    for cheat in ("skipped", "fewer_steps", "other_data", "random_weights", "copied"):
        assert {"trials", "caught"} <= set(report["per_cheat"][cheat])
    assert report["false_positive_rate"] == 0.0
