"""Run a brainnet node: serve blobs over HTTP, follow the chain, sit on committees, get paid."""
from __future__ import annotations

import signal
import threading
from pathlib import Path

import typer

from brainnet.cli.common import console

app = typer.Typer(no_args_is_help=True)


@app.command("start")
def start(
    deployment: Path = typer.Option(..., help="deployment.json written by `brainnet deploy` or `brainnet devnet up`."),
    key: Path = typer.Option(..., help="This node's keystore file (`brainnet account new`)."),
    password: str = typer.Option(..., envvar="BRAINNET_PASSWORD", help="Password of --key."),
    port: int = typer.Option(0, min=0, max=65535, help="HTTP port on 127.0.0.1 (0 = any free port)."),
    home: Path = typer.Option(None, help="Folder for the journal and blob store (default: ~/.cache/brainnet/nodes/<address>)."),
    stake: float = typer.Option(1000.0, min=0, help="BRN to stake when registering (only if not registered yet)."),
    behaviour: str = typer.Option("honest", help="honest | wrong | colluding | near-cheat | lazy | late | offline "
                                                 "(ways to fail, for tests and demos)."),
    poll: float = typer.Option(0.5, min=0.05, help="Seconds between looks at the chain."),
    sharded: list[str] = typer.Option(None, "--sharded", help="A model to run over the shard servers announced in the "
                                      "Registry instead of locally (minilm-l6; repeatable): each task goes over this "
                                      "member's own route, disjoint from the other members' routes."),
    audit: bool = typer.Option(False, "--audit", help="With --sharded: require signed hops on this member's route, "
                                                      "and when a task settles against this member, blame the route "
                                                      "and report the corrupting node to ShardAudit (bond + fee)."),
    transcripts: Path = typer.Option(None, help="With --sharded: write each task's route transcript here "
                                                "(task-<id>.json; `brainnet shard blame` reads them)."),
    batch: bool = typer.Option(True, "--batch/--no-batch",
                               help="Send what is due each loop as one draw_many/commit_many/reveal_many/finalize_many "
                                    "per kind (--no-batch: one transaction per task and action)."),
) -> None:
    """Start a node; it registers itself with --stake if it is not registered yet. Ctrl-C stops it cleanly."""
    from brainnet.chain import TOKEN, Contracts, Deployment, open_backend
    from brainnet.errors import ConfigError, ModelError
    from brainnet.models import get_model
    from brainnet.node.api import create_app, serve_in_thread
    from brainnet.node.blobs import BlobStore
    from brainnet.node.daemon import Behaviour, NodeDaemon
    from brainnet.node.journal import Journal
    from brainnet.node.keys import load_key, x25519_public
    from brainnet.node.sharded import SHARDED_RUNTIMES
    from brainnet.paths import home as brainnet_home

    if (audit or transcripts is not None) and not sharded:
        raise ConfigError("--audit and --transcripts apply to sharded models: add --sharded minilm-l6")
    unknown = set(sharded or ()) - set(SHARDED_RUNTIMES)
    if unknown:
        raise ConfigError(f"--sharded {', '.join(sorted(unknown))}: only {', '.join(SHARDED_RUNTIMES)} can run sharded")
    try:
        behaviour_ = Behaviour(behaviour)
    except ValueError:
        raise ConfigError(f"--behaviour {behaviour!r}: use one of {', '.join(b.value for b in Behaviour)}") from None
    dep = Deployment.load(deployment)
    if dep.chain == "embedded":
        raise ConfigError("this deployment lives on an embedded chain inside another process; use an anvil or rpc deployment")
    if set(sharded or ()) - set(dep.models):
        raise ConfigError(f"--sharded {', '.join(sorted(set(sharded) - set(dep.models)))}: not a model of this "
                          f"deployment (it has {', '.join(dep.models) or 'none'})")
    account = load_key(key, password)
    contracts = Contracts(open_backend(dep.chain), dep)
    runtimes = {}
    for name, info in dep.models.items():
        runtime = SHARDED_RUNTIMES[name](contracts, audit=audit, transcripts=transcripts) \
            if name in (sharded or ()) else get_model(name)
        onchain = contracts.model_weights_hash(dep.model_id(name))
        if onchain != runtime.weights_hash:
            raise ModelError(f"local weights of {name} ({runtime.weights_hash.hex()[:12]}) differ from the chain's "
                             f"({(onchain or b'').hex()[:12]}); fetch the registered weights")
        runtimes[dep.model_id(name)] = runtime
    home = home or brainnet_home() / "nodes" / account.address
    store = BlobStore(home / "blobs")
    journal = Journal(home / "journal.sqlite")
    daemon = NodeDaemon(contracts, account, runtimes, journal, store, behaviour_, batch=batch)
    app_ = create_app(store, health=lambda: {"address": account.address, "behaviour": behaviour_.value,
                                             "tasks_open": len(daemon.tasks), "committed": daemon.stats.committed,
                                             "revealed": daemon.stats.revealed, "finalized": daemon.stats.finalized,
                                             "errors": daemon.stats.errors, "last_error": daemon.stats.last_error})
    server, bound = serve_in_thread(app_, port=port)
    endpoint = f"http://127.0.0.1:{bound}"
    view = contracts.node(account.address)
    actor = daemon.actor            # one signer per account: it owns the nonce
    if view.index == 0:
        amount = int(stake * TOKEN)
        if contracts.balance(account.address) < amount:
            raise ConfigError(f"{account.address} holds {contracts.balance(account.address) / TOKEN:.2f} BRN, "
                              f"needs {stake} to stake; fund it or lower --stake")
        actor.approve(dep.addresses["Registry"], amount)
        actor.register(amount, endpoint, x25519_public(account), list(runtimes))
        console.print(f"registered {account.address} with {stake} BRN")
    elif view.endpoint != endpoint:
        console.print(f"[yellow]note:[/] registered endpoint is {view.endpoint}, now serving on {endpoint}")
    console.print(f"node {account.address} serving {endpoint} ({behaviour_.value}); journal {home / 'journal.sqlite'}")

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        daemon.run_forever(poll_s=poll, stop=stop.is_set)
    finally:
        server.stop()
        daemon.close()
        journal.close()
        console.print("node stopped")
