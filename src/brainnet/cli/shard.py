"""Sharded inference: serve a contiguous block range of a model, sized by the node's memory."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import typer

from brainnet.cli.common import err_console

app = typer.Typer(no_args_is_help=True)


def _parse_blocks(blocks: str | None) -> tuple[int, int] | None:
    from brainnet.errors import ConfigError

    if blocks is None:
        return None
    m = re.fullmatch(r"([0-9]+):([0-9]+)", blocks.strip())
    if not m or int(m[1]) >= int(m[2]):
        raise ConfigError(f"--blocks {blocks!r}: write START:END with START < END, e.g. 0:3")
    return int(m[1]), int(m[2])


@app.command("serve")
def serve(
    model: str = typer.Option("minilm-l6", help="Model to serve: minilm-l6 (8 blocks) or decoder (26 blocks)."),
    blocks: str = typer.Option(None, help="Block range START:END to serve (default: as many blocks from --start "
                                          "as --memory-mb holds; a single block that does not fit dense is "
                                          "served low-rank)."),
    start: int = typer.Option(0, min=0, help="First block when --blocks is not given."),
    memory_mb: float = typer.Option(512.0, min=0.01, help="Memory budget for weights, in MiB."),
    port: int = typer.Option(0, min=0, max=65535, help="HTTP port on 127.0.0.1 (0 = any free port)."),
    threads: int = typer.Option(1, min=1, help="torch threads for the blocks."),
    bench_tokens: int = typer.Option(32, min=1, help="Tokens of the start-up throughput measurement."),
    behaviour: str = typer.Option("honest", help="honest | corrupt (adds noise to what it returns: for tests "
                                                 "and demos of verification)."),
    deployment: Path = typer.Option(None, help="deployment.json: announce the shard in the Registry (optional)."),
    key: Path = typer.Option(None, help="Keystore of the announcing node (with --deployment)."),
    password: str = typer.Option(None, envvar="BRAINNET_PASSWORD", help="Password of --key."),
) -> None:
    """Serve blocks of a model at POST /shard/{model}/{start}:{end}; measures throughput first.

    Prints one JSON line when ready: {"endpoint", "model", "start", "end", "rank", "throughput", ...}.
    """
    import socket

    import torch

    from brainnet.errors import ConfigError
    from brainnet.shard.server import ShardServer, create_app

    torch.set_num_threads(threads)
    from brainnet.shard.behaviours import apply_behaviour

    node = ShardServer.load(model, memory_mb, blocks=_parse_blocks(blocks), start=start, threads=threads)
    apply_behaviour(node, behaviour)
    node.measure_throughput(bench_tokens)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        raise ConfigError(f"cannot listen on 127.0.0.1:{port} ({exc}); pick another --port") from None
    sock.listen(128)                                  # connections wait in the backlog until uvicorn runs
    bound = sock.getsockname()[1]
    endpoint = f"http://127.0.0.1:{bound}"
    if deployment is not None:
        _announce(deployment, key, password, node, endpoint)
    sys.stdout.write(json.dumps({"endpoint": endpoint, **node.info()}) + "\n")
    sys.stdout.flush()
    _run(create_app(node), sock)


def _announce(deployment: Path, key: Path | None, password: str | None, node, endpoint: str) -> None:
    """Announce the served range in the Registry (the node must hold the shard capability)."""
    from brainnet.errors import ConfigError

    if key is None or password is None:
        raise ConfigError("--deployment needs --key and --password (or BRAINNET_PASSWORD) to announce the shard")
    from brainnet.chain import Contracts, Deployment, open_backend
    from brainnet.node.keys import load_key

    dep = Deployment.load(deployment)
    if dep.chain == "embedded":
        raise ConfigError("this deployment lives on an embedded chain inside another process; use anvil or rpc")
    contracts = Contracts(open_backend(dep.chain), dep)
    actor = contracts.as_(load_key(key, password))
    if not hasattr(actor, "announce_shard"):
        raise ConfigError("this brainnet has no Registry.announce_shard binding yet; serve without --deployment")
    actor.announce_shard(dep.model_id(node.model.name), node.plan.start, node.plan.end, int(node.memory_mb),
                         node.throughput, endpoint)
    err_console.print(f"announced {node.model.name} blocks {node.plan.start}:{node.plan.end} at {endpoint}")


def _run(app_, sock) -> None:
    import uvicorn

    config = uvicorn.Config(app_, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])      # stops cleanly on SIGINT / SIGTERM
