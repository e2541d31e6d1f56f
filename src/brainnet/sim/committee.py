"""Monte Carlo of committee security: how often a wrong result is accepted, and who is slashed.

Why it exists: BRAIN's rule (one committee, the value with a quorum wins) lets a colluding
minority win whenever the draw hands it a majority. Escalation (`protocol/escalation.py`)
reopens every split vote to a larger, fresh committee. This module measures both on
10,000-task runs in seconds, by calling the same pure protocol functions that the node
and the contracts' mirror use: `sample_committee`, `level_seed`, `level_size`, `tally`,
`decide_level`, `resolve`. Nothing about the rule is re-implemented here.

The chain it mirrors (`Registry.vy` + `Inference.vy`), one task at a time:

- **Network.** `nodes` nodes register in index order (registry index i+1 is `stakes[i]`),
  all serving one model. Stakes are `uniform` (all `stake`) or `pareto` (seeded classic
  Pareto with shape `pareto_alpha`, minimum `stake`, so every node holds >= `min_stake`).
  `round(malicious * nodes)` nodes, chosen by the seed, follow `behaviour`; the rest are
  honest. A node is active (drawable) when it is not jailed and holds >= `min_stake`.
- **Seeds.** The chain seeds level l of task t with the hash of a block mined after the
  request (or after the escalation). The simulation's stand-in for that block hash is
  `keccak256(abi.encode(seed, t, l))` (see `seed_block_hash`), fed to `level_seed` as the
  contract does. Task ids start at 1, as `Inference.request` numbers them.
- **Draw.** Level l draws `level_size(K, l)` members with `sample_committee(active stakes,
  level_seed(...), size, exclude=every earlier member of the task)`.
- **Reveals.** Each member's revealed value (or no reveal) comes from its behaviour
  (`revealed_value`); every value is a deterministic hash of (seed, task, member), so a
  chain-backed runner's agents reveal exactly the same bytes. Reveal order = draw order.
- **Levels.** `tally` the level's reveals, then `decide_level` with `can_escalate` = the
  active nodes not yet on the task number at least the next level's size (what
  `Registry.available` answers). A level that settles before the last one is
  provisional: with probability `challenge_wrong` a requester who finds it wrong posts
  the bond and it escalates (one challenge per task, as `Inference.challenge` allows).
- **Close.** `resolve` over every level; each slashed member (dissenter or no-show) loses
  `stake * slash_bps // 10000` (at most its stake), its slash count goes up by one, and
  it is jailed at `jail_after` slashes, exactly as `Registry.slash`. Tasks run one after
  another: task t+1 is drawn against the stakes task t left.
- `apply_slashes=False` counts slashes but never changes stakes or jails anyone: every
  task meets the same network, i.e. the per-task risk against an adversary that
  re-stakes whatever it loses (new Sybil nodes). `apply_slashes=True` is the Registry.
- `rule="brain"` is BRAIN's rule: `levels = 1` (no escalation, no challenge).

Behaviours (`BEHAVIOURS`): `honest` reveals the true value; `wrong` a random wrong value
of its own; `colluding` one wrong value shared by all colluders of the task; `lazy`,
`offline` and `late` reveal nothing (a lazy node cannot copy: a commitment binds its
member, so a copied commitment never opens; a late one misses the reveal window) and
are slashed as no-shows. In `near` mode values are 256-bit fingerprints: honest members
drift from the true fingerprint on a subset of the task's `drift` fragile bits (the
projections closest to zero, which flip under bf16, thread counts or batching: the same
bits for every honest variant), so an honest fingerprint is at most `drift` bits from the
true one and from any other honest one; `near-cheat` members reveal their own
fingerprint `cheat_bits` away from it (a noisy output).

Runners: `MonteCarloRunner` is the pure one. A chain-backed runner (`sim.chain_runner.ChainRunner`,
`brainnet sim committee --chain anvil|embedded`) implements the same
`Runner` protocol (registers the same `Network` in index order, has each member reveal
`revealed_value` through real commit/reveal, one task at a time, reads slashes back) and
returns the same `TaskOutcome`s; `summarize` reports both the same way. A real chain's
block hashes cannot be chosen, so cross-validation records them (level l of task t) and
replays them with `MonteCarloRunner(block_hash=...)`; `compare_outcomes` then must find
no difference.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Protocol, Sequence

import numpy as np

from brainnet.errors import ConfigError
from brainnet.protocol.commitment import abi_encode, keccak
from brainnet.protocol.committee import sample_committee
from brainnet.protocol.escalation import (
    ESCALATE, EXACT, NEAR, SETTLE, agree, decide_level, level_seed, level_size, resolve, tally,
)

TOKEN = 10**18                 # 1 BRN in wei, as `brainnet.chain.TOKEN`
MAX_TABLE_TASKS = 1_000_000

BEHAVIOURS = ("honest", "wrong", "colluding", "lazy", "offline", "late", "near-cheat")
NO_REVEAL = frozenset({"lazy", "offline", "late"})
RULES = ("ours", "brain")
STAKE_DISTS = ("uniform", "pareto")
MODES = {"exact": EXACT, "near": NEAR}

# task outcome statuses
CORRECT, WRONG, REFUNDED, UNSERVED = "correct", "wrong", "refunded", "unserved"


@dataclass(frozen=True)
class SimConfig:
    """One simulated network and workload. Protocol defaults mirror `chain.DeployParams`."""
    nodes: int = 200
    stake_dist: str = "uniform"        # uniform | pareto
    pareto_alpha: float = 1.5          # Pareto shape (smaller = heavier tail)
    malicious: float = 0.3             # fraction of nodes (by count) that follow `behaviour`
    behaviour: str = "colluding"       # one of BEHAVIOURS
    committee: int = 11                # K: members of level 0
    quorum: int | None = None          # Q: agreeing reveals that settle level 0 (None: K // 2 + 1)
    levels: int = 4                    # L: committee levels (K, 2K+1, 4K+3, ...); forced to 1 by rule=brain
    tasks: int = 10_000
    seed: int = 1
    rule: str = "ours"                 # ours (escalation) | brain (one committee)
    stake: int = 1_000 * TOKEN         # each node's stake (uniform) or the Pareto minimum
    min_stake: int = 100 * TOKEN       # below this a node is never drawn
    slash_bps: int = 1_000             # share of stake slashed per offence, in 1/10000
    jail_after: int = 3                # slashes that jail a node
    apply_slashes: bool = True         # False: count slashes, never change the network
    fee: int = 10 * TOKEN              # escrowed per task
    bond: int = 50 * TOKEN             # challenge bond
    challenge_wrong: float = 0.0       # chance a requester challenges a wrong provisional result
    mode: str = "exact"                # exact | near
    tolerance: int = 7                 # near: Hamming distance that still agrees (MiniLM, bench/results/near_agreement.json)
    drift: int = 4                     # near: fragile bits an honest fingerprint may differ on (measured max: 4)
    cheat_bits: int = 64               # near: bits a near-cheat's fingerprint differs from the true one

    @property
    def q(self) -> int:
        return self.quorum if self.quorum is not None else self.committee // 2 + 1

    @property
    def max_levels(self) -> int:
        return 1 if self.rule == "brain" else self.levels

    @property
    def mode_id(self) -> int:
        return MODES[self.mode]

    @property
    def malicious_count(self) -> int:
        return round(self.malicious * self.nodes)

    def validate(self) -> "SimConfig":
        """Raise ConfigError (cause and fix, in CLI flag names) for a configuration the chain would refuse."""
        def bad(msg: str) -> None:
            raise ConfigError(msg)

        if self.nodes < 1:
            bad(f"--nodes {self.nodes}: need at least one node")
        if self.stake_dist not in STAKE_DISTS:
            bad(f"--stake-dist {self.stake_dist!r}: choose one of {', '.join(STAKE_DISTS)}")
        if self.stake_dist == "pareto" and not self.pareto_alpha > 0:
            bad(f"--pareto-alpha {self.pareto_alpha}: the Pareto shape must be positive (e.g. 1.5)")
        if not 0.0 <= self.malicious <= 1.0:
            bad(f"--malicious {self.malicious}: give the fraction of malicious nodes between 0 and 1 (e.g. 0.3)")
        if self.behaviour not in BEHAVIOURS:
            bad(f"--behaviour {self.behaviour!r}: choose one of {', '.join(BEHAVIOURS)}")
        if self.rule not in RULES:
            bad(f"--rule {self.rule!r}: choose 'ours' (escalation) or 'brain' (one committee, no escalation)")
        if self.mode not in MODES:
            bad(f"--mode {self.mode!r}: choose 'exact' or 'near'")
        if self.behaviour == "near-cheat" and self.mode != "near":
            bad("--behaviour near-cheat only makes sense with --mode near (exact mode has no tolerance to abuse)")
        if self.committee < 1:
            bad(f"--committee {self.committee}: a committee needs at least one member")
        if self.committee > self.nodes:
            bad(f"--committee {self.committee} needs at least that many --nodes (got {self.nodes})")
        q = self.q
        if q * 2 <= self.committee or q > self.committee:
            bad(f"--quorum {q} must be a majority of --committee {self.committee} "
                f"(between {self.committee // 2 + 1} and {self.committee})")
        if self.levels < 1:
            bad(f"--levels {self.levels}: need at least 1 (1 = no escalation)")
        if self.tasks < 1:
            bad(f"--tasks {self.tasks}: run at least one task")
        if self.seed < 0 or self.seed >= 1 << 256:
            bad(f"--seed {self.seed}: the seed is a uint256 (0 <= seed < 2**256)")
        if self.min_stake < 1 or self.stake < self.min_stake:
            bad(f"stake {self.stake} below min_stake {self.min_stake}: every node must register with at least the minimum")
        if not 0 <= self.slash_bps <= 10_000:
            bad(f"--slash-bps {self.slash_bps}: a share of stake in 1/10000, between 0 and 10000")
        if self.jail_after < 1:
            bad(f"--jail-after {self.jail_after}: must be at least 1 (the Registry refuses 0)")
        if not 0.0 <= self.challenge_wrong <= 1.0:
            bad(f"--challenge-wrong {self.challenge_wrong}: a probability between 0 and 1")
        if self.mode == "near":
            if not 0 <= self.tolerance < 128:
                bad(f"--tolerance {self.tolerance}: the Registry accepts 0..127 bits")
            if not 0 <= self.drift <= 256 or not 0 <= self.cheat_bits <= 256:
                bad("--drift and --cheat-bits count bits of a 256-bit fingerprint: 0..256")
        return self


# ---------------------------------------------------------------- the network

@dataclass
class Network:
    """Registry state the simulation mutates. Lists are indexed by registry index - 1."""
    stakes: list[int]
    malicious: list[bool]
    min_stake: int
    jail_after: int
    slashes: list[int] = field(default_factory=list)
    jailed: list[bool] = field(default_factory=list)
    active_stakes: list[int] = field(default_factory=list)   # what the model's stake tree holds (0 = inactive)
    active_count: int = 0

    def __post_init__(self) -> None:
        n = len(self.stakes)
        self.slashes = self.slashes or [0] * n
        self.jailed = self.jailed or [False] * n
        self.active_stakes = [s if self._eligible(i) else 0 for i, s in enumerate(self.stakes)]
        self.active_count = sum(1 for s in self.active_stakes if s > 0)

    def _eligible(self, i: int) -> bool:
        return not self.jailed[i] and self.stakes[i] >= self.min_stake

    def slash(self, index: int, slash_bps: int) -> int:
        """`Inference._slash` + `Registry.slash` for the node at 1-based `index`; returns the stake taken."""
        i = index - 1
        stake = self.stakes[i]
        taken = min(stake * slash_bps // 10_000, stake)
        was_active = self.active_stakes[i] > 0
        self.stakes[i] = stake - taken
        self.slashes[i] += 1
        if self.slashes[i] >= self.jail_after:
            self.jailed[i] = True
        now_active = self._eligible(i)
        self.active_stakes[i] = self.stakes[i] if now_active else 0
        self.active_count += int(now_active) - int(was_active)
        return taken


def build_network(cfg: SimConfig) -> Network:
    """The same seed always gives the same stakes and the same malicious nodes, for every rule."""
    rng = np.random.default_rng(cfg.seed)
    if cfg.stake_dist == "uniform":
        stakes = [cfg.stake] * cfg.nodes
    else:
        # classic Pareto with minimum 1: numpy's pareto() is Lomax (minimum 0), so add 1
        mult = 1.0 + rng.pareto(cfg.pareto_alpha, cfg.nodes)
        stakes = [max(cfg.min_stake, int(cfg.stake * float(m))) for m in mult]
    bad = np.random.default_rng([cfg.seed, 1]).choice(cfg.nodes, size=cfg.malicious_count, replace=False)
    malicious = [False] * cfg.nodes
    for i in bad:
        malicious[int(i)] = True
    return Network(stakes=stakes, malicious=malicious, min_stake=cfg.min_stake, jail_after=cfg.jail_after)


# ---------------------------------------------------------------- values members reveal

def _derive(tag: bytes, *words: int) -> bytes:
    return keccak(tag + abi_encode(*words))


def seed_block_hash(seed: int, task_id: int, level: int) -> bytes:
    """Stand-in for the hash of the block that seeds level `level` of `task_id`."""
    return keccak(abi_encode(seed, task_id, level))


def true_value(seed: int, task_id: int) -> bytes:
    """The honest result of a task (a stand-in for `result_hash` of the model's output, or its fingerprint)."""
    return _derive(b"brainnet.sim/true", seed, task_id)


def _flip_bits(value: bytes, n_bits: int, seed: int, task_id: int, member: int, tag: bytes) -> bytes:
    """`value` with `n_bits` distinct bits flipped at positions derived from (seed, task, member)."""
    mask = 0
    flipped = 0
    counter = 0
    while flipped < n_bits:
        block = _derive(tag, seed, task_id, member, counter)
        for pos in block:   # each byte picks a bit position 0..255
            if not mask >> pos & 1:
                mask |= 1 << pos
                flipped += 1
                if flipped == n_bits:
                    break
        counter += 1
    return (int.from_bytes(value, "big") ^ mask).to_bytes(32, "big")


def honest_drift(truth: bytes, drift: int, seed: int, task_id: int, member: int) -> bytes:
    """An honest fingerprint: `truth` with a member-chosen subset of the task's `drift` fragile bits flipped.

    Honest variants (bf16 autocast, thread counts, batch sizes) flip the signs of the few
    projections that lie closest to zero, the same ones for every variant: two honest
    fingerprints differ by at most `drift` bits, as `brainnet bench near` measured (max 4)."""
    fragile = int.from_bytes(_flip_bits(bytes(32), drift, seed, task_id, 0, b"brainnet.sim/fragile"), "big")
    pick = int.from_bytes(_derive(b"brainnet.sim/drift", seed, task_id, member), "big")
    return (int.from_bytes(truth, "big") ^ (fragile & pick)).to_bytes(32, "big")


def revealed_value(cfg: SimConfig, task_id: int, member: int, malicious: bool, truth: bytes | None = None) -> bytes | None:
    """What the member at 1-based registry index `member` reveals for `task_id`; None = no reveal."""
    truth = true_value(cfg.seed, task_id) if truth is None else truth
    behaviour = cfg.behaviour if malicious else "honest"
    if behaviour == "honest":
        if cfg.mode == "near" and cfg.drift:
            return honest_drift(truth, cfg.drift, cfg.seed, task_id, member)
        return truth
    if behaviour in NO_REVEAL:
        return None
    if behaviour == "colluding":
        return _derive(b"brainnet.sim/collude", cfg.seed, task_id)
    if behaviour == "wrong":
        return _derive(b"brainnet.sim/wrong", cfg.seed, task_id, member)
    if behaviour == "near-cheat":
        return _flip_bits(truth, cfg.cheat_bits, cfg.seed, task_id, member, b"brainnet.sim/cheat")
    raise ConfigError(f"unknown behaviour {behaviour!r}")


def challenges(cfg: SimConfig, task_id: int) -> bool:
    """Whether the requester of `task_id` would challenge a wrong provisional result."""
    if cfg.challenge_wrong <= 0:
        return False
    u = int.from_bytes(_derive(b"brainnet.sim/challenge", cfg.seed, task_id), "big") / 2**256
    return u < cfg.challenge_wrong


# ---------------------------------------------------------------- one task

@dataclass(frozen=True)
class TaskOutcome:
    """What happened to one task: the record a chain-backed run must reproduce exactly."""
    task_id: int
    status: str                                  # correct | wrong | refunded | unserved
    level: int                                   # last level that ran, 0-based (-1: unserved)
    result: bytes | None                         # final value (None: refunded or unserved)
    committees: tuple[tuple[int, ...], ...]      # members of each level, draw order, 1-based registry indices
    slashed: tuple[int, ...]                     # dissenters then no-shows, as `resolve` lists them
    challenged: bool = False

    def key(self) -> tuple:
        """The fields cross-validation compares."""
        return (self.task_id, self.status, self.level, self.result, self.committees, self.slashed, self.challenged)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["result"] = self.result.hex() if self.result is not None else None
        d["committees"] = [list(c) for c in self.committees]
        d["slashed"] = list(self.slashed)
        return d


BlockHashFn = Callable[[int, int], bytes]   # (task_id, level) -> hash of the block that seeds that level


def run_task(cfg: SimConfig, net: Network, task_id: int, block_hash: BlockHashFn | None = None) -> TaskOutcome:
    """Play one task through every level it needs, then close it (slashes are applied to `net`).

    `block_hash` gives the seed block hash of each level: the stand-in `seed_block_hash` by
    default; a cross-validation passes the hashes a real chain used, since nobody can choose them.
    """
    k, q, max_levels, mode, tol = cfg.committee, cfg.q, cfg.max_levels, cfg.mode_id, cfg.tolerance
    if net.active_count < k:     # `Inference.request` reverts: not enough active nodes
        return TaskOutcome(task_id, UNSERVED, -1, None, (), ())
    truth = true_value(cfg.seed, task_id)
    levels: list[tuple[list[int], dict[int, bytes]]] = []
    excluded: list[int] = []
    final: bytes | None = None
    challenged: bytes | None = None
    bond = 0
    for level in range(max_levels):
        bh = block_hash(task_id, level) if block_hash is not None else seed_block_hash(cfg.seed, task_id, level)
        seed = level_seed(bh, task_id, level)
        members = sample_committee(net.active_stakes, seed, level_size(k, level), excluded)
        reveals: dict[int, bytes] = {}
        for m in members:                            # reveal order = draw order
            v = revealed_value(cfg, task_id, m, net.malicious[m - 1], truth)
            if v is not None:
                reveals[m] = v
        levels.append((members, reveals))
        excluded.extend(members)
        t = tally(list(reveals.values()), mode, tol)
        can_escalate = net.active_count - len(excluded) >= level_size(k, level + 1)
        verdict = decide_level(t, level, k, q, max_levels, can_escalate)
        if verdict == ESCALATE:
            continue
        if verdict == SETTLE:
            provisional = level + 1 < max_levels and challenged is None
            if (provisional and can_escalate and not agree(t.center, truth, mode, tol)
                    and challenges(cfg, task_id)):
                challenged, bond = t.center, cfg.bond
                continue
            final = t.center
        break
    res = resolve([(ms, rv) for ms, rv in levels], final, cfg.fee, mode, tol, bond, challenged)
    if cfg.apply_slashes:
        for m in res.slashed:
            net.slash(m, cfg.slash_bps)
    if final is None:
        status = REFUNDED
    else:
        status = CORRECT if agree(final, truth, mode, tol) else WRONG
    return TaskOutcome(task_id, status, len(levels) - 1, final, tuple(tuple(ms) for ms, _ in levels),
                       tuple(res.slashed), challenged is not None)


# ---------------------------------------------------------------- runners and the report

ProgressFn = Callable[[int], None]   # called with the number of tasks done


@dataclass
class RunOutput:
    outcomes: list[TaskOutcome]
    network: Network                     # the state at the end (stakes, slashes, jail)
    gas_per_task: list[int] | None = None  # from receipts, when a chain ran it
    backend: str = "montecarlo"


class Runner(Protocol):
    """Runs `cfg.tasks` tasks on `network` (built by `build_network(cfg)`) in task-id order."""
    def run(self, cfg: SimConfig, network: Network, progress: ProgressFn | None = None) -> RunOutput: ...


class MonteCarloRunner:
    """The pure runner: the protocol functions, a Python Registry, no chain.

    `block_hash`: seed block hashes to use instead of the stand-in (e.g. those a chain run
    recorded, to replay it task by task)."""
    def __init__(self, block_hash: BlockHashFn | None = None):
        self.block_hash = block_hash

    def run(self, cfg: SimConfig, network: Network, progress: ProgressFn | None = None) -> RunOutput:
        outcomes: list[TaskOutcome] = []
        every = max(1, cfg.tasks // 200)
        for task_id in range(1, cfg.tasks + 1):
            outcomes.append(run_task(cfg, network, task_id, self.block_hash))
            if progress is not None and (task_id % every == 0 or task_id == cfg.tasks):
                progress(task_id)
        return RunOutput(outcomes, network)


@dataclass
class SimResult:
    config: SimConfig
    outcomes: list[TaskOutcome]
    summary: dict


def simulate(cfg: SimConfig, runner: Runner | None = None, progress: ProgressFn | None = None) -> SimResult:
    """Validate `cfg`, build its network, run every task, and summarize."""
    cfg.validate()
    network = build_network(cfg)
    initial = Network(stakes=list(network.stakes), malicious=list(network.malicious),
                      min_stake=cfg.min_stake, jail_after=cfg.jail_after)
    start = time.perf_counter()
    out = (runner or MonteCarloRunner()).run(cfg, network, progress)
    elapsed = time.perf_counter() - start
    return SimResult(cfg, out.outcomes, summarize(cfg, initial, out, elapsed))


def summarize(cfg: SimConfig, initial: Network, out: RunOutput, elapsed_s: float) -> dict:
    """The report: the issue's fields first, then extras. Counts come from the outcomes, so
    every runner is summarized the same way.

    `honest_slashed` / `malicious_slashed`: distinct nodes of each group slashed at least
    once (`*_slash_events` count every slash). `escalations`: level changes, summed over
    tasks (a challenge counts as one); `tasks_escalated`: tasks that went past level 0.
    `max_level_reached` is 0-based (0 = the first committee, `levels - 1` the last).
    """
    outcomes = out.outcomes
    n = len(outcomes)
    malicious = initial.malicious
    by_status = {s: 0 for s in (CORRECT, WRONG, REFUNDED, UNSERVED)}
    final_level = [0] * cfg.max_levels
    slashed_nodes: set[int] = set()
    events = {True: 0, False: 0}
    escalations = challenges_posted = 0
    wrong_ids: list[int] = []
    for o in outcomes:
        by_status[o.status] += 1
        if o.level >= 0:
            final_level[o.level] += 1
            escalations += o.level
        challenges_posted += o.challenged
        if o.status == WRONG and len(wrong_ids) < 100:
            wrong_ids.append(o.task_id)
        for m in o.slashed:
            slashed_nodes.add(m)
            events[malicious[m - 1]] += 1
    net = out.network
    total_stake = sum(initial.stakes)
    bad_stake = sum(s for s, bad in zip(initial.stakes, malicious) if bad)
    lost = [a - b for a, b in zip(initial.stakes, net.stakes)]
    gas = out.gas_per_task
    return {
        "tasks": n,
        "wrong_accepted": by_status[WRONG],
        "escalations": escalations,
        "max_level_reached": max((o.level for o in outcomes), default=-1),
        "honest_slashed": sum(1 for m in slashed_nodes if not malicious[m - 1]),
        "malicious_slashed": sum(1 for m in slashed_nodes if malicious[m - 1]),
        "refunded": by_status[REFUNDED],
        "mean_gas_per_task": (sum(gas) / len(gas)) if gas else None,
        # extras
        "rule": cfg.rule,
        "seed": cfg.seed,
        "backend": out.backend,
        "wrong_accepted_rate": by_status[WRONG] / n if n else 0.0,
        "correct": by_status[CORRECT],
        "unserved": by_status[UNSERVED],
        "tasks_escalated": n - final_level[0] - by_status[UNSERVED],
        "tasks_by_final_level": final_level,
        "challenges": challenges_posted,
        "honest_slash_events": events[False],
        "malicious_slash_events": events[True],
        "honest_jailed": sum(1 for j, bad in zip(net.jailed, malicious) if j and not bad),
        "malicious_jailed": sum(1 for j, bad in zip(net.jailed, malicious) if j and bad),
        "honest_stake_slashed_brn": sum(x for x, bad in zip(lost, malicious) if not bad) / TOKEN,
        "malicious_stake_slashed_brn": sum(x for x, bad in zip(lost, malicious) if bad) / TOKEN,
        "malicious_nodes": sum(malicious),
        "malicious_stake_share": bad_stake / total_stake if total_stake else 0.0,
        "active_nodes_at_end": net.active_count,
        "wrong_task_ids": wrong_ids,
        "elapsed_s": round(elapsed_s, 3),
        "params": _params(cfg),
    }


def _params(cfg: SimConfig) -> dict:
    p = asdict(cfg)
    p["quorum"] = cfg.q
    p["max_levels"] = cfg.max_levels
    p["level_sizes"] = [level_size(cfg.committee, lv) for lv in range(cfg.max_levels)]
    for key in ("stake", "min_stake", "fee", "bond"):
        p[key] = p[key] / TOKEN          # in BRN
    if cfg.mode == "exact":
        for key in ("tolerance", "drift", "cheat_bits"):
            p.pop(key)
    if cfg.stake_dist == "uniform":
        p.pop("pareto_alpha")
    return p


def compare_outcomes(expected: Sequence[TaskOutcome], actual: Sequence[TaskOutcome]) -> list[dict]:
    """Task-by-task differences between two runs of the same config (empty = identical)."""
    mismatches: list[dict] = []
    for a, b in zip(expected, actual):
        if a.key() != b.key():
            fields = [f for f in ("task_id", "status", "level", "result", "committees", "slashed", "challenged")
                      if getattr(a, f) != getattr(b, f)]
            mismatches.append({"task_id": a.task_id, "fields": fields})
    if len(expected) != len(actual):
        mismatches.append({"task_id": None, "fields": ["length"], "expected": len(expected), "actual": len(actual)})
    return mismatches
