"""The real network, measured end to end on anvil (`brainnet bench e2e`).

One run, side by side, for each chain mode (anvil automine, and anvil `--block-time 1`):

1. **ceiling**: plain token transfers (Token.transfer), signed here beforehand and sent as
   raw transactions, once one JSON-RPC call at a time and once in JSON-RPC batches of 500:
   the most transactions per second this anvil on this machine mines. Automine: mined
   transfers / wall seconds. Block time 1 s: the most transfers one block held / 1 s (a
   block is the unit there; a wall clock over a few blocks only measures where the send
   started inside a block).
2. **two-phase**: for each K, a fresh deployment and `nodes` real `brainnet node start`
   processes (HTTP blob stores, journals, the daemon), then `clients` concurrent SDK clients
   (threads, one account each) submit `tasks` digits-MLP tasks (upload + `request`, as
   `brainnet.Client.submit` does) back to back; a monitor follows the chain's events until
   every task settled or the phase's time cap passed. Once with the nodes' batching off and
   once on (the node's batching flag, when the node has one).
3. **single-phase emulation**: the same clients and inputs, but the model runs synchronously
   inside request handling: one lock stands for the EVM, and under it the real model runs on
   the input and the client's `request` transaction (carrying the result) is sent; the next
   request waits for both. One transaction per task, the result is final in its block.

Per run: tasks settled per second (settled tasks / seconds from the first submit to the
last settlement), latency per task in blocks (final_block - request_block, from the
contract) and seconds (submit start -> settlement seen), the transactions mined in the
run's blocks (from receipts: successful ones to Inference per settled task =
`txs_per_task`; reverted races counted apart), efficiency = tasks_per_s / (ceiling /
txs_per_task), and whether each settled result equals the model run here.

Automine only mines on transactions, so a keeper mines one empty block after
`idle_mine_s` without one while tasks are open (as `sim/local.py`'s pump does); the
protocol's draw needs a block after the seed block. Windows are counted in blocks: with
automine each transaction is a block, so commit/reveal windows are widened there.

Every process started here (anvil, node processes) is stopped on the way out, on errors,
Ctrl-C and SIGTERM included.
"""
from __future__ import annotations

import inspect
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import httpx
from eth_account import Account

from brainnet.chain import TOKEN, Contracts, DeployParams, Status, deploy
from brainnet.chain.backends import AnvilBackend, RpcBackend, free_port
from brainnet.chain.signer import Signer, wait_all
from brainnet.errors import ChainError, ConfigError
from brainnet.protocol import keccak, result_hash
from brainnet.protocol.commitment import abi_encode

MODES = {"automine": None, "block-time-1": 1.0}
NODE_PASSWORD = "bench-e2e"
NODE_ETH = 10 * 10**18
STAKE = 1_000 * TOKEN
FEE = 10 * TOKEN
RPC_BATCH = 500                 # raw transactions per JSON-RPC array in the ceiling
TRANSFER_GAS = 200_000          # gas limit of a ceiling transfer (it writes two vote checkpoints: ~97k)
AUTOMINE_WINDOW = 2_000         # commit/reveal windows (blocks) when every transaction is a block
BLOCK_WINDOW = 40               # ... and with 1 s blocks

ProgressFn = Callable[[str], None]


@dataclass
class E2EConfig:
    nodes: int = 21                                   # node processes per deployment (issue 8's network)
    ks: tuple[int, ...] = (5, 11)                     # committee sizes K (Q = a bare majority)
    modes: tuple[str, ...] = ("automine", "block-time-1")
    tasks: int = 60                                   # tasks per run (two-phase and single-phase alike): enough
                                                      # in flight that nodes batch
    clients: int = 8                                  # concurrent client threads, one account each
    phase_cap_s: float = 90.0                         # a run stops here even if tasks are open
    ceiling_txs: int = 2_000                          # transfers sent in the batched ceiling
    batched: str = "auto"                             # auto (when nodes have the flag) | on | off
    node_poll_s: float = 0.25                         # nodes' --poll
    idle_mine_s: float = 0.5                          # automine keeper: empty block after this idle
    model: str = "digits-mlp"
    challenge_window: int = 0                         # 0: a unanimous level settles at finalize
    start_timeout_s: float = 300.0                    # node processes registered and serving
    seed: int = 0                                     # inputs and account keys

    @classmethod
    def quick(cls) -> "E2EConfig":
        return cls(nodes=7, ks=(5,), modes=("automine",), tasks=8, clients=2, phase_cap_s=90.0, ceiling_txs=600)


# ----------------------------------------------------------------------------- processes
class ProcessGroup:
    """Child processes started by this benchmark; `stop` ends them all (terminate, then kill)."""

    def __init__(self):
        self.procs: dict[str, subprocess.Popen] = {}
        self._logs: list = []

    def start(self, name: str, cmd: list[str], log: Path, env: dict) -> subprocess.Popen:
        log.parent.mkdir(parents=True, exist_ok=True)
        f = open(log, "ab")
        self._logs.append(f)
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL)
        self.procs[name] = proc
        return proc

    def dead(self) -> list[str]:
        return [n for n, p in self.procs.items() if p.poll() is not None]

    def stop(self, timeout: float = 20.0) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + timeout
        for p in self.procs.values():
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs.clear()
        for f in self._logs:
            f.close()
        self._logs.clear()


