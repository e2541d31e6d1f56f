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

Everything here is pure numpy and seeded: `simulate(cfg, times, seed)` is deterministic.
Only `measure_inference` touches the model zoo (torch), for the `our_models` section.
"""
from __future__ import annotations

import heapq
import json
import math
import platform
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from brainnet.fsutil import atomic_write_bytes

DEFAULT_OUT = Path("bench/results/pipeline.json")
SWEEP_QC = (5, 7, 9, 11, 13)
SWEEP_QTO = (10, 15, 20, 30)
OUR_MODELS = ("digits-mlp", "minilm-l6")

# GPT-J-6B on 819 SAMSum prompts, as BRAIN measured it: the total is the paper's; mean and
# SD are those of the per-prompt times BRAIN published (results/med_times.csv of their
# simulator), whose shape is bimodal: many answers stop early, many run to the token cap.
GPTJ_REQUESTS = 819
GPTJ_TOTAL_S = 15_056.0
GPTJ_MEAN_S = 18.38
GPTJ_SD_S = 17.66
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


@dataclass(frozen=True)
class PipelineConfig:
    """BRAIN's parameters (defaults) and the rules this model had to choose (see ASSUMPTIONS)."""

    requests: int = GPTJ_REQUESTS   # inference requests in the stream
    request_ratio: float = 0.0577   # BRAIN: OpenSea's share of Ethereum txs, 2022 Q2
    ratio_of: str = "normal"        # "normal": requests / normal txs (BRAIN's simulator);
                                    # "all": requests / all txs (the prose read literally)
    txs_per_block: int = 155        # Ethereum, January 2023
    block_s: float = 12.06          # seconds per block
    nodes: int = 21
    epoch_blocks: int = 8           # used only by vrf_scope="epoch"
    vrf_max: int = 256              # a VRF value is uniform in 1..vrf_max
    difficulty: int = 128           # d: a node may join when its value is <= d
    quorum: int = 11                # Q_C: commits that settle a request
    timeout_blocks: int = 20        # Q_TO: age (blocks) at which a waiting request is dropped
    tx_exec_s: float = 0.001        # EVM execution per transaction
    queue: str = "priority"         # "priority": random priority until started (BRAIN's
                                    # simulator); "fifo": arrival order (the wording)
    vrf_scope: str = "step"         # "step": fresh value per node step (BRAIN's simulator);
                                    # "epoch": one value per node per epoch, for all requests
    block_per_quorum: bool = True   # the block number also advances when a request settles

    @property
    def stream_txs(self) -> int:
        """Transactions in the shuffled stream (requests included)."""
        if self.ratio_of == "normal":
            return self.requests + int(self.requests / self.request_ratio)
        if self.ratio_of == "all":
            return int(self.requests / self.request_ratio)
        raise ValueError(f"ratio_of must be 'normal' or 'all', got {self.ratio_of!r}")

    def check(self) -> None:
        if self.queue not in ("priority", "fifo"):
            raise ValueError(f"queue must be 'priority' or 'fifo', got {self.queue!r}")
        if self.vrf_scope not in ("step", "epoch"):
            raise ValueError(f"vrf_scope must be 'step' or 'epoch', got {self.vrf_scope!r}")
        if not 1 <= self.quorum <= self.nodes:
            raise ValueError(f"quorum Q_C={self.quorum} must be in 1..{self.nodes} (the nodes)")
        if self.timeout_blocks < 1:
            raise ValueError(f"timeout Q_TO={self.timeout_blocks} must be at least 1 block")
        if not 1 <= self.difficulty <= self.vrf_max:
            raise ValueError(f"difficulty d={self.difficulty} must be in 1..{self.vrf_max}")
        if self.stream_txs < self.requests:
            raise ValueError("the stream must hold at least the requests")


@dataclass
class RunResult:
    """One simulated run. Latencies and waits are per settled request, in blocks."""

    seed: int
    all_txs: int                     # whole blocks up to the one in which the last request resolved
    commit_reveal_txs: int           # 2 per commit, including commits to requests that timed out
    settled: int
    timeouts: int
    final_block: int                 # the block counter at the end (incl. the per-quorum steps)
    inference_s: float               # sum of the inference times (the single-phase cost)
    latency_blocks: np.ndarray = field(repr=False)      # (settled,) int
    wait_blocks: np.ndarray = field(repr=False)         # (settled,) int: request -> Q_C-th commit

    def two_phase_tps(self, tx_exec_s: float) -> float:
        return self.all_txs / ((self.all_txs + self.commit_reveal_txs) * tx_exec_s)

    def single_phase_tps(self, tx_exec_s: float, requests: int) -> float:
        return self.all_txs / ((self.all_txs - requests) * tx_exec_s + self.inference_s)


def lognormal_times(n: int, total_s: float, mean_s: float, sd_s: float, seed: int) -> np.ndarray:
    """n seeded log-normal samples with the coefficient of variation sd/mean, scaled to sum total_s."""
    sigma = math.sqrt(math.log1p((sd_s / mean_s) ** 2))
    x = np.random.default_rng(seed).lognormal(0.0, sigma, n)
    return x * (total_s / x.sum())


