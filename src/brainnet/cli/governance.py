"""Change protocol parameters by token vote: `propose`, `vote`, `execute`, and `params` to see
every live value.

A proposal is one change (parameter name, new value), e.g.
`brainnet propose inference.committee_size 7`. Votes are the balances held at the block
before the proposal; it passes with a quorum and more votes for than against, waits out
the timelock, then anyone may `execute` it. `brainnet params` lists every parameter
governance can change, with its live value, and the fixed emission schedule.
"""
from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from brainnet.cli.common import brn, console, err_console, short, write_json
from brainnet.errors import ConfigError

STATES = {0: "unknown", 1: "active", 2: "defeated", 3: "queued (timelock)", 4: "executable", 5: "expired",
          6: "executed", 7: "canceled"}

DEPLOYMENT = typer.Option(Path("deployment.json"), help="deployment.json of the network.")
KEY = typer.Option(None, help="Keystore of the voter; a local anvil's dev account (the genesis holder) if omitted.")
PASSWORD = typer.Option(None, envvar="BRAINNET_PASSWORD", help="Password of --key.")
JSON = typer.Option(None, "--json", help="Write the result as JSON here ('-' for stdout).")


def _open(deployment: Path):
    from brainnet.chain import Contracts, Deployment, open_backend

    dep = Deployment.load(deployment)
    if dep.chain == "embedded":
        raise ConfigError("an embedded chain lives inside one process; govern it from Python or use a devnet (anvil)")
    contracts = Contracts(open_backend(dep.chain), dep)
    if contracts.governance is None:
        raise ConfigError(f"{deployment} has no Governance contract; redeploy with this brainnet (`brainnet deploy`)")
    return contracts


def _actor(contracts, key: Path | None, password: str | None):
    from brainnet.node.keys import load_key

    if key is None:
        account = contracts.backend.funder
        if account is None:
            raise ConfigError("no account: pass --key (and --password) of a token holder")
    else:
        if password is None:
            raise ConfigError("--key needs --password (or BRAINNET_PASSWORD)")
        account = load_key(key, password)
    return contracts.as_(account)


def _proposal(contracts, proposal_id: int) -> dict:
    from brainnet.chain.params import PARAMS

    g = contracts.governance
    state = g.functions.state(proposal_id).call()
    if state == 0:
        raise ConfigError(f"there is no proposal {proposal_id}; proposals so far: {g.functions.proposal_count().call()}")
    p = g.functions.proposals(proposal_id).call()
    names = {c.address: n for n, c in (("Registry", contracts.registry), ("Inference", contracts.inference),
                                      ("Emission", contracts.emission), ("Governance", contracts.governance),
                                      ("Training", contracts.training)) if c is not None}
    contract = names.get(p[1], p[1])
    name = next((x.name for x in PARAMS if x.contract == contract and x.param_id == p[2]), f"{contract}#{p[2]}")
    return {"proposal_id": proposal_id, "state": STATES[state], "proposer": p[0], "target": p[1], "param": name,
            "param_id": p[2], "value": p[3], "snapshot": p[4], "vote_end": p[5], "eta": p[6], "expires": p[7],
            "quorum_votes": p[8], "votes_for": p[9], "votes_against": p[10], "block": contracts.block_number()}


def _show(info: dict, json_path: Path | None, headline: str) -> None:
    if json_path is not None:
        write_json(json_path, info)
        if str(json_path) == "-":
            err_console.print(headline)
            return
    console.print(headline)
    console.print(f"  {info['param']} -> {info['value']}; for {brn(info['votes_for'])} / against "
                  f"{brn(info['votes_against'])} BRN (quorum {brn(info['quorum_votes'])}); voting ends at block "
                  f"{info['vote_end']}, executable from block {info['eta']} to {info['expires']} (now {info['block']})")


