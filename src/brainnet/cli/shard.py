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
    key: Path = typer.Option(None, help="Keystore of the node: announces with --deployment, and signs every hop "
                                        "reply (so a corrupt reply can be blamed on this node and slashed)."),
    password: str = typer.Option(None, envvar="BRAINNET_PASSWORD", help="Password of --key."),
) -> None:
    """Serve blocks of a model at POST /shard/{model}/{start}:{end}; measures throughput first.

    Prints one JSON line when ready: {"endpoint", "model", "start", "end", "rank", "throughput", ...}.
    """
    import socket

    import torch

    from brainnet.errors import ConfigError
    from brainnet.node.shard_server import ShardServer, create_app

    torch.set_num_threads(threads)
    from brainnet.shard.behaviours import apply_behaviour

    node = ShardServer.load(model, memory_mb, blocks=_parse_blocks(blocks), start=start, threads=threads)
    apply_behaviour(node, behaviour)
    if key is not None:
        from brainnet.node.keys import load_key

        if password is None:
            raise ConfigError("--key needs --password (or BRAINNET_PASSWORD)")
        node.signer = load_key(key, password)
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
    signer = {"signer": node.signer.address} if node.signer is not None else {}
    sys.stdout.write(json.dumps({"endpoint": endpoint, **node.info(), **signer}) + "\n")
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


# ---------------------------------------------------------------- routes
SYNTHETIC_BLOCKS = 24
SYNTHETIC_WIDTH = 1024


def _ping_ms(endpoint: str, timeout: float = 2.0) -> float | None:
    """Best of three GET /health round trips, in ms; None when the node does not answer."""
    import time

    import httpx

    best = None
    with httpx.Client(timeout=timeout) as http:
        for _ in range(3):
            t0 = time.perf_counter()
            try:
                http.get(f"{endpoint.rstrip('/')}/health").raise_for_status()
            except httpx.HTTPError:
                return None
            ms = (time.perf_counter() - t0) * 1000
            best = ms if best is None else min(best, ms)
    return best


def _route_json(route) -> dict:
    return {"cost_ms": round(route.cost * 1000, 3), "hops": [
        {"node": h.node_id, "endpoint": h.endpoint, "blocks": f"{h.start}:{h.end}", "cost_ms": round(h.cost * 1000, 3)}
        for h in route.hops]}


