"""BRAIN's pipelining simulation, reproduced: two-phase (request, then committee commit/reveal
in later transactions) vs single-phase (the EVM runs the model inside the request).

BRAIN (Lee, Park, Moon; arXiv 2305.04062) reports that two-phase reaches 454.4293x the
transactions per second of single-phase. This module re-implements their simulator's model
from its description, with their parameters, runs it over many seeds, sweeps the committee
quorum Q_C and the timeout Q_TO, and reruns it with the inference times of our own models.

The model (one run, one seed):
    stream     819 inference requests and floor(819 / 0.0577) = 14,194 normal transactions,
               shuffled; 155 transactions per block (12.06 s), padded with normal
               transactions after the stream until every request is settled or timed out.
    steps      after each transaction, each of the 21 nodes in turn takes one step at the
               request at the head of the queue (if it may be served yet):
                   - a request may receive commits only in a block after the one it was made in;
                   - a head whose age (block - request block) has reached Q_TO is dropped (timeout);
                   - otherwise the node draws a VRF-like value in 1..256 and, if it is <= d = 128
                     and the node is not a member yet, joins the committee: one commit and one
                     reveal transaction (2 txs);
                   - the Q_C-th commit settles the request; the block number then advances by one.
    queue      BRAIN's simulator's priority queue: a request that has not started waits in the
               order of a random priority drawn per request; once started it stays at the head
               until it settles or times out. ("fifo", the issue's wording, is a variant: see
               ASSUMPTIONS for why it cannot give the paper's timeouts.)
    latency    blocks from the request to its Q_C-th commit, plus floor(t / 12.06) + 1 blocks
               to run the model (t seconds) and reveal.
    TPS        all = the transactions of every block up to the one in which the last request
               resolved; two-phase = all / ((all + commit/reveal txs) x 1 ms);
               single-phase = all / ((all - 819) x 1 ms + sum of the inference times).

Where the paper's prose leaves a rule open, the rule is the one of the simulator BRAIN
published with the paper (github.com/FRAIN-chain/FRAIN-simulation, simulate/nodes.py; the
rules were read there, none of its code is used): see `ASSUMPTIONS`, which the report
carries, and `DEVIATIONS`, where it departs from the issue. The variants (`_variants`)
change one rule each and show how much each figure depends on it.

The simulator itself is `brainnet.bench.brain_model` (pure numpy and seeded:
`simulate(cfg, times, seed)` is deterministic).
Only `measure_inference` touches the model zoo (torch), for the `our_models` section.
"""
from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from brainnet.bench.brain_model import (
    GPTJ_MEAN_S, GPTJ_SD_S, GPTJ_TOTAL_S, PipelineConfig, gptj_times, repeat, summarize,
)
from brainnet.fsutil import atomic_write_bytes

DEFAULT_OUT = Path("bench/results/pipeline.json")
SWEEP_QC = (5, 7, 9, 11, 13)
SWEEP_QTO = (10, 15, 20, 30)
OUR_MODELS = ("digits-mlp", "minilm-l6")

# How many of BRAIN's 819 published times fall in [k * 12.06 s, (k+1) * 12.06 s), k = 0..4:
# the floor(t / 12.06) term of the latency (computed from the same file).
GPTJ_BLOCK_HISTOGRAM = (436, 89, 41, 251, 2)

PAPER = {
    "source": "BRAIN, arXiv 2305.04062 (figures as quoted in issue 8)",
    "two_phase_tps": 458.0,
    "single_phase_tps": 1.008,
    "ratio": 454.4293,
    "timeouts_per_819": [1.6, 2.1],
    "latency_blocks_median": 7,
    "qc5_two_phase_tps": 650.0,
    "qto10_timeouts": 90.0,
    "gptj_inference_total_s": GPTJ_TOTAL_S,
}


# ---------------------------------------------------------------------------------------------
# our models' real inference times

def measure_inference(model: str, runs: int = 50, warmup: int = 5, seed: int = 0) -> dict:
    """Mean wall time of `runtime.run(blob)` on this CPU, after warm-up, over `runs` inputs."""
    from brainnet.models import get_model

    runtime = get_model(model)
    blobs = runtime.sample_inputs(runs + warmup, seed)
    for blob in blobs[:warmup]:
        runtime.run(blob)
    durations = []
    for blob in blobs[warmup:]:
        began = time.perf_counter()
        runtime.run(blob)
        durations.append(time.perf_counter() - began)
    d = np.asarray(durations)
    return {"model": model, "runs": runs, "warmup": warmup, "durations_s": d,
            "mean_inference_s": float(d.mean()), "median_inference_s": float(np.median(d)),
            "std_inference_s": float(d.std())}


