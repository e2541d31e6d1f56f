"""Manage node and requester keys (keystore v3 JSON files, password-protected)."""
from __future__ import annotations

from pathlib import Path

import typer

from brainnet.cli.common import console, write_json

app = typer.Typer(no_args_is_help=True)


@app.command("new")
def new(
    path: Path = typer.Argument(..., help="Where to write the keystore file, e.g. keys/node1.json."),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True,
                                 envvar="BRAINNET_PASSWORD", help="Password that encrypts the key."),
    json_out: Path = typer.Option(None, "--json", help="Also write {address, path} as JSON here ('-' for stdout)."),
) -> None:
    """Create a new account and write it as an encrypted keystore file."""
    from brainnet.node.keys import new_key

    address = new_key(path, password)
    if json_out:
        write_json(json_out, {"address": address, "path": str(path)})
    else:
        console.print(f"created [bold]{address}[/] in {path}")
