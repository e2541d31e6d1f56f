"""Ask the network for a verified inference and print the agreed result with its proof."""
from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from brainnet.cli.common import brn, console, short, write_json
from brainnet.errors import ConfigError


def request(
    deployment: Path = typer.Option(..., help="deployment.json of the network."),
    key: Path = typer.Option(..., help="Requester keystore (funded with BRN for the fee)."),
    password: str = typer.Option(..., envvar="BRAINNET_PASSWORD", help="Password of --key."),
    model: str = typer.Option("digits-mlp", help="Model name from the deployment."),
    input: Path = typer.Option(None, "--input", help='Input file, e.g. {"pixels": [64 values 0..16]} for digits-mlp.'),
    sample: int = typer.Option(None, min=0, help="Use the N-th bundled test image instead of --input."),
    fee: float = typer.Option(10.0, min=0, help="Fee in BRN, escrowed until the task settles."),
    timeout: float = typer.Option(300.0, min=1, help="Seconds to wait for the committee."),
    no_wait: bool = typer.Option(False, "--no-wait", help="Only submit; print the task id."),
    json_path: Path = typer.Option(None, "--json", help="Write the result as JSON here ('-' for stdout)."),
) -> None:
    from brainnet.chain import TOKEN
    from brainnet.models import get_model
    from brainnet.sdk import Client

    if (input is None) == (sample is None):
        raise ConfigError("give exactly one of --input FILE or --sample N")
    runtime = get_model(model)
    if input is not None:
        if not input.exists():
            raise ConfigError(f"input file {input} not found")
        data = input.read_bytes()
        runtime.decode_input(data)          # fail here, not on every node, if it is malformed
    else:
        data = runtime.sample_inputs(sample + 1, seed=0)[sample]
    client = Client.from_deployment(deployment, key=key, password=password)
    sub = client.submit(model, data, int(fee * TOKEN))
    if no_wait:
        out = {"task_id": sub.task_id, "request_block": sub.request_block, "tx_hashes": sub.tx_hashes}
        write_json(json_path, out) if json_path else console.print(json.dumps(out))
        return
    from brainnet.cli.common import err_console

    status = err_console if json_path is not None and str(json_path) == "-" else console   # keep stdout pure JSON
    status.print(f"task {sub.task_id} requested in block {sub.request_block}; waiting for the committee…")
    result = client.wait(sub, timeout_s=timeout)
    if json_path is not None:
        write_json(json_path, result.to_dict())
        if str(json_path) == "-":
            return
    shown = result.value if isinstance(result.value, (int, str)) else \
        f"{len(result.value)} floats [{', '.join(f'{v:.3f}' for v in list(result.value)[:4])}, …]"
    table = Table(title=f"task {result.task_id}: {model} → {shown}")
    table.add_column("member")
    table.add_column("revealed")
    table.add_column("agrees")
    for m in result.committee:
        r = result.reveals.get(m)
        table.add_row(short(m), (r[:12] + "…") if r else "—", "yes" if m in result.agreeing else "no")
    console.print(table)
    console.print(f"settled in {result.blocks_taken} blocks; fee {brn(int(fee * TOKEN))} BRN; tx {result.tx_hashes}")