def resampled_times(durations: np.ndarray, mean_s: float, n: int, seed: int) -> np.ndarray:
    """n times drawn (seeded, with replacement) from measured durations, scaled to mean exactly mean_s."""
    x = np.random.default_rng(seed).choice(durations, size=n, replace=True)
    return x * (n * mean_s / x.sum())


# ---------------------------------------------------------------------------------------------
# the report

ASSUMPTIONS = [
    "Sources: the parameters and figures are BRAIN's (arXiv 2305.04062, as quoted in issue 8). "
    "Where the prose leaves a rule open, the rule is the one of the simulator BRAIN published "
    "(github.com/FRAIN-chain/FRAIN-simulation, simulate/nodes.py with Q_C = 11, Q_TO = 20, "
    "epoch 8, 0.0577); its rules were re-implemented here, none of its code is used.",
    "Stream: 0.0577 is requests per NORMAL transaction, as in BRAIN's simulator (normal = "
    "floor(819 / 0.0577) = 14,194; 15,013 transactions in all), the positions of the 819 "
    "requests shuffled per seed. Read as a share of ALL transactions (14,194 in all) the "
    "single-phase TPS falls to ~0.95 instead of 1.008 (variant 'share_of_all').",
    "Time: 155 transactions per block. The model steps transaction by transaction; after each "
    "transaction each of the 21 nodes, in a fixed order, takes one step at the head request "
    "(BRAIN's simulator's granularity). After the stream, blocks of normal transactions follow "
    "until every request has settled or timed out.",
    "A request may receive commits only in a block after the one it was requested in; a head "
    "requested in the current block holds the queue until the next block.",
    "Block clock: the block number advances every 155 transactions AND by one each time a "
    "request settles (BRAIN's simulator does both). This is what makes requests wait several "
    "blocks, and so produces the timeouts and the 7-block latency; with blocks strictly every "
    "155 transactions a request waits about one block and none times out (variant "
    "'tx_blocks_only').",
    "Committee draws: at each step a node takes at a request it draws a fresh VRF-like value "
    "uniform in 1..256 and joins (if not yet a member) when it is <= d = 128, p = 1/2 "
    "(BRAIN's simulator draws afresh per step and never uses its epoch parameter; its draw is "
    "randint(0, 256) < 128, p = 0.498). One value per node per 8-block epoch shared by all "
    "requests, the prose read literally, leaves Q_C = 11 of 21 reachable in only "
    "P[Bin(21, 1/2) >= 11] = 50% of epochs, so hundreds of requests time out (variant "
    "'epoch_vrf').",
    "Each joining node adds its 2 transactions (commit, reveal) when it joins, also for "
    "requests that later time out; a request settles on the step of its Q_C-th commit "
    "(reveals follow; no separate reveal quorum or reveal timeout is modelled).",
    "Timeout: a head request whose age (block - request block) has reached Q_TO is dropped on "
    "that step, before another commit; only the head is checked (BRAIN's simulator).",
    "Queue (deviation from the issue's wording 'FIFO'): BRAIN's simulator keeps requests in a "
    "priority queue (their contract's priority queue, cf. its push/pop gas) with a Pareto-drawn "
    "priority per request; only the order of those draws matters, i.e. a uniformly random "
    "priority. A started request stays at the head until it resolves. The timeouts come from "
    "this order: a request with a low priority keeps being overtaken by later ones while the "
    "block counter runs on. Strict FIFO gives no timeouts at Q_TO = 20 and too few at Q_TO = 10 "
    "(variant 'fifo'); TPS and the ratio barely change.",
    "Latency (BRAIN's definition): blocks from the request to its Q_C-th commit (on the block "
    "counter above), plus floor(t / 12.06 s) + 1 blocks to run the model and reveal. The "
    "reported median is pooled over every settled request of every repeat (as BRAIN does); "
    "the per-run medians are in spread.",
    "TPS: all = 155 x the blocks up to and including the one in which the last request "
    "resolved (BRAIN: ceil(txid / 155) x 155, the same except when the last request resolves "
    "on the first transaction of a block). Two-phase = all / ((all + 2 x commits) x 1 ms); "
    "single-phase = all / ((all - 819) x 1 ms + sum of inference times).",
    "Inference times: BRAIN's 819 measured GPT-J-6B times are replaced by 819 samples of a "
    "seeded log-normal (seed 'times_seed', sigma = 0.81 so that SD/mean matches their "
    "published times: 17.66 / 18.38 s) scaled to sum exactly 15,056 s; one set for all "
    "repeats (BRAIN used one measured set), assigned to requests by a per-seed shuffle. TPS "
    "depends only on the sum; the shape enters only the latency.",
    "No Byzantine nodes (BRAIN's default); every committee member reveals.",
    "Our models: mean wall time of runtime.run(blob) (decode + forward, 1 torch thread, as a "
    "node runs it) on this machine's CPU over 'runs' sample inputs after 'warmup' calls; the "
    "819 request times are resampled from the measured calls and scaled to that exact mean.",
]