def propose(
    param: str = typer.Argument(..., help="Parameter name, e.g. inference.committee_size (see `brainnet params`)."),
    value: str = typer.Argument(..., help="New value: an integer, BRN for token amounts (150 or 0.5), 0x… for addresses."),
    deployment: Path = DEPLOYMENT, key: Path = KEY, password: str = PASSWORD, json_path: Path = JSON,
) -> None:
    """Propose one parameter change; needs the proposal threshold in votes at the previous block."""
    from brainnet.chain.params import lookup, parse_value

    spec = lookup(param)
    amount = parse_value(spec, value)
    contracts = _open(deployment)
    actor = _actor(contracts, key, password)
    target = contracts.by_name(spec.contract).address
    proposal_id, _ = actor.propose(target, spec.param_id, amount)
    _show(_proposal(contracts, proposal_id), json_path, f"proposal {proposal_id} created by {actor.address}")


def vote(
    proposal_id: int = typer.Argument(..., help="Proposal id printed by `brainnet propose`."),
    against: bool = typer.Option(False, "--against", help="Vote against (the default is for)."),
    deployment: Path = DEPLOYMENT, key: Path = KEY, password: str = PASSWORD, json_path: Path = JSON,
) -> None:
    """Vote on a proposal with the balance you held at its snapshot (once per address)."""
    contracts = _open(deployment)
    _proposal(contracts, proposal_id)                    # a clear error for an unknown id
    actor = _actor(contracts, key, password)
    actor.vote(proposal_id, not against)
    _show(_proposal(contracts, proposal_id), json_path,
          f"{actor.address} voted {'against' if against else 'for'} proposal {proposal_id}")


def execute(
    proposal_id: int = typer.Argument(..., help="A passed proposal whose timelock is over."),
    deployment: Path = DEPLOYMENT, key: Path = KEY, password: str = PASSWORD, json_path: Path = JSON,
) -> None:
    """Apply a passed proposal (anyone may, between the end of its timelock and its expiry)."""
    contracts = _open(deployment)
    info = _proposal(contracts, proposal_id)
    if info["state"] != "executable":
        raise ConfigError(f"proposal {proposal_id} is {info['state']} at block {info['block']}; it is executable "
                          f"from block {info['eta']} to {info['expires']} if it passed")
    _actor(contracts, key, password).execute(proposal_id)
    _show(_proposal(contracts, proposal_id), json_path, f"proposal {proposal_id} executed: {info['param']} = {info['value']}")


def live_params(contracts) -> dict:
    """Every governable parameter and the fixed schedule, read from the chain: name -> value."""
    from brainnet.chain.params import FIXED, PARAMS, read

    out = {}
    for p in PARAMS:
        if p.getter is not None:
            out[p.name] = read(contracts.by_name(p.contract), p.getter)
    for name, contract, getter, _kind in FIXED:
        out[name] = read(contracts.by_name(contract), getter)
    return out


def params(deployment: Path = DEPLOYMENT, json_path: Path = JSON) -> None:
    """Show every live protocol parameter, which contract holds it and how to change it."""
    from brainnet.chain.params import FIXED, PARAMS

    contracts = _open(deployment)
    values = live_params(contracts)
    if json_path is not None:
        write_json(json_path, {"block": contracts.block_number(), "params": values,
                               "addresses": contracts.deployment.addresses})
        if str(json_path) == "-":
            return
    kinds = {p.name: p.kind for p in PARAMS} | {f[0]: f[3] for f in FIXED}
    table = Table(title=f"live parameters at block {contracts.block_number()}")
    table.add_column("parameter", no_wrap=True)
    table.add_column("value", no_wrap=True)
    table.add_column("meaning")
    helps = {p.name: p.help for p in PARAMS}
    for name, value in values.items():
        shown = f"{brn(value)} BRN" if kinds[name] == "token" else short(value) if kinds[name] == "address" else str(value)
        table.add_row(name, shown, helps.get(name, "fixed at deployment"))
    console.print(table)
    console.print("change one with: brainnet propose NAME VALUE; write-only actions: "
                  + ", ".join(p.name for p in PARAMS if p.getter is None))
