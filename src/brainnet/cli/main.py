"""Entry point of the `brainnet` command: registers the command groups, turns errors into
one clear line (cause and fix) instead of a traceback."""
from __future__ import annotations

import os
import sys

import typer

from brainnet.errors import BrainnetError

app = typer.Typer(
    name="brainnet",
    help="brainnet: staked nodes run verified AI inference, judged by random committees on an EVM chain.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    from brainnet.cli import account, bench, demo, deploy, devnet, economy, governance, node, request, shard, sim, train

    app.command("demo", help=demo.__doc__)(demo.demo)
    app.command("deploy", help=deploy.__doc__)(deploy.deploy_cmd)
    app.command("request", help=request.__doc__)(request.request)
    app.command("train", help=train.__doc__)(train.train)
    app.command("propose", help=governance.propose.__doc__)(governance.propose)
    app.command("vote", help=governance.vote.__doc__)(governance.vote)
    app.command("execute", help=governance.execute.__doc__)(governance.execute)
    app.command("params", help=governance.params.__doc__)(governance.params)
    app.add_typer(account.app, name="account", help=account.__doc__)
    app.add_typer(node.app, name="node", help=node.__doc__)
    app.add_typer(devnet.app, name="devnet", help=devnet.__doc__)
    sim.app.command("economy", help=economy.economy.__doc__)(economy.economy)
    app.add_typer(sim.app, name="sim", help=sim.__doc__)
    app.add_typer(bench.app, name="bench", help=bench.__doc__)
    app.add_typer(shard.app, name="shard", help=shard.__doc__)


_register()


def run() -> None:
    from brainnet.cli.common import err_console

    try:
        app()
    except BrainnetError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - a bug: say so plainly, keep the traceback for BRAINNET_DEBUG=1
        if os.environ.get("BRAINNET_DEBUG"):
            raise
        err_console.print(f"[bold red]internal error:[/] {type(exc).__name__}: {exc}. "
                          "This is a bug in brainnet; rerun with BRAINNET_DEBUG=1 for the traceback and report it.")
        sys.exit(2)


if __name__ == "__main__":
    run()
