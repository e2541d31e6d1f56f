"""Verified sharded inference on the embedded chain with real shard server processes.

Six nodes each run a MiniLM shard server in its own process (`brainnet shard serve`; three
serve blocks 0:4 — embeddings and layers 1-3 —, three serve 4:8 — layers 4-6 and pooling)
and announce it in
the Registry; one of them corrupts its activations. A `minilm-l6` task (near mode, K=3,
Q=2) draws three nodes as its committee; each member carries the input over its own route
(brainnet.shard.verify: routes of a committee use disjoint nodes, a serving member is on its
own route), so the six nodes split into three routes and the corrupt node spoils exactly
one. The two honest routes agree (their embedding equals the local model's), the result
settles, and the member who carried the corrupt route is slashed: the corrupting node itself
when it sits on the committee, else the member that relayed through it.

Every server signs its replies with its node's key (`brainnet shard serve --key`). With
`ShardedMiniLM(audit=True)` the member whose route dissented blames its route's transcript,
reports the corrupting relay's signed hop to `ShardAudit`, an audit task on the
`shard-hop-audit` model runs through a committee, and `resolve` slashes the relay itself."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from eth_account import Account

from brainnet.chain import TOKEN, Contracts, DeployParams, Status, deploy, open_backend
from brainnet.models.minilm import MiniLMRuntime, package_sha256
from brainnet.node.api import create_app, serve_in_thread
from brainnet.node.blobs import BlobStore
from brainnet.node.daemon import NodeDaemon
from brainnet.node.journal import Journal
from brainnet.node.keys import new_key
from brainnet.node.sharded import ShardedMiniLM
from brainnet.models import get_model
from brainnet.protocol import keccak
from brainnet.protocol.simhash import fingerprint, hamming, projection_seed
from brainnet.sdk.client import Client

CAP_INFERENCE, CAP_SHARD = 1, 4
RANGES = [(0, 4)] * 3 + [(4, 8)] * 3
CORRUPT = 4                       # index of the corrupting node (serves 4:8)
STAKE = 1_000 * TOKEN
AUDIT_FUNDS = 500 * TOKEN          # a member's tokens for reporting (bond + audit fee)
BOUNTY = 1_000 * TOKEN             # ShardAudit's reward pool
SRC = str(Path(__file__).resolve().parents[2] / "src")


def node_key(i: int) -> bytes:
    return keccak(b"shard verify node %d" % i)


@pytest.fixture(scope="module")
def shard_servers(tmp_path_factory):
    env = dict(os.environ, PYTHONPATH=SRC, OMP_NUM_THREADS="1", BRAINNET_PASSWORD="pw")
    keys = tmp_path_factory.mktemp("shard-keys")
    for i in range(len(RANGES)):
        new_key(keys / f"node-{i}.json", "pw", iterations=2**4, private_key=node_key(i))
    logs = [open(tmp_path_factory.mktemp("shard-logs") / f"node-{i}.err", "w+") for i in range(len(RANGES))]
    procs = [subprocess.Popen([sys.executable, "-m", "brainnet.cli.main", "shard", "serve", "--model", "minilm-l6",
                               "--blocks", f"{lo}:{hi}", "--memory-mb", "512", "--port", "0", "--bench-tokens", "16",
                               "--behaviour", "corrupt" if i == CORRUPT else "honest", "--key", str(keys / f"node-{i}.json")],
                              stdout=subprocess.PIPE, stderr=logs[i], text=True, env=env)
             for i, (lo, hi) in enumerate(RANGES)]
    try:
        infos = []
        for p, log in zip(procs, logs):
            line = p.stdout.readline()
            if not line:
                log.seek(0)
                raise RuntimeError(f"a shard server died at start-up: {log.read()[-2000:]}")
            infos.append(json.loads(line))
        yield infos
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        for log in logs:
            log.close()


@pytest.fixture(scope="module")
def local():
    return MiniLMRuntime.load_from(package_sha256())


@contextmanager
def network(shard_servers, members: set[int], audit: bool = False):
    """A fresh chain where the nodes in `members` serve minilm-l6 inference (so they are the
    committee: K = 3) and every node announces its shard; the others are relays (registered
    for another model, announcing minilm-l6 blocks). With `audit`, members also serve the
    hop-audit model, blame their route when they dissent and report to ShardAudit."""
    tmp = tempfile.TemporaryDirectory(prefix="brainnet-shard-verify-")
    backend = open_backend("embedded")
    params = DeployParams(committee_size=3, quorum=2, max_levels=1, challenge_window=0,
                          commit_window=60, reveal_window=60)
    deployment = deploy(backend, params, {"minilm-l6": (bytes.fromhex(package_sha256()), MiniLMRuntime.tolerance),
                                          "other-model": hashlib.sha256(b"another model").digest()})
    contracts = Contracts(backend, deployment)
    mid = deployment.model_id("minilm-l6")
    audit_mid = deployment.model_id("shard-hop-audit")         # registered by deploy beside minilm-l6
    boss = contracts.as_(backend.funder)
    if audit:
        boss.fund_audits(BOUNTY)
    daemons, servers = [], []
    try:
        for i, info in enumerate(shard_servers):
            account = Account.from_key(node_key(i))
            assert account.address == info["signer"]              # the server signs with the node's key
            boss.signer.transfer_eth(account.address, 10**21)
            boss.transfer(account.address, STAKE + (AUDIT_FUNDS if audit else 0))
            home = Path(tmp.name) / f"node-{i}"
            store = BlobStore(home / "blobs")
            runtimes = {mid: ShardedMiniLM(contracts, audit=audit)}
            if audit:
                runtimes[audit_mid] = get_model("shard-hop-audit")
            daemon = NodeDaemon(contracts, account, runtimes, Journal(home / "journal.sqlite"), store)
            server, port = serve_in_thread(create_app(store))
            servers.append(server)
            daemon.actor.approve(deployment.addresses["Registry"], STAKE)
            serves = [mid] + ([audit_mid] if audit else []) if i in members else [deployment.model_id("other-model")]
            daemon.actor.register(STAKE, f"http://127.0.0.1:{port}", keccak(b"pk %d" % i), serves)
            daemon.actor.set_capabilities(CAP_INFERENCE | CAP_SHARD)
            daemon.actor.announce_shard(mid, info["start"], info["end"], int(info["memory_mb"]), info["throughput"],
                                        info["endpoint"])
            daemons.append(daemon)
        requester = Account.from_key(keccak(b"shard verify requester"))
        boss.signer.transfer_eth(requester.address, 10**21)
        boss.transfer(requester.address, 10_000 * TOKEN)

        def pump():
            if sum(d.step() for d in daemons) == 0:
                backend.mine(1)

        yield contracts, daemons, Client(contracts, requester, pump=pump)
    finally:
        for s in servers:
            s.stop()
        for d in daemons:
            d.journal.close()
        backend.close()
        tmp.cleanup()


def run_task(contracts, daemons, client, local, text: str):
    """Request one embedding; check it settled on the local model's value over disjoint routes.
    Returns (committee, member -> route, agreeing members)."""
    blob = local.encode_input(text)
    result = client.infer("minilm-l6", blob)
    task = contracts.task(result.task_id)
    assert task.status == Status.SETTLED
    expected = local.run(blob)
    assert float(result.value @ expected) > 0.9999            # honest routes are bit-identical to local here
    seed = projection_seed(result.task_id, contracts.deployment.model_id("minilm-l6"))
    assert hamming(bytes(task.result), fingerprint(expected, seed)) <= MiniLMRuntime.tolerance
    members = contracts.committee(result.task_id)
    by_address = {d.address: d for d in daemons}
    routes = {m: by_address[m].runtimes[task.model_id].routes[result.task_id] for m in members}
    used = [n for r in routes.values() for n in r.node_ids]
    assert len(used) == len(set(used)) == 6                    # disjoint, and all six nodes carry a route
    for m, r in routes.items():
        assert m in r.node_ids and (r.start, r.end) == (0, 8) and len(r) == 2
    spoiled = [m for m, r in routes.items() if daemons[CORRUPT].address in r.node_ids]
    assert len(spoiled) == 1
    assert hamming(bytes(contracts.revealed_result(result.task_id, spoiled[0])), bytes(task.result)) \
        > MiniLMRuntime.tolerance
    assert sorted(result.agreeing) == sorted(m for m in members if m != spoiled[0])
    return members, routes, spoiled[0]


def test_a_corrupting_member_is_slashed(shard_servers, local):
    # members: two nodes of 0:4 and the corrupting node of 4:8; relays: the rest
    with network(shard_servers, {0, 1, CORRUPT}) as (contracts, daemons, client):
        shards = contracts.shards(contracts.deployment.model_id("minilm-l6"))
        assert [(s.node, s.start, s.end, s.endpoint) for s in shards] == [
            (d.address, info["start"], info["end"], info["endpoint"]) for d, info in zip(daemons, shard_servers)]
        assert all(s.throughput > 0 for s in shards)
        members, routes, spoiled = run_task(contracts, daemons, client, local,
                                            "The engineer repaired a wooden boat in the harbour yesterday.")
        assert sorted(members) == sorted(daemons[i].address for i in (0, 1, CORRUPT))
        assert spoiled == daemons[CORRUPT].address              # it ran its own route and lost
        slashed = {i for i, d in enumerate(daemons) if contracts.node(d.address).slashes}
        assert slashed == {CORRUPT} and contracts.node(spoiled).stake < STAKE
        assert all(contracts.claimable(daemons[i].address) > 0 for i in (0, 1))


def test_a_corrupting_relay_costs_the_member_who_carried_it(shard_servers, local):
    # members: the three nodes of 0:4; the nodes of 4:8 (one corrupting) are relays
    with network(shard_servers, {0, 1, 2}) as (contracts, daemons, client):
        members, routes, spoiled = run_task(contracts, daemons, client, local,
                                            "Nobody expected the ancient map to be surprisingly cheap.")
        slashed = {d.address for d in daemons if contracts.node(d.address).slashes}
        assert slashed == {spoiled} and spoiled != daemons[CORRUPT].address
        assert all(contracts.claimable(m) > 0 for m in members if m != spoiled)


def test_a_corrupting_relay_is_blamed_audited_and_slashed(shard_servers, local):
    # members: the three nodes of 0:4 (they also serve the hop-audit model); the nodes of 4:8
    # (one corrupting) are relays. The member who carried the corrupt relay dissents, is slashed
    # by the task, blames its signed transcript and reports the relay; the audit committee
    # recomputes the hop and ShardAudit slashes the relay.
    with network(shard_servers, {0, 1, 2}, audit=True) as (contracts, daemons, client):
        relay = daemons[CORRUPT].address
        members, routes, spoiled = run_task(contracts, daemons, client, local,
                                            "The night nurse measured the solar panels during the storm.")
        reporter = next(d for d in daemons if d.address == spoiled)
        runtime = reporter.runtimes[contracts.deployment.model_id("minilm-l6")]
        for _ in range(400):                                 # the audit task: draw, commit, reveal, finalize
            if runtime.resolved:
                break
            client.pump()
        assert runtime.resolved, f"the audit did not resolve: {[d.stats.last_error for d in daemons]}"
        (task_id, verdicts), = runtime.blamed.items()
        assert [v.node for v in verdicts] == [relay] and verdicts[0].provable
        (audit_id, status), = runtime.resolved.items()
        assert status == 2                                   # upheld
        audit = contracts.audit(audit_id)
        assert (audit.node, audit.reporter, (audit.start, audit.end)) == (relay, spoiled, (4, 8))
        audit_task = contracts.task(audit.task_id)
        assert audit_task.status == Status.SETTLED and audit_task.model_id == contracts.deployment.model_id(
            "shard-hop-audit")
        assert hamming(bytes(audit_task.result), audit.fingerprint) > audit_task.tolerance
        params = contracts.deployment.params
        taken = STAKE * params.audit_slash_bps // 10_000
        assert contracts.node(relay).stake == STAKE - taken and contracts.node(relay).slashes == 1
        honest_relays = [d.address for i, d in enumerate(daemons) if i not in (0, 1, 2, CORRUPT)]
        assert all(contracts.node(a).stake == STAKE and contracts.node(a).slashes == 0 for a in honest_relays)
        assert all(contracts.node(m).slashes == 0 for m in members if m != spoiled)   # audit committee agreed
        shard_audit = contracts.by_name("ShardAudit")
        assert shard_audit.functions.governance().call() == contracts.deployment.addresses["Governance"]
        reward = taken * params.audit_reward_bps // 10_000
        assert contracts.balance(spoiled) == AUDIT_FUNDS - params.audit_fee + reward
