"""The committee Monte Carlo: honest networks settle everything, BRAIN's rule lets a
colluding majority through where escalation does not, slashing follows the Registry, and
`brainnet sim committee` writes the report a user reads (or one clear error line)."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from brainnet.errors import ConfigError
from brainnet.protocol.escalation import level_size
from brainnet.sim.committee import (
    CORRECT, TOKEN, WRONG, MonteCarloRunner, Network, SimConfig, build_network, compare_outcomes,
    seed_block_hash, simulate,
)
from brainnet.sim.security_table import malicious_majority_probability, render_table_markdown, security_table
from brainnet.protocol.commitment import abi_encode, keccak

REQUIRED = ("tasks", "wrong_accepted", "escalations", "max_level_reached", "honest_slashed",
            "malicious_slashed", "refunded", "mean_gas_per_task")

# 30 equal nodes, 40% colluding, K=3: levels 3, 7, 15 (25 members) still fit
TINY = SimConfig(nodes=30, malicious=0.4, behaviour="colluding", committee=3, levels=3, tasks=150, seed=3,
                 apply_slashes=False)


def test_all_honest_settles_every_task_and_slashes_nobody():
    s = simulate(SimConfig(nodes=25, malicious=0.0, committee=5, tasks=200, seed=1)).summary
    assert s["correct"] == s["tasks"] == 200
    assert s["wrong_accepted"] == s["refunded"] == s["escalations"] == 0
    assert s["honest_slashed"] == s["malicious_slashed"] == s["honest_slash_events"] == 0
    assert s["max_level_reached"] == 0
    assert s["mean_gas_per_task"] is None


def test_brain_rule_accepts_colluders_where_escalation_escalates():
    brain = simulate(replace(TINY, rule="brain"))
    ours = simulate(TINY)
    assert brain.summary["wrong_accepted"] > 0
    assert brain.summary["escalations"] == 0 and brain.summary["max_level_reached"] == 0
    assert ours.summary["escalations"] > 0
    assert ours.summary["wrong_accepted"] < brain.summary["wrong_accepted"]
    # same seed, same network: level 0 of every task is the same committee under both rules
    for b, o in zip(brain.outcomes, ours.outcomes):
        assert b.committees[0] == o.committees[0]
        if b.status == WRONG and len(set(b.slashed)) > 0:
            # BRAIN settled a split committee on the colluders' value; ours escalated it
            assert o.level > 0


def test_colluding_minority_never_wins_with_escalation_but_does_with_brain():
    cfg = SimConfig(nodes=60, malicious=0.3, committee=5, levels=3, tasks=300, seed=5, apply_slashes=False,
                    challenge_wrong=1.0)
    ours = simulate(cfg).summary
    brain = simulate(replace(cfg, rule="brain")).summary
    assert ours["wrong_accepted"] == 0 and ours["honest_slashed"] == 0
    assert brain["wrong_accepted"] > 0 and brain["honest_slashed"] > 0


def test_brain_static_rate_matches_the_hypergeometric_tail():
    cfg = SimConfig(nodes=40, malicious=0.3, committee=5, rule="brain", tasks=1500, seed=2, apply_slashes=False)
    s = simulate(cfg).summary
    p = malicious_majority_probability(40, 12, 5, 3)
    assert abs(s["wrong_accepted_rate"] - p) < 0.03


def test_registry_slash_amounts_jail_and_activity():
    net = Network(stakes=[1000 * TOKEN, 150 * TOKEN, 1000 * TOKEN], malicious=[False] * 3,
                  min_stake=100 * TOKEN, jail_after=3)
    assert net.active_count == 3
    assert net.slash(1, 1000) == 100 * TOKEN                  # stake * slash_bps // 10000
    assert net.stakes[0] == 900 * TOKEN and net.slashes[0] == 1 and not net.jailed[0]
    assert net.active_stakes[0] == 900 * TOKEN
    net.slash(1, 1000)
    net.slash(1, 1000)                                          # third slash jails
    assert net.jailed[0] and net.active_stakes[0] == 0 and net.active_count == 2
    assert net.slash(2, 5000) == 75 * TOKEN                     # falls below min_stake: inactive, not jailed
    assert not net.jailed[1] and net.active_stakes[1] == 0 and net.active_count == 1
    assert net.slash(3, 10_000) == 1000 * TOKEN                 # never more than the stake
    assert net.slash(3, 10_000) == 0 and net.stakes[2] == 0
    assert net.slashes[2] == 2 and net.active_count == 0


def test_simulated_slashes_replay_exactly_as_the_registry_would():
    cfg = SimConfig(nodes=40, malicious=0.3, behaviour="wrong", committee=5, levels=3, tasks=120, seed=7,
                    slash_bps=2500, jail_after=2)
    network = build_network(cfg)
    out = MonteCarloRunner().run(cfg, network)
    replay = build_network(cfg)
    jailed_at: dict[int, int] = {}
    for o in out.outcomes:
        for committee in o.committees:             # a jailed node is never drawn again
            assert all(m not in jailed_at for m in committee)
        for m in o.slashed:
            stake = replay.stakes[m - 1]
            replay.stakes[m - 1] = stake - stake * cfg.slash_bps // 10_000
            replay.slashes[m - 1] += 1
            if replay.slashes[m - 1] >= cfg.jail_after:
                jailed_at.setdefault(m, o.task_id)
    assert replay.stakes == network.stakes
    assert replay.slashes == network.slashes
    assert [i + 1 in jailed_at for i in range(cfg.nodes)] == network.jailed
    assert jailed_at, "some wrong-answering nodes should have been jailed"
    assert all(network.malicious[m - 1] for m in jailed_at)


@pytest.mark.parametrize("behaviour", ["lazy", "offline", "late"])
def test_no_shows_are_slashed_and_honest_results_still_settle(behaviour):
    s = simulate(SimConfig(nodes=40, malicious=0.2, behaviour=behaviour, committee=5, tasks=100, seed=4)).summary
    assert s["wrong_accepted"] == 0 and s["honest_slashed"] == 0
    assert s["malicious_slashed"] > 0 and s["correct"] + s["refunded"] == 100


def test_challenges_send_a_unanimous_wrong_committee_up_a_level():
    plain = simulate(TINY)
    challenged = simulate(replace(TINY, challenge_wrong=1.0))
    assert challenged.summary["challenges"] > 0
    assert challenged.summary["wrong_accepted"] < plain.summary["wrong_accepted"]
    for o in challenged.outcomes:
        if o.challenged:
            assert o.level > 0


def test_escalated_levels_grow_and_exclude_earlier_members():
    result = simulate(TINY)
    deep = [o for o in result.outcomes if o.level > 0]
    assert deep
    for o in deep:
        assert [len(c) for c in o.committees] == [level_size(3, lv) for lv in range(o.level + 1)]
        members = [m for c in o.committees for m in c]
        assert len(members) == len(set(members))


def test_escalation_stops_when_the_network_is_too_small():
    # 12 nodes: levels 3 and 7 fit (10), level 2 (15) never can
    s = simulate(SimConfig(nodes=12, malicious=0.4, committee=3, levels=4, tasks=100, seed=1,
                           apply_slashes=False)).summary
    assert s["max_level_reached"] == 1


def test_same_seed_same_outcomes_other_seed_other_outcomes():
    a = simulate(TINY).outcomes
    assert compare_outcomes(a, simulate(TINY).outcomes) == []
    assert compare_outcomes(a, simulate(replace(TINY, seed=4)).outcomes)


def test_recorded_block_hashes_replay_a_run_task_by_task():
    # what cross-validation against a chain does: the chain's block hashes drive the replay
    standin = simulate(TINY).outcomes
    same = simulate(TINY, runner=MonteCarloRunner(lambda t, lv: seed_block_hash(TINY.seed, t, lv))).outcomes
    assert compare_outcomes(standin, same) == []
    chain = {(t, lv): keccak(abi_encode(99, t, lv)) for t in range(1, TINY.tasks + 1) for lv in range(TINY.levels)}
    replay_a = simulate(TINY, runner=MonteCarloRunner(lambda t, lv: chain[t, lv])).outcomes
    replay_b = simulate(TINY, runner=MonteCarloRunner(lambda t, lv: chain[t, lv])).outcomes
    assert compare_outcomes(replay_a, replay_b) == []
    assert any(m["fields"] for m in compare_outcomes(standin, replay_a))


def test_near_mode_honest_drift_agrees_and_near_cheats_are_slashed():
    # the defaults are the MiniLM measurement: tolerance 7 bits, honest drift <= 4 (bench/results/near_agreement.json)
    cfg = SimConfig(nodes=30, malicious=0.2, behaviour="near-cheat", committee=5, levels=3, tasks=60, seed=2,
                    mode="near", cheat_bits=64)
    assert (cfg.tolerance, cfg.drift) == (7, 4)
    s = simulate(cfg).summary
    assert s["wrong_accepted"] == 0 and s["honest_slashed"] == 0
    assert s["malicious_slashed"] > 0 and s["correct"] == 60


def test_honest_fingerprints_stay_within_the_drift_of_the_truth_and_of_each_other():
    from brainnet.protocol.escalation import hamming
    from brainnet.sim.committee import revealed_value, true_value

    cfg = SimConfig(mode="near")
    for task in range(1, 20):
        truth = true_value(cfg.seed, task)
        honest = [revealed_value(cfg, task, m, False) for m in range(1, 12)]
        assert all(hamming(h, truth) <= cfg.drift for h in honest)
        assert all(hamming(a, b) <= cfg.drift for a in honest for b in honest)
        assert len(set(honest)) > 1          # they do drift


def test_pareto_stakes_respect_the_minimum_and_the_seed():
    cfg = SimConfig(nodes=50, stake_dist="pareto", tasks=1)
    net = build_network(cfg)
    assert min(net.stakes) >= cfg.min_stake and len(set(net.stakes)) > 1
    assert build_network(cfg).stakes == net.stakes and sum(net.malicious) == 15


@pytest.mark.parametrize("changes, message", [
    ({"quorum": 5}, "majority"),
    ({"committee": 30, "nodes": 20}, "needs at least that many --nodes"),
    ({"malicious": 1.5}, "between 0 and 1"),
    ({"behaviour": "evil"}, "choose one of"),
    ({"behaviour": "near-cheat"}, "--mode near"),
    ({"rule": "fast"}, "'ours'"),
    ({"levels": 0}, "at least 1"),
])
def test_bad_configs_name_the_flag_and_the_fix(changes, message):
    with pytest.raises(ConfigError, match=message):
        replace(SimConfig(), **changes).validate()


def test_defaults_mirror_the_deployment_parameters():
    from brainnet.chain.deploy import DeployParams

    p, s = DeployParams(), SimConfig()
    assert (s.min_stake, s.slash_bps, s.jail_after) == (p.min_stake, p.slash_bps, p.jail_after)


def test_security_table_renders_markdown():
    table = security_table((0.3,), (3,), tasks=30, seed=1, base=SimConfig(nodes=30, levels=3))
    row = table["rows"][0]
    assert row["brain_analytic"] == pytest.approx(malicious_majority_probability(30, 9, 3, 2))
    md = render_table_markdown(table, "brainnet sim table ...")
    assert "| 30% | 3 |" in md and "BRAIN, static" in md and "brainnet sim table" in md


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "brainnet.cli.main", "sim", *args], capture_output=True, text=True,
                          timeout=120)


def test_cli_writes_the_report_and_the_outcomes(tmp_path):
    path, lines = tmp_path / "sim.json", tmp_path / "outcomes.jsonl"
    out = _cli("committee", "--nodes", "30", "--committee", "3", "--levels", "3", "--tasks", "40", "--seed", "3",
               "--json", str(path), "--outcomes", str(lines))
    assert out.returncode == 0, out.stderr
    data = json.loads(path.read_text())
    assert all(key in data for key in REQUIRED)
    assert data["tasks"] == 40 and data["mean_gas_per_task"] is None and data["rule"] == "ours"
    assert data["params"]["level_sizes"] == [3, 7, 15]
    outcomes = [json.loads(line) for line in lines.read_text().splitlines()]
    assert [o["task_id"] for o in outcomes] == list(range(1, 41))
    assert {o["status"] for o in outcomes} <= {CORRECT, WRONG, "refunded"}
    stdout = _cli("committee", "--nodes", "30", "--committee", "3", "--tasks", "5", "--rule", "brain", "--json", "-")
    assert stdout.returncode == 0 and json.loads(stdout.stdout)["rule"] == "brain"


@pytest.mark.parametrize("args, message", [
    (["--quorum", "5"], "--quorum 5 must be a majority of --committee 11"),
    (["--nodes", "10"], "--committee 11 needs at least that many --nodes"),
    (["--malicious", "2"], "--malicious 2.0"),
    (["--stake-dist", "zipf"], "--stake-dist 'zipf'"),
])
def test_cli_bad_flags_exit_1_with_the_cause(args, message):
    out = _cli("committee", "--tasks", "5", *args)
    assert out.returncode == 1
    assert message in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
