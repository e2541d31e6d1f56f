"""`brainnet.Client`: ask the network for a verified inference in a few lines.

    client = Client.from_deployment("deployment.json", key="requester.json", password="...")
    result = client.infer("digits-mlp", pixels)      # waits for the committee
    result.value, result.task_id, result.committee, result.agreeing, result.tx_hashes

`infer` = `submit` (upload the input to nodes' blob stores, escrow the fee: tx 1) then
`wait` (draw the committee if nobody has yet, follow the task until it settles). A
refunded or timed-out task raises `TaskFailed` with the task id.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import httpx
import numpy as np

from brainnet.chain import TOKEN, Contracts, Deployment, Status, open_backend
from brainnet.chain.backends import Backend
from brainnet.errors import BlobError, BrainnetError, ConfigError, ContractRevert, TaskFailed
from brainnet.models import get_model
from brainnet.node.fetch import fetch_blob
from brainnet.node.keys import load_key
from brainnet.protocol.escalation import EXACT, agree

DEFAULT_FEE = 10 * TOKEN
MAX_BATCH = 64                     # tasks one request_many may open (Inference.MAX_BATCH)
SERVING_TTL_S = 30.0               # how long the list of nodes to upload inputs to is reused


@dataclass
class InferenceResult:
    """The agreed result and the proof of how it was agreed."""
    value: object                    # decoded output: a label (digits-mlp), a float32 vector (near models)
    output: bytes                    # canonical output bytes; sha256 = the blob hash an agreeing member revealed
    result_hash: str
    task_id: int
    model: str
    committee: list[str]             # members of every level, in draw order
    agreeing: list[str]
    commitments: dict[str, str]      # member -> commitment it sent
    reveals: dict[str, str]          # member -> result hash it revealed
    request_block: int
    final_block: int
    tx_hashes: dict[str, str] = field(default_factory=dict)
    level: int = 0                   # committee level that decided (0 unless the task escalated)

    @property
    def blocks_taken(self) -> int:
        return self.final_block - self.request_block

    def to_dict(self) -> dict:
        return {
            "value": self.value.tolist() if isinstance(self.value, np.ndarray) else self.value, "result_hash": self.result_hash, "task_id": self.task_id, "model": self.model,
            "committee": self.committee, "agreeing": self.agreeing, "commitments": self.commitments,
            "reveals": self.reveals, "request_block": self.request_block, "final_block": self.final_block,
            "blocks_taken": self.blocks_taken, "tx_hashes": self.tx_hashes, "level": self.level,
        }


@dataclass
class Submitted:
    task_id: int
    model: str
    input_hash: str
    request_block: int
    tx_hashes: dict[str, str]
    gas_used: int


class Client:
    def __init__(self, contracts: Contracts, account, *, pump: Callable[[], object] | None = None):
        self.contracts = contracts
        self.deployment = contracts.deployment
        self.actor = contracts.as_(account)
        self.address = account.address
        self.pump = pump            # in-process networks: advance nodes/chain while waiting
        self.gas_used = 0
        self._http: httpx.Client | None = None          # one connection pool for uploads and fetches
        self._serving_cache: dict[bytes, tuple[float, list[str]]] = {}
        self._allowance = 0                               # Inference's allowance, as last seen minus fees spent

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(timeout=10.0, follow_redirects=False)
        return self._http

    def close(self) -> None:
        """Release the client's HTTP connections (the chain connection is the caller's)."""
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @classmethod
    def from_deployment(cls, deployment: str | Path | Deployment, *, key, password: str | None = None,
                        backend: Backend | None = None, pump: Callable[[], object] | None = None) -> "Client":
        dep = deployment if isinstance(deployment, Deployment) else Deployment.load(deployment)
        if isinstance(key, (str, Path)):
            if password is None:
                raise ConfigError("a keystore file needs its password (pass password=... or --password)")
            key = load_key(key, password)
        if backend is None:
            if dep.chain == "embedded":
                raise ConfigError("an embedded chain lives inside one process; connect with backend=... or use anvil")
            backend = open_backend(dep.chain)
        return cls(Contracts(backend, dep), key, pump=pump)

    # ------------------------------------------------------------ submit
    def _serving(self, model_id: bytes, fresh: bool = False) -> list[str]:
        """HTTP endpoints of the nodes serving `model_id`, read from the chain at most every
        SERVING_TTL_S seconds (or now, with `fresh`)."""
        now = time.monotonic()
        hit = self._serving_cache.get(model_id)
        if hit is not None and not fresh and now - hit[0] < SERVING_TTL_S:
            return hit[1]
        endpoints: list[str] = []
        for node in self.contracts.active_nodes(model_id):
            endpoint = self.contracts.node(node).endpoint
            if endpoint.startswith(("http://", "https://")) and endpoint not in endpoints:
                endpoints.append(endpoint)
        self._serving_cache[model_id] = (now, endpoints)
        return endpoints

    def _put(self, endpoint: str, data: bytes, sha: str) -> str | None:
        """PUT a blob into one node's store; None when it took it, else why not."""
        try:
            r = self.http.put(f"{endpoint}/blobs/{sha}", content=data)
        except httpx.HTTPError as exc:
            return f"{endpoint}: {exc}"
        return None if r.status_code < 300 else f"{endpoint}: HTTP {r.status_code} {r.text[:80]}"

    def upload(self, data: bytes, model_id: bytes, copies: int = 3) -> list[str]:
        """PUT the input into up to `copies` serving nodes' blob stores; returns their base URLs.
        Which nodes: the serving list rotated by the input's hash, so inputs spread over nodes."""
        sha = hashlib.sha256(data).hexdigest()
        errors: list[str] = []
        for fresh in (False, True):                  # a cached list may be stale: retry once with a fresh one
            endpoints = self._serving(model_id, fresh)
            if endpoints:
                first = int(sha, 16) % len(endpoints)
                endpoints = endpoints[first:] + endpoints[:first]
            done = []
            for endpoint in endpoints:
                error = self._put(endpoint, data, sha)
                if error is None:
                    done.append(endpoint)
                else:
                    errors.append(error)
                if len(done) >= copies:
                    break
            if done:
                return done
        raise BlobError(f"could not upload the input to any node ({'; '.join(errors) or 'no node has an endpoint'})")

    def deposit(self, amount: int) -> str:
        """Prepay `amount` of fees: later `submit`s draw their fee from this balance (the
        contract's `claimable`) instead of a token transfer each, which saves gas per request;
        `claim` on the contract takes what is left back. Returns the deposit's tx hash."""
        if amount <= 0:
            raise ConfigError(f"deposit of {amount}: give a positive amount of token units")
        inference = self.deployment.addresses["Inference"]
        if self.contracts.token.functions.allowance(self.address, inference).call() < amount:
            self.actor.approve(inference, 2**256 - 1)
        self._allowance = 0                               # look again at the next submit
        return self.actor.deposit(amount).tx_hash

    def _approve(self, amount: int, tx: dict) -> None:
        """Make sure Inference may take `amount` in fees (the allowance is read at most once, then tracked)."""
        if self._allowance < amount:                 # known to cover the fees: no look needed
            self._allowance = self.contracts.token.functions.allowance(self.address, self.deployment.addresses["Inference"]).call()
        if self._allowance < amount:
            r = self.actor.approve(self.deployment.addresses["Inference"], 2**256 - 1)
            tx["approve"] = r.tx_hash
            self._allowance = 2**256 - 1

    def submit(self, model: str, data: bytes, fee: int = DEFAULT_FEE) -> Submitted:
        model_id = self.deployment.model_id(model)
        urls = self.upload(data, model_id)
        tx: dict[str, str] = {}
        self._approve(fee, tx)
        try:
            task_id, receipt = self.actor.request(model_id, hashlib.sha256(data).digest(), " ".join(urls), fee)
        except BrainnetError:
            self._allowance = 0                      # look again next time
            raise
        self._allowance -= fee
        tx["request"] = receipt.tx_hash
        self.gas_used += receipt.gas_used
        return Submitted(task_id, model, hashlib.sha256(data).hexdigest(), receipt.block, tx, receipt.gas_used)

    def submit_many(self, model: str, inputs: list[bytes], fee: int = DEFAULT_FEE) -> list[Submitted]:
        """`submit` of several inputs as one transaction (`Inference.request_many`): one fee
        payment for all, and about a third of a single request's gas per task. Every input is
        uploaded to the nodes the first one goes to, whose URLs all the tasks share. Each task
        is drawn, served and settled on its own; each `Submitted` carries its share of the gas."""
        if not inputs:
            raise ConfigError("submit_many needs at least one input")
        if len(inputs) > MAX_BATCH:
            raise ConfigError(f"{len(inputs)} inputs in one request: at most {MAX_BATCH}; split them into several calls")
        model_id = self.deployment.model_id(model)
        urls = self.upload(inputs[0], model_id)
        for data in inputs[1:]:
            sha = hashlib.sha256(data).hexdigest()
            errors = [e for e in (self._put(u, data, sha) for u in urls) if e is not None]
            if len(errors) == len(urls):
                raise BlobError(f"could not upload an input to the batch's nodes ({'; '.join(errors)})")
        tx: dict[str, str] = {}
        self._approve(fee * len(inputs), tx)
        hashes = [hashlib.sha256(data).digest() for data in inputs]
        try:
            task_ids, receipt = self.actor.request_many(model_id, hashes, " ".join(urls), fee)
        except BrainnetError:
            self._allowance = 0
            raise
        self._allowance -= fee * len(inputs)
        tx["request"] = receipt.tx_hash
        self.gas_used += receipt.gas_used
        share = receipt.gas_used // len(inputs)
        return [Submitted(t, model, h.hex(), receipt.block, dict(tx), share) for t, h in zip(task_ids, hashes)]

    # ------------------------------------------------------------ wait
    def poll(self, sub: Submitted) -> Status:
        """One look at the task; draws a committee that is due, or finalizes a task that can be."""
        c = self.contracts
        task = c.task(sub.task_id)
        block = c.block_number()
        try:
            if task.status == Status.REQUESTED and task.seed_block < block <= task.seed_block + 256:
                self._count(sub, "draw", self.actor.draw(sub.task_id))
            elif task.finalizable(block, c.task_level_size(sub.task_id, task.level)):
                self._count(sub, "finalize", self.actor.finalize(sub.task_id))   # normally a member does this
        except ContractRevert:
            pass                                         # a node did it first
        return c.task(sub.task_id).status

    def _count(self, sub: Submitted, what: str, receipt) -> None:
        sub.tx_hashes.setdefault(what, receipt.tx_hash)
        sub.gas_used += receipt.gas_used
        self.gas_used += receipt.gas_used

    def wait(self, sub: Submitted, timeout_s: float = 300.0, poll_s: float = 0.25) -> InferenceResult:
        deadline = time.monotonic() + timeout_s
        while True:
            status = self.poll(sub)
            if status == Status.SETTLED:
                return self.result(sub)
            if status == Status.REFUNDED:
                t = self.contracts.task(sub.task_id)
                size = self.contracts.task_level_size(sub.task_id, t.level)     # the task's own terms, not today's
                raise TaskFailed(f"task {sub.task_id} was refunded: only {t.top_count} of the {size} members of its "
                                 f"level {t.level} committee agreed, short of the quorum; the fee is back, try again",
                                 task_id=sub.task_id)
            if time.monotonic() > deadline:
                raise TaskFailed(f"task {sub.task_id} did not settle within {timeout_s:.0f} s (status {status.name}); "
                                 "check that nodes are running, or wait longer and call wait() again", task_id=sub.task_id)
            if self.pump is not None:
                self.pump()
            else:
                time.sleep(poll_s)

    def result(self, sub: Submitted) -> InferenceResult:
        c = self.contracts
        task = c.task(sub.task_id)
        if task.status != Status.SETTLED:
            raise TaskFailed(f"task {sub.task_id} is not settled (status {task.status.name})", task_id=sub.task_id)
        members = c.members(sub.task_id)
        reveals = {m: r for m in members if (r := c.revealed_result(sub.task_id, m)) is not None}
        agreeing = [m for m, r in reveals.items() if agree(r, task.result, task.mode, task.tolerance)]
        output = self._fetch_output(sub.task_id, agreeing)
        for ev in c.events(task.final_block, task.final_block):
            if ev.name == "TaskSettled" and ev.args["task_id"] == sub.task_id:
                sub.tx_hashes["finalize"] = ev.tx_hash
        return InferenceResult(
            value=decode_output(output) if task.mode == EXACT else np.frombuffer(output, dtype="<f4").copy(),
            output=output, result_hash=task.result.hex(), task_id=sub.task_id, model=sub.model,
            committee=members, agreeing=agreeing,
            commitments={m: v.hex() for m, v in c.commitments(sub.task_id, task.request_block, task.final_block).items()},
            reveals={m: r.hex() for m, r in reveals.items()},
            request_block=task.request_block, final_block=task.final_block, tx_hashes=dict(sub.tx_hashes),
            level=task.level,
        )

    def _fetch_output(self, task_id: int, agreeing: list[str]) -> bytes:
        """The output blob of an agreeing member, checked against the hash it revealed."""
        errors = []
        for m in agreeing:
            blob_hash = self.contracts.reveal_blob(task_id, m)
            try:
                return fetch_blob(blob_hash.hex(), [self.contracts.node(m).endpoint], timeout=10.0, client=self.http)
            except BlobError as exc:
                errors.append(str(exc))
        raise BlobError(f"no agreeing member served its output of task {task_id}: {'; '.join(errors)}")

    def infer(self, model: str, data: bytes | list, fee: int = DEFAULT_FEE, timeout_s: float = 300.0) -> InferenceResult:
        """Request `model` on `data` (input blob bytes, or raw features the model encodes) and wait."""
        if not isinstance(data, (bytes, bytearray)):
            data = get_model(model).encode_input(data)
        return self.wait(self.submit(model, bytes(data), fee), timeout_s=timeout_s)



def decode_output(output: bytes) -> object:
    """Canonical outputs are JSON; a one-key object ({"label": 7}) reads as its value."""
    try:
        value = json.loads(output)
    except ValueError:
        return output
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value.values()))
    return value
