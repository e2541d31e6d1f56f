"""`brainnet shard blame --report` and `brainnet shard resolve` against a real chain (anvil).

A shard node signs a corrupt reply (an in-process server with its key, `corrupt` behaviour);
the route's transcript is saved; the CLI (a separate process) blames it, puts the hop's audit
bundle, request and reply in the reporter's blob store and reports it to ShardAudit; the reporter, the only node
serving the hop-audit model (K = 1), runs the audit task with its daemon; `shard resolve`
refuses before the audit task is final, then resolves it and the signer is slashed."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from eth_account import Account

from brainnet.chain import TOKEN, AnvilBackend, Contracts, DeployParams, Status, deploy
from brainnet.models import get_model
from brainnet.models.minilm import MiniLMRuntime, package_sha256
from brainnet.node.api import create_app, serve_in_thread
from brainnet.node.blobs import BlobStore
from brainnet.node.daemon import NodeDaemon
from brainnet.node.journal import Journal
from brainnet.node.keys import new_key
from brainnet.node.shard_server import ShardServer
from brainnet.protocol import keccak
from brainnet.shard import codec
from brainnet.shard.behaviours import apply_behaviour
from brainnet.shard.blocks import MiniLMTokenizer
from brainnet.shard.hops import H_FINGERPRINT, H_SIGNATURE, HopCall, save_transcript

SRC = str(Path(__file__).resolve().parents[2] / "src")
STAKE = 1_000 * TOKEN


def brainnet(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=SRC, BRAINNET_PASSWORD="pw", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "brainnet.cli.main", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def route_transcript(nodes, text: str) -> list[HopCall]:
    act = MiniLMTokenizer()([text])
    mask, calls = act["mask"], []
    for node in nodes:
        lo, hi = node.plan.start, node.plan.end
        body = codec.encode(act, "fp32", meta={"codec": "fp32", "block": codec.DEFAULT_BLOCK,
                                               "hop": {"model": "minilm-l6", "start": lo, "end": hi}})
        reply, meta = node.call("minilm-l6", lo, hi, body)
        fp, sig = meta.get(H_FINGERPRINT), meta.get(H_SIGNATURE)
        calls.append(HopCall(node.signer.address if node.signer else "local", "", "minilm-l6", lo, hi, body, reply,
                             fp and bytes.fromhex(fp[2:]), sig and bytes.fromhex(sig[2:])))
        act = {**codec.decode(reply).tensors, "mask": mask}
    return calls


def test_blame_report_and_resolve_through_the_cli(tmp_path):
    torch.set_num_threads(1)
    signer = Account.from_key(keccak(b"cli blame shard node"))
    reporter = Account.from_key(keccak(b"cli blame reporter"))
    new_key(tmp_path / "reporter.json", "pw", iterations=2**4, private_key=reporter.key)
    with AnvilBackend() as backend:
        params = DeployParams(committee_size=1, quorum=1, max_levels=1, challenge_window=0, commit_window=8,
                              reveal_window=8)
        dep = deploy(backend, params, {"minilm-l6": (bytes.fromhex(package_sha256()), MiniLMRuntime.tolerance)})
        path = dep.save(tmp_path / "deployment.json")
        contracts = Contracts(backend, dep)
        boss = contracts.as_(backend.funder)
        audit_mid = dep.model_id("shard-hop-audit")
        store = BlobStore(tmp_path / "reporter" / "blobs")
        server, port = serve_in_thread(create_app(store))
        try:
            for account, models, extra in ((signer, [dep.model_id("minilm-l6")], 0), (reporter, [audit_mid], 500)):
                boss.signer.transfer_eth(account.address, 10**20)
                boss.transfer(account.address, STAKE + extra * TOKEN)
                actor = contracts.as_(account)
                actor.approve(dep.addresses["Registry"], STAKE)
                actor.register(STAKE, f"http://127.0.0.1:{port}", keccak(account.address.encode()), models)
            honest = ShardServer.load("minilm-l6", 512, blocks=(0, 4))
            corrupt = apply_behaviour(ShardServer.load("minilm-l6", 512, blocks=(4, 8)), "corrupt")
            corrupt.signer = signer
            calls = route_transcript([honest, corrupt], "The goalkeeper photographed the satellite images.")
            save_transcript(tmp_path / "task-1.json", calls, task_id=1)

            out = brainnet("shard", "blame", str(tmp_path / "task-1.json"), "--report", "--deployment", str(path),
                           "--key", str(tmp_path / "reporter.json"), "--blobs", str(store.root), "--json", "-")
            assert out.returncode == 0, out.stderr
            result = json.loads(out.stdout)
            assert [(b["node"], b["blocks"], b["provable"]) for b in result["blamed"]] == [(signer.address, "4:8", True)]
            report = result["report"]
            assert report["node"] == signer.address
            assert all(store.has(report[k]) for k in ("bundle_sha256", "request_sha256", "reply_sha256"))
            audit_id = str(report["audit_id"])

            early = brainnet("shard", "resolve", audit_id, "--deployment", str(path), "--key",
                             str(tmp_path / "reporter.json"))
            assert early.returncode == 1 and "not final yet" in early.stderr and "Traceback" not in early.stderr

            daemon = NodeDaemon(contracts, reporter, {audit_mid: get_model("shard-hop-audit")},
                                Journal(tmp_path / "reporter" / "journal.sqlite"), store)
            for _ in range(60):
                if contracts.task(report["task_id"]).status == Status.SETTLED:
                    break
                if daemon.step() == 0:
                    backend.mine(1)
            assert contracts.task(report["task_id"]).status == Status.SETTLED, daemon.stats.last_error
            done = brainnet("shard", "resolve", audit_id, "--deployment", str(path), "--key",
                            str(tmp_path / "reporter.json"), "--json", "-")
            assert done.returncode == 0, done.stderr
            resolved = json.loads(done.stdout)
            taken = STAKE * params.audit_slash_bps // 10_000
            assert resolved["outcome"] == "upheld" and resolved["node_stake"] == STAKE - taken
            assert contracts.node(signer.address).slashes == 1
            daemon.journal.close()
        finally:
            server.stop()
