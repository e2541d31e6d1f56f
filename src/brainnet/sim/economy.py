"""The token economy in simulation: does splitting a stake help (Sybil), and do small nodes
earn for the work they do (fairness across node sizes)?

Both tables draw committees with `brainnet.protocol.committee.sample_committee`, the exact
mirror of `Registry.sample`, and pay rewards with `brainnet.protocol.emission`, the
mirror of `Emission.vy`, so what is measured is what the contracts do.

Sybil. An attacker with a share `s` of all stake registers it as 1, 2, 5, ... identities
(contiguous in registration order, as a fresh batch of registrations is). A committee
ticket is drawn over the stake still free, so until one of the attacker's identities is
drawn, every ticket lands in the attacker's stake interval with the same probability
whether that interval is one node or many: the chance of being selected at all is the
same, seed by seed (`selection_mismatches` counts seeds where it differs: 0). What splitting
does change is how many seats the attacker can hold once selected: one identity can sit
once, m identities up to m times, approaching the stake-proportional K*s. The table
reports that too (`mean_seats`, `p_capture` of a quorum), next to what a count-weighted
draw (one ticket per identity, no stake) would give, where splitting pays directly.

Fairness. Node classes of different stake and capacity (tasks an epoch they can serve)
run `epochs` epochs of `tasks_per_epoch` tasks. A member with capacity left reveals and
earns an equal share of the fee plus one work unit; a member drawn beyond its capacity
misses and is slashed (`slash_bps`, jailed after `jail_after`). Each epoch's inference
pool is paid per work unit. Earnings per unit of work are the same for every class;
earnings per staked token show the effect of stake, capacity and sampling without
replacement (a node sits at most once per committee).
"""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Callable

from brainnet.protocol.commitment import abi_encode, keccak
from brainnet.protocol.committee import sample_committee
from brainnet.protocol.emission import epoch_amount

TOKEN = 10**18
ProgressFn = Callable[[str, int, int], None]


@dataclass
class NodeClass:
    name: str
    count: int
    stake: int          # BRN
    capacity: int       # tasks an epoch the node can serve


def default_classes() -> list[NodeClass]:
    return [
        NodeClass("small", 40, 100, 10),
        NodeClass("medium", 15, 1_000, 40),
        NodeClass("large", 4, 10_000, 400),
        NodeClass("over-staked", 2, 10_000, 40),     # stakes more than its capacity serves
    ]


@dataclass
class EconomyConfig:
    seed: int = 1
    committee: int = 5                    # K of the draws in both tables
    # Sybil table
    honest_nodes: int = 50
    honest_stake: int = 1_000             # BRN each (uniform) or the Pareto minimum
    stake_dist: str = "uniform"           # uniform | pareto
    attacker_shares: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3)
    splits: tuple[int, ...] = (1, 2, 5, 10, 20)
    trials: int = 2_000                   # committees drawn per row
    # fairness table
    classes: list[NodeClass] = field(default_factory=default_classes)
    epochs: int = 10
    tasks_per_epoch: int = 200
    fee: int = 10                         # BRN per task
    epoch_emission: int = 10_000          # BRN epoch 0 mints (DeployParams default)
    decay_bps: int = 100
    inference_weight_bps: int = 7_000
    slash_bps: int = 1_000
    jail_after: int = 3

    @property
    def quorum(self) -> int:
        return self.committee // 2 + 1

    def validate(self) -> "EconomyConfig":
        from brainnet.errors import ConfigError

        if self.committee < 1:
            raise ConfigError("--committee must be at least 1")
        if self.honest_nodes + 1 < self.committee:
            raise ConfigError(f"--honest-nodes {self.honest_nodes} cannot fill a committee of {self.committee}")
        if sum(c.count for c in self.classes) < self.committee:
            raise ConfigError("the fairness classes have fewer nodes than one committee")
        if self.stake_dist not in ("uniform", "pareto"):
            raise ConfigError(f"--stake-dist {self.stake_dist!r}: use uniform or pareto")
        if self.trials < 1 or self.epochs < 1 or self.tasks_per_epoch < 1:
            raise ConfigError("--trials, --epochs and --tasks-per-epoch must be positive")
        return self


def _seed(*words: int) -> bytes:
    return keccak(abi_encode(*words))


# ---------------------------------------------------------------- Sybil

def _honest_stakes(cfg: EconomyConfig) -> list[int]:
    if cfg.stake_dist == "uniform":
        return [cfg.honest_stake * TOKEN] * cfg.honest_nodes
    rng = random.Random(cfg.seed)
    return [int(cfg.honest_stake * TOKEN * rng.paretovariate(1.5)) for _ in range(cfg.honest_nodes)]