def gptj_times(seed: int = 0) -> np.ndarray:
    """Stand-in for GPT-J's 819 measured times: a seeded log-normal summing to exactly 15,056 s."""
    return lognormal_times(GPTJ_REQUESTS, GPTJ_TOTAL_S, GPTJ_MEAN_S, GPTJ_SD_S, seed)


def _nth_set_bit(mask: int, m: int) -> int:
    """Index of the m-th (1-based) lowest set bit of mask."""
    for _ in range(m - 1):
        mask &= mask - 1
    return (mask & -mask).bit_length() - 1


class Draws:
    """The random inputs of one run, drawn from one seeded generator in a fixed order.

    `arrival[i]`: tx index of the i-th request to arrive; `exec_s[i]`: its inference time;
    `priority[i]`: its rank in the priority queue (queue="priority" only). `mask(block)`:
    the committee draw for one pass of a request's service, bit j set when node j's value
    in 1..vrf_max is <= d: a fresh draw per call (vrf_scope="step"), or the one of the
    block's epoch (vrf_scope="epoch"). Shared with the step-by-step reference in the tests.
    """

    def __init__(self, cfg: PipelineConfig, times: np.ndarray, seed: int):
        self.cfg = cfg
        self._rng = rng = np.random.default_rng(seed)
        n = cfg.requests
        self.arrival: list[int] = np.sort(rng.choice(cfg.stream_txs, size=n, replace=False)).tolist()
        self.exec_s: np.ndarray = times[rng.permutation(n)]
        self.priority: list[int] | None = rng.permutation(n).tolist() if cfg.queue == "priority" else None
        self._bit = 1 << np.arange(cfg.nodes, dtype=np.int64)       # (nodes,) node -> its bit
        self._pool: list[int] = []
        self._epochs: dict[int, int] = {}

    def _masks(self, count: int) -> list[int]:
        ok = self._rng.integers(1, self.cfg.vrf_max + 1, size=(count, self.cfg.nodes)) <= self.cfg.difficulty
        return (ok * self._bit).sum(axis=1).tolist()                # (count, nodes) -> count masks

    def mask(self, block: int) -> int:
        if self.cfg.vrf_scope == "epoch":
            e = block // self.cfg.epoch_blocks
            if e not in self._epochs:
                self._epochs[e] = self._masks(1)[0]
            return self._epochs[e]
        if not self._pool:
            self._pool = self._masks(4 * self.cfg.requests)[::-1]
        return self._pool.pop()


