"""A local multi-process network: an anvil chain and N node processes on 127.0.0.1."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import typer
from rich.table import Table

from brainnet.cli.common import console

app = typer.Typer(no_args_is_help=True)

DEVNET_PASSWORD = "devnet"


@app.command("up")
def up(
    nodes: int = typer.Option(5, min=1, max=64, help="Node processes to start."),
    dir: Path = typer.Option(Path(".brainnet/devnet"), help="Folder for deployment.json, keys, journals and logs."),
    committee: int = typer.Option(None, help="Committee size K (default: min(5, nodes))."),
    quorum: int = typer.Option(None, help="Quorum Q (default: a bare majority of K)."),
    faulty: int = typer.Option(0, min=0, help="Nodes that reveal wrong labels."),
    block_time: float = typer.Option(1.0, min=0.0, help="Seconds per block (0 = mine only on transactions)."),
    stake: float = typer.Option(1000.0, min=1, help="BRN each node stakes."),
    batch: bool = typer.Option(True, "--batch/--no-batch", help="Nodes batch their transactions (see `brainnet node start --help`)."),
) -> None:
    """Start anvil, deploy, fund keys, start N `brainnet node start` processes; ctrl-c stops all.

    Writes DIR/devnet.json ({"rpc", "deployment", "requester_key", "password", "nodes": [...]}) once
    every node is registered, for scripts and tests to pick up.
    """
    from brainnet.chain import TOKEN, AnvilBackend, Contracts, DeployParams, deploy
    from brainnet.chain.backends import free_port
    from brainnet.errors import ChainError
    from brainnet.models import get_model
    from brainnet.node.keys import new_key, load_key

    k = committee or min(5, nodes)
    q = quorum or k // 2 + 1
    dir.mkdir(parents=True, exist_ok=True)
    (dir / "devnet.json").unlink(missing_ok=True)
    runtime = get_model("digits-mlp")
    backend = AnvilBackend(block_time=block_time or None)
    procs: list[subprocess.Popen] = []
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        dep = deploy(backend, DeployParams(committee_size=k, quorum=q), {"digits-mlp": runtime.weights_hash})
        dep_path = dep.save(dir / "deployment.json")
        contracts = Contracts(backend, dep)
        boss = contracts.as_(backend.funder)

        def make_key(name: str):
            path = dir / "keys" / f"{name}.json"
            if path.exists():
                path.unlink()
            new_key(path, DEVNET_PASSWORD, iterations=2**12)
            return path, load_key(path, DEVNET_PASSWORD)

        req_path, requester = make_key("requester")
        boss.signer.transfer_eth(requester.address, 10**21)
        boss.transfer(requester.address, 1_000_000 * TOKEN)
        entries = []
        for i in range(nodes):
            path, acct = make_key(f"node-{i}")
            boss.signer.transfer_eth(acct.address, 10**21)
            boss.transfer(acct.address, int(stake * TOKEN))
            port = free_port()
            behaviour = "wrong" if i >= nodes - faulty else "honest"
            cmd = [sys.executable, "-m", "brainnet.cli.main", "node", "start", "--deployment", str(dep_path),
                   "--key", str(path), "--port", str(port), "--home", str(dir / f"node-{i}"),
                   "--stake", str(stake), "--behaviour", behaviour, "--batch" if batch else "--no-batch"]
            log = open(dir / f"node-{i}.log", "ab")
            env = {**os.environ, "BRAINNET_PASSWORD": DEVNET_PASSWORD}
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env))
            entries.append({"name": f"node-{i}", "address": acct.address, "port": port, "key": str(path),
                            "home": str(dir / f"node-{i}"), "behaviour": behaviour, "cmd": cmd, "pid": procs[-1].pid,
                            "log": str(dir / f"node-{i}.log")})
        deadline = time.monotonic() + 180
        while not stop.is_set():
            registered = sum(1 for e in entries if contracts.node(e["address"]).index != 0)
            dead = [e["name"] for e, p in zip(entries, procs) if p.poll() is not None]
            if dead:
                raise ChainError(f"node processes exited at start-up: {', '.join(dead)}; see their logs in {dir}")
            if registered == nodes:
                break
            if time.monotonic() > deadline:
                raise ChainError(f"only {registered}/{nodes} nodes registered within 180 s; see logs in {dir}")
            time.sleep(0.3)
        info = {"rpc": backend.url, "deployment": str(dep_path), "requester_key": str(req_path),
                "password": DEVNET_PASSWORD, "committee": k, "quorum": q, "nodes": entries, "pid": os.getpid()}
        (dir / "devnet.json").write_text(json.dumps(info, indent=2))
        table = Table(title=f"devnet on {backend.url} (K={k}, Q={q})")
        for col in ("node", "address", "endpoint", "behaviour"):
            table.add_column(col)
        for e in entries:
            table.add_row(e["name"], e["address"], f"http://127.0.0.1:{e['port']}", e["behaviour"])
        console.print(table)
        console.print(f"request with: brainnet request --deployment {dep_path} --key {req_path} --password {DEVNET_PASSWORD} --sample 0")
        console.print("ctrl-c stops the chain and every node")
        while not stop.is_set():
            stop.wait(0.5)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        backend.close()
        (dir / "devnet.json").unlink(missing_ok=True)
        console.print("devnet stopped")