@app.command("routes")
def routes(
    model: str = typer.Option("minilm-l6", help="Sharded model: minilm-l6 or decoder."),
    deployment: Path = typer.Option(None, help="deployment.json: plan over the shards announced in its Registry "
                                               "(pings to their endpoints are measured; silent nodes are left out)."),
    endpoint: list[str] = typer.Option(None, "--endpoint", help="A shard server URL to ask directly (repeat the flag)."),
    synthetic: int = typer.Option(0, min=0, help="Plan over a seeded synthetic heterogeneous swarm of this many "
                                                 f"nodes ({SYNTHETIC_BLOCKS} blocks) instead."),
    seed: int = typer.Option(0, help="Seed of --synthetic."),
    tokens: int = typer.Option(128, min=1, help="Tokens per request: prices the compute."),
    codec_name: str = typer.Option("int8", "--codec", help="Activation codec fp32 | fp16 | int8: prices the transfer."),
    bandwidth_mbps: float = typer.Option(1000.0, min=0.001, help="Bandwidth between nodes, Mbit/s."),
    k: int = typer.Option(1, min=1, help="Also plan k routes over disjoint nodes (what verification needs)."),
    json_path: Path = typer.Option(None, "--json", help="Write the plan as JSON here ('-' for stdout)."),
) -> None:
    """Plan the cheapest route through a model's blocks over shard nodes, beside greedy first-fit.

    The planner is a shortest path over block boundaries (cost = compute from the announced
    throughput + transfer of the activations + ping). Give exactly one source of nodes:
    --deployment (the Registry's announcements), --endpoint (ask servers) or --synthetic N.
    """
    from rich.table import Table

    from brainnet.cli.common import console, write_json
    from brainnet.errors import ConfigError
    from brainnet.shard.codec import CODECS, DEFAULT_BLOCK
    from brainnet.shard.route import greedy_first_fit, k_disjoint_routes, plan, synthetic_swarm

    sources = [deployment is not None, bool(endpoint), synthetic > 0]
    if sum(sources) != 1:
        raise ConfigError("give exactly one source of shard nodes: --deployment FILE, --endpoint URL (repeatable) "
                          "or --synthetic N")
    if codec_name not in CODECS:
        raise ConfigError(f"--codec {codec_name!r}: choose one of {', '.join(CODECS)}")
    unreachable: list[str] = []
    if synthetic:
        nodes, n_blocks, width, source = synthetic_swarm(synthetic, SYNTHETIC_BLOCKS, seed=seed), SYNTHETIC_BLOCKS, \
            SYNTHETIC_WIDTH, f"synthetic swarm of {synthetic} nodes, seed {seed}"
    else:
        from brainnet.shard.blocks import get_model

        shard_model = get_model(model)
        n_blocks, width = shard_model.n_blocks, shard_model.width
        if endpoint:
            from brainnet.shard.client import discover

            nodes, source = [n for n in discover(endpoint) if n.model == model], f"{len(endpoint)} endpoints"
        else:
            from brainnet.chain import Contracts, Deployment, open_backend

            dep = Deployment.load(deployment)
            if dep.chain == "embedded":
                raise ConfigError("this deployment lives on an embedded chain inside another process; use anvil or rpc")
            contracts = Contracts(open_backend(dep.chain), dep)
            announced = contracts.shard_announcements(dep.model_id(model), model)
            nodes = []
            for n in announced:
                ping = _ping_ms(n.endpoint)
                if ping is None:
                    unreachable.append(n.id)
                else:
                    nodes.append(type(n)(**{**n.__dict__, "ping_ms": ping}))
            source = f"Registry {dep.addresses['Registry']} ({len(announced)} announced)"
    per_value = {"fp32": 4.0, "fp16": 2.0, "int8": 1.0 + 4.0 / DEFAULT_BLOCK}[codec_name]
    cost = dict(tokens=tokens, activation_bytes=int(tokens * width * per_value), bandwidth=bandwidth_mbps * 1e6 / 8)
    best = plan(nodes, n_blocks, **cost)
    greedy = greedy_first_fit(nodes, n_blocks, **cost)
    disjoint = k_disjoint_routes(nodes, n_blocks, k, **cost) if k > 1 else []
    out = {"model": model if not synthetic else "synthetic", "source": source, "nodes": len(nodes),
           "blocks": n_blocks, "unreachable": unreachable, **cost, "route": _route_json(best),
           "greedy": _route_json(greedy), "greedy_over_planner": round(greedy.cost / best.cost, 4),
           "disjoint": [_route_json(r) for r in disjoint]}
    if json_path is not None:
        write_json(json_path, out)
        if str(json_path) == "-":
            return
    table = Table(title=f"cheapest route over {len(nodes)} nodes ({source})")
    for col in ("node", "endpoint", "blocks", "cost ms"):
        table.add_column(col)
    for h in best.hops:
        table.add_row(h.node_id, h.endpoint, f"{h.start}:{h.end}", f"{h.cost * 1000:.1f}")
    console.print(table)
    console.print(f"planner {best.cost * 1000:.1f} ms in {len(best)} hops; greedy first-fit {greedy.cost * 1000:.1f} ms "
                  f"in {len(greedy)} hops ({greedy.cost / best.cost:.2f}x)")
    for i, r in enumerate(disjoint):
        console.print(f"disjoint route {i + 1}: {' -> '.join(r.node_ids)} ({r.cost * 1000:.1f} ms)")
    if unreachable:
        err_console.print(f"left out (no answer to /health): {', '.join(unreachable)}")


