"""Federated training: rounds of local training, committee scoring and robust aggregation.

`--chain none` runs the rounds in this process (fast sweeps); `--chain embedded|anvil`
runs every round through the Training and Models contracts with real node agents.
Both use the same strategy code (brainnet.train), so they compute the same weights.
"""
from __future__ import annotations

import importlib
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from brainnet.cli.common import console, err_console, write_json
from brainnet.errors import ConfigError

# The on-chain runner: `run_training_onchain(config: FLConfig, chain: str, progress) -> dict`
# returning the same keys as `brainnet.train.rounds.train_report` (gas_per_round filled in).
ONCHAIN_RUNNER = ("brainnet.sim.training", "run_training_onchain")


def _onchain_runner():
    module, name = ONCHAIN_RUNNER
    try:
        return getattr(importlib.import_module(module), name)
    except (ModuleNotFoundError, AttributeError) as exc:
        if isinstance(exc, ModuleNotFoundError) and exc.name not in (module, module.rsplit(".", 1)[0]):
            raise
        raise ConfigError("on-chain training (--chain embedded|anvil) is not available in this build "
                          f"({module}.{name} is missing); run with --chain none") from None


def train(
    dataset: str = typer.Option("digits", help="digits | breast_cancer | wine (scikit-learn's bundled sets)."),
    clients: int = typer.Option(20, min=1, help="Trainers; all take part in every round."),
    byzantine: float = typer.Option(0.3, min=0.0, max=0.99, help="Share of trainers that follow --attack."),
    attack: str = typer.Option("sign_flip", help="label_flip | sign_flip | scale | gaussian | free_rider."),
    rounds: int = typer.Option(20, min=0, help="Federated rounds (one new model version each)."),
    strategy: str = typer.Option("brain", help="brain | fedavg | fedmedian | trimmed_mean | krum."),
    source: str = typer.Option("brainnet", help="brainnet (our aggregation) or flower (Flower's own functions)."),
    alpha: float = typer.Option(0.5, help="Dirichlet alpha of the non-IID client split (small = more skewed)."),
    seed: int = typer.Option(0, help="Seed of the split, attackers, initial model, batches and noise."),
    committee: int = typer.Option(5, min=1, help="Scoring committee members (brain)."),
    threshold: int = typer.Option(5000, min=0, max=10000,
                                  help="brain: accept an update whose median score is at least this (5000 = no worse "
                                       "than the global model on held-out data)."),
    mix: float = typer.Option(1.0, help="brain: BRAIN's moving average weight of the new aggregate (1 = off)."),
    epochs: int = typer.Option(2, min=1, help="Local epochs per round."),
    lr: float = typer.Option(0.1, help="Local SGD learning rate."),
    chain: str = typer.Option("none", help="none (in-process) | embedded | anvil (through the contracts)."),
    json_out: Path = typer.Option(None, "--json", help="Write the result as JSON here ('-' for stdout)."),
) -> None:
    """Run federated training rounds and compare with clean FedAvg on the same seeds."""
    from brainnet.train.local import LocalConfig
    from brainnet.train.rounds import CHAINS, FLConfig, train_report

    if chain not in CHAINS:
        raise ConfigError(f"--chain {chain!r}: choose none, embedded or anvil")
    if source not in ("brainnet", "flower"):
        raise ConfigError(f"--source {source!r}: choose brainnet or flower")
    if source == "flower" and strategy == "brain":
        raise ConfigError("Flower has no brain strategy: use --source brainnet with --strategy brain")
    config = FLConfig(dataset=dataset, clients=clients, byzantine=byzantine, attack=attack, rounds=rounds,
                      strategy=strategy, source=source, alpha=alpha, seed=seed, committee=committee,
                      threshold=threshold, mix=mix, local=LocalConfig(epochs=epochs, lr=lr)).check()
    to_stdout = json_out is not None and str(json_out) == "-"
    view = err_console if to_stdout else console
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[acc]}"), console=view, transient=True) as bar:
        task = bar.add_task(f"{strategy} on {dataset}", total=rounds, acc="")

        def progress(r: int, acc: float) -> None:
            bar.update(task, completed=r + 1, acc=f"accuracy {acc:.3f}")

        if chain == "none":
            report = train_report(config, progress)
        else:
            report = _onchain_runner()(config, chain, progress)
    write_json(json_out, report)
    if not to_stdout:
        console.print(f"{strategy} ({source}) on {dataset}, {config.num_byzantine}/{clients} {attack} attackers, "
                      f"{rounds} rounds: final accuracy [bold]{report['final_accuracy']:.4f}[/] "
                      f"(clean FedAvg {report['clean_accuracy']:.4f}); accepted Byzantine updates "
                      f"{report['accepted_byzantine']}, rejected honest {report['rejected_honest']}")
        if json_out is not None:
            console.print(f"wrote {json_out}")