DEVIATIONS = [
    "Queue: issue 8 says FIFO; BRAIN's simulator, whose output the paper's figures are, uses a "
    "priority queue with a random priority per request. brain_model follows the simulator; the "
    "issue's FIFO is variant 'fifo' (same TPS, no timeouts at Q_TO = 20).",
    "0.0577: issue 8 calls it the share of all transactions; BRAIN's simulator uses it as "
    "requests per normal transaction, which the paper's single-phase 1.008 TPS needs. The "
    "literal share is variant 'share_of_all'.",
    "VRF: issue 8 describes one value per node per 8-block epoch; BRAIN's simulator draws "
    "afresh at every step (the epoch is unused). The literal reading is variant 'epoch_vrf'.",
]


def _variants(base: PipelineConfig) -> dict[str, tuple[PipelineConfig, str]]:
    return {
        "fifo": (replace(base, queue="fifo"),
                 "requests served in arrival order (the issue's wording)"),
        "epoch_vrf": (replace(base, vrf_scope="epoch"),
                      "one VRF value per node per 8-block epoch, shared by all requests"),
        "tx_blocks_only": (replace(base, block_per_quorum=False),
                           "the block number advances only every 155 transactions"),
        "share_of_all": (replace(base, ratio_of="all"),
                         "0.0577 as the share of all transactions (14,194 in all)"),
    }


def _floor_histogram(times: np.ndarray, block_s: float, bins: int) -> list[int]:
    k = np.minimum(np.floor(times / block_s).astype(np.int64), bins - 1)
    return np.bincount(k, minlength=bins).tolist()


def latency_with_histogram(waits: np.ndarray, histogram: Sequence[int], below: int) -> tuple[float, float]:
    """Median latency, and the share of latencies < `below`, if inference times had `histogram`.

    Latency = wait + floor(t / block_s) + 1, and t is shuffled onto requests independently of
    the queue, so its distribution is the wait distribution convolved with the histogram of
    floor(t / block_s) (bin k = that many blocks). Returns (median, share below).
    """
    wait_pmf = np.bincount(np.asarray(waits, dtype=np.int64)) / len(waits)
    k_pmf = np.asarray(histogram, dtype=np.float64) / sum(histogram)
    pmf = np.convolve(wait_pmf, k_pmf)                      # index i = wait + k
    cdf = np.cumsum(pmf)
    median = float(np.searchsorted(cdf, 0.5) + 1)           # + 1: the reveal block
    share = float(cdf[below - 2]) if below >= 2 else 0.0    # P(wait + k + 1 < below)
    return median, share


