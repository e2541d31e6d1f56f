"""`brainnet sim economy` on a tiny configuration: splitting a stake never changes whether the
attacker is selected, count-weighted draws would reward splitting, small nodes earn per unit
of work what large ones do; the command writes well-formed JSON."""
from __future__ import annotations

import json
import subprocess
import sys

from brainnet.protocol.committee import sample_committee
from brainnet.protocol.commitment import keccak
from brainnet.sim.economy import EconomyConfig, NodeClass, fairness_table, sybil_gain, sybil_table


def test_splitting_a_stake_never_changes_selection_seed_by_seed():
    honest = [1000, 2500, 700, 4000, 1200, 900, 3100, 1500]
    for split in ([6000], [3000, 3000], [1000] * 6, [100, 5800, 100]):
        ids = range(len(honest) + 1, len(honest) + len(split) + 1)
        for t in range(300):
            seed = keccak(b"sybil %d" % t)
            whole = len(honest) + 1 in sample_committee(honest + [6000], seed, 4)
            parts = any(x in ids for x in sample_committee(honest + split, seed, 4))
            assert whole == parts


def test_sybil_table_shows_no_gain_in_selection():
    cfg = EconomyConfig(honest_nodes=12, trials=150, attacker_shares=(0.2,), splits=(1, 4, 8), committee=5)
    table = sybil_table(cfg)
    assert table["selection_mismatches"] == 0
    assert sybil_gain(table) == 0.0
    rows = table["rows"]
    assert abs(rows[0]["p_selected"] - rows[0]["p_selected_exact"]) < 0.12
    # one ticket per identity (no stake weighting) would pay the attacker for splitting
    assert rows[-1]["count_weighted_p_selected"] > rows[0]["count_weighted_p_selected"]
    # seats grow towards the stake-proportional share, never far above it
    assert rows[0]["mean_seats"] <= 1.0
    assert all(r["mean_seats"] <= r["proportional_seats"] * 1.5 + 0.2 for r in rows)


def test_small_nodes_earn_per_unit_of_work_what_large_nodes_earn():
    cfg = EconomyConfig(classes=[NodeClass("small", 12, 100, 50), NodeClass("large", 2, 5_000, 500)],
                        epochs=2, tasks_per_epoch=40, committee=3)
    table = fairness_table(cfg)
    small, large = table["rows"]
    assert small["work_per_node"] > 0 and small["fees_per_node"] > 0 and small["emission_per_node"] > 0
    assert small["missed_per_node"] == large["missed_per_node"] == 0
    assert abs(small["earnings_per_work"] - large["earnings_per_work"]) / large["earnings_per_work"] < 0.01
    assert table["tasks_settled"] == 80


def test_overstaked_nodes_are_slashed_for_work_they_cannot_do():
    cfg = EconomyConfig(classes=[NodeClass("fit", 10, 1_000, 100), NodeClass("over", 1, 20_000, 2)],
                        epochs=1, tasks_per_epoch=30, committee=3)
    fit, over = fairness_table(cfg)["rows"]
    assert over["missed_per_node"] > 0 and over["slashed_per_node"] > 0 and over["jailed"] == 1
    assert fit["slashed_per_node"] == 0
    assert over["net_per_staked_token"] < fit["net_per_staked_token"]


def test_cli_writes_the_tables(tmp_path):
    path = tmp_path / "economy.json"
    out = subprocess.run([sys.executable, "-m", "brainnet.cli.main", "sim", "economy", "--honest-nodes", "10",
                          "--trials", "20", "--epochs", "1", "--tasks-per-epoch", "20", "--json", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    data = json.loads(path.read_text())
    assert set(data) >= {"config", "sybil", "fairness"}
    assert data["sybil"]["selection_mismatches"] == 0
    assert {"attacker_share", "identities", "p_selected", "mean_seats", "p_capture"} <= set(data["sybil"]["rows"][0])
    assert {"class", "earnings_per_work", "net_per_staked_token"} <= set(data["fairness"]["rows"][0])
