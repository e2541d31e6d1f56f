"""`brainnet bench fl`: final accuracy of every strategy under every attack, ours beside Flower's.

For each data set x attack x Byzantine share x strategy, one chain-free federated run
(`brainnet.train.rounds.run_federated`) on the same seeds: the same split, attackers,
initial model and batch seeds for every strategy, so rows differ only in the aggregation.
Rows with source "flower" call Flower's own aggregation functions on the same inputs.
Two references per data set: `clean` (no attackers, our FedAvg: the issue's yardstick)
and `honest_only` per share (FedAvg over the honest clients only: a perfect attacker
filter; it cannot use the attackers' share of the data, so with non-IID splits it ends
below `clean` — what any filter loses, not a bound: brain also drops unhelpful honest
updates and can end above it).

The done-when check, per data set and attack at 30% attackers: `brain` within 1 point of
clean FedAvg, and at least as good as Flower's FedMedian and Krum. Every miss is listed
in `checks` with the honest-only run beside it, so it says why.
"""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from brainnet.fsutil import atomic_write_bytes
from brainnet.train.attacks import ATTACKS
from brainnet.train.data import DATASETS
from brainnet.train.local import LocalConfig
from brainnet.train.rounds import FLConfig, clean_config, run_federated, versions_info

DEFAULT_OUT = Path("bench/results/fl.json")
SHARES = (0.1, 0.3, 0.45)
OURS = ("brain", "fedavg", "fedmedian", "trimmed_mean", "krum")
FLOWER = ("fedavg", "fedmedian", "trimmed_mean", "krum")
CHECK_SHARE = 0.3
TOLERANCE = 0.01     # "within 1 accuracy point"


def plan(datasets, attacks, shares) -> list[tuple[str, str, float, str, str]]:
    runs = []
    for ds in datasets:
        for attack in attacks:
            for share in shares:
                runs += [(ds, attack, share, s, "brainnet") for s in OURS]
                runs += [(ds, attack, share, s, "flower") for s in FLOWER]
    return runs


def checks(report: dict, share: float = CHECK_SHARE) -> list[dict]:
    rows = {(r["dataset"], r["attack"], r["byzantine"], r["strategy"], r["source"]): r for r in report["rows"]}
    clean = {c["dataset"]: c["final_accuracy"] for c in report["clean"]}
    ceiling = {(h["dataset"], h["byzantine"]): h["final_accuracy"] for h in report["honest_only"]}
    out = []
    for ds in report["config"]["datasets"]:
        for attack in report["config"]["attacks"]:
            brain = rows.get((ds, attack, share, "brain", "brainnet"))
            if brain is None:
                continue
            med = rows.get((ds, attack, share, "fedmedian", "flower"))
            krum = rows.get((ds, attack, share, "krum", "flower"))
            b = brain["final_accuracy"]
            item = {"dataset": ds, "attack": attack, "byzantine": share, "brain": b, "clean_fedavg": clean[ds],
                    "honest_only_fedavg": ceiling.get((ds, share)),
                    "flower_fedmedian": med and med["final_accuracy"], "flower_krum": krum and krum["final_accuracy"],
                    "within_1pt_of_clean": b >= clean[ds] - TOLERANCE - 1e-12,
                    "at_least_flower_fedmedian": med is None or b >= med["final_accuracy"] - 1e-12,
                    "at_least_flower_krum": krum is None or b >= krum["final_accuracy"] - 1e-12}
            item["pass"] = item["within_1pt_of_clean"] and item["at_least_flower_fedmedian"] and item["at_least_flower_krum"]
            if not item["within_1pt_of_clean"]:
                ceil = item["honest_only_fedavg"]
                item["why"] = (f"brain is {100 * (clean[ds] - b):.1f} points below clean FedAvg; FedAvg over the honest "
                               f"clients only (a perfect attacker filter) reaches {ceil:.4f}: the attackers' share of "
                               "the non-IID data is lost to any filter that keeps their updates out"
                               if ceil is not None and ceil < clean[ds] - TOLERANCE else
                               f"brain is {100 * (clean[ds] - b):.1f} points below clean FedAvg")
            out.append(item)
    return out


