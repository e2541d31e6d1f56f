"""Deploy the brainnet contracts to a running chain and write deployment.json."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from brainnet.cli.common import console, write_json
from brainnet.errors import ConfigError


def deploy_cmd(
    chain: str = typer.Option(..., help="rpc:<url> of a running chain, e.g. rpc:http://127.0.0.1:8545."),
    out: Path = typer.Option(Path("deployment.json"), help="Where to write the deployment file."),
    key: Path = typer.Option(None, help="Keystore of a funded deployer; a local anvil's dev account if omitted."),
    password: str = typer.Option(None, envvar="BRAINNET_PASSWORD", help="Password of --key."),
    params: Path = typer.Option(None, help="JSON file of deployment parameters (committee_size, quorum, windows, ...)."),
    json_path: Path = typer.Option(None, "--json", help="Also print/write the deployment as JSON ('-' for stdout)."),
) -> None:
    from brainnet.chain import DeployParams, deploy, open_backend
    from brainnet.models import get_model
    from brainnet.node.keys import load_key

    if not chain.startswith("rpc:"):
        raise ConfigError("deploy needs a chain that outlives this command: --chain rpc:<url> (see `brainnet devnet up`)")
    p = DeployParams.from_dict(json.loads(params.read_text())) if params else DeployParams()
    deployer = None
    if key is not None:
        if password is None:
            raise ConfigError("--key needs --password (or BRAINNET_PASSWORD)")
        deployer = load_key(key, password)
    backend = open_backend(chain)
    runtime = get_model("digits-mlp")
    dep = deploy(backend, p, {"digits-mlp": runtime.weights_hash}, deployer=deployer)
    dep.save(out)
    if json_path is not None:
        write_json(json_path, json.loads(dep.to_json()))
    console.print(f"deployed to chain {dep.chain_id}: " + ", ".join(f"{k} {v}" for k, v in dep.addresses.items()))
    console.print(f"wrote {out}")