def node_batch_flags() -> tuple[str, str] | None:
    """(on, off) flags of `brainnet node start`'s batching option (`--batch/--no-batch`), if it has one."""
    from brainnet.cli.node import start

    for name, param in inspect.signature(start).parameters.items():
        if "batch" not in name:
            continue
        for decl in getattr(param.default, "param_decls", None) or ():
            if "/" in decl:
                on, off = (part.strip() for part in decl.split("/", 1))
                return on, off
        return f"--{name.replace('_', '-')}", f"--no-{name.replace('_', '-')}"
    return None


# ----------------------------------------------------------------------------- helpers
def _key(seed: int, tag: str, i: int):
    return Account.from_key(keccak(abi_encode(seed, i) + tag.encode() + b"brainnet.bench.e2e"))


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def _summary(values: list[float], digits: int = 3) -> dict:
    med, p95 = _pct(values, 0.5), _pct(values, 0.95)
    return {"median": None if med is None else round(med, digits), "p95": None if p95 is None else round(p95, digits)}


def _fund(boss_signer: Signer, token, addresses: list[str], eth: int, brn: int) -> None:
    pending = []
    for a in addresses:
        if eth:
            pending.append(boss_signer.send_nowait({"to": a, "value": eth}, gas=21_000, label="ether transfer"))
        if brn:
            data = token.functions.transfer(a, brn)._encode_transaction_data()
            pending.append(boss_signer.send_nowait({"to": token.address, "data": data}, gas=200_000, label="transfer"))
    wait_all(pending)


def _rpc(http: httpx.Client, url: str, payload, timeout: float = 120):
    r = http.post(url, json=payload, timeout=timeout)
    r.raise_for_status()
    return r.json()