def simulate(cfg: PipelineConfig, times: Sequence[float] | np.ndarray, seed: int) -> RunResult:
    """Run the model once; deterministic for a given (cfg, times, seed).

    Event-driven: idle and stalled stretches are skipped in one jump, and a request's
    service is walked pass by pass (one pass = the node steps after one transaction), with
    committees as `nodes`-bit masks. The result is identical to stepping every (transaction,
    node) pair as BRAIN's simulator does (tests/unit/test_bench_pipeline.py checks it).
    """
    cfg.check()
    times = np.asarray(times, dtype=np.float64)
    if times.shape != (cfg.requests,):
        raise ValueError(f"need {cfg.requests} inference times, got shape {times.shape}")
    draws = Draws(cfg, times, seed)
    B, N, QC, QTO = cfg.txs_per_block, cfg.nodes, cfg.quorum, cfg.timeout_blocks
    n_req = cfg.requests
    arrival, priority = draws.arrival, draws.priority
    blocks_for_inference = (np.floor(draws.exec_s / cfg.block_s).astype(np.int64) + 1).tolist()
    all_nodes = (1 << N) - 1

    settled_blocks = 0            # requests settled so far (each moves the block counter on)

    def block_at(t: int) -> int:
        """Block number while transaction t and its node steps run."""
        return t // B + 1 + (settled_blocks if cfg.block_per_quorum else 0)

    request_block = [0] * n_req
    waiting: list[tuple[int, int]] = []     # queue="priority": heap of (priority, request)
    head = 0                                # queue="fifo": the oldest unresolved request
    nxt = 0                                 # the next request to arrive

    def arrive_until(t: int) -> None:
        """Requests with tx index <= t enter the queue (no settlement since their arrival)."""
        nonlocal nxt
        while nxt < n_req and arrival[nxt] <= t:
            request_block[nxt] = block_at(arrival[nxt])
            if priority is not None:
                heapq.heappush(waiting, (priority[nxt], nxt))
            nxt += 1

    def peek() -> int | None:
        if priority is not None:
            return waiting[0][1] if waiting else None
        return head if head < nxt else None

    def pop() -> None:
        nonlocal head
        if priority is not None:
            heapq.heappop(waiting)
        else:
            head += 1

    latency: list[int] = []
    wait: list[int] = []
    commits = timeouts = settled = 0
    t, n = 0, 0                   # the next step: transaction t, node n
    last_t = 0                    # transaction of the latest settlement or timeout
    arrive_until(0)
    while settled + timeouts < n_req:
        if n >= N:                                          # the pass is over: next transaction
            t, n = t + 1, 0
            arrive_until(t)
            continue
        r = peek()
        if r is None:                                       # idle until the next request
            t, n = arrival[nxt], 0
            arrive_until(t)
            continue
        block = block_at(t)
        if request_block[r] >= block:                       # requested in this block: wait for the next
            t, n = (t // B + 1) * B, 0
            arrive_until(t)
            continue
        if block - request_block[r] >= QTO:                 # too old already: dropped on this step
            pop()
            timeouts += 1
            last_t, n = t, n + 1
            continue
        # serve r from step (t, n); once started it stays at the head until it resolves.
        # Its deadline: the first transaction whose block makes it QTO blocks old.
        t_dead = (t // B + request_block[r] + QTO - block) * B
        pop()
        member, count, tt, first = 0, 0, t, n
        while True:
            if tt >= t_dead:                                # timed out on node 0's step of t_dead
                timeouts += 1
                arrive_until(t_dead)
                last_t, t, n = t_dead, t_dead, 1
                break
            tx_block = block + (tt // B - t // B)
            can = draws.mask(tx_block) & ~member
            joins = can & (all_nodes ^ ((1 << first) - 1))  # nodes first..N-1 take a step now
            k = joins.bit_count()
            if count + k >= QC:                             # the Q_C-th commit: settled
                node = _nth_set_bit(joins, QC - count)
                arrive_until(tt)
                commits += QC - count
                waited = tx_block - request_block[r]
                wait.append(waited)
                latency.append(waited + blocks_for_inference[r])
                settled += 1
                settled_blocks += 1
                last_t, t, n = tt, tt, node + 1
                break
            member |= joins
            count += k
            commits += k
            following = tt + 1
            if cfg.vrf_scope == "epoch" and not (can & ~joins):
                # nobody else can join before the epoch changes: jump to its first transaction
                e_next = (tx_block // cfg.epoch_blocks + 1) * cfg.epoch_blocks
                following = max(following, (tt // B + e_next - tx_block) * B)
            tt, first = following, 0
    return RunResult(
        seed=seed,
        all_txs=(last_t // B + 1) * B,
        commit_reveal_txs=2 * commits,
        settled=settled,
        timeouts=timeouts,
        final_block=block_at(last_t),
        inference_s=float(times.sum()),
        latency_blocks=np.asarray(latency, dtype=np.int64),
        wait_blocks=np.asarray(wait, dtype=np.int64),
    )


# ---------------------------------------------------------------------------------------------
# repeats and summaries

def _spread(values: Sequence[float], digits: int = 4) -> dict:
    a = np.asarray(values, dtype=np.float64)
    return {"mean": round(float(a.mean()), digits), "std": round(float(a.std()), digits),
            "min": round(float(a.min()), digits), "max": round(float(a.max()), digits)}


def summarize(cfg: PipelineConfig, runs: Sequence[RunResult]) -> dict:
    """Mean and spread over repeats; latency medians are pooled over every settled request."""
    two = [r.two_phase_tps(cfg.tx_exec_s) for r in runs]
    one = [r.single_phase_tps(cfg.tx_exec_s, cfg.requests) for r in runs]
    ratio = [a / b for a, b in zip(two, one)]
    lat = np.concatenate([r.latency_blocks for r in runs])
    wait = np.concatenate([r.wait_blocks for r in runs])
    per_run_median = [float(np.median(r.latency_blocks)) for r in runs if r.settled]
    return {
        "two_phase_tps": round(float(np.mean(two)), 4),
        "single_phase_tps": round(float(np.mean(one)), 6),
        "ratio": round(float(np.mean(ratio)), 4),
        "timeouts_mean": round(float(np.mean([r.timeouts for r in runs])), 3),
        "latency_blocks_median": float(np.median(lat)) if lat.size else None,
        "repeats": len(runs),
        "spread": {
            "two_phase_tps": _spread(two),
            "single_phase_tps": _spread(one, 6),
            "ratio": _spread(ratio),
            "timeouts": _spread([r.timeouts for r in runs], 3),
            "latency_blocks_median_per_run": _spread(per_run_median, 3) if per_run_median else None,
        },
        "latency_blocks_mean": round(float(lat.mean()), 3) if lat.size else None,
        "latency_blocks_p95": float(np.percentile(lat, 95)) if lat.size else None,
        "wait_blocks_median": float(np.median(wait)) if wait.size else None,
        "all_txs_mean": round(float(np.mean([r.all_txs for r in runs])), 2),
        "commit_reveal_txs_mean": round(float(np.mean([r.commit_reveal_txs for r in runs])), 2),
        "settled_mean": round(float(np.mean([r.settled for r in runs])), 3),
        "final_block_mean": round(float(np.mean([r.final_block for r in runs])), 2),
    }


def repeat(cfg: PipelineConfig, times: np.ndarray, seeds: Sequence[int],
           advance: Callable[[], None] | None = None) -> list[RunResult]:
    out = []
    for s in seeds:
        out.append(simulate(cfg, times, s))
        if advance is not None:
            advance()
    return out


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
