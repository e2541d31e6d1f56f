"""A whole brainnet network in one process: chain, contracts, nodes with HTTP blob stores.

`LocalNetwork` deploys the contracts on a backend (the embedded py-evm chain by default),
creates and funds node accounts, starts each node's HTTP API on 127.0.0.1, registers the
nodes with stake and runs their daemons in lock step (`step`). `pump` is what a waiting
client calls: step every node, and mine an empty block when nobody had anything to do,
so deadlines pass on a chain that only mines on transactions.

`run_demo` is `brainnet demo`: requests tasks on a real model, lets the committee settle
them, and reports what happened, checked against the trusted local model.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from eth_account import Account

from brainnet.errors import TaskFailed
from brainnet.chain import TOKEN, Contracts, DeployParams, Status, deploy, open_backend
from brainnet.models import get_model
from brainnet.node.api import create_app, serve_in_thread
from brainnet.node.blobs import BlobStore
from brainnet.node.daemon import Behaviour, NodeDaemon
from brainnet.node.journal import Journal
from brainnet.node.keys import x25519_public
from brainnet.protocol import keccak, result_hash
from brainnet.protocol.escalation import agree
from brainnet.sdk.client import DEFAULT_FEE, Client

DEFAULT_MODEL = "digits-mlp"


@dataclass
class NetworkConfig:
    nodes: int = 7
    committee: int = 5
    quorum: int = 3
    faulty: int = 1
    faulty_behaviour: Behaviour = Behaviour.WRONG
    chain: str = "embedded"
    base_stake: int = 1_000 * TOKEN        # node i stakes base_stake * (1 + i % 3): unequal on purpose
    fee: int = DEFAULT_FEE
    seed: int = 7                          # node keys derive from it: same seed, same network
    max_in_flight: int = 20                # tasks the demo keeps open at once
    model: str = DEFAULT_MODEL             # digits-mlp (exact agreement) or minilm-l6 (near agreement)
    params: dict = field(default_factory=dict)   # extra DeployParams overrides
    batch: bool = True                     # nodes batch their transactions (NodeDaemon(batch=...))


@dataclass
class NodeHandle:
    name: str
    account: object
    behaviour: Behaviour
    stake: int
    daemon: NodeDaemon
    server: object
    endpoint: str


class LocalNetwork:
    def __init__(self, config: NetworkConfig, workdir: Path | None = None):
        if config.nodes < config.committee:
            raise ValueError(f"{config.nodes} nodes cannot fill a committee of {config.committee}")
        self.config = config
        self._tmp = tempfile.TemporaryDirectory(prefix="brainnet-net-") if workdir is None else None
        self.workdir = Path(workdir or self._tmp.name)
        self.backend = None
        self.nodes: list[NodeHandle] = []

    def __enter__(self) -> "LocalNetwork":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _account(self, label: str):
        return Account.from_key(keccak(f"brainnet-demo/{self.config.seed}/{label}".encode()))

    def start(self, on_progress: Callable[[str], None] = lambda s: None) -> None:
        cfg = self.config
        on_progress("loading the model (trained on first use)")
        self.runtime = get_model(cfg.model)
        on_progress(f"starting the {cfg.chain} chain and deploying contracts")
        self.backend = open_backend(cfg.chain)
        params = {"committee_size": cfg.committee, "quorum": cfg.quorum}
        # The chains started here (py-evm, or anvil without --block-time) mine every transaction
        # in a block of its own, so a window of 20 blocks is 20 transactions: size the windows
        # to the transactions a burst of tasks needs.
        params["commit_window"] = params["reveal_window"] = max(20, 3 * cfg.committee * cfg.max_in_flight)
        params = DeployParams.from_dict(params | cfg.params)
        spec = self.runtime.weights_hash if self.runtime.agreement == "exact" \
            else (self.runtime.weights_hash, self.runtime.tolerance)
        self.deployment = deploy(self.backend, params, {cfg.model: spec})
        self.contracts = Contracts(self.backend, self.deployment)
        self.model_id = self.deployment.model_id(cfg.model)
        boss = self.contracts.as_(self.backend.funder)
        registry = self.deployment.addresses["Registry"]
        for i in range(cfg.nodes):
            on_progress(f"registering node {i + 1}/{cfg.nodes}")
            account = self._account(f"node-{i}")
            behaviour = cfg.faulty_behaviour if i >= cfg.nodes - cfg.faulty else Behaviour.HONEST
            stake = cfg.base_stake * (1 + i % 3)
            boss.signer.transfer_eth(account.address, 10**21)
            boss.transfer(account.address, stake)
            home = self.workdir / f"node-{i}"
            store = BlobStore(home / "blobs")
            journal = Journal(home / "journal.sqlite")
            daemon = NodeDaemon(self.contracts, account, {self.model_id: self.runtime}, journal, store, behaviour,
                                batch=cfg.batch)
            app = create_app(store, health=lambda d=daemon: {"address": d.address, "behaviour": d.behaviour.value,
                                                             "tasks_open": len(d.tasks), **asdict(d.stats) | {"receipts": None}})
            server, port = serve_in_thread(app)
            endpoint = f"http://127.0.0.1:{port}"
            daemon.actor.approve(registry, stake)
            daemon.actor.register(stake, endpoint, x25519_public(account), [self.model_id])
            self.nodes.append(NodeHandle(f"node-{i}", account, behaviour, stake, daemon, server, endpoint))
        self.requester = self._account("requester")
        boss.signer.transfer_eth(self.requester.address, 10**21)
        boss.transfer(self.requester.address, 1_000_000 * TOKEN)
        self.client = Client(self.contracts, self.requester, pump=self.pump)

    def step(self) -> int:
        return sum(n.daemon.step() for n in self.nodes)

    def pump(self) -> int:
        sent = self.step()
        if sent == 0:
            self.backend.mine(1)
        return sent

    def close(self) -> None:
        for n in self.nodes:
            n.server.stop()
            n.daemon.close()
            n.daemon.journal.close()
        if self.backend is not None:
            self.backend.close()
        if self._tmp is not None:
            self._tmp.cleanup()


@dataclass
class DemoReport:
    chain: str
    nodes: int
    committee: int
    quorum: int
    tasks_requested: int
    tasks_settled: int
    tasks_refunded: int
    wrong_accepted: int
    faulty_slashed: int
    honest_slashed: int
    median_latency_blocks: float
    tasks_per_s: float
    gas_per_task: float
    wall_s: float = 0.0
    slash_events: int = 0
    node_table: list[dict] = field(default_factory=list)
    tasks: list[dict] = field(default_factory=list)

    def summary(self) -> dict:
        """The keys of `brainnet demo --json`."""
        keys = ("chain", "nodes", "committee", "quorum", "tasks_requested", "tasks_settled", "tasks_refunded",
                "wrong_accepted", "faulty_slashed", "honest_slashed", "median_latency_blocks", "tasks_per_s",
                "gas_per_task", "wall_s", "slash_events")
        return {k: getattr(self, k) for k in keys} | {"node_table": self.node_table, "tasks": self.tasks}


def run_demo(config: NetworkConfig, tasks: int = 20, on_progress: Callable[[dict], None] = lambda s: None,
             network: LocalNetwork | None = None) -> DemoReport:
    """Run `tasks` inference tasks through the committee and report what happened."""
    own = network is None
    net = network or LocalNetwork(config)
    try:
        if own:
            net.start(lambda msg: on_progress({"stage": msg}))
        c = net.contracts
        inputs = net.runtime.sample_inputs(tasks, seed=config.seed)
        truth = [net.runtime.run(x) for x in inputs]      # the trusted model's outputs
        t0 = time.monotonic()
        params = net.deployment.params
        stall_blocks = 2 * (params.commit_window + params.reveal_window) + 300
        subs, open_, statuses = [], {}, {}
        last_progress = c.block_number()
        while len(statuses) < tasks:
            while len(subs) < tasks and len(open_) < config.max_in_flight:
                sub = net.client.submit(config.model, inputs[len(subs)], config.fee)
                subs.append(sub)
                open_[sub.task_id] = sub
                on_progress({"stage": "requesting", "requested": len(subs), "total": tasks})
            for tid, sub in list(open_.items()):
                status = net.client.poll(sub)
                if status in (Status.SETTLED, Status.REFUNDED):
                    statuses[tid] = status
                    del open_[tid]
                    last_progress = c.block_number()
            net.pump()
            block = c.block_number()
            on_progress({"stage": "settling", "done": len(statuses), "total": tasks, "block": block})
            if block - last_progress > stall_blocks:
                raise TaskFailed(f"no task closed in {stall_blocks} blocks (open: {sorted(open_)}); "
                                 "the network is stalled, see the nodes' last errors")
        wall = time.monotonic() - t0
        gas = sum(s.gas_used for s in subs) + sum(n.daemon.stats.gas_used for n in net.nodes)
        # nodes collect what they earned
        for n in net.nodes:
            if c.claimable(n.account.address) > 0:
                n.daemon.actor.claim()
        return _report(net, config, subs, statuses, truth, wall, gas)
    finally:
        if own:
            net.close()


def _report(net: LocalNetwork, config: NetworkConfig, subs, statuses, truth, wall: float, gas: int) -> DemoReport:
    c = net.contracts
    rows, latencies, task_rows = [], [], []
    wrong = 0
    runtime = net.runtime
    for sub, output in zip(subs, truth):
        t = c.task(sub.task_id)
        latencies.append(t.final_block - t.request_block)
        if runtime.agreement == "near":
            expected = runtime.fingerprint(output, sub.task_id)
        else:
            expected = result_hash(runtime.canonical(output))
        ok = t.status == Status.SETTLED and agree(t.result, expected, t.mode, t.tolerance)
        if t.status == Status.SETTLED and not ok:
            wrong += 1
        task_rows.append({"task_id": sub.task_id, "status": t.status.name.lower(), "correct": ok, "level": t.level,
                          "agreeing": t.top_count, "blocks": t.final_block - t.request_block})
    slashes = 0
    faulty_slashed = honest_slashed = 0
    for n in net.nodes:
        view = c.node(n.account.address)
        slashes += view.slashes
        if view.slashes:
            if n.behaviour is Behaviour.HONEST:
                honest_slashed += 1
            else:
                faulty_slashed += 1
        rows.append({"node": n.name, "address": n.account.address, "behaviour": n.behaviour.value,
                     "stake_start": n.stake, "stake_now": view.stake, "slashes": view.slashes, "jailed": view.jailed,
                     "earned": c.balance(n.account.address), "committed": n.daemon.stats.committed,
                     "revealed": n.daemon.stats.revealed})
    settled = sum(1 for s in statuses.values() if s == Status.SETTLED)
    return DemoReport(
        chain=config.chain, nodes=config.nodes, committee=config.committee, quorum=config.quorum,
        tasks_requested=len(subs), tasks_settled=settled, tasks_refunded=len(subs) - settled,
        wrong_accepted=wrong, faulty_slashed=faulty_slashed, honest_slashed=honest_slashed,
        median_latency_blocks=float(statistics.median(latencies)) if latencies else 0.0,
        tasks_per_s=round(settled / wall, 3) if wall else 0.0,
        gas_per_task=round(gas / settled) if settled else 0.0,
        wall_s=round(wall, 2), slash_events=slashes, node_table=rows, tasks=task_rows,
    )
