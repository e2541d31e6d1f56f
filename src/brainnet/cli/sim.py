"""Simulate committees at scale: how often wrong results get through, with and without escalation."""
from __future__ import annotations

import json
import shlex
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from brainnet.cli.common import console, err_console, write_json
from brainnet.cli.sim_datamarket import datamarket
from brainnet.errors import ConfigError

app = typer.Typer(no_args_is_help=True)
app.command("datamarket")(datamarket)


def _view(json_path: Path | None):
    return err_console if json_path is not None and str(json_path) == "-" else console   # keep stdout pure JSON


@app.command("committee")
def committee(
    nodes: int = typer.Option(200, help="Registered nodes."),
    stake_dist: str = typer.Option("uniform", help="uniform (all stake 1000 BRN) or pareto (seeded, heavy-tailed, min 1000 BRN)."),
    pareto_alpha: float = typer.Option(1.5, help="Shape of the Pareto stakes (smaller = more unequal)."),
    malicious: float = typer.Option(0.3, help="Fraction of nodes (by count, chosen by the seed) that follow --behaviour."),
    behaviour: str = typer.Option("colluding", help="honest | wrong | colluding | lazy | offline | late | near-cheat."),
    committee: int = typer.Option(11, help="Committee size K of the first level."),
    quorum: int = typer.Option(None, help="Quorum Q of the first level (default: a bare majority of K)."),
    levels: int = typer.Option(4, help="Escalation levels L (sizes K, 2K+1, 4K+3, ...); --rule brain uses 1."),
    tasks: int = typer.Option(10_000, help="Tasks to run, one after another."),
    seed: int = typer.Option(1, help="Seed of the network, the malicious set and every block hash: same seed, same run."),
    rule: str = typer.Option("ours", help="ours (escalate split votes) or brain (one committee, quorum wins)."),
    slash_bps: int = typer.Option(1000, help="Share of stake slashed per offence, in 1/10000."),
    jail_after: int = typer.Option(3, help="Slashes that jail a node."),
    static: bool = typer.Option(False, "--static", help="Count slashes but never apply them: every task meets the same "
                                                         "network (an adversary that re-stakes what it loses)."),
    challenge_wrong: float = typer.Option(0.0, help="Chance that a requester challenges a wrong provisional result."),
    mode: str = typer.Option("exact", help="exact (equal values agree) or near (256-bit fingerprints within --tolerance)."),
    tolerance: int = typer.Option(7, help="near: Hamming distance that still agrees (measured for MiniLM: bench/results/near_agreement.json)."),
    drift: int = typer.Option(4, help="near: fragile bits an honest fingerprint may differ on (measured max for MiniLM: 4)."),
    cheat_bits: int = typer.Option(64, help="near: bits a near-cheat's fingerprint is off."),
    json_path: Path = typer.Option(None, "--json", help="Write the report as JSON here ('-' for stdout)."),
    outcomes_path: Path = typer.Option(None, "--outcomes", help="Write every task's outcome as JSON lines here "
                                                                 "(for cross-validation against a chain)."),
    chain: str = typer.Option("none", help="none (Monte Carlo only), anvil or embedded: play the same network on the "
                                           "real contracts, replay the Monte Carlo with the chain's block hashes and "
                                           "report task-by-task mismatches (must be 0) and gas from receipts."),
) -> None:
    """Monte Carlo of the inference protocol: committees, reveals, escalation, slashing, over many tasks."""
    from brainnet.sim.committee import SimConfig, simulate

    cfg = SimConfig(
        nodes=nodes, stake_dist=stake_dist, pareto_alpha=pareto_alpha, malicious=malicious, behaviour=behaviour,
        committee=committee, quorum=quorum, levels=levels, tasks=tasks, seed=seed, rule=rule,
        slash_bps=slash_bps, jail_after=jail_after, apply_slashes=not static, challenge_wrong=challenge_wrong,
        mode=mode, tolerance=tolerance, drift=drift, cheat_bits=cheat_bits,
    ).validate()
    if chain != "none":
        from brainnet.sim.chain_runner import check_chain_config

        check_chain_config(cfg, chain)
    view = _view(json_path)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=view, transient=not view.is_terminal)
    with progress:
        if chain == "none":
            bar = progress.add_task(f"tasks ({cfg.rule})", total=cfg.tasks)
            result = simulate(cfg, progress=lambda done: progress.update(bar, completed=done))
        else:
            from brainnet.sim.chain_runner import crosscheck

            bar = progress.add_task(f"tasks on {chain} ({cfg.rule})", total=cfg.tasks)
            result = crosscheck(cfg, chain, progress=lambda done: progress.update(bar, completed=done))
    summary = result.summary
    if chain != "none":
        argv = ["brainnet", "sim", "committee", "--nodes", str(nodes), "--stake-dist", stake_dist,
                "--malicious", str(malicious), "--behaviour", behaviour, "--committee", str(committee),
                "--quorum", str(cfg.q), "--levels", str(levels), "--tasks", str(tasks), "--seed", str(seed),
                "--rule", rule, "--slash-bps", str(slash_bps), "--jail-after", str(jail_after)]
        if stake_dist == "pareto":
            argv += ["--pareto-alpha", str(pareto_alpha)]
        if challenge_wrong:
            argv += ["--challenge-wrong", str(challenge_wrong)]
        if mode != "exact":
            argv += ["--mode", mode, "--tolerance", str(tolerance), "--drift", str(drift), "--cheat-bits", str(cheat_bits)]
        argv += ["--chain", chain]
        summary["command"] = shlex.join(argv)
    if outcomes_path is not None:
        outcomes_path.parent.mkdir(parents=True, exist_ok=True)
        with outcomes_path.open("w") as f:
            for o in result.outcomes:
                f.write(json.dumps(o.to_dict()) + "\n")
    if json_path is not None:
        write_json(json_path, summary)
    if json_path is None or str(json_path) != "-":
        on = "" if chain == "none" else f" on {chain}"
        table = Table(title=f"sim committee{on}: rule {cfg.rule}, K={cfg.committee} Q={cfg.q} L={cfg.max_levels}, "
                            f"{cfg.malicious:.0%} {cfg.behaviour}, seed {cfg.seed}", show_header=False)
        keys = ["tasks", "wrong_accepted", "wrong_accepted_rate", "refunded", "escalations", "tasks_escalated",
                "max_level_reached", "tasks_by_final_level", "honest_slashed", "malicious_slashed",
                "honest_slash_events", "malicious_slash_events", "honest_jailed", "malicious_jailed",
                "malicious_stake_share", "elapsed_s"]
        if chain != "none":
            keys += ["mismatches", "registry_mismatches", "mean_gas_per_task"]
        for key in keys:
            value = summary[key]
            table.add_row(key, f"{value:.4%}" if key.endswith(("_rate", "_share")) else str(value))
        console.print(table)
    if chain != "none" and (summary["mismatches"] or summary["registry_mismatches"]):
        err_console.print(f"error: the chain and the Monte Carlo differ on {summary['mismatches']} task(s) and "
                          f"{summary['registry_mismatches']} node(s); see mismatch_details in the JSON report")
        raise typer.Exit(1)


