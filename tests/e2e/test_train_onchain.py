"""Federated training through the contracts (`brainnet train --chain embedded|anvil`).

The issue's done-when run: 20 clients of which 30% flip the sign of their updates, 10 rounds
on digits, committee of 5, on the embedded chain: ten versions recorded in Models with
their lineage, every attacker's update rejected by the on-chain median, and every median,
acceptance, credit and claimed balance equal to `protocol.training.settle_scores`, to the
wei (the runner counts any difference in `reward_mismatches`). About 110 s on the 2-core
test machine (measured; the committee of 5 was kept: see the report). Then a tiny run of
the CLI on the embedded chain (JSON keys) and one on anvil.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from brainnet.errors import ConfigError
from brainnet.sim.training import OnchainTraining, run_training_onchain
from brainnet.train.rounds import FLConfig, make_setup

DONE_WHEN = FLConfig(dataset="digits", clients=20, byzantine=0.3, attack="sign_flip", rounds=10, strategy="brain",
                     committee=5, seed=0)


def check_lineage(report: dict, rounds: int) -> None:
    versions = report["versions"]
    assert [v["version"] for v in versions] == list(range(1, rounds + 2))
    assert versions[0]["parent"] is None and versions[0]["round"] is None
    for prev, v in zip(versions, versions[1:]):
        assert v["parent"] == prev["version"] and v["round"] == prev["version"]   # round i made version i + 1
    assert len({v["weights_hash"] for v in versions}) == rounds + 1


def test_done_when_20_clients_30pct_sign_flip_10_rounds_on_the_embedded_chain():
    report = run_training_onchain(DONE_WHEN, "embedded")
    check_lineage(report, 10)                                  # 10 new versions, each the child of the last
    assert report["accepted_byzantine"] == 0                   # every sign-flip update rejected on chain
    assert report["reward_mismatches"] == 0                    # medians, acceptance, credits, claims: to the wei
    assert len(report["gas_per_round"]) == 10 and all(g > 0 for g in report["gas_per_round"])
    assert all(len(c) == 5 for c in report["committee_per_round"])
    assert report["final_accuracy"] > report["initial_accuracy"] + 0.5        # it learned
    setup = make_setup(DONE_WHEN)
    attackers = {i for i, b in enumerate(setup.behaviours) if b != "honest"}
    assert len(attackers) == 6
    # attackers earned no trainer reward: what they claimed is at most their committee seats
    seat = (report["pool_per_round"] * 1000 // 10_000) // 5
    from eth_account import Account
    from brainnet.protocol import keccak
    for i in attackers:
        address = Account.from_key(keccak(b"brainnet train node %d %d" % (DONE_WHEN.seed, i))).address
        seats = sum(1 for c in report["committee_per_round"] if i in c)
        assert report["credits"].get(address, 0) == seats * seat
    assert sum(report["credits"].values()) == 10 * report["pool_per_round"]   # the pools, paid out to the wei


def test_cli_embedded_tiny(tmp_path):
    out = tmp_path / "train.json"
    proc = subprocess.run(
        [sys.executable, "-m", "brainnet.cli.main", "train", "--dataset", "wine", "--clients", "4", "--byzantine", "0.25",
         "--rounds", "2", "--committee", "3", "--chain", "embedded", "--json", str(out)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    for key in ("final_accuracy", "clean_accuracy", "accuracy_per_round", "accepted_byzantine", "rejected_honest",
                "rounds", "gas_per_round", "versions"):
        assert key in report, key
    check_lineage(report, 2)
    assert report["reward_mismatches"] == 0 and report["chain"] == "embedded"


def test_config_limits_are_reported_with_a_fix():
    with pytest.raises(ConfigError, match="at most 32 updates"):
        OnchainTraining(FLConfig(clients=33), "embedded")
    with pytest.raises(ConfigError, match="embedded or anvil"):
        OnchainTraining(FLConfig(clients=4), "none")


@pytest.mark.anvil
def test_anvil_tiny():
    report = run_training_onchain(FLConfig(dataset="breast_cancer", clients=4, byzantine=0.25, rounds=2, committee=3),
                                  "anvil")
    check_lineage(report, 2)
    assert report["reward_mismatches"] == 0 and report["accepted_byzantine"] == 0


def test_failed_replays_become_challenges_that_slash_on_chain():
    """Proof of training end to end: a trainer that ran half its steps (its update still scores
    well and is accepted), one that skipped training, and the sign-flip attacker (whose trace
    claims weights its steps never reach) are challenged with their failed replays; the
    committee replays and votes, and Training slashes them and moves any unclaimed reward to
    the challenger. Honest trainers' replays pass: none is challenged."""
    config = FLConfig(dataset="wine", clients=6, byzantine=0.34, attack="sign_flip", rounds=2, committee=3)
    report = run_training_onchain(config, "embedded", spot_checks=3, cheaters={0: "fewer_steps", 1: "skipped"})
    setup = make_setup(config)
    cheats = {0, 1} | {i for i, b in enumerate(setup.behaviours) if b != "honest"}
    challenged = {c["client"] for c in report["challenges"]}
    assert challenged == cheats                                        # every cheat caught, no honest trainer
    assert all(c["upheld"] and c["slashed"] > 0 for c in report["challenges"])
    assert {c["behaviour"] for c in report["challenges"]} >= {"pot:fewer_steps", "pot:skipped"}
    lazy = next(c for c in report["challenges"] if c["behaviour"] == "pot:fewer_steps")
    assert lazy["forfeited"] > 0                                       # its accepted reward went to the challenger
    assert {s["reason"] for s in report["slashes"]} == {"training: proof of training failed"}
    assert report["reward_mismatches"] == 0                            # credits and claims still to the wei
    check_lineage(report, 2)