# ----------------------------------------------------------------------------- ceiling
def measure_ceiling(backend, contracts: Contracts, boss: Signer, n_txs: int, block_time: float | None,
                    seed: int, senders: int = 8) -> dict:
    """Plain token transfers, pre-signed, sent raw: one call at a time, then in JSON-RPC batches."""
    w3 = backend.w3
    token = contracts.token
    accounts = [_key(seed, "ceiling", i) for i in range(senders)]
    _fund(boss, token, [a.address for a in accounts], NODE_ETH, 10**6 * TOKEN)
    base = w3.eth.get_block("latest").get("baseFeePerGas") or 10**9
    max_fee = max(4 * base, 20 * 10**9)
    nonces = {a.address: w3.eth.get_transaction_count(a.address, "pending") for a in accounts}
    chain_id = w3.eth.chain_id

    def sign(n: int) -> tuple[list[str], dict[str, int]]:
        per = max(1, n // senders)
        raws: list[str] = []
        for _ in range(per):                      # round robin over senders, each in nonce order
            for j, acct in enumerate(accounts):
                data = token.functions.transfer(accounts[(j + 1) % senders].address, 1)._encode_transaction_data()
                tx = {"chainId": chain_id, "nonce": nonces[acct.address], "gas": TRANSFER_GAS, "maxFeePerGas": max_fee,
                      "maxPriorityFeePerGas": 10**9, "to": token.address, "data": data, "value": 0}
                raws.append(acct.sign_transaction(tx).raw_transaction.to_0x_hex())
                nonces[acct.address] += 1
        return raws, dict(nonces)

    def mined_all(http, target: dict[str, int]) -> int:
        """Wait until every sender's last transfer is mined; returns the empty blocks mined to unstick anvil.

        anvil's automine sometimes leaves ready transactions in its pool when many arrive while it
        mines (observed with a few thousand token transfers); a block mined on request takes them."""
        deadline = time.monotonic() + 120
        last, since, nudges = -1, time.monotonic(), 0
        while time.monotonic() < deadline:
            calls = [{"jsonrpc": "2.0", "id": i, "method": "eth_getTransactionCount", "params": [a, "latest"]}
                     for i, a in enumerate(target)]
            got = [int(r["result"], 16) for r in sorted(_rpc(http, backend.url, calls), key=lambda r: r["id"])]
            if all(n >= target[a] for n, a in zip(got, target)):
                return nudges
            now = time.monotonic()
            if sum(got) != last:
                last, since = sum(got), now
            elif block_time is None and now - since > 0.5:
                backend.mine(1)
                nudges += 1
                since = now
            time.sleep(0.01)
        raise ChainError("the ceiling's transfers were not all mined within 120 s")

    def run(raws: list[str], target: dict[str, int], batch: int) -> dict:
        first = w3.eth.block_number + 1
        with httpx.Client() as http:
            t0 = time.perf_counter()
            resent = 0
            for i in range(0, len(raws), batch):
                chunk = raws[i:i + batch]
                calls = [{"jsonrpc": "2.0", "id": k, "method": "eth_sendRawTransaction", "params": [r]}
                         for k, r in enumerate(chunk)]
                for attempt in range(3):
                    try:
                        out = _rpc(http, backend.url, calls if batch > 1 else calls[0], timeout=30)
                        break
                    except httpx.TimeoutException:
                        # anvil's automine stalled with a full pool: mine a block, send again
                        # (transactions it already has answer "already known")
                        if block_time is None:
                            backend.mine(1)
                        resent += 1
                else:
                    raise ChainError("anvil did not accept the ceiling's transfers within 90 s")
                out = out if isinstance(out, list) else [out]
                errors = [o["error"] for o in out if "error" in o
                          and not any(w in str(o["error"]).lower() for w in ("already", "nonce too low"))]
                if errors:
                    raise ChainError(f"anvil refused a ceiling transfer: {errors[0]}")
            nudges = mined_all(http, target)
            wall = time.perf_counter() - t0
        last = w3.eth.block_number
        counts = [len(w3.eth.get_block(b)["transactions"]) for b in range(first, last + 1)]
        mined = _scan_txs(backend.url, first, last, token.address)
        if mined["inference_reverted"]:
            raise ChainError(f"{mined['inference_reverted']} of the ceiling's transfers reverted; the ceiling "
                             "must count transfers that worked")
        gas = mined["inference_gas"] / mined["inference_ok"] if mined["inference_ok"] else None
        row = {"txs": len(raws), "wall_s": round(wall, 3), "wall_tx_per_s": round(len(raws) / wall, 1),
               "blocks": len(counts), "max_txs_per_block": max(counts) if counts else 0,
               "gas_per_transfer": round(gas) if gas else None, "transfers_ok": mined["inference_ok"],
               "stall_blocks_mined": nudges, "batches_resent": resent}
        if block_time:
            row["block_tx_per_s"] = round(row["max_txs_per_block"] / block_time, 1)
            if gas:
                limit = w3.eth.get_block(last)["gasLimit"]
                row["gas_limit_tx_per_s"] = round(limit / gas / block_time, 1)   # if blocks were full: not used
        return row

    seq_raws, seq_target = sign(max(senders, n_txs // 6))
    sequential = run(seq_raws, seq_target, 1)
    batch_raws, batch_target = sign(n_txs)
    batched = run(batch_raws, batch_target, RPC_BATCH)
    best = max(sequential["wall_tx_per_s"], batched["wall_tx_per_s"])
    if block_time:
        best = max(best, batched.get("block_tx_per_s", 0), sequential.get("block_tx_per_s", 0))
    return {"ceiling_tx_per_s": best, "what": "Token.transfer, pre-signed raw transactions",
            "sequential_rpc": sequential, "batched_rpc": batched,
            "rule": "automine: mined / wall s; block time: the fullest block / block time (or wall, if higher); "
                    "measured before and after the runs (the machine is shared), the higher one is the ceiling"}


# ----------------------------------------------------------------------------- network
@dataclass
class Network:
    """One anvil in one mode, with its keys, and the node processes of the current deployment."""
    mode: str
    block_time: float | None
    backend: AnvilBackend
    workdir: Path
    cfg: E2EConfig
    procs: ProcessGroup = field(default_factory=ProcessGroup)
    node_keys: list[tuple[Path, str]] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    _run: tuple = ()                      # (deployment file, tag, extra node flags) of the nodes running now

    @property
    def boss(self) -> Signer:
        """The funder, with its nonce read afresh (deploy() signs with its own Signer)."""
        return Signer(self.backend.w3, self.backend.funder)

    def make_node_keys(self) -> None:
        from brainnet.node.keys import new_key, load_key

        for i in range(self.cfg.nodes):
            path = self.workdir / "keys" / f"node-{i}.json"
            path.unlink(missing_ok=True)
            new_key(path, NODE_PASSWORD, iterations=2**12)
            self.node_keys.append((path, load_key(path, NODE_PASSWORD).address))

    def deploy(self, k: int, q: int, model_hash: bytes, tag: str):
        window = AUTOMINE_WINDOW if self.block_time is None else BLOCK_WINDOW
        params = DeployParams(committee_size=k, quorum=q, commit_window=window, reveal_window=window,
                              challenge_window=self.cfg.challenge_window)
        dep = deploy(self.backend, params, {self.cfg.model: model_hash})
        path = dep.save(self.workdir / tag / "deployment.json")
        return dep, path

    def start_nodes(self, dep_path: Path, tag: str, extra: list[str]) -> None:
        """Start every node process of a run, each on a port picked now (a fresh deployment: the
        nodes register these endpoints)."""
        self.ports = [free_port() for _ in self.node_keys]
        self._run = (dep_path, tag, extra)
        for i in range(len(self.node_keys)):
            self._start_node(i)

    def _start_node(self, i: int) -> None:
        dep_path, tag, extra = self._run
        env = {**os.environ, "BRAINNET_PASSWORD": NODE_PASSWORD, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        cmd = [sys.executable, "-m", "brainnet.cli.main", "node", "start", "--deployment", str(dep_path),
               "--key", str(self.node_keys[i][0]), "--port", str(self.ports[i]), "--home", str(self.workdir / tag / f"node-{i}"),
               "--stake", str(STAKE // TOKEN), "--poll", str(self.cfg.node_poll_s), *extra]
        self.procs.start(f"node-{i}", cmd, self.workdir / tag / f"node-{i}.log", env)

    def wait_nodes(self, contracts: Contracts, tag: str) -> float:
        """Until every node serves and is registered. A node whose port was taken meanwhile by
        another process (free_port cannot reserve it) starts again on another, up to 3 times."""
        t0 = time.monotonic()
        deadline = t0 + self.cfg.start_timeout_s
        pending = {addr: port for (_, addr), port in zip(self.node_keys, self.ports)}
        restarts = [0] * len(self.node_keys)
        with httpx.Client() as http:
            while pending:
                for name in self.procs.dead():
                    i = int(name.split("-")[1])
                    log = self.workdir / tag / f"{name}.log"
                    text = log.read_text(errors="replace") if log.exists() else ""
                    if "Address already in use" in text and restarts[i] < 3 and self.node_keys[i][1] in pending:
                        restarts[i] += 1
                        self.ports[i] = free_port()
                        pending[self.node_keys[i][1]] = self.ports[i]
                        self._start_node(i)
                        continue
                    tail = "\n".join(text.splitlines()[-15:])
                    raise ChainError(f"node processes exited at start-up: {name}; last lines of {log}:\n{tail}")
                for addr, port in list(pending.items()):
                    try:
                        ok = http.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    if ok and contracts.node(addr).index != 0:
                        del pending[addr]
                if time.monotonic() > deadline:
                    raise ChainError(f"{len(pending)} of {len(self.node_keys)} nodes not registered and serving within "
                                     f"{self.cfg.start_timeout_s:.0f} s; see the logs in {self.workdir / tag}")
                time.sleep(0.5)
        return time.monotonic() - t0

    def close(self) -> None:
        self.procs.stop()
        self.backend.close()


class Keeper:
    """Follows a deployment's events; with automine, mines an empty block when the chain sits idle."""

    def __init__(self, contracts: Contracts, automine: bool, idle_mine_s: float):
        self.c = contracts
        self.automine = automine
        self.idle_mine_s = idle_mine_s
        self.next_block = contracts.block_number() + 1
        self.last_change = time.monotonic()
        self.settled: dict[int, tuple[float, int, str]] = {}    # task id -> (wall time, block, event name)
        self.mined_empty = 0

    def poll(self, busy: bool) -> None:
        head = self.c.block_number()
        now = time.monotonic()
        if head >= self.next_block:
            for ev in self.c.events(self.next_block, head):
                if ev.name in ("TaskSettled", "TaskRefunded") and ev.args["task_id"] not in self.settled:
                    self.settled[ev.args["task_id"]] = (now, ev.block, ev.name)
            self.next_block = head + 1
            self.last_change = now
        elif self.automine and busy and now - self.last_change > self.idle_mine_s:
            self.c.backend.mine(1)
            self.mined_empty += 1
            self.last_change = now


def _scan_txs(url: str, first: int, last: int, inference: str) -> dict:
    """Transactions mined in blocks [first, last], from their receipts: those to `inference`
    that worked and that reverted, their gas (`inference_gas`: the ones that worked), others."""
    counts = {"inference_ok": 0, "inference_reverted": 0, "inference_gas": 0, "other": 0,
              "blocks": max(0, last - first + 1)}
    with httpx.Client() as http:
        for lo in range(first, last + 1, 200):
            calls = [{"jsonrpc": "2.0", "id": b, "method": "eth_getBlockReceipts", "params": [hex(b)]}
                     for b in range(lo, min(last, lo + 199) + 1)]
            for reply in _rpc(http, url, calls):
                for r in reply.get("result") or []:
                    to = (r.get("to") or "").lower()
                    if to == inference.lower():
                        ok = int(r["status"], 16) == 1
                        counts["inference_ok" if ok else "inference_reverted"] += 1
                        counts["inference_gas"] += int(r["gasUsed"], 16) if ok else 0
                    else:
                        counts["other"] += 1
    return counts


def _inputs(cfg: E2EConfig):
    from brainnet.models import get_model

    runtime = get_model(cfg.model)
    blobs = runtime.sample_inputs(cfg.tasks, seed=cfg.seed)
    return runtime, blobs, [result_hash(runtime.infer(b)) for b in blobs]


def run_two_phase(net: Network, dep, contracts: Contracts, clients: list, blobs: list[bytes], expected: list[bytes],
                  progress: ProgressFn) -> dict:
    """Clients submit every task back to back; the keeper waits for all to settle (or the cap)."""
    from brainnet.sdk.client import Client

    cfg = net.cfg
    records: dict[int, dict] = {}
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[str] = []
    done_clients = [0]

    def worker(ci: int, acct) -> None:
        try:
            backend = RpcBackend(net.backend.url, funder=net.backend.funder)
            client = Client(Contracts(backend, dep), acct)
            for j in range(ci, len(blobs), len(clients)):
                if stop.is_set():
                    break
                t0 = time.monotonic()
                sub = client.submit(cfg.model, blobs[j], FEE)
                with lock:
                    records[sub.task_id] = {"t_submit": t0, "t_requested": time.monotonic(), "input": j,
                                            "client": ci, "request_block": sub.request_block}
        except Exception as exc:  # noqa: BLE001 - reported in the run's JSON, the run goes on
            errors.append(f"client {ci}: {type(exc).__name__}: {exc}")
        finally:
            with lock:
                done_clients[0] += 1

    keeper = Keeper(contracts, net.block_time is None, cfg.idle_mine_s)
    first_block = keeper.next_block
    threads = [threading.Thread(target=worker, args=(i, a), daemon=True) for i, a in enumerate(clients)]
    t_start = time.monotonic()
    for t in threads:
        t.start()
    capped = False
    while True:
        with lock:
            submitted = set(records)
            all_submitted = done_clients[0] == len(clients)
        open_ = submitted - set(keeper.settled)
        keeper.poll(busy=bool(open_) or not all_submitted)
        if all_submitted and not open_:
            break
        if time.monotonic() - t_start > cfg.phase_cap_s:
            capped = True
            stop.set()
            break
        time.sleep(0.05)
    for t in threads:
        t.join(timeout=60)
    keeper.poll(busy=False)
    last_block = contracts.block_number()
    if capped:
        progress(f"    time cap {cfg.phase_cap_s:.0f} s reached: {len(keeper.settled)}/{len(records)} tasks closed")

    settled, lat_s, lat_blocks, timeline, correct = [], [], [], [], 0
    for tid, rec in sorted(records.items()):
        if tid not in keeper.settled:
            continue
        t_done, _block, name = keeper.settled[tid]
        view = contracts.task(tid)
        if view.status != Status.SETTLED:
            continue
        settled.append(tid)
        lat_s.append(t_done - rec["t_submit"])
        lat_blocks.append(view.final_block - view.request_block)
        timeline.append(round(t_done - t_start, 3))
        correct += view.result == expected[rec["input"]]
    refunded = sum(1 for tid in records if tid in keeper.settled and keeper.settled[tid][2] == "TaskRefunded")
    span = (max(keeper.settled[t][0] for t in settled) - t_start) if settled else None
    txs = _scan_txs(net.backend.url, first_block, last_block, dep.addresses["Inference"])
    txs_per_task = round(txs["inference_ok"] / len(settled), 3) if settled else None
    return {
        "tasks": len(blobs), "submitted": len(records), "settled": len(settled), "refunded": refunded,
        "correct": correct, "capped": capped,
        "tasks_per_s": round(len(settled) / span, 4) if span else 0.0,
        "elapsed_s": round(span, 3) if span else None,
        "latency_blocks": _summary(lat_blocks, 1), "latency_s": _summary(lat_s),
        "txs_per_task": txs_per_task,
        "gas_per_task": round(txs["inference_gas"] / len(settled)) if settled else None,
        "reverted_txs_per_task": round(txs["inference_reverted"] / len(settled), 3) if settled else None,
        "transactions": txs, "empty_blocks_mined": keeper.mined_empty,
        "client_errors": errors,
        "settle_times_s": timeline, "latencies_s": [round(x, 3) for x in lat_s],
        "latencies_blocks": lat_blocks,
    }


def run_single_phase(net: Network, runtime, clients: list, blobs: list[bytes], progress: ProgressFn) -> dict:
    """The model runs inside request handling: under one lock (the EVM), model + the request transaction."""
    cfg = net.cfg
    backend = net.backend
    dep, _path = net.deploy(1, 1, runtime.weights_hash, "single-phase")
    contracts = Contracts(backend, dep)
    model_id = dep.model_id(cfg.model)
    # request() wants as many serving nodes as K (= 1): one registered account, no daemon
    host = _key(cfg.seed, "single-phase-host", 0)
    _fund(net.boss, contracts.token, [host.address] + [a.address for a in clients], NODE_ETH, STAKE + 10**5 * TOKEN)
    actor = contracts.as_(host)
    actor.approve(dep.addresses["Registry"], STAKE)
    actor.register(STAKE, "", bytes(32), [model_id])
    signers = []
    for acct in clients:
        s = Signer(backend.w3, acct)
        data = contracts.token.functions.approve(dep.addresses["Inference"], 2**256 - 1)._encode_transaction_data()
        s.send({"to": contracts.token.address, "data": data}, gas=200_000, label="approve")
        signers.append(s)
    evm = threading.Lock()
    lat_s: list[float] = []
    timeline: list[float] = []
    model_s: list[float] = []
    lock = threading.Lock()
    errors: list[str] = []
    t_start = time.monotonic()

    def worker(ci: int) -> None:
        try:
            for j in range(ci, len(blobs), len(clients)):
                if time.monotonic() - t_start > cfg.phase_cap_s:
                    break
                t0 = time.monotonic()
                with evm:                                    # the chain is busy until the model has run
                    m0 = time.perf_counter()
                    out = result_hash(runtime.infer(blobs[j]))
                    m1 = time.perf_counter()
                    fn = contracts.inference.functions.request(model_id, keccak(blobs[j]), "single-phase result " + out.hex(), FEE)
                    pending = signers[ci].send_nowait({"to": fn.address, "data": fn._encode_transaction_data()},
                                                      gas=800_000, label="request")
                pending.wait()
                t1 = time.monotonic()
                with lock:
                    lat_s.append(t1 - t0)
                    timeline.append(round(t1 - t_start, 3))
                    model_s.append(m1 - m0)
        except Exception as exc:  # noqa: BLE001 - reported in the JSON
            errors.append(f"client {ci}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=cfg.phase_cap_s + 120)
    span = max(timeline) if timeline else None
    return {
        "tasks": len(blobs), "settled": len(timeline), "tasks_per_s": round(len(timeline) / span, 4) if span else 0.0,
        "elapsed_s": round(span, 3) if span else None,
        "latency_blocks": {"median": 0, "p95": 0}, "latency_s": _summary(lat_s), "txs_per_task": 1,
        "model_s_mean": round(statistics.fmean(model_s), 6) if model_s else None,
        "client_errors": errors, "settle_times_s": sorted(timeline), "latencies_s": [round(x, 3) for x in lat_s],
        "what": "model run synchronously under one lock (the EVM), then the client's request transaction "
                "carrying the result; the next request waits. Result final in the request's block.",
    }


# ----------------------------------------------------------------------------- the benchmark
def _efficiency(run: dict, ceiling: float) -> float | None:
    if not run.get("txs_per_task") or not ceiling:
        return None
    return round(run["tasks_per_s"] / (ceiling / run["txs_per_task"]), 4)


def _transfer_gas(ceiling: dict) -> int | None:
    """Gas one ceiling transfer used (from its receipts)."""
    return (ceiling.get("batched_rpc") or {}).get("gas_per_transfer") or (ceiling.get("sequential_rpc") or {}).get("gas_per_transfer")


def _gas_bound(run: dict, transfer_gas: int | None) -> float | None:
    """The highest efficiency any node software could reach if the chain's limit is gas per second
    (as the ceiling's transfers used it): each task's transactions cost gas_per_task where a
    transfer costs transfer_gas, so tasks/s <= ceiling * transfer_gas / gas_per_task."""
    if not transfer_gas or not run.get("gas_per_task") or not run.get("txs_per_task"):
        return None
    return round(transfer_gas * run["txs_per_task"] / run["gas_per_task"], 4)


def _metrics(run: dict | None, ceiling: float, single: dict | None, transfer_gas: int | None = None) -> dict | None:
    if run is None:
        return None
    out = {k: run[k] for k in ("tasks_per_s", "txs_per_task", "latency_blocks", "latency_s", "settled", "tasks")}
    out["ceiling_tx_per_s"] = ceiling
    out["efficiency"] = _efficiency(run, ceiling)
    out["gas_per_task"] = run.get("gas_per_task")
    out["efficiency_gas_bound"] = _gas_bound(run, transfer_gas)
    if single:
        out["single_phase_tasks_per_s"] = single["tasks_per_s"]
        out["two_phase_over_single_phase"] = round(run["tasks_per_s"] / single["tasks_per_s"], 4) \
            if single["tasks_per_s"] else None
    return out


def run_e2e_bench(cfg: E2EConfig, out: Path | None = None, progress: ProgressFn | None = None,
                  workdir: Path | None = None, plots: bool = True) -> dict:
    """Every mode, K and batching setting; returns (and writes) the report."""
    progress = progress or (lambda _m: None)
    for mode in cfg.modes:
        if mode not in MODES:
            raise ConfigError(f"mode {mode!r}: choose automine or block-time-1")
    for k in cfg.ks:
        if not 1 <= k <= cfg.nodes:
            raise ConfigError(f"K = {k} needs at least {k} nodes (--nodes {cfg.nodes}); lower --k or raise --nodes")
    flags = node_batch_flags()
    if cfg.batched == "on" and flags is None:
        raise ConfigError("--batched on: this node has no batching option yet; use --batched auto or off")
    batch_settings = [False] + ([True] if flags and cfg.batched != "off" else [])
    t_all = time.monotonic()
    tmp = None
    if workdir is None:
        tmp = tempfile.mkdtemp(prefix="brainnet-e2e-")
        workdir = Path(tmp)
    workdir.mkdir(parents=True, exist_ok=True)
    runtime, blobs, expected = _inputs(cfg)
    per_mode: dict[str, dict] = {}
    old_term = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
    if old_term is not None:
        signal.signal(signal.SIGTERM, _raise_interrupt)
    ok = False
    try:
        for mode in cfg.modes:
            per_mode[mode] = _run_mode(cfg, mode, workdir / mode, runtime, blobs, expected, batch_settings, flags,
                                       progress)
            if out is not None and len(per_mode) < len(cfg.modes):     # keep what is done if a later mode fails
                out.parent.mkdir(parents=True, exist_ok=True)
                partial = _assemble(cfg, per_mode, flags, time.monotonic() - t_all)
                out.write_text(json.dumps({**partial, "partial": True}, indent=2) + "\n")
        ok = True
    finally:
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
        if tmp and ok:
            shutil.rmtree(tmp, ignore_errors=True)
        elif not ok:
            progress(f"logs kept in {workdir}")
    report = _assemble(cfg, per_mode, flags, time.monotonic() - t_all)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        if plots:
            report["plots"] = write_plots(report, out.parent)
        out.write_text(json.dumps(report, indent=2) + "\n")
    return report


def _raise_interrupt(*_):
    raise KeyboardInterrupt


def _run_mode(cfg: E2EConfig, mode: str, workdir: Path, runtime, blobs, expected, batch_settings,
              flags: tuple[str, str] | None, progress: ProgressFn) -> dict:
    block_time = MODES[mode]
    progress(f"{mode}: starting anvil")
    net = Network(mode, block_time, AnvilBackend(block_time=block_time), workdir, cfg)
    try:
        clients = [_key(cfg.seed, "client", i) for i in range(cfg.clients)]
        dep, _ = net.deploy(1, 1, runtime.weights_hash, "ceiling")
        progress(f"{mode}: ceiling: {cfg.ceiling_txs} plain token transfers")
        ceiling = measure_ceiling(net.backend, Contracts(net.backend, dep), net.boss, cfg.ceiling_txs, block_time, cfg.seed)
        progress(f"{mode}: ceiling {ceiling['ceiling_tx_per_s']} tx/s")
        progress(f"{mode}: single-phase emulation: {len(blobs)} tasks, {cfg.clients} clients")
        single = run_single_phase(net, runtime, clients, blobs, progress)
        progress(f"{mode}: single-phase {single['tasks_per_s']} tasks/s")
        net.make_node_keys()
        _fund(net.boss, Contracts(net.backend, dep).token, [a for _, a in net.node_keys] + [c.address for c in clients],
              NODE_ETH, 0)
        runs: dict[str, dict] = {}
        for k in cfg.ks:
            q = k // 2 + 1
            for batched in batch_settings:
                tag = f"k{k}-{'batched' if batched else 'unbatched'}"
                dep, dep_path = net.deploy(k, q, runtime.weights_hash, tag)
                contracts = Contracts(net.backend, dep)
                _fund(net.boss, contracts.token, [a for _, a in net.node_keys], 0, STAKE)
                _fund(net.boss, contracts.token, [c.address for c in clients], 0, 10**5 * TOKEN)
                pending = []
                for c in clients:
                    s = Signer(net.backend.w3, c)
                    data = contracts.token.functions.approve(dep.addresses["Inference"], 2**256 - 1)._encode_transaction_data()
                    pending.append(s.send_nowait({"to": contracts.token.address, "data": data}, gas=200_000, label="approve"))
                wait_all(pending)
                progress(f"{mode}: {tag}: starting {cfg.nodes} node processes")
                net.start_nodes(dep_path, tag, [] if flags is None else [flags[0] if batched else flags[1]])
                try:
                    start_s = net.wait_nodes(contracts, tag)
                    progress(f"{mode}: {tag}: nodes up in {start_s:.0f} s; {len(blobs)} tasks, {cfg.clients} clients")
                    run = run_two_phase(net, dep, contracts, clients, blobs, expected, progress)
                finally:
                    net.procs.stop()
                run.update({"k": k, "q": q, "batched": batched, "nodes_start_s": round(start_s, 1),
                            "efficiency": _efficiency(run, ceiling["ceiling_tx_per_s"]),
                            "two_phase_over_single_phase": round(run["tasks_per_s"] / single["tasks_per_s"], 4)
                            if single["tasks_per_s"] else None})
                progress(f"{mode}: {tag}: {run['settled']}/{run['tasks']} settled, {run['tasks_per_s']} tasks/s, "
                         f"median latency {run['latency_blocks']['median']} blocks / {run['latency_s']['median']} s")
                runs.setdefault(f"k{k}", {})["batched" if batched else "unbatched"] = run
        progress(f"{mode}: ceiling again, after the runs")
        try:
            again = measure_ceiling(net.backend, Contracts(net.backend, dep), net.boss, cfg.ceiling_txs, block_time,
                                    cfg.seed + 1)
        except ChainError as exc:           # a second look only: the runs' results stand without it
            progress(f"{mode}: the ceiling after the runs failed ({exc}); keeping the one before")
            again = {"ceiling_tx_per_s": 0.0, "error": str(exc)}
        ceiling = {**ceiling, "before_runs_tx_per_s": ceiling["ceiling_tx_per_s"],
                   "after_runs_tx_per_s": again["ceiling_tx_per_s"], "after_runs": again,
                   "ceiling_tx_per_s": max(ceiling["ceiling_tx_per_s"], again["ceiling_tx_per_s"])}
        return {"block_time_s": block_time, "ceiling": ceiling, "single_phase": single, "runs": runs}
    finally:
        net.close()


def _assemble(cfg: E2EConfig, per_mode: dict, flags: tuple[str, str] | None, elapsed: float) -> dict:
    mode = cfg.modes[0]
    k = max(cfg.ks)
    m = per_mode[mode]
    ceiling = m["ceiling"]["ceiling_tx_per_s"]
    gas = _transfer_gas(m["ceiling"])
    single = m["single_phase"]
    un = m["runs"][f"k{k}"]["unbatched"]
    ba = m["runs"][f"k{k}"].get("batched")
    head = _metrics(un, ceiling, single, gas)
    report = {
        "ceiling_tx_per_s": ceiling,
        "txs_per_task": head["txs_per_task"],
        "tasks_per_s": head["tasks_per_s"],
        "efficiency": head["efficiency"],
        "latency_blocks": head["latency_blocks"],
        "latency_s": head["latency_s"],
        "single_phase_tasks_per_s": single["tasks_per_s"],
        "two_phase_over_single_phase": head["two_phase_over_single_phase"],
        "gas_per_task": head["gas_per_task"],
        "efficiency_gas_bound": head["efficiency_gas_bound"],
        "transfer_gas": gas,
        "batched": _metrics(ba, ceiling, single, gas),
        "headline": {"mode": mode, "k": k, "what": f"the top-level numbers are {mode}, K = {k}; every mode and K "
                                                   "is under per_mode, and per_k repeats the headline mode by K"},
        "per_k": {f"k{kk}": {"unbatched": _metrics(m["runs"][f"k{kk}"]["unbatched"], ceiling, single, gas),
                             "batched": _metrics(m["runs"][f"k{kk}"].get("batched"), ceiling, single, gas)}
                  for kk in cfg.ks},
        "per_mode": {md: {"ceiling_tx_per_s": pm["ceiling"]["ceiling_tx_per_s"],
                          "single_phase_tasks_per_s": pm["single_phase"]["tasks_per_s"],
                          **{key: {b: _metrics(r, pm["ceiling"]["ceiling_tx_per_s"], pm["single_phase"],
                                                   _transfer_gas(pm["ceiling"]))
                                   for b, r in runs_k.items()} for key, runs_k in pm["runs"].items()}}
                     for md, pm in per_mode.items()},
        "runs": per_mode,
        "config": {**asdict(cfg), "ks": list(cfg.ks), "modes": list(cfg.modes), "node_batch_flags": list(flags) if flags else None,
                   "windows_blocks": {"automine": AUTOMINE_WINDOW, "block-time-1": BLOCK_WINDOW}},
        "notes": {
            "batched": None if flags else "the node has no batching option yet: batched runs were not made (null)",
            "txs_per_task": "successful transactions to Inference mined during the run / settled tasks "
                            "(request, draw, commits, reveals, finalize); reverted races (nodes drawing or "
                            "finalizing the same task) are counted apart as reverted_txs_per_task",
            "efficiency": "tasks_per_s / (ceiling_tx_per_s / txs_per_task); goal >= 0.8",
            "efficiency_gas_bound": "the efficiency a chain limited by gas per second allows, whatever the nodes "
                                    "do: transfer_gas * txs_per_task / gas_per_task (a task's transactions cost "
                                    "gas_per_task where the ceiling's transfers cost transfer_gas each)",
            "gas_per_task": "gas of the transactions to Inference that worked during the run / settled tasks",
            "latency_s": "from a client starting submit (upload + request) to the keeper seeing the settlement",
            "single_phase": "the model runs inside request handling under one lock standing for the EVM; "
                            "same clients, same inputs, one transaction per task",
            "automine_keeper": "with automine an empty block is mined after idle_mine_s without a block while "
                               "tasks are open, so the draw's seed block passes",
        },
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "elapsed_s": round(elapsed, 1),
    }
    return report


# ----------------------------------------------------------------------------- plots
def write_plots(report: dict, folder: Path) -> list[str]:
    """tasks/s over time and the latency histogram, one line/bar set per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = []
    for mode, pm in report["runs"].items():
        for kkey, runs in pm["runs"].items():
            for b, run in runs.items():
                series.append((f"{mode} {kkey.upper()} {b}", run))
        series.append((f"{mode} single-phase", pm["single_phase"]))
    files = []
    fig, (ax, cum) = plt.subplots(1, 2, figsize=(14, 5))
    for label, run in series:
        times = sorted(run["settle_times_s"])
        if not times:
            continue
        cum.step([0.0] + times, list(range(len(times) + 1)), where="post", label=label)
        width = max(1.0, (times[-1] or 1.0) / 30)
        edges = [i * width for i in range(int(times[-1] / width) + 2)]
        counts = [0] * (len(edges) - 1)
        for t in times:
            counts[min(int(t / width), len(counts) - 1)] += 1
        ax.step(edges[:-1], [c / width for c in counts], where="post", label=label)
    ax.set_xlabel("seconds since the first submit")
    ax.set_ylabel("tasks settled per second")
    ax.set_yscale("log")
    ax.set_title("tasks settled per second over time")
    ax.legend(fontsize=7)
    cum.set_xlabel("seconds since the first submit")
    cum.set_ylabel("tasks settled so far")
    cum.set_xscale("symlog", linthresh=1.0)
    cum.set_title("tasks settled, cumulative")
    path = folder / "e2e_tasks_per_s.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    files.append(path.name)

    fig, ax = plt.subplots(figsize=(9, 5))
    data = [(label, run["latencies_s"]) for label, run in series if run["latencies_s"]]
    if data:
        hi = max(max(v) for _, v in data)
        bins = [hi * i / 30 for i in range(31)]
        for label, values in data:
            ax.hist(values, bins=bins, histtype="step", label=label)
    ax.set_xlabel("latency per task (s)")
    ax.set_ylabel("tasks")
    ax.set_title("brainnet on anvil: latency per task")
    ax.legend(fontsize=7)
    path = folder / "e2e_latency.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    files.append(path.name)
    return files
