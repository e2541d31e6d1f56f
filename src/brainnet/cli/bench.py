"""Benchmarks: measure brainnet's rules on real models; results are written as JSON."""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager
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
    from brainnet.bench.near import measure_near_agreement

    to_stdout = str(json_out) == "-"
    report = measure_near_agreement(sentences, seed, out=None if to_stdout else json_out,
                                    show_progress=not to_stdout)
    _finish(report, json_out, _summary)


def _finish(report: dict, json_out: Path, summary) -> None:
    """Print the report as JSON on stdout (`--json -`), or show its summary and say where it went."""
    if str(json_out) == "-":
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    summary(report)
    elapsed = f" in {report['elapsed_s']} s" if "elapsed_s" in report else ""
    console.print(f"wrote {json_out}{elapsed}")


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


@app.command("pipeline")
def pipeline(
    repeats: int = typer.Option(100, min=1, help="Seeds per configuration (mean and spread over them)."),
    seed: int = typer.Option(0, help="First seed; runs use seed, seed+1, …"),
    models: list[str] = typer.Option(["digits-mlp", "minilm-l6"], "--model",
                                     help="Our model to time and rerun the simulation with (repeatable)."),
    no_models: bool = typer.Option(False, "--no-models", help="Skip timing our models."),
    model_runs: int = typer.Option(50, min=1, help="Timed inferences per model, after warm-up."),
    variants: bool = typer.Option(True, "--variants/--no-variants",
                                  help="Also run the one-rule variants that explain the gaps."),
    json_out: Path = typer.Option(Path("bench/results/pipeline.json"), "--json",
                                  help="Where to write the report ('-' prints it to stdout)."),
) -> None:
    """BRAIN's two-phase vs single-phase TPS simulation, reproduced; Q_C x Q_TO sweep; our models' times."""
    from brainnet.bench.pipeline import run_pipeline_bench

    to_stdout = str(json_out) == "-"
    report = run_pipeline_bench(repeats, seed, models=[] if no_models else models, model_runs=model_runs,
                                variants=variants, out=None if to_stdout else json_out,
                                show_progress=not to_stdout)
    _finish(report, json_out, _pipeline_summary)


def _pipeline_summary(report: dict) -> None:
    from rich.table import Table

    brain, paper = report["brain_model"], report["paper"]
    sd = brain["spread"]
    table = Table(title=f"BRAIN's model, {brain['repeats']} seeds (Q_C = 11, Q_TO = 20)")
    table.add_column("figure")
    table.add_column("ours (mean ± std)", justify="right")
    table.add_column("paper", justify="right")
    table.add_row("two-phase TPS", f"{brain['two_phase_tps']:.2f} ± {sd['two_phase_tps']['std']:.2f}",
                  f"≈{paper['two_phase_tps']:g}")
    table.add_row("single-phase TPS", f"{brain['single_phase_tps']:.4f} ± {sd['single_phase_tps']['std']:.4f}",
                  f"≈{paper['single_phase_tps']}")
    table.add_row("ratio", f"{brain['ratio']:.2f} ± {sd['ratio']['std']:.2f}", f"{paper['ratio']}")
    lo, hi = paper["timeouts_per_819"]
    table.add_row("timeouts / 819", f"{brain['timeouts_mean']:.2f} ± {sd['timeouts']['std']:.2f}", f"≈{lo}–{hi}")
    table.add_row("median latency (blocks)", f"{brain['latency_blocks_median']:g}", f"{paper['latency_blocks_median']}")
    console.print(table)

    grid = Table(title="two-phase TPS / timeouts per 819, by Q_C (rows) and Q_TO (columns)")
    qtos = sorted({s["qto"] for s in report["sweeps"]})
    grid.add_column("Q_C")
    for qto in qtos:
        grid.add_column(f"Q_TO={qto}", justify="right")
    cells = {(s["qc"], s["qto"]): s for s in report["sweeps"]}
    for qc in sorted({s["qc"] for s in report["sweeps"]}):
        grid.add_row(str(qc), *(f"{cells[qc, q]['two_phase_tps']:.1f} / {cells[qc, q]['timeouts_mean']:.1f}"
                                for q in qtos))
    console.print(grid)

    if report["our_models"]:
        ours = Table(title=f"our models (break-even: {report['break_even_inference_s'] * 1000:.1f} ms per inference)")
        ours.add_column("model")
        ours.add_column("mean inference", justify="right")
        ours.add_column("single-phase TPS", justify="right")
        ours.add_column("two-phase / single-phase", justify="right")
        for row in report["our_models"]:
            ours.add_row(row["model"], f"{row['mean_inference_s'] * 1000:.3f} ms", f"{row['single_phase_tps']:.1f}",
                         f"{row['ratio']:.3f}")
        console.print(ours)