@app.command("table")
def table(
    tasks: int = typer.Option(5_000, help="Tasks per cell (about 2.5 minutes for the default grid)."),
    seed: int = typer.Option(1, help="Seed shared by every cell."),
    nodes: int = typer.Option(200, help="Registered nodes (equal stake)."),
    levels: int = typer.Option(4, help="Escalation levels L for 'ours'."),
    fractions: str = typer.Option("0.1,0.2,0.3,0.4", help="Malicious stake shares, comma-separated."),
    committees: str = typer.Option("5,11", help="Committee sizes K, comma-separated (Q = K // 2 + 1)."),
    json_path: Path = typer.Option(None, "--json", help="Write the table as JSON here."),
    markdown_path: Path = typer.Option(None, "--markdown", help="Write the markdown page here (default: print it)."),
) -> None:
    """Wrong-accepted rate of BRAIN's rule vs escalation for several malicious shares and committee sizes."""
    from brainnet.sim.committee import SimConfig
    from brainnet.sim.security_table import render_table_markdown, security_table

    try:
        fracs = [float(x) for x in fractions.split(",") if x.strip()]
        ks = [int(x) for x in committees.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--fractions {fractions!r} / --committees {committees!r}: give comma-separated numbers, "
                          "e.g. --fractions 0.1,0.3 --committees 5,11") from None
    if not fracs or not ks:
        raise ConfigError("--fractions and --committees need at least one value each")
    base = SimConfig(nodes=nodes, levels=levels, tasks=tasks, seed=seed)
    for k in ks:        # fail on the first bad cell now, not minutes in
        for f in fracs:
            SimConfig(nodes=nodes, levels=levels, tasks=tasks, seed=seed, committee=k, malicious=f).validate()
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=console, transient=not console.is_terminal)
    bars: dict[str, int] = {}

    def on_progress(label: str, done: int, total: int) -> None:
        if label not in bars:
            bars[label] = progress.add_task(label, total=total)
        progress.update(bars[label], completed=done)

    with progress:
        data = security_table(fracs, ks, tasks=tasks, seed=seed, base=base, progress=on_progress)
    argv = ["brainnet", "sim", "table", "--tasks", str(tasks), "--seed", str(seed), "--nodes", str(nodes),
            "--levels", str(levels), "--fractions", fractions, "--committees", committees]
    for flag, path in (("--json", json_path), ("--markdown", markdown_path)):
        if path is not None:
            argv += [flag, str(path)]
    command = shlex.join(argv)
    data["command"] = command
    markdown = render_table_markdown(data, command)
    if json_path is not None:
        write_json(json_path, data)
    if markdown_path is not None:
        markdown_path.parent.mkdir(parents=True, exist_ok=True)
        markdown_path.write_text(markdown)
        console.print(f"wrote {markdown_path}")
    else:
        console.print(markdown, markup=False, highlight=False)