def summarize(report: dict) -> dict:
    """Add the done-when `checks`, their `summary` and a one-paragraph `note` (derived from the rows)."""
    report["checks"] = checks(report)
    passed = [c for c in report["checks"] if c["pass"]]
    near = [c for c in report["checks"] if not c["within_1pt_of_clean"]]
    worse = [c for c in report["checks"] if not (c["at_least_flower_fedmedian"] and c["at_least_flower_krum"])]
    report["summary"] = {"checks": len(report["checks"]), "passed": len(passed),
                         "missed_within_1pt_of_clean": [f"{c['dataset']}/{c['attack']}" for c in near],
                         "missed_vs_flower": [f"{c['dataset']}/{c['attack']}" for c in worse]}
    parts = [f"{len(passed)} of {len(report['checks'])} (data set, attack) pairs at {int(CHECK_SHARE * 100)}% "
             "attackers meet the done-when check."]
    if near:
        parts.append("brain misses 'within 1 point of clean FedAvg' on " + ", ".join(
            f"{c['dataset']}/{c['attack']} ({c['brain']:.4f} vs {c['clean_fedavg']:.4f}; honest-only FedAvg "
            f"{c['honest_only_fedavg']:.4f})" for c in near) + ".")
        lost = [c for c in near if c["honest_only_fedavg"] is not None
                and c["honest_only_fedavg"] < c["clean_fedavg"] - TOLERANCE]
        if lost:
            parts.append("Where FedAvg over the honest clients alone (a perfect attacker filter) is itself more than "
                         "1 point below clean FedAvg (" + ", ".join(f"{c['dataset']}/{c['attack']}" for c in lost)
                         + "), the gap is the attackers' share of the non-IID data, which a filter that keeps "
                           "their updates out cannot use.")
        own = [c for c in near if c not in lost]
        if own:
            parts.append("Elsewhere (" + ", ".join(f"{c['dataset']}/{c['attack']}" for c in own)
                         + ") the filter itself costs accuracy: it also rejects honest updates that do not "
                           "lower the committee's held-out loss.")
    if worse:
        parts.append("brain is below Flower's FedMedian or Krum on " + ", ".join(
            f"{c['dataset']}/{c['attack']}" for c in worse) + ".")
    else:
        parts.append("brain is at least as good as Flower's FedMedian and Krum everywhere.")
    report["note"] = " ".join(parts)
    return report