def _gap_explanation(brain: dict, sweeps: list[dict], times: np.ndarray, cfg: PipelineConfig,
                     variants: dict, waits: np.ndarray) -> list[str]:
    notes = []
    sd = brain["spread"]
    notes.append(
        f"TPS: two-phase {brain['two_phase_tps']:.2f} +/- {sd['two_phase_tps']['std']:.2f} (paper "
        f"~{PAPER['two_phase_tps']:g}), single-phase {brain['single_phase_tps']:.4f} (paper "
        f"~{PAPER['single_phase_tps']}), ratio {brain['ratio']:.2f} +/- {sd['ratio']['std']:.2f} (paper "
        f"{PAPER['ratio']}). Two-phase TPS = all / (all + commit/reveal txs) / 1 ms: it is fixed by the "
        f"~{brain['commit_reveal_txs_mean']:.0f} commit/reveal txs (2 x Q_C per request, a little less "
        f"for the timed-out ones) against ~{brain['all_txs_mean']:.0f} txs; single-phase by the 15,056 s "
        f"of inference. The queue's details move neither by more than ~1%.")
    lo, hi = PAPER["timeouts_per_819"]
    where = "inside" if lo <= brain["timeouts_mean"] <= hi else "outside"
    notes.append(
        f"Timeouts: {brain['timeouts_mean']:.2f} per 819 requests ({where} the paper's {lo}-{hi}), std "
        f"{sd['timeouts']['std']:.2f}, min {sd['timeouts']['min']:g}, max {sd['timeouts']['max']:g} over "
        f"{brain['repeats']} seeds. A request times out when later requests keep overtaking it in the "
        f"priority queue for Q_TO blocks, each settlement moving the block counter on by one"
        + (f"; served in arrival order (variant 'fifo') {variants['fifo']['timeouts_mean']:g} time out."
           if "fifo" in variants else "."))
    by = {(row["qc"], row["qto"]): row for row in sweeps}
    if (5, cfg.timeout_blocks) in by:
        notes.append(f"Q_C = 5: two-phase {by[(5, cfg.timeout_blocks)]['two_phase_tps']:.1f} TPS "
                     f"(paper ~{PAPER['qc5_two_phase_tps']:g}).")
    if (cfg.quorum, 10) in by:
        notes.append(f"Q_TO = 10: {by[(cfg.quorum, 10)]['timeouts_mean']:.1f} timeouts "
                     f"(paper ~{PAPER['qto10_timeouts']:g}).")
    ours = _floor_histogram(times, cfg.block_s, len(GPTJ_BLOCK_HISTOGRAM))
    med = brain["latency_blocks_median"]
    target = PAPER["latency_blocks_median"]
    if med is not None and waits.size:
        theirs_med, theirs_share = latency_with_histogram(waits, GPTJ_BLOCK_HISTOGRAM, target)
        ours_med, ours_share = latency_with_histogram(waits, ours, target)
        text = (f"Median latency {med:g} blocks (paper {target}). Latency = wait + floor(t / 12.06 s) + 1; "
                f"the wait (median {brain['wait_blocks_median']:g}) does not depend on t, so the median is "
                f"set by the wait distribution and the SHAPE of the inference times. BRAIN's published GPT-J "
                f"times are bimodal: floor(t / 12.06) = 0, 1, 2, 3, 4 for {list(GPTJ_BLOCK_HISTOGRAM)} of "
                f"819 (31% at 36-48 s, the generation cap); the log-normal with the same mean and SD gives "
                f"{ours}. Our waits combined with BRAIN's histogram give a median of {theirs_med:g} "
                f"({100 * theirs_share:.1f}% of requests under {target} blocks); with the log-normal's, "
                f"{ours_med:g} ({100 * ours_share:.1f}% under {target}).")
        if med != target:
            text += (" The median sits on the 6/7 edge and the log-normal's shape tips it; a log-normal "
                     "cannot take the bimodal shape, and TPS and the ratio do not depend on it.")
        notes.append(text)
    for name, v in variants.items():
        notes.append(f"Variant {name} ({v['changed']}): two-phase {v['two_phase_tps']:.1f} TPS, single-phase "
                     f"{v['single_phase_tps']:.4f}, ratio {v['ratio']:.1f}, timeouts {v['timeouts_mean']:.1f}, "
                     f"median latency {v['latency_blocks_median']}.")
    return notes


