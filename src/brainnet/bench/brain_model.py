"""BRAIN's pipelining model: one simulated run of two-phase vs single-phase inference.

The simulator behind `brainnet bench pipeline` (see `brainnet.bench.pipeline` for the
model's rules, the assumptions it had to make and the report): `simulate(cfg, times, seed)`
plays one seeded run; `repeat` runs many seeds; `summarize` gives means and spreads.
Pure numpy and deterministic per seed.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

# GPT-J-6B on 819 SAMSum prompts, as BRAIN measured it: the total is the paper's; mean and
# SD are those of the per-prompt times BRAIN published (results/med_times.csv of their
# simulator), whose shape is bimodal: many answers stop early, many run to the token cap.
GPTJ_REQUESTS = 819
GPTJ_TOTAL_S = 15_056.0
GPTJ_MEAN_S = 18.38
GPTJ_SD_S = 17.66


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