def _split(total: int, m: int) -> list[int]:
    part = total // m
    return [part] * (m - 1) + [total - part * (m - 1)]


def sybil_table(cfg: EconomyConfig, progress: ProgressFn | None = None) -> dict:
    honest = _honest_stakes(cfg)
    h_total = sum(honest)
    k, q = cfg.committee, cfg.quorum
    rows, mismatches = [], 0
    steps, done = len(cfg.attacker_shares) * len(cfg.splits), 0
    for share in cfg.attacker_shares:
        attack_total = int(h_total * share / (1 - share))
        baseline: list[bool] | None = None
        exact = _p_any(honest, attack_total, k)       # the same for every split
        for m in cfg.splits:
            stakes = honest + _split(attack_total, m)
            counts = [1] * len(stakes)            # count-weighted contrast: one ticket per identity
            ids = set(range(len(honest) + 1, len(stakes) + 1))
            selected, seats_hist, captured, count_selected = [], [], 0, 0
            for t in range(cfg.trials):
                seed = _seed(cfg.seed, int(share * 10_000), t)
                members = sample_committee(stakes, seed, k)
                seats = sum(1 for x in members if x in ids)
                selected.append(seats > 0)
                seats_hist.append(seats)
                captured += seats >= q
                count_selected += any(x in ids for x in sample_committee(counts, seed, k))
            if baseline is None:
                baseline = selected
            else:
                mismatches += sum(1 for a, b in zip(baseline, selected) if a != b)
            rows.append({
                "attacker_share": share, "identities": m, "stake_per_identity": attack_total // m / TOKEN,
                "p_selected": sum(selected) / cfg.trials,
                "p_selected_exact": exact,
                "mean_seats": sum(seats_hist) / cfg.trials,
                "proportional_seats": k * share,
                "p_capture": captured / cfg.trials,
                "count_weighted_p_selected": count_selected / cfg.trials,
            })
            done += 1
            if progress:
                progress("sybil", done, steps)
    return {"committee": k, "quorum": q, "honest_nodes": cfg.honest_nodes, "stake_dist": cfg.stake_dist,
            "trials": cfg.trials, "rows": rows, "selection_mismatches": mismatches,
            "note": "p_selected is the same for every split, seed by seed (selection_mismatches = 0); "
                    "splitting raises the seats an attacker can hold towards its stake-proportional share K*s."}


def _p_any(honest: list[int], group: int, k: int) -> float:
    """P(a group holding `group` stake is drawn at least once in k draws): it depends only on the
    group's total stake, not on how it is split. Exact for uniform honest stakes (every honest
    pick removes the same stake); otherwise a seeded 5,000-draw estimate of the same sampler."""
    if len(set(honest)) == 1:
        h, free, p_none = honest[0], sum(honest), 1.0
        for _ in range(k):
            p_none *= free / (free + group)
            free -= h
        return 1.0 - p_none
    rng = random.Random(0)
    hits = 0
    for _ in range(5_000):
        pool = list(honest)
        for _ in range(k):
            total = sum(pool) + group
            r = rng.random() * total
            if r >= sum(pool):
                hits += 1
                break
            acc = 0.0
            for j, s in enumerate(pool):
                acc += s
                if r < acc:
                    pool.pop(j)
                    break
    return hits / 5_000


# ---------------------------------------------------------------- fairness