@app.command("gas")
def gas(
    tasks: int = typer.Option(5, min=1, help="Tasks per scenario (samples for mean and max)."),
    chains: list[str] = typer.Option(["embedded", "anvil"], "--chain",
                                     help="Chain to measure on (repeatable): embedded, anvil."),
    json_out: Path = typer.Option(Path("bench/results/gas.json"), "--json",
                                  help="Where to write the report ('-' prints it to stdout)."),
    batch_tasks: int = typer.Option(32, min=0, max=64, help="Tasks in flight for the batched per-task figures "
                                                            "(0 = skip the batched runs)."),
) -> None:
    """Gas per operation and per settled task (K = 5, K = 11) from real receipts, beside BRAIN's figures;
    also every transaction of a training round (5 trainers, committee 3), of a governance parameter
    change and of emission claims, with the totals per round and per change."""
    from brainnet.bench.gas import CHAINS, run_gas_bench
    from brainnet.errors import ConfigError

    for ch in chains:
        if ch not in CHAINS:
            raise ConfigError(f"--chain {ch!r}: choose embedded or anvil")
    to_stdout = str(json_out) == "-"
    report = run_gas_bench(tasks, tuple(dict.fromkeys(chains)), out=None if to_stdout else json_out,
                           progress=None if to_stdout else console.print, batch_tasks=batch_tasks)
    _finish(report, json_out, _gas_summary)


def _gas_summary(report: dict) -> None:
    from rich.table import Table

    chains = report["notes"]["chains"]
    table = Table(title="gas per operation (mean / max, from receipts)")
    table.add_column("operation")
    for ch in chains:
        table.add_column(ch, justify="right")
    table.add_column("BRAIN", justify="right")
    table.add_column("ours/BRAIN", justify="right")
    for op, row in report["per_op"].items():
        if row is None:
            table.add_row(op, *["null"] * len(chains), "", "")
            continue
        cells = [f"{row['by_chain'][ch]['mean']:,} / {row['by_chain'][ch]['max']:,}" if ch in row["by_chain"] else ""
                 for ch in chains]
        table.add_row(op, *cells, f"{row['brain']:,}" if "brain" in row else "",
                      f"{row['ratio_to_brain']:.2f}" if "ratio_to_brain" in row else "")
    console.print(table)
    for key in ("k5", "k11"):
        u, b = report["per_task"][key]["unbatched"], report["per_task"][key]["batched"]
        batched = f"{b['mean']:,} gas" if b else "not measured (--batch-tasks 0)"
        console.print(f"per settled task {key}: unbatched {u['mean']:,} gas (max {u['max']:,}), batched {batched}")
    for key, name in (("training_round", "per training round"), ("governance_proposal", "per parameter change")):
        row = report["per_task"].get(key)
        if row:
            shape = ", ".join(f"{k} {v}" for k, v in row["shape"].items())
            console.print(f"{name} ({shape}): {row['mean']:,} gas (max {row['max']:,})")


