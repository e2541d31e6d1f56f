"""`brainnet sim economy`: the Sybil and fairness tables of the token economy (see brainnet.sim.economy)."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from brainnet.cli.common import console, err_console, write_json


def economy(
    committee: int = typer.Option(5, help="Committee size K of every draw."),
    honest_nodes: int = typer.Option(50, help="Sybil table: honest nodes beside the attacker."),
    stake_dist: str = typer.Option("uniform", help="Sybil table: honest stakes, uniform (1000 BRN) or pareto (seeded)."),
    trials: int = typer.Option(2_000, help="Sybil table: committees drawn per (share, split) row."),
    epochs: int = typer.Option(10, help="Fairness table: reward epochs to run."),
    tasks_per_epoch: int = typer.Option(200, help="Fairness table: tasks per epoch."),
    seed: int = typer.Option(1, help="Seed of every draw: same seed, same tables."),
    json_path: Path = typer.Option(None, "--json", help="Write the tables as JSON here ('-' for stdout), "
                                                        "e.g. bench/results/economy.json."),
) -> None:
    """Sybil: does splitting one stake into many identities raise the chance of selection? Fairness:
    what nodes of different stake and capacity earn per unit of work."""
    from brainnet.sim.economy import EconomyConfig, simulate_economy

    cfg = EconomyConfig(committee=committee, honest_nodes=honest_nodes, stake_dist=stake_dist, trials=trials,
                        epochs=epochs, tasks_per_epoch=tasks_per_epoch, seed=seed).validate()
    view = err_console if json_path is not None and str(json_path) == "-" else console
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=view, transient=not view.is_terminal)
    bars: dict[str, int] = {}

    def on_progress(stage: str, done: int, total: int) -> None:
        if stage not in bars:
            bars[stage] = progress.add_task(stage, total=total)
        progress.update(bars[stage], completed=done)

    with progress:
        report = simulate_economy(cfg, on_progress)
    write_json(json_path, report)
    if json_path is not None and str(json_path) == "-":
        return
    sy = report["sybil"]
    t = Table(title=f"Sybil: stake split into identities (K={sy['committee']}, Q={sy['quorum']}, "
                    f"{sy['honest_nodes']} honest nodes, {sy['trials']} committees a row)")
    for col in ("attacker stake", "identities", "P(selected)", "exact", "seats", "K*s", "P(quorum captured)",
                "P(selected) if one ticket per identity"):
        t.add_column(col, justify="right")
    for r in sy["rows"]:
        t.add_row(f"{r['attacker_share']:.0%}", str(r["identities"]), f"{r['p_selected']:.3f}",
                  f"{r['p_selected_exact']:.3f}", f"{r['mean_seats']:.2f}", f"{r['proportional_seats']:.2f}",
                  f"{r['p_capture']:.3f}", f"{r['count_weighted_p_selected']:.3f}")
    view.print(t)
    view.print(f"seeds where splitting changed whether the attacker was selected: {sy['selection_mismatches']}")
    fa = report["fairness"]
    f = Table(title=f"Fairness: {fa['epochs']} epochs x {fa['tasks_per_epoch']} tasks, fee {fa['fee']} BRN, "
                    f"emission {fa['epoch_emission']} BRN/epoch (decay {fa['decay_bps']} bps)")
    for col in ("class", "nodes", "stake", "capacity", "stake share", "work share", "work/node", "missed/node",
                "jailed", "earned/node (fees+emission)", "per unit of work", "net per staked BRN"):
        f.add_column(col, justify="right")
    for r in fa["rows"]:
        f.add_row(r["class"], str(r["nodes"]), str(r["stake"]), str(r["capacity_per_epoch"]), f"{r['stake_share']:.3f}",
                  f"{r['work_share']:.3f}", f"{r['work_per_node']:.1f}", f"{r['missed_per_node']:.1f}", str(r["jailed"]),
                  f"{r['fees_per_node'] + r['emission_per_node']:.1f}", f"{r['earnings_per_work']:.3f}",
                  f"{r['net_per_staked_token']:.3f}")
    view.print(f)
    view.print(f"earnings per unit of work differ by {fa['earnings_per_work_spread_unjailed']:.2%} across classes that "
               f"worked every epoch ({fa['earnings_per_work_spread']:.2%} with the jailed class, whose work fell in "
               "early, richer epochs)")
