"""The command line as a user meets it: --help explains, the demo writes its JSON, and bad
input prints the cause and the fix, never a traceback."""
from __future__ import annotations

import json
import subprocess
import sys


def brainnet(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "brainnet.cli.main", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_help_lists_every_command():
    out = brainnet("--help")
    assert out.returncode == 0
    for command in ("demo", "deploy", "request", "account", "node", "devnet"):
        assert command in out.stdout


def test_demo_writes_json(tmp_path):
    path = tmp_path / "demo.json"
    out = brainnet("demo", "--tasks", "3", "--json", str(path))
    assert out.returncode == 0, out.stderr
    data = json.loads(path.read_text())
    assert data["tasks_requested"] == 3
    assert data["tasks_settled"] == 3
    assert data["wrong_accepted"] == 0
    assert "summary" in out.stdout


def test_bad_flags_give_the_cause_and_no_traceback():
    out = brainnet("demo", "--nodes", "3", "--committee", "5")
    assert out.returncode == 1
    assert "--committee 5 needs at least that many --nodes" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    out = brainnet("demo", "--quorum", "2")
    assert out.returncode == 1 and "majority" in out.stderr


def test_missing_files_are_explained(tmp_path):
    out = brainnet("request", "--deployment", str(tmp_path / "nope.json"), "--key", str(tmp_path / "k.json"),
                   "--password", "x", "--sample", "0")
    assert out.returncode == 1
    assert "not found" in out.stderr and "Traceback" not in out.stderr


def test_account_new_refuses_to_overwrite(tmp_path):
    key = tmp_path / "node.json"
    first = brainnet("account", "new", str(key), "--password", "pw", "--json", "-")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["address"].startswith("0x")
    second = brainnet("account", "new", str(key), "--password", "pw")
    assert second.returncode == 1 and "Traceback" not in second.stderr
