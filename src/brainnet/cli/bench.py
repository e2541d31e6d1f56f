"""Benchmarks: measure brainnet's rules on real models; results are written as JSON."""
from __future__ import annotations

from pathlib import Path

import typer

from brainnet.cli.common import console

app = typer.Typer(no_args_is_help=True)


@app.command("near")
def near(
    sentences: int = typer.Option(500, min=2, help="Generated sentences (one task each)."),
    seed: int = typer.Option(0, help="Seed of the sentences, task ids, derangement and noise."),
    json_out: Path = typer.Option(Path("bench/results/near_agreement.json"), "--json",
                                  help="Where to write the report ('-' prints it to stdout)."),
) -> None:
    """`near` agreement on MiniLM: honest variants vs cheats in SimHash bits; picks the tolerance."""
    import json
    import sys

    from brainnet.bench.near import measure_near_agreement

    to_stdout = str(json_out) == "-"
    report = measure_near_agreement(sentences, seed, out=None if to_stdout else json_out,
                                    show_progress=not to_stdout)
    if to_stdout:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    _summary(report)
    console.print(f"wrote {json_out}")


def _summary(report: dict) -> None:
    from rich.table import Table

    table = Table(title=f"near agreement, {report['sentences']} sentences, tolerance {report['tolerance']} "
                        f"of {report['bits']} bits")
    table.add_column("output")
    table.add_column("kind")
    table.add_column("hamming", justify="right")
    table.add_column("verdict")
    for name, row in report["per_variant"].items():
        ok = row["max_hamming"] <= report["tolerance"]
        table.add_row(name, "honest", f"max {row['max_hamming']}", "[green]accepted" if ok else "[red]rejected")
    hidden = set(report.get("indistinguishable_cheats", []))
    for name, row in report["per_cheat"].items():
        if row["accepted"] == 0:
            verdict = "[green]rejected"
        elif name in hidden:
            verdict = f"[yellow]accepted {row['accepted']}x (below noise limit)"
        else:
            verdict = f"[red]accepted {row['accepted']}x"
        table.add_row(name, "cheat", f"min {row['min_hamming']}", verdict)
    console.print(table)
    console.print(f"false reject rate {report['false_reject_rate']:.4f}, false accept rate "
                  f"{report['false_accept_rate']:.4f} (all cheats: {report['false_accept_rate_all']:.4f}), "
                  f"noise scale limit {report['noise_scale_limit']}")
