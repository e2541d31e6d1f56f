"""`brainnet sim datamarket`: the 0xDeCA10B good-vs-bad agent simulation on DataMarket.vy.

Kept out of cli/sim.py (which holds the committee simulations) and registered there with
one line.
"""
from __future__ import annotations

import shlex
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from brainnet.cli.common import console, err_console, write_json


def datamarket(
    days: float = typer.Option(155.0, help="Simulated days on the chain's clock (the paper: 155)."),
    model: str = typer.Option("centroid", help="On-chain model: centroid (nearest centroid, steady under flipped "
                                               "labels: reproduces the paper's curves) or perceptron (the paper's "
                                               "model; DataMarket.vy's constant step swings under flipped labels)."),
    good_interval: float = typer.Option(600.0, help="Mean seconds between the good agent's submissions (paper: 600)."),
    bad_interval: float = typer.Option(3600.0, help="Mean seconds between the bad agent's submissions (paper: 3600)."),
    balance: int = typer.Option(10_000, help="Start balance of each agent, in token base units (paper: 10,000)."),
    cost_weight: int = typer.Option(1, help="w in deposit = max(1, w*60 // isqrt(seconds since the last update))."),
    init_scale: int = typer.Option(1, help="Perceptron: the deployer trains the initial model with this step while "
                                           "the chain's step is 1 (a larger value makes early weights heavier)."),
    seed: int = typer.Option(1, help="Seed of the split, the agents' bids and waits: same seed, same run."),
    chain: str = typer.Option("embedded", help="embedded (eth-tester: signed transactions, a block each) or boa "
                                               "(titanoboa: the same EVM, ~4x less CPU per transaction)."),
    json_path: Path = typer.Option(None, "--json", help="Write the report as JSON here ('-' for stdout)."),
    plot_flag: bool = typer.Option(False, "--plot", help="Also draw balances and accuracy per day as a PNG beside "
                                                          "the JSON (or datamarket.png)."),
    plot_path: Path = typer.Option(None, "--plot-path", help="Where the PNG goes (implies --plot)."),
) -> None:
    """Good and bad agents add data to DataMarket.vy on the embedded chain, with deposits, refunds,
    reports and takes as transactions and time travelled on the chain's clock; reports balances
    and accuracy per day beside the paper's anchors (IMDB: accuracy held, bad agent drained by
    day ~120-125, good agent ~2x by day 155). About 40 minutes for the full 155 days."""
    from brainnet.sim.datamarket import SimConfig, plot, simulate

    cfg = SimConfig(days=days, model=model, good_interval_s=good_interval, bad_interval_s=bad_interval,
                    start_balance=balance, cost_weight=cost_weight, init_scale=init_scale, seed=seed, chain=chain).validate()
    view = err_console if json_path is not None and str(json_path) == "-" else console
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=view, transient=not view.is_terminal)
    import math

    with progress:
        bar = progress.add_task(f"simulated days ({model})", total=math.ceil(days))
        result = simulate(cfg, progress=lambda d: progress.update(bar, completed=d))
    s = result.summary
    argv = ["brainnet", "sim", "datamarket", "--days", f"{days:g}", "--model", model, "--seed", str(seed),
            "--chain", chain]
    if good_interval != 600.0 or bad_interval != 3600.0:
        argv += ["--good-interval", f"{good_interval:g}", "--bad-interval", f"{bad_interval:g}"]
    if balance != 10_000 or cost_weight != 1 or init_scale != 1:
        argv += ["--balance", str(balance), "--cost-weight", str(cost_weight), "--init-scale", str(init_scale)]
    if plot_flag or plot_path is not None:
        if plot_path is None:
            plot_path = json_path.with_suffix(".png") if json_path is not None and str(json_path) != "-" \
                else Path("datamarket.png")
        plot(result, plot_path)
        s["plot"] = str(plot_path)
        argv += ["--plot-path", str(plot_path)]
    if json_path is not None:
        argv += ["--json", str(json_path)]
    s["command"] = shlex.join(argv)
    if json_path is not None:
        write_json(json_path, s)
    if json_path is None or str(json_path) != "-":
        table = Table(title=f"sim datamarket: {model}, {days:g} days, seed {seed}, chain {chain}", show_header=True)
        table.add_column("")
        table.add_column("ours")
        table.add_column("paper (IMDB)")
        p = s["paper"]
        table.add_row("baseline accuracy", f"{s['baseline_accuracy']:.3f}", f"{p['baseline_accuracy']:.3f}")
        table.add_row("accuracy start -> end", f"{s['initial_accuracy']:.3f} -> {s['final_accuracy']:.3f}", p["accuracy"])
        drained = s["bad_agent"]["drained_day"]
        table.add_row("bad agent drained", "never" if drained is None else f"day {drained}", "days 120-125")
        table.add_row("bad agent end", str(s["bad_agent"]["end"]), "0")
        table.add_row("good agent end / start", f"{s['good_agent']['end'] / s['good_agent']['start']:.2f}", "about 2")
        table.add_row("transactions", str(sum(s["transactions"].values()) - s["transactions"]["bids_too_low"]), "")
        table.add_row("chain vs mirror mismatches", str(s["mirror_mismatches"]), "")
        table.add_row("elapsed", f"{s['elapsed_s']} s ({s['tx_per_s']} tx/s)", "")
        console.print(table)
        if "plot" in s:
            console.print(f"plot: {s['plot']}")
    if s["mirror_mismatches"]:
        err_console.print(f"error: the chain and the Python mirror differ: {s['mismatch_details'][:3]}")
        raise typer.Exit(1)
