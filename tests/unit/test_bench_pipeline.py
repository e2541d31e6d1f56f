"""BRAIN's pipelining simulation (`brainnet bench pipeline`): the event-driven simulator equals
a literal step-by-step run of the same rules, is deterministic per seed, behaves as the rules
say it must, and the command writes a well-formed report. No timing thresholds."""
from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from brainnet.bench.brain_model import (
    GPTJ_TOTAL_S, Draws, PipelineConfig, RunResult, gptj_times, lognormal_times, simulate, summarize,
)
from brainnet.bench.pipeline import SWEEP_QC, SWEEP_QTO, latency_with_histogram

ROOT = Path(__file__).resolve().parents[2]
SMALL = PipelineConfig(requests=60)            # 60 requests in 1,099 txs: the same load, 14x shorter


def small_times(cfg: PipelineConfig = SMALL, seed: int = 0) -> np.ndarray:
    return lognormal_times(cfg.requests, 60 * 18.38, 18.38, 17.66, seed)


def step_every_pair(cfg: PipelineConfig, times: np.ndarray, seed: int) -> RunResult:
    """The rules read literally: every transaction, then every node's step, one at a time.

    Uses the same `Draws` as `simulate` (one committee mask per request per transaction in
    which it is served), so both must agree exactly, not only in distribution.
    """
    draws = Draws(cfg, times, seed)
    B, N, QC, QTO, n_req = cfg.txs_per_block, cfg.nodes, cfg.quorum, cfg.timeout_blocks, cfg.requests
    blocks_for_inference = np.floor(draws.exec_s / cfg.block_s).astype(int) + 1
    request_block, members = {}, {}
    pending: list[int] = []                    # arrived and unresolved, in arrival order
    started = None                             # the request being served, if any
    settled = timeouts = commits = last_t = 0
    latency, wait = [], []
    owner, mask = None, 0
    nxt, t = 0, 0

    def block_now() -> int:
        return t // B + 1 + (settled if cfg.block_per_quorum else 0)

    while True:
        while nxt < n_req and draws.arrival[nxt] == t:
            request_block[nxt] = block_now()
            pending.append(nxt)
            nxt += 1
        for n in range(N):
            if not pending:
                continue
            if started is not None:
                h = started
            elif cfg.queue == "fifo":
                h = pending[0]
            else:
                h = min(pending, key=lambda i: draws.priority[i])
            block = block_now()
            if request_block[h] >= block:      # requested in this block: not yet
                continue
            started = h
            if block - request_block[h] >= QTO:
                pending.remove(h)
                started = None
                timeouts += 1
                last_t = t
                continue
            if owner != (h, t):
                mask, owner = draws.mask(block), (h, t)
            if mask >> n & 1 and n not in members.setdefault(h, set()):
                members[h].add(n)
                commits += 1
                if len(members[h]) == QC:
                    wait.append(block - request_block[h])
                    latency.append(wait[-1] + blocks_for_inference[h])
                    pending.remove(h)
                    started = None
                    settled += 1
                    last_t = t
        if settled + timeouts == n_req:
            break
        t += 1
    return RunResult(seed=seed, all_txs=(last_t // B + 1) * B, commit_reveal_txs=2 * commits,
                     settled=settled, timeouts=timeouts,
                     final_block=last_t // B + 1 + (settled if cfg.block_per_quorum else 0),
                     inference_s=float(times.sum()), latency_blocks=np.asarray(latency, dtype=np.int64),
                     wait_blocks=np.asarray(wait, dtype=np.int64))


def same(a: RunResult, b: RunResult) -> bool:
    return (a.all_txs, a.commit_reveal_txs, a.settled, a.timeouts, a.final_block) == \
        (b.all_txs, b.commit_reveal_txs, b.settled, b.timeouts, b.final_block) and \
        np.array_equal(a.latency_blocks, b.latency_blocks) and np.array_equal(a.wait_blocks, b.wait_blocks)


@pytest.mark.parametrize("cfg", [
    SMALL,
    replace(SMALL, queue="fifo"),
    replace(SMALL, timeout_blocks=3),
    replace(SMALL, quorum=5, timeout_blocks=6),
    replace(SMALL, quorum=19, timeout_blocks=4),
    replace(SMALL, block_per_quorum=False, quorum=13),
    replace(SMALL, vrf_scope="epoch", timeout_blocks=10),
    replace(SMALL, vrf_scope="epoch", queue="fifo", quorum=9, epoch_blocks=3),
    replace(SMALL, txs_per_block=20, timeout_blocks=5),
    replace(SMALL, txs_per_block=4, quorum=19, timeout_blocks=2),          # deadlines mid-service
    replace(SMALL, txs_per_block=4, quorum=17, timeout_blocks=3, queue="fifo", block_per_quorum=False),
], ids=lambda c: f"{c.queue}-{c.vrf_scope}-qc{c.quorum}-qto{c.timeout_blocks}-bpq{int(c.block_per_quorum)}-B{c.txs_per_block}")
def test_event_driven_simulation_equals_stepping_every_transaction_and_node(cfg):
    times = small_times(cfg)
    for seed in range(4):
        fast, slow = simulate(cfg, times, seed), step_every_pair(cfg, times, seed)
        assert same(fast, slow), (seed, fast, slow)


def test_simulation_is_deterministic_per_seed():
    times = gptj_times(0)
    cfg = PipelineConfig()
    a, b = simulate(cfg, times, 7), simulate(cfg, times, 7)
    assert same(a, b)
    others = [simulate(cfg, times, s) for s in (8, 9)]
    assert not all(same(a, o) for o in others)
    assert np.array_equal(gptj_times(3), gptj_times(3))


def test_gptj_stand_in_times_have_brains_count_and_sum():
    times = gptj_times(0)
    assert times.shape == (819,) and (times > 0).all()
    assert math.isclose(times.sum(), GPTJ_TOTAL_S, rel_tol=1e-12)
    assert 18.0 < times.mean() < 18.8


def test_every_request_resolves_and_transactions_add_up():
    cfg = PipelineConfig()
    times = gptj_times(0)
    for seed in range(3):
        r = simulate(cfg, times, seed)
        assert r.settled + r.timeouts == cfg.requests
        assert r.all_txs % cfg.txs_per_block == 0 and r.all_txs >= cfg.stream_txs
        # every settled request has exactly Q_C commits; a timed-out one fewer
        assert 2 * cfg.quorum * r.settled <= r.commit_reveal_txs < 2 * cfg.quorum * cfg.requests + 1
        assert len(r.latency_blocks) == r.settled and (r.latency_blocks > r.wait_blocks).all()
        assert (r.wait_blocks >= 1).all()       # commits only in a block after the request's


def _mean(cfg: PipelineConfig, field: str, seeds=range(8)) -> float:
    times = gptj_times(0)
    return summarize(cfg, [simulate(cfg, times, s) for s in seeds])[field]


def test_a_larger_quorum_costs_throughput():
    tps = [_mean(PipelineConfig(quorum=qc), "two_phase_tps") for qc in SWEEP_QC]
    assert tps == sorted(tps, reverse=True) and tps[0] > 1.4 * tps[-1]


def test_a_shorter_timeout_drops_more_requests():
    timeouts = [_mean(PipelineConfig(timeout_blocks=qto), "timeouts_mean") for qto in SWEEP_QTO]
    assert timeouts == sorted(timeouts, reverse=True) and timeouts[0] > 10 * max(timeouts[-1], 1)


def test_two_phase_beats_single_phase_only_for_slow_models():
    cfg = PipelineConfig()
    r = simulate(cfg, gptj_times(0), 0)
    assert r.two_phase_tps(cfg.tx_exec_s) > 100 * r.single_phase_tps(cfg.tx_exec_s, cfg.requests)
    fast = simulate(cfg, np.full(cfg.requests, 1e-4), 0)         # a 0.1 ms model
    assert fast.two_phase_tps(cfg.tx_exec_s) < fast.single_phase_tps(cfg.tx_exec_s, cfg.requests)


def test_epoch_wide_vrf_values_starve_a_quorum_of_eleven():
    cfg = PipelineConfig(vrf_scope="epoch")
    assert _mean(cfg, "timeouts_mean", range(3)) > 100


def test_latency_from_a_time_histogram():
    waits = np.array([1, 1, 2, 2])              # latency = wait + k + 1
    assert latency_with_histogram(waits, [1, 0, 0], 3) == (2.0, 0.5)      # k = 0: latencies 2, 2, 3, 3
    assert latency_with_histogram(waits, [0, 0, 1], 4) == (4.0, 0.0)      # k = 2: latencies 4, 4, 5, 5


def test_bad_configurations_are_refused():
    times = gptj_times(0)
    with pytest.raises(ValueError, match="quorum"):
        simulate(PipelineConfig(quorum=22), times, 0)
    with pytest.raises(ValueError, match="queue"):
        simulate(PipelineConfig(queue="lifo"), times, 0)
    with pytest.raises(ValueError, match="inference times"):
        simulate(PipelineConfig(), times[:10], 0)


def check_report(report: dict, repeats: int, models: list[str]) -> None:
    assert {"brain_model", "sweeps", "our_models", "paper", "assumptions", "gap_explanation"} <= set(report)
    brain = report["brain_model"]
    assert {"two_phase_tps", "single_phase_tps", "ratio", "timeouts_mean", "latency_blocks_median",
            "repeats", "spread"} <= set(brain)
    assert brain["repeats"] == repeats
    for key in ("two_phase_tps", "single_phase_tps", "ratio", "timeouts"):
        s = brain["spread"][key]
        assert s["min"] <= s["mean"] <= s["max"] and s["std"] >= 0
    assert brain["two_phase_tps"] > brain["single_phase_tps"] > 0
    assert math.isclose(brain["inference_times"]["sum_s"], GPTJ_TOTAL_S)
    assert "log-normal" in brain["inference_times"]["source"]
    grid = {(row["qc"], row["qto"]) for row in report["sweeps"]}
    assert grid == {(qc, qto) for qc in SWEEP_QC for qto in SWEEP_QTO}
    for row in report["sweeps"]:
        assert {"qc", "qto", "two_phase_tps", "timeouts_mean"} <= set(row)
    assert [row["model"] for row in report["our_models"]] == models
    for row in report["our_models"]:
        assert {"model", "mean_inference_s", "ratio"} <= set(row) and row["mean_inference_s"] > 0
    assert report["assumptions"] and all(isinstance(a, str) for a in report["assumptions"])
    assert report["paper"]["ratio"] == 454.4293


def test_bench_pipeline_command_writes_the_report(tmp_path):
    from typer.testing import CliRunner

    from brainnet.cli.main import app

    out = tmp_path / "results" / "pipeline.json"
    result = CliRunner().invoke(app, ["bench", "pipeline", "--repeats", "2", "--model", "digits-mlp",
                                      "--model-runs", "3", "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    check_report(report, 2, ["digits-mlp"])
    assert set(report["variants"]) == {"fifo", "epoch_vrf", "tx_blocks_only", "share_of_all"}


def test_committed_report_is_the_full_run():
    report = json.loads((ROOT / "bench" / "results" / "pipeline.json").read_text())
    check_report(report, report["brain_model"]["repeats"], ["digits-mlp", "minilm-l6"])
    assert report["brain_model"]["repeats"] >= 100
    assert all(row["runs"] >= 50 for row in report["our_models"])
