"""Run a whole brainnet network in this process and watch committees settle real inference.

Deploys the contracts on the embedded py-evm chain (or a local anvil), registers nodes
with stake (some of them lying), requests inference tasks on a real PyTorch model and
lets random committees settle each by commit-reveal. Shows live progress, then a summary
of who was paid and who was slashed.
"""
from __future__ import annotations

from pathlib import Path

import typer
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from brainnet.cli.common import brn, console, write_json
from brainnet.errors import ConfigError


def demo(
    nodes: int = typer.Option(7, min=1, help="Nodes to register."),
    committee: int = typer.Option(5, min=1, help="Committee size K drawn for every task."),
    quorum: int = typer.Option(3, min=1, help="Matching reveals Q that settle a task (a majority of K)."),
    faulty: int = typer.Option(1, min=0, help="How many nodes lie (reveal wrong labels)."),
    tasks: int = typer.Option(20, min=1, max=10_000, help="Inference tasks to request."),
    chain: str = typer.Option("embedded", help="embedded (in-process py-evm) or anvil (local anvil process)."),
    seed: int = typer.Option(7, help="Seed for keys and inputs: same seed, same run."),
    model: str = typer.Option("digits-mlp", help="digits-mlp (labels, exact agreement) or minilm-l6 "
                                                 "(sentence embeddings, near agreement by SimHash)."),
    json_path: Path = typer.Option(None, "--json", help="Write the summary as JSON here ('-' for stdout)."),
) -> None:
    from brainnet.sim.local import NetworkConfig, run_demo

    if chain not in ("embedded", "anvil"):
        raise ConfigError(f"--chain {chain!r}: the demo runs on 'embedded' or 'anvil'")
    if committee > nodes:
        raise ConfigError(f"--committee {committee} needs at least that many --nodes (got {nodes})")
    if quorum * 2 <= committee or quorum > committee:
        raise ConfigError(f"--quorum {quorum} must be a majority of --committee {committee} (between {committee // 2 + 1} and {committee})")
    if faulty >= nodes:
        raise ConfigError("--faulty must leave at least one honest node")
    from brainnet.models import available_models

    if model not in available_models():
        raise ConfigError(f"--model {model!r}: choose one of {', '.join(available_models())}")
    config = NetworkConfig(nodes=nodes, committee=committee, quorum=quorum, faulty=faulty, chain=chain, seed=seed,
                           model=model)

    from brainnet.cli.common import err_console

    view = err_console if json_path is not None and str(json_path) == "-" else console   # keep stdout pure JSON
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=view, transient=False)
    setup = progress.add_task("setting up", total=None)
    requested = progress.add_task("requested", total=tasks, visible=False)
    settled = progress.add_task("settled", total=tasks, visible=False)

    def on_progress(state: dict) -> None:
        stage = state.get("stage", "")
        if stage == "requesting":
            progress.update(setup, description="network up", total=1, completed=1)
            progress.update(requested, visible=True, completed=state["requested"])
        elif stage == "settling":
            progress.update(settled, visible=True, completed=state["done"],
                            description=f"settled (block {state['block']})")
        else:
            progress.update(setup, description=stage)

    with Live(progress, console=view, refresh_per_second=8, transient=not view.is_terminal):
        report = run_demo(config, tasks=tasks, on_progress=on_progress)

    summary = report.summary()
    if json_path is not None:
        write_json(json_path, summary)
    if json_path is not None and str(json_path) == "-":
        return
    nodes_table = Table(title="nodes (BRN)")
    for col in ("node", "role", "stake", "slash", "jail", "earned", "commit", "reveal"):
        nodes_table.add_column(col, justify="left" if col in ("node", "role") else "right", no_wrap=True)
    for row in report.node_table:
        nodes_table.add_row(row["node"], row["behaviour"], f"{row['stake_start'] // 10**18:,}→{row['stake_now'] // 10**18:,}",
                            str(row["slashes"]), "yes" if row["jailed"] else "", brn(row["earned"]),
                            str(row["committed"]), str(row["revealed"]),
                            style="red" if row["behaviour"] != "honest" else None)
    console.print(nodes_table)
    totals = Table(title="summary", show_header=False)
    totals.add_column("what")
    totals.add_column("value", justify="right")
    for key in ("chain", "tasks_requested", "tasks_settled", "tasks_refunded", "wrong_accepted", "faulty_slashed",
                "honest_slashed", "median_latency_blocks", "tasks_per_s", "gas_per_task", "wall_s"):
        totals.add_row(key, str(summary[key]))
    console.print(totals)
    verdict = "[green]every settled result matches the trusted model[/]" if report.wrong_accepted == 0 \
        else f"[red]{report.wrong_accepted} wrong results were accepted[/]"
    console.print(verdict)