def run_fl_bench(*, datasets=DATASETS, attacks=ATTACKS, shares=SHARES, rounds: int = 20, clients: int = 20,
                 alpha: float = 0.5, seed: int = 0, local: LocalConfig = LocalConfig(),
                 out: Path | None = DEFAULT_OUT, plot: Path | None = None,
                 progress: Callable[[int, int, str], None] | None = None) -> dict:
    """Run the grid; write the JSON (and the PNG) when `out` is given; return the report.
    `progress(done, total, label)` after each run."""
    start = time.perf_counter()
    base = FLConfig(rounds=rounds, clients=clients, alpha=alpha, seed=seed, local=local)
    report: dict = {"clean": [], "honest_only": [], "rows": [], "per_round": {}}
    total = len(datasets) * (1 + len(shares)) + len(plan(datasets, attacks, shares))
    done = 0

    def tick(label: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total, label)

    for ds in datasets:
        cfg = replace(base, dataset=ds)
        clean = run_federated(clean_config(cfg))
        report["clean"].append({"dataset": ds, "final_accuracy": clean.final_accuracy,
                                "accuracy_per_round": clean.accuracy_per_round})
        tick(f"{ds} clean fedavg {clean.final_accuracy:.4f}")
        for share in shares:
            ref = run_federated(replace(cfg, byzantine=share, strategy="fedavg"), honest_only=True)
            report["honest_only"].append({"dataset": ds, "byzantine": share, "final_accuracy": ref.final_accuracy,
                                          "accuracy_per_round": ref.accuracy_per_round})
            tick(f"{ds} honest-only fedavg at {share} {ref.final_accuracy:.4f}")
    for ds, attack, share, strategy, source in plan(datasets, attacks, shares):
        cfg = replace(base, dataset=ds, attack=attack, byzantine=share, strategy=strategy, source=source)
        res = run_federated(cfg)
        report["rows"].append({"dataset": ds, "attack": attack, "byzantine": share, "strategy": strategy,
                               "source": source, "final_accuracy": res.final_accuracy,
                               "accepted_byzantine": res.accepted_byzantine, "rejected_honest": res.rejected_honest,
                               "accuracy_per_round": res.accuracy_per_round})
        tick(f"{ds} {attack} {share} {strategy} ({source}) {res.final_accuracy:.4f}")
    report["config"] = {"datasets": list(datasets), "attacks": list(attacks), "shares": list(shares),
                        "rounds": rounds, "clients": clients, "alpha": alpha, "seed": seed,
                        "local": {"epochs": local.epochs, "batch_size": local.batch_size, "lr": local.lr},
                        "committee": base.committee, "threshold": base.threshold, "trimmed_beta": base.beta,
                        "krum_num_malicious": "the number of attackers (given to ours and Flower's alike)",
                        "hidden": base.hidden}
    report.pop("per_round")
    report["notes"] = {
        "clean": "no attackers, our FedAvg, same split/seeds: the yardstick of the done-when check",
        "honest_only": "FedAvg over the honest clients only (attackers dropped: a perfect attacker filter); it "
                       "lacks the attackers' share of the non-IID data, which no filter can use",
        "krum": "plain Krum (to_keep = 0, Flower's default) keeps one client's model per round; with non-IID "
                "clients one client's model is a poor global model, hence Krum's low accuracy",
        "score": "brain: each of the committee members scores each update 0..10000 on its own held-out slice "
                 "(5000 = same cross-entropy as the global model); median per update; accept if >= threshold",
        "flower": "source 'flower' rows call flwr.server.strategy.aggregate's functions on the same client weights",
    }
    summarize(report)
    report["versions"] = versions_info()
    report["elapsed_s"] = round(time.perf_counter() - start, 1)
    if out is not None:
        atomic_write_bytes(Path(out), (json.dumps(report, indent=1) + "\n").encode())
        plot_fl(report, Path(plot) if plot else Path(out).with_suffix(".png"))
    return report


def plot_fl(report: dict, path: Path, share: float = CHECK_SHARE) -> Path:
    """Accuracy per round at `share` attackers: one panel per data set x attack."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg = report["config"]
    datasets, attacks = cfg["datasets"], cfg["attacks"]
    if share not in cfg["shares"]:
        share = cfg["shares"][0]
    fig, axes = plt.subplots(len(datasets), len(attacks), figsize=(3.2 * len(attacks), 2.6 * len(datasets)),
                             squeeze=False, sharey="row")
    clean = {c["dataset"]: c for c in report["clean"]}
    styles = {"brainnet": "-", "flower": ":"}           # same colour per strategy, dotted for Flower's
    colours = {"brain": "tab:blue", "fedavg": "tab:orange", "fedmedian": "tab:green", "trimmed_mean": "tab:red",
               "krum": "tab:purple"}
    for i, ds in enumerate(datasets):
        for j, attack in enumerate(attacks):
            ax = axes[i][j]
            rounds = range(1, len(clean[ds]["accuracy_per_round"]) + 1)
            ax.plot(rounds, clean[ds]["accuracy_per_round"], "k--", lw=1, label="clean fedavg")
            for row in report["rows"]:
                if (row["dataset"], row["attack"], row["byzantine"]) != (ds, attack, share):
                    continue
                ax.plot(rounds, row["accuracy_per_round"], styles[row["source"]], color=colours.get(row["strategy"]),
                        lw=2 if row["strategy"] == "brain" else (1.6 if row["source"] == "flower" else 1),
                        label=f"{row['strategy']} ({row['source']})")
            ax.set_title(f"{ds}, {attack}", fontsize=8)
            ax.set_ylim(0, 1)
            ax.tick_params(labelsize=7)
            if i == len(datasets) - 1:
                ax.set_xlabel("round", fontsize=7)
            if j == 0:
                ax.set_ylabel("test accuracy", fontsize=7)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=5, fontsize=7)
    fig.suptitle(f"accuracy per round, {int(share * 100)}% attackers, {cfg['clients']} clients, alpha {cfg['alpha']}",
                 fontsize=9)
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