def fairness_table(cfg: EconomyConfig, progress: ProgressFn | None = None) -> dict:
    nodes = [(c, i) for c in cfg.classes for i in range(c.count)]
    stake = [c.stake * TOKEN for c, _ in nodes]
    slashes = [0] * len(nodes)
    jailed = [False] * len(nodes)
    fees = [0] * len(nodes)
    rewards = [0] * len(nodes)
    work = [0] * len(nodes)
    draws = [0] * len(nodes)
    missed = [0] * len(nodes)
    slashed = [0] * len(nodes)
    k, q = cfg.committee, cfg.quorum
    settled = refunded = 0
    total_tasks = cfg.epochs * cfg.tasks_per_epoch
    for epoch in range(cfg.epochs):
        served = [0] * len(nodes)
        units = [0] * len(nodes)
        for t in range(cfg.tasks_per_epoch):
            active = [0 if jailed[i] else s for i, s in enumerate(stake)]
            if sum(1 for s in active if s > 0) < k:
                refunded += 1
                continue
            members = [x - 1 for x in sample_committee(active, _seed(cfg.seed, epoch, t), k)]
            revealers = []
            for i in members:
                draws[i] += 1
                if served[i] < nodes[i][0].capacity:
                    served[i] += 1
                    revealers.append(i)
                else:                               # drawn beyond capacity: a no-show, slashed
                    missed[i] += 1
                    cut = stake[i] * cfg.slash_bps // 10_000
                    stake[i] -= cut
                    slashed[i] += cut
                    slashes[i] += 1
                    jailed[i] = jailed[i] or slashes[i] >= cfg.jail_after
            if len(revealers) >= q:
                settled += 1
                share = cfg.fee * TOKEN // len(revealers)
                for i in revealers:
                    fees[i] += share
                    units[i] += 1
            else:
                refunded += 1
            if progress:
                progress("fairness", epoch * cfg.tasks_per_epoch + t + 1, total_tasks)
        pool = epoch_amount(cfg.epoch_emission * TOKEN, cfg.decay_bps, epoch) * cfg.inference_weight_bps // 10_000
        total_units = sum(units)
        for i, u in enumerate(units):
            work[i] += u
            if u:
                rewards[i] += pool * u // total_units
    rows = []
    total_stake = sum(c.stake * c.count for c in cfg.classes) * TOKEN
    all_work = sum(work) or 1
    for c in cfg.classes:
        idx = [i for i, (cc, _) in enumerate(nodes) if cc is c]
        w = sum(work[i] for i in idx)
        earned = sum(fees[i] + rewards[i] for i in idx)
        rows.append({
            "class": c.name, "nodes": c.count, "stake": c.stake, "capacity_per_epoch": c.capacity,
            "stake_share": round(c.stake * c.count * TOKEN / total_stake, 4),
            "work_share": round(w / all_work, 4),
            "draws_per_node": sum(draws[i] for i in idx) / c.count,
            "work_per_node": w / c.count,
            "missed_per_node": sum(missed[i] for i in idx) / c.count,
            "jailed": sum(1 for i in idx if jailed[i]),
            "fees_per_node": sum(fees[i] for i in idx) / c.count / TOKEN,
            "emission_per_node": sum(rewards[i] for i in idx) / c.count / TOKEN,
            "slashed_per_node": sum(slashed[i] for i in idx) / c.count / TOKEN,
            "earnings_per_work": (earned / w / TOKEN) if w else 0.0,
            "net_per_staked_token": (earned - sum(slashed[i] for i in idx)) / (c.stake * c.count * TOKEN),
        })
    def spread_of(values: list[float]) -> float:
        return round((max(values) - min(values)) / (sum(values) / len(values)), 4) if values else 0.0

    spread = spread_of([r["earnings_per_work"] for r in rows if r["work_per_node"] > 0])
    # classes that worked every epoch: the same fee share and the same pool per unit each epoch
    steady = spread_of([r["earnings_per_work"] for r in rows if r["work_per_node"] > 0 and r["jailed"] == 0])
    return {"committee": k, "quorum": q, "epochs": cfg.epochs, "tasks_per_epoch": cfg.tasks_per_epoch,
            "fee": cfg.fee, "epoch_emission": cfg.epoch_emission, "decay_bps": cfg.decay_bps,
            "inference_weight_bps": cfg.inference_weight_bps, "tasks_settled": settled, "tasks_refunded": refunded,
            "rows": rows, "earnings_per_work_spread": spread, "earnings_per_work_spread_unjailed": steady,
            "note": "within an epoch every unit of work earns the same fee share and the same pool share; classes "
                    "that worked in every epoch earn the same per unit (spread_unjailed), a class jailed early "
                    "worked only in early, richer epochs (emission decays). A node drawn beyond its capacity is "
                    "slashed, so stake should follow capacity."}


def simulate_economy(cfg: EconomyConfig, progress: ProgressFn | None = None) -> dict:
    cfg.validate()
    config = asdict(cfg)
    return {"config": config, "sybil": sybil_table(cfg, progress), "fairness": fairness_table(cfg, progress),
            "math": {"p_selected_depends_only_on_total_stake": True,
                     "why": "until the group is drawn, each ticket falls in the group's stake interval with "
                            "probability group_stake / free_stake, the same for one node or many"}}


def sybil_gain(table: dict) -> float:
    """Largest difference in p_selected between splits of one attacker share (0 means no gain)."""
    by_share: dict[float, list[float]] = {}
    for r in table["rows"]:
        by_share.setdefault(r["attacker_share"], []).append(r["p_selected"])
    return max((max(v) - min(v) for v in by_share.values()), default=0.0)


__all__ = ["EconomyConfig", "NodeClass", "default_classes", "simulate_economy", "sybil_table", "fairness_table",
           "sybil_gain"]