def run_pipeline_bench(repeats: int = 100, seed: int = 0, *, models: Sequence[str] = OUR_MODELS,
                       model_runs: int = 50, model_warmup: int = 5, variants: bool = True,
                       times_seed: int = 0, out: Path | None = DEFAULT_OUT,
                       show_progress: bool = True) -> dict:
    """Reproduce BRAIN's figures, sweep Q_C x Q_TO, rerun with our models' times; write JSON."""
    if repeats < 1:
        raise ValueError(f"need at least 1 repeat, got {repeats}")
    if models and model_runs < 1:
        raise ValueError(f"need at least 1 timed run per model, got {model_runs}")
    if models:
        from brainnet.errors import ModelError
        from brainnet.models import available_models

        unknown = [m for m in models if m not in available_models()]
        if unknown:
            raise ModelError(f"unknown model {', '.join(map(repr, unknown))}; available: "
                             f"{', '.join(available_models())}")
    started = time.perf_counter()
    base = PipelineConfig()
    seeds = list(range(seed, seed + repeats))
    times = gptj_times(times_seed)
    variant_cfgs = _variants(base) if variants else {}
    grid = [(qc, qto) for qc in SWEEP_QC for qto in SWEEP_QTO]
    total = repeats * (1 + len(grid) + len(variant_cfgs) + len(models))

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("{task.description:<30}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), disable=not show_progress)
    with progress:
        bar = progress.add_task("BRAIN model", total=total)

        def step() -> None:
            progress.advance(bar)

        brain_runs = repeat(base, times, seeds, step)
        brain = summarize(base, brain_runs)
        brain["config"] = asdict(base)
        brain["stream_txs"] = base.stream_txs
        brain["seeds"] = [seeds[0], seeds[-1]]
        brain["inference_times"] = {
            "source": "seeded log-normal standing in for GPT-J-6B on 819 SAMSum prompts (not measured here)",
            "count": len(times), "sum_s": round(float(times.sum()), 6),
            "mean_s": round(float(times.mean()), 4), "sd_s": round(float(times.std()), 4),
            "median_s": round(float(np.median(times)), 4),
            "sigma": round(math.sqrt(math.log1p((GPTJ_SD_S / GPTJ_MEAN_S) ** 2)), 4),
            "times_seed": times_seed,
            "floor_t_over_block_histogram": _floor_histogram(times, base.block_s, len(GPTJ_BLOCK_HISTOGRAM)),
            "brain_published_histogram": list(GPTJ_BLOCK_HISTOGRAM),
        }

        sweeps = []
        for qc, qto in grid:
            progress.update(bar, description=f"sweep Q_C={qc} Q_TO={qto}")
            cfg = replace(base, quorum=qc, timeout_blocks=qto)
            s = summarize(cfg, repeat(cfg, times, seeds, step))
            sweeps.append({"qc": qc, "qto": qto, "two_phase_tps": s["two_phase_tps"],
                           "timeouts_mean": s["timeouts_mean"], "two_phase_tps_std": s["spread"]["two_phase_tps"]["std"],
                           "timeouts_std": s["spread"]["timeouts"]["std"], "ratio": s["ratio"],
                           "latency_blocks_median": s["latency_blocks_median"], "repeats": repeats})

        variant_rows = {}
        for name, (cfg, changed) in variant_cfgs.items():
            progress.update(bar, description=f"variant {name}")
            s = summarize(cfg, repeat(cfg, times, seeds, step))
            variant_rows[name] = {"changed": changed, **{k: s[k] for k in (
                "two_phase_tps", "single_phase_tps", "ratio", "timeouts_mean", "latency_blocks_median",
                "wait_blocks_median", "all_txs_mean", "commit_reveal_txs_mean")},
                "timeouts_std": s["spread"]["timeouts"]["std"]}

        our = []
        for model in models:
            progress.update(bar, description=f"timing {model}")
            m = measure_inference(model, model_runs, model_warmup, seed)
            progress.update(bar, description=f"model with {model}")
            mtimes = resampled_times(m["durations_s"], m["mean_inference_s"], base.requests, times_seed)
            s = summarize(base, repeat(base, mtimes, seeds, step))
            our.append({"model": model, "mean_inference_s": round(m["mean_inference_s"], 7),
                        "ratio": s["ratio"], "two_phase_tps": s["two_phase_tps"],
                        "single_phase_tps": s["single_phase_tps"],
                        "median_inference_s": round(m["median_inference_s"], 7),
                        "std_inference_s": round(m["std_inference_s"], 7),
                        "runs": m["runs"], "warmup": m["warmup"],
                        "timeouts_mean": s["timeouts_mean"], "latency_blocks_median": s["latency_blocks_median"],
                        "repeats": repeats})

    # single-phase = two-phase when 819 t = (all + commit/reveal) x 1 ms - (all - 819) x 1 ms
    break_even = (base.requests + brain["commit_reveal_txs_mean"]) * base.tx_exec_s / base.requests
    report = {
        "brain_model": brain,
        "sweeps": sweeps,
        "our_models": our,
        "break_even_inference_s": round(break_even, 6),
        "break_even_note": "mean inference time per request at which single-phase and two-phase TPS are equal "
                           "under this model (Q_C = 11): faster models are better run inside the request",
        "variants": variant_rows,
        "paper": PAPER,
        "deviations_from_issue": DEVIATIONS,
        "assumptions": ASSUMPTIONS,
        "gap_explanation": _gap_explanation(brain, sweeps, times, base, variant_rows,
                                            np.concatenate([r.wait_blocks for r in brain_runs])),
        "elapsed_s": round(time.perf_counter() - started, 1),
        "machine": f"{platform.machine()}, python {platform.python_version()}, numpy {np.__version__}",
    }
    if out is not None:
        atomic_write_bytes(Path(out), (json.dumps(report, indent=2) + "\n").encode())
    return report
