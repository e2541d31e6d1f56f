"""The Monte Carlo against the real contracts: `brainnet sim committee --chain embedded|anvil`
plays the simulated network on Token/Registry/Inference with one agent per node (real
commits and reveals of the bytes `revealed_value` defines), records the block hash that
seeded every level, replays the Monte Carlo with those hashes and compares every task
(status, level, result, committees, slashed members, challenge) and the registry's final
stakes, slash counts and jail flags. Any difference between the contracts and their mirror
shows up here as a mismatch."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from brainnet.errors import ConfigError
from brainnet.sim.chain_runner import check_chain_config, crosscheck
from brainnet.sim.committee import SimConfig

# a small network: 24 nodes, K=3 Q=2 L=3 (levels of 3, 7, 15), 30% colluding
SMALL = SimConfig(nodes=24, committee=3, quorum=2, levels=3, malicious=0.3, behaviour="colluding", tasks=20, seed=1)


def assert_same_as_the_monte_carlo(summary: dict) -> None:
    assert summary["mismatches"] == 0, summary["mismatch_details"]
    assert summary["registry_mismatches"] == 0
    replay = summary["montecarlo_replay"]
    for key, value in replay.items():
        assert summary[key] == value, key


def test_embedded_chain_gives_the_monte_carlos_outcomes_task_by_task():
    # the embedded chain's block hashes (hence committees) differ from run to run: the outcomes
    # vary, the equality with the Monte Carlo replayed on the same hashes must not
    check = crosscheck(SMALL, "embedded")
    s = check.summary
    assert_same_as_the_monte_carlo(s)
    assert len(check.outcomes) == SMALL.tasks == s["tasks"]
    assert s["tasks_escalated"] >= 1 and s["max_level_reached"] >= 1
    assert s["malicious_slashed"] > 0
    assert s["mean_gas_per_task"] > 0 and s["backend"] == "embedded"
    assert s["chain"]["levels_drawn"] == SMALL.tasks + s["escalations"]
    # escalated tasks cost more gas than the ones the first committee settles
    by_level = s["chain"]["mean_gas_by_final_level"]
    assert by_level[str(s["max_level_reached"])] > by_level["0"] > 0


@pytest.mark.parametrize("changes", [
    {"behaviour": "lazy"},                                   # commit to nothing, never reveal
    {"behaviour": "offline", "malicious": 0.5},              # never commit: deadlines pass by mining
    {"behaviour": "wrong", "malicious": 0.45},               # split votes, some refunded at the last level
    {"mode": "near", "behaviour": "near-cheat"},             # reveal_near, xor + popcount on chain
    {"malicious": 0.6, "challenge_wrong": 1.0},              # provisional results challenged with a bond
    {"malicious": 1.0, "challenge_wrong": 1.0, "tasks": 4},  # every task challenged once, the bond lost
    {"rule": "brain", "malicious": 0.4},                     # one committee: wrong results do get through
    {"stake_dist": "pareto", "nodes": 30},                   # unequal stakes: stake-weighted draws
], ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_every_behaviour_and_rule_matches_on_the_embedded_chain(changes):
    cfg = replace(SMALL, **({"tasks": 12} | changes))
    s = crosscheck(cfg, "embedded").summary
    assert_same_as_the_monte_carlo(s)
    assert s["mean_gas_per_task"] > 0
    if cfg.malicious == 1.0:
        assert s["challenges"] == cfg.tasks and s["wrong_accepted"] == cfg.tasks
    if cfg.rule == "brain":
        assert s["escalations"] == 0


def test_configs_a_chain_cannot_play_are_refused_with_the_fix():
    with pytest.raises(ConfigError, match="drop --static"):
        check_chain_config(replace(SMALL, apply_slashes=False), "embedded")
    with pytest.raises(ConfigError, match="exceed the contract's limits"):
        check_chain_config(replace(SMALL, committee=50, nodes=400), "embedded")
    with pytest.raises(ConfigError, match="choose none"):
        check_chain_config(SMALL, "ropsten")


@pytest.mark.anvil
def test_cli_on_anvil_reports_zero_mismatches_and_gas_from_receipts(tmp_path):
    path = tmp_path / "sim.json"
    outcomes = tmp_path / "outcomes.jsonl"
    out = subprocess.run(
        [sys.executable, "-m", "brainnet.cli.main", "sim", "committee", "--nodes", "24", "--committee", "3",
         "--quorum", "2", "--levels", "3", "--malicious", "0.3", "--tasks", "20", "--seed", "1",
         "--chain", "anvil", "--json", str(path), "--outcomes", str(outcomes)],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    s = json.loads(path.read_text())
    assert_same_as_the_monte_carlo(s)
    assert s["backend"] == "anvil" and s["tasks"] == 20
    assert s["tasks_escalated"] >= 1
    assert s["mean_gas_per_task"] > 0
    assert s["chain"]["deploy_params"]["committee_size"] == 3 and s["chain"]["deploy_params"]["max_levels"] == 3
    lines = [json.loads(line) for line in outcomes.read_text().splitlines()]
    assert [o["task_id"] for o in lines] == list(range(1, 21))