@app.command("e2e")
def e2e(
    nodes: int = typer.Option(21, min=1, max=64, help="Node processes per deployment (issue 8's full network)."),
    ks: list[int] = typer.Option([5, 11], "--k", min=1, help="Committee size K to run (repeatable); Q = K // 2 + 1."),
    modes: list[str] = typer.Option(["automine", "block-time-1"], "--mode",
                                    help="anvil mode (repeatable): automine, block-time-1."),
    tasks: int = typer.Option(60, min=1, help="Tasks per run (each K, batched or not, and the single-phase emulation)."),
    clients: int = typer.Option(8, min=1, help="Concurrent clients (threads, one account each)."),
    phase_cap: float = typer.Option(90.0, min=5, help="Seconds a run may take before it stops with what settled."),
    ceiling_txs: int = typer.Option(2000, min=16, help="Plain token transfers sent to measure the chain's ceiling."),
    batched: str = typer.Option("auto", help="Batched node runs: auto (if the node has the option), on, off."),
    poll: float = typer.Option(0.25, min=0.05, help="Nodes' seconds between looks at the chain (--poll)."),
    quick: bool = typer.Option(False, "--quick", help="7 nodes, K = 5, automine, 8 tasks, 2 clients (overrides the above)."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write PNG plots beside the JSON."),
    workdir: Path = typer.Option(None, help="Keep keys, deployments and node logs here (default: a temp folder, "
                                            "removed after a run that finished)."),
    json_out: Path = typer.Option(Path("bench/results/e2e.json"), "--json",
                                  help="Where to write the report ('-' prints it to stdout)."),
) -> None:
    """The real network on anvil: ceiling, tasks/s, latency, batched vs unbatched, single- vs two-phase.

    Starts anvil (automine, then --block-time 1), measures plain token transfers (the chain's
    ceiling), emulates single-phase inference, then per K deploys and starts NODES real node
    processes that CLIENTS concurrent clients send TASKS tasks to. Every run is bounded by
    --phase-cap; every process started is stopped at the end, on errors and on Ctrl-C.
    """
    from brainnet.bench.e2e import MODES, E2EConfig, run_e2e_bench
    from brainnet.errors import ConfigError

    if batched not in ("auto", "on", "off"):
        raise ConfigError(f"--batched {batched!r}: choose auto, on or off")
    for m in modes:
        if m not in MODES:
            raise ConfigError(f"--mode {m!r}: choose automine or block-time-1")
    if quick:
        cfg = E2EConfig.quick()
        cfg.batched, cfg.node_poll_s = batched, poll
    else:
        cfg = E2EConfig(nodes=nodes, ks=tuple(dict.fromkeys(ks)), modes=tuple(dict.fromkeys(modes)), tasks=tasks,
                        clients=clients, phase_cap_s=phase_cap, ceiling_txs=ceiling_txs, batched=batched,
                        node_poll_s=poll)
    to_stdout = str(json_out) == "-"
    report = run_e2e_bench(cfg, out=None if to_stdout else json_out, progress=None if to_stdout else console.print,
                           workdir=workdir, plots=plots)
    _finish(report, json_out, _e2e_summary)


def _e2e_summary(report: dict) -> None:
    from rich.table import Table

    table = Table(title=f"brainnet on anvil ({report['config']['nodes']} node processes, "
                        f"{report['config']['clients']} clients, {report['config']['tasks']} tasks per run)")
    for col in ("mode", "run", "tasks/s", "txs/task", "efficiency", "latency blocks (med/p95)",
                "latency s (med/p95)", "2-phase / 1-phase"):
        table.add_column(col, justify="right" if col != "mode" else "left")
    for mode, pm in report["per_mode"].items():
        table.add_row(mode, "ceiling (tx/s)", f"{pm['ceiling_tx_per_s']:,}", "1", "", "", "", "")
        table.add_row(mode, "single-phase", f"{pm['single_phase_tasks_per_s']}", "1", "", "0 / 0", "", "")
        for key, row in pm.items():
            if not isinstance(row, dict):
                continue
            for b, m in row.items():
                if m is None:
                    continue
                table.add_row(mode, f"{key.upper()} {b}", f"{m['tasks_per_s']}", f"{m['txs_per_task']}",
                              f"{m['efficiency']}", f"{m['latency_blocks']['median']} / {m['latency_blocks']['p95']}",
                              f"{m['latency_s']['median']} / {m['latency_s']['p95']}",
                              f"{m.get('two_phase_over_single_phase')}")
    console.print(table)
    if report["notes"].get("batched"):
        console.print(f"[yellow]note:[/] {report['notes']['batched']}")


@app.command("readme")
def readme(
    results: Path = typer.Option(Path("bench/results"), help="Folder with pipeline.json, gas.json and e2e.json."),
    readme_path: Path = typer.Option(Path("README.md"), "--readme", help="README with the bench markers."),
    check: bool = typer.Option(False, "--check", help="Only check that the README's tables are current (exit 1 if not)."),
) -> None:
    """Render the benchmark tables from bench/results/*.json into README.md between the bench markers."""
    from brainnet.bench.readme import readme_block, render, update_readme
    from brainnet.errors import ConfigError

    if not readme_path.exists():
        raise ConfigError(f"{readme_path} not found; run from the repository root or pass --readme")
    if check:
        if readme_block(readme_path.read_text()) != render(results):
            raise ConfigError(f"{readme_path}'s benchmark tables differ from {results}/*.json; run `brainnet bench readme`")
        console.print(f"{readme_path} tables are current")
        return
    changed = update_readme(readme_path, results)
    console.print(f"{'updated' if changed else 'unchanged:'} {readme_path} from {results}")


@app.command("shard")
def shard(
    requests: int = typer.Option(60, min=1, help="MiniLM requests timed, local and sharded (median of each)."),
    new_tokens: int = typer.Option(32, min=1, help="Tokens the decoder generates greedily."),
    svd_sentences: int = typer.Option(32, min=1, help="Sentences behind each SVD cosine."),
    svd_ranks: list[int] = typer.Option([8, 32, 64, 128, 256], "--svd-rank", help="Ranks in the SVD table (repeatable)."),
    failover_requests: int = typer.Option(40, min=3, help="Requests in the failover stream (a node dies after a third)."),
    decoder_memory_mb: list[float] = typer.Option([30.0, 20.0, 2.5, 25.0, 40.0], "--decoder-memory-mb",
                                                  help="Memory of each decoder node, in order along the blocks "
                                                       "(repeatable; 4-6 nodes)."),
    seed: int = typer.Option(0, help="Seed of the generated sentences."),
    json_out: Path = typer.Option(Path("bench/results/shard.json"), "--json",
                                  help="Where to write the report ('-' prints it to stdout)."),
) -> None:
    """Sharded inference with real node processes: MiniLM local vs 3 nodes, codecs, SVD, decoder KV, failover."""
    from brainnet.bench.shard import run_shard_bench

    to_stdout = str(json_out) == "-"
    report = run_shard_bench(requests=requests, new_tokens=new_tokens, svd_sentences=svd_sentences,
                             svd_ranks=svd_ranks, failover_requests=failover_requests,
                             decoder_memory_mb=decoder_memory_mb, seed=seed,
                             out=None if to_stdout else json_out,
                             progress=(lambda _: None) if to_stdout else (lambda m: console.print(f"[dim]{m}…")))
    _finish(report, json_out, _shard_summary)


def _shard_summary(report: dict) -> None:
    from rich.table import Table

    m, d, f = report["minilm"], report["decoder"], report["failover"]
    table = Table(title=f"sharded inference on 127.0.0.1 ({m['requests']} MiniLM requests, {m['hops']} hops)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target")
    table.add_row("MiniLM local / sharded (int8), median", f"{m['local_ms']:.2f} / {m['sharded_ms']:.2f} ms", "")
    table.add_row("latency ratio", f"{m['latency_ratio']:.3f}", "<= 1.3")
    for c in ("fp32", "fp16", "int8"):
        table.add_row(f"{c}: bytes per request, min cosine", f"{m['bytes'][c]:,.0f}, {m['cosine'][c]:.6f}", "")
    table.add_row("fp32 / int8 bytes", f"{m['int8_bytes_ratio']:.2f}x", ">= 4x, cosine >= 0.999")
    table.add_row(f"decoder tokens/s over {d['nodes']} nodes, KV / no KV",
                  f"{d['tokens_per_s_kv']:.1f} / {d['tokens_per_s_no_kv']:.1f}", "")
    table.add_row("failover: completed / requests", f"{f['completed']} / {f['requests']}", "all")
    console.print(table)
    svd = Table(title="SVD (mixed low-rank) per MiniLM layer: memory vs cosine to dense")
    for col in ("layer", "rank", "memory MiB", "dense MiB", "cosine"):
        svd.add_column(col, justify="right")
    for row in report["svd"]:
        svd.add_row(str(row["layer"]), str(row["rank"]), f"{row['memory_mb']:.3f}", f"{row['dense_memory_mb']:.3f}",
                    f"{row['cosine']:.5f}")
    console.print(svd)


@app.command("fl")
def fl(
    datasets: list[str] = typer.Option(["digits", "breast_cancer", "wine"], "--dataset",
                                       help="Data set (repeatable): digits, breast_cancer, wine."),
    attacks: list[str] = typer.Option(["label_flip", "sign_flip", "scale", "gaussian", "free_rider"], "--attack",
                                      help="Attack (repeatable)."),
    shares: list[float] = typer.Option([0.1, 0.3, 0.45], "--byzantine", help="Share of attackers (repeatable)."),
    rounds: int = typer.Option(20, min=1, help="Rounds per run."),
    clients: int = typer.Option(20, min=2, help="Clients per run."),
    alpha: float = typer.Option(0.5, help="Dirichlet alpha of the non-IID split."),
    seed: int = typer.Option(0, help="Seed shared by every run (split, attackers, init, batches)."),
    quick: bool = typer.Option(False, "--quick", help="A tiny grid for tests: wine, sign_flip, 30%, 6 clients, 2 rounds."),
    json_out: Path = typer.Option(Path("bench/results/fl.json"), "--json",
                                  help="Where to write the report ('-' prints it to stdout); the PNG goes beside it."),
) -> None:
    """Federated strategies under attack: final accuracy of ours and Flower's, same seeds; PNG per round."""
    from brainnet.bench.fl import run_fl_bench
    from brainnet.errors import ConfigError
    from brainnet.train.attacks import ATTACKS
    from brainnet.train.data import DATASETS

    if quick:
        datasets, attacks, shares, rounds, clients = ["wine"], ["sign_flip"], [0.3], 2, 6
    for d in datasets:
        if d not in DATASETS:
            raise ConfigError(f"--dataset {d!r}: choose from {', '.join(DATASETS)}")
    for a in attacks:
        if a not in ATTACKS:
            raise ConfigError(f"--attack {a!r}: choose from {', '.join(ATTACKS)}")
    to_stdout = str(json_out) == "-"
    with _bar(to_stdout, "bench fl") as progress:
        report = run_fl_bench(datasets=tuple(datasets), attacks=tuple(attacks), shares=tuple(shares), rounds=rounds,
                              clients=clients, alpha=alpha, seed=seed, out=None if to_stdout else json_out,
                              progress=progress)
    _finish(report, json_out, _fl_summary)


@contextmanager
def _bar(quiet: bool, title: str):
    """A rich progress bar fed by `progress(done, total, label)`; nothing when printing JSON to stdout."""
    if quiet:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn(title), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console, transient=True) as bar:
        task = bar.add_task("", total=None)

        def progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)

        yield progress