# ---------------------------------------------------------------- blame
@app.command("blame")
def blame_cmd(
    transcript: Path = typer.Argument(..., help="A route's transcript (JSON written by `brainnet node start --sharded "
                                                "minilm-l6 --transcripts DIR`, or brainnet.shard.hops.save_transcript)."),
    report: bool = typer.Option(False, "--report", help="Report the first provably corrupt hop to ShardAudit "
                                                        "(needs --deployment and --key; posts the bond and audit fee)."),
    deployment: Path = typer.Option(None, help="deployment.json of the network (with --report)."),
    key: Path = typer.Option(None, help="Keystore of the reporting account (with --report)."),
    password: str = typer.Option(None, envvar="BRAINNET_PASSWORD", help="Password of --key."),
    input_uri: str = typer.Option(None, help="Where the audit committee fetches the hop's audit bundle, request "
                                             "and reply (a node's blob API, GET {uri}/blobs/{sha256}; default: the "
                                             "reporter's registered endpoint). They must be there before the audit runs."),
    blobs: Path = typer.Option(None, help="With --report: put the hop's audit bundle, request and reply in this blob "
                                          "store (a node's <home>/blobs, served by its API at --input-uri)."),
    json_path: Path = typer.Option(None, "--json", help="Write the verdicts as JSON here ('-' for stdout)."),
) -> None:
    """Re-run every hop of a transcript on the input its node signed for and name the nodes whose signed output is not what their blocks compute (a corrupting relay).

    Each hop is recomputed locally (MiniLM from the installed weights) and compared with its signed reply: relative L2 error above 5 % or a fingerprint more than 16 bits away blames the node. An honest node after a corrupt one is not blamed (it computed right on a wrong input). With --report the first hop whose signature checks out is reported to ShardAudit, which opens an audit task; `brainnet shard resolve AUDIT_ID` settles it once that task is final.
    """
    import hashlib

    from brainnet.cli.common import console, write_json
    from brainnet.errors import ConfigError
    from brainnet.shard.blame import blame
    from brainnet.shard.hops import load_transcript

    calls, extra = load_transcript(transcript)
    verdicts = blame(calls)
    out = {"transcript": str(transcript), "task_id": extra.get("task_id"), "hops": len(calls),
           "route": [{"node": c.node_id, "blocks": f"{c.start}:{c.end}", "signed": c.signature is not None}
                     for c in calls],
           "blamed": [v.to_json() for v in verdicts], "report": None}
    if report:
        provable = [v for v in verdicts if v.provable]
        if not provable:
            raise ConfigError("nothing to report: no hop of this transcript is provably corrupt "
                              "(blamed hops need a valid signature to be audited on chain)")
        if deployment is None or key is None or password is None:
            raise ConfigError("--report needs --deployment, --key and --password (or BRAINNET_PASSWORD)")
        from brainnet.chain import Contracts, Deployment, open_backend
        from brainnet.node.keys import load_key

        dep = Deployment.load(deployment)
        if dep.chain == "embedded":
            raise ConfigError("this deployment lives on an embedded chain inside another process; use anvil or rpc")
        contracts = Contracts(open_backend(dep.chain), dep)
        account = load_key(key, password)
        call = calls[provable[0].index]
        uri = input_uri or contracts.node(account.address).endpoint
        if not uri:
            raise ConfigError("no --input-uri and the reporter has no registered endpoint: give the URL of a blob "
                              "API that serves the hop's request message")
        from brainnet.shard.hops import audit_bundle

        bundle = audit_bundle(call.record.request_hash, call.record.reply_hash)
        if blobs is not None:
            from brainnet.node.blobs import BlobStore

            store = BlobStore(blobs)
            for blob in (bundle, call.request, call.reply):
                store.put(blob)
        audit_id, receipt = contracts.as_(account).report_hop(call.record, call.signature, uri)
        audit = contracts.audit(audit_id)
        out["report"] = {"audit_id": audit_id, "task_id": audit.task_id, "node": audit.node, "tx": receipt.tx_hash,
                         "bundle_sha256": hashlib.sha256(bundle).hexdigest(),
                         "request_sha256": call.record.request_hash.hex(), "reply_sha256": call.record.reply_hash.hex(),
                         "input_uri": uri}
    if json_path is not None:
        write_json(json_path, out)
        if str(json_path) == "-":
            return
    if not verdicts:
        console.print(f"{len(calls)} hops: every node computed what it signed for; nobody to blame")
    for v in verdicts:
        console.print(f"[red]blamed[/] hop {v.index} node {v.node} blocks {v.start}:{v.end}: {v.reason}"
                      + ("" if v.provable else " [yellow](not provable on chain)[/]"))
    if out["report"]:
        r = out["report"]
        console.print(f"reported to ShardAudit: audit {r['audit_id']} (audit task {r['task_id']}); the committee "
                      f"fetches the bundle {r['bundle_sha256'][:12]}… and its request and reply from {r['input_uri']}")


@app.command("resolve")
def resolve_cmd(
    audit_id: int = typer.Argument(..., min=1, help="The ShardAudit report to resolve."),
    deployment: Path = typer.Option(..., help="deployment.json of the network."),
    key: Path = typer.Option(..., help="Keystore of the sending account (anyone may resolve)."),
    password: str = typer.Option(None, envvar="BRAINNET_PASSWORD", help="Password of --key."),
    json_path: Path = typer.Option(None, "--json", help="Write the outcome as JSON here ('-' for stdout)."),
) -> None:
    """Resolve a ShardAudit report once its audit task is final: the node is slashed when the committee's fingerprint is further than the tolerance from the one it signed, else the reporter's bond is lost."""
    from brainnet.chain import Contracts, Deployment, Status, open_backend
    from brainnet.cli.common import console, write_json
    from brainnet.errors import ConfigError
    from brainnet.node.keys import load_key

    if password is None:
        raise ConfigError("--key needs --password (or BRAINNET_PASSWORD)")
    dep = Deployment.load(deployment)
    if dep.chain == "embedded":
        raise ConfigError("this deployment lives on an embedded chain inside another process; use anvil or rpc")
    contracts = Contracts(open_backend(dep.chain), dep)
    audit = contracts.audit(audit_id)
    if audit.status == 0:
        raise ConfigError(f"ShardAudit has no report {audit_id}")
    if audit.status == 1:
        task = contracts.task(audit.task_id)
        if task.status not in (Status.SETTLED, Status.REFUNDED):
            raise ConfigError(f"audit task {audit.task_id} is not final yet ({task.status.name}); try again once "
                              "its committee has revealed and it is finalized")
        contracts.as_(load_key(key, password)).resolve_audit(audit_id)
        audit = contracts.audit(audit_id)
    outcome = {2: "upheld", 3: "dismissed"}[audit.status]
    out = {"audit_id": audit_id, "node": audit.node, "outcome": outcome, "task_id": audit.task_id,
           "node_stake": contracts.node(audit.node).stake}
    if json_path is not None:
        write_json(json_path, out)
        if str(json_path) == "-":
            return
    console.print(f"audit {audit_id}: {outcome}; node {audit.node} now stakes {out['node_stake'] / 10**18:,.2f} BRN")