def _fl_summary(report: dict) -> None:
    from rich.table import Table

    for c in report["clean"]:
        console.print(f"{c['dataset']}: clean FedAvg {c['final_accuracy']:.4f}")
    table = Table(title="30% attackers: brain vs clean FedAvg and Flower's FedMedian / Krum")
    for col in ("dataset", "attack", "brain", "clean", "honest-only", "flower median", "flower krum", "check"):
        table.add_column(col)
    for c in report["checks"]:
        table.add_row(c["dataset"], c["attack"], f"{c['brain']:.4f}", f"{c['clean_fedavg']:.4f}",
                      f"{c['honest_only_fedavg']:.4f}" if c["honest_only_fedavg"] is not None else "",
                      f"{c['flower_fedmedian']:.4f}" if c["flower_fedmedian"] is not None else "",
                      f"{c['flower_krum']:.4f}" if c["flower_krum"] is not None else "",
                      "[green]pass" if c["pass"] else "[red]miss")
    console.print(table)
    console.print(report["note"])


@app.command("pot")
def pot_cmd(
    trials: int = typer.Option(200, min=1, help="Trials per cheat (and honest trainers)."),
    segments: int = typer.Option(12, min=1, help="r: segments the verifier replays (first, last and r-2 random)."),
    seed: int = typer.Option(0, help="Seed of the trainers, cheats and challenges."),
    quick: bool = typer.Option(False, "--quick", help="A tiny run for tests: 3 trials, short training."),
    json_out: Path = typer.Option(Path("bench/results/pot.json"), "--json",
                                  help="Where to write the report ('-' prints it to stdout)."),
) -> None:
    """Proof of training: cheats caught, honest trainers flagged, replay cost over training cost."""
    from brainnet.bench.pot import POT_LOCAL, run_pot_bench
    from brainnet.train.local import LocalConfig

    local = LocalConfig(epochs=2, batch_size=16, lr=0.1, trace_every=1) if quick else POT_LOCAL
    trials = 3 if quick else trials
    to_stdout = str(json_out) == "-"
    with _bar(to_stdout, "bench pot") as progress:
        report = run_pot_bench(trials=trials, segments=segments, seed=seed, local=local,
                               out=None if to_stdout else json_out, progress=progress)
    _finish(report, json_out, _pot_summary)


def _pot_summary(report: dict) -> None:
    from rich.table import Table

    table = Table(title=f"proof of training, r = {report['config']['segments_r']} segments, "
                        f"k = {report['config']['trace_every_k']}")
    table.add_column("claim")
    table.add_column("trials", justify="right")
    table.add_column("caught", justify="right")
    for name, row in report["per_cheat"].items():
        table.add_row(name, str(row["trials"]), str(row["caught"]))
    table.add_row("honest", str(report["honest"]["trials"]), f"{report['honest']['flagged']} flagged")
    console.print(table)
    console.print(f"detection rate {report['detection_rate']:.4f}, false positive rate "
                  f"{report['false_positive_rate']:.4f}, replay cost ratio {report['replay_cost_ratio']:.4f} "
                  f"(steps {report['replay_step_ratio']:.4f})")
