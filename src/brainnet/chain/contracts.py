"""Typed bindings over the deployed contracts: views, transactions and the event stream.

`Contracts` reads; `Contracts.as_(account)` gives an `Actor` that sends transactions as
that account. Events are read incrementally (from the last block seen), never from
block 0, which eth-tester makes slow.
"""
from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from web3 import Web3

from brainnet.chain.backends import Backend
from brainnet.chain.compile import abi_hash, compile_all
from brainnet.chain.deploy import Deployment
from brainnet.chain.inference_state import InferenceReader, Status, TaskView  # noqa: F401 (re-exported)
from brainnet.chain.logs import Event, LogDecoder
from brainnet.chain.signer import Receipt, Signer
from brainnet.errors import ConfigError
from brainnet.protocol.commitment import task_of
from brainnet.protocol.escalation import level_size


# EIP-7825 caps one transaction at 2**24 gas; draws and finalizes of the largest escalation
# levels need the most (see docs/architecture.md, known limits).
MAX_TX_GAS = 2**24
CAP_INFERENCE, CAP_TRAINING, CAP_SHARD = 1, 2, 4     # Registry capability bits


@dataclass(frozen=True)
class NodeView:
    address: str
    index: int
    stake: int
    endpoint: str
    pubkey: bytes
    active: bool
    jailed: bool
    unbond_at: int
    slashes: int
    pending: int


@dataclass(frozen=True)
class ShardView:
    """One node's announcement of the blocks of a model it serves (`Registry.shards_of`)."""
    node: str
    model_id: bytes
    start: int
    end: int
    memory_mb: int
    throughput: int          # blocks x tokens per second, measured by the node
    endpoint: str
    announced_at: int        # block

    def announcement(self, model: str | None = None, ping_ms: float = 0.0):
        """The route planner's record of this shard (`brainnet.shard.route.Announcement`);
        `model` is the name the shard servers use (default: the 0x model id)."""
        from brainnet.shard.route import Announcement

        return Announcement(id=self.node, endpoint=self.endpoint, model=model or "0x" + self.model_id.hex(),
                            start=self.start, end=self.end, memory_mb=self.memory_mb,
                            throughput=float(self.throughput), ping_ms=ping_ms)


def call_tx(fn) -> dict:
    """The transaction fields of a bound contract call (`contract.functions.f(...)`), for `Signer`."""
    return {"to": fn.address, "data": fn._encode_transaction_data()}


@dataclass(frozen=True)
class AuditView:
    """One `ShardAudit` report: a signed hop record under audit."""
    audit_id: int
    reporter: str
    node: str                # signer of the hop record
    model_id: bytes
    start: int
    end: int
    request_hash: bytes
    reply_hash: bytes
    fingerprint: bytes
    task_id: int             # the audit task on Inference
    bond: int
    fee: int
    status: int              # 1 open, 2 upheld (node slashed), 3 dismissed (bond lost)


class EventDecoder:
    """Decodes receipt and `get_logs` logs of a set of bound contracts into `Event`s, matching
    each log by its contract's address and its topic; logs of other contracts are skipped
    (`brainnet.chain.logs` does the decoding)."""

    _logs: LogDecoder

    def _index_events(self, contracts: list) -> None:
        self._logs = LogDecoder(contracts)

    def decode(self, logs: list) -> list[Event]:
        return self._logs.decode(logs)

    def event(self, receipt: Receipt, name: str) -> dict:
        """The arguments of the first `name` event a mined transaction logged."""
        for ev in self.decode(receipt.logs):
            if ev.name == name:
                return ev.args
        raise ConfigError(f"transaction {receipt.tx_hash} logged no {name}; wrong contract address?")


class Contracts(EventDecoder):
    def __init__(self, backend: Backend, deployment: Deployment):
        self.backend = backend
        self.w3: Web3 = backend.w3
        self.deployment = deployment
        if self.w3.eth.chain_id != deployment.chain_id:
            raise ConfigError(f"chain id {self.w3.eth.chain_id} differs from the deployment's {deployment.chain_id}: wrong chain URL?")
        artifacts = compile_all()
        if abi_hash(artifacts) != deployment.abi_hash:
            raise ConfigError("the contracts compiled here differ from the deployed ones (ABI hash); update brainnet or redeploy")
        addr = deployment.addresses
        self.token = self.w3.eth.contract(address=addr["Token"], abi=artifacts["Token"].abi)
        self.registry = self.w3.eth.contract(address=addr["Registry"], abi=artifacts["Registry"].abi)
        self.inference = self.w3.eth.contract(address=addr["Inference"], abi=artifacts["Inference"].abi)
        # Emission and Governance: absent from deployment files written before they existed
        self.emission = self.w3.eth.contract(address=addr["Emission"], abi=artifacts["Emission"].abi) \
            if "Emission" in addr else None
        self.governance = self.w3.eth.contract(address=addr["Governance"], abi=artifacts["Governance"].abi) \
            if "Governance" in addr else None
        # Training: read by `brainnet params` and governance (its own events: chain.training)
        self.training = self.w3.eth.contract(address=addr["Training"], abi=artifacts["Training"].abi) \
            if "Training" in addr else None
        # ShardAudit: absent from deployment files written before it existed
        self.shard_audit = self.w3.eth.contract(address=addr["ShardAudit"], abi=artifacts["ShardAudit"].abi) \
            if "ShardAudit" in addr else None
        self.committee_size = deployment.params.committee_size
        # tasks, members and seats, decoded from Inference's `state` view (brainnet.chain.inference_state)
        inf, reg = self.inference.functions, self.registry.functions
        self.reader = InferenceReader(
            state=lambda t, lv: inf.state(t, lv).call(), challenge=lambda t: inf.challenges(t).call(),
            blob=lambda t, m: inf.blobs(t, m).call(), nodes_at=lambda ix: reg.nodes_at(ix).call(),
            index_of=lambda a: reg.index_of(a).call())
        self._index_events(self._all())

    def _all(self) -> list:
        return [c for c in (self.token, self.registry, self.inference, self.emission, self.governance,
                            self.shard_audit) if c is not None]

    def by_name(self, name: str):
        """The bound contract called `name` (Token, Registry, Inference, Training, Emission, Governance)."""
        contract = getattr(self, {"ShardAudit": "shard_audit"}.get(name, name.lower()), None)
        if contract is None:
            raise ConfigError(f"this deployment has no {name} contract; redeploy with a current brainnet")
        return contract

    # ------------------------------------------------------------ views
    def block_number(self) -> int:
        return self.w3.eth.block_number

    def block_hash(self, number: int) -> bytes:
        return bytes(self.w3.eth.get_block(number)["hash"])

    def balance(self, address: str) -> int:
        return self.token.functions.balanceOf(address).call()

    def claimable(self, address: str) -> int:
        return self.inference.functions.claimable(address).call()

    def task(self, task_id: int) -> TaskView:
        return self.reader.task(task_id)

    def task_count(self) -> int:
        return self.inference.functions.task_count().call()

    def committee(self, task_id: int) -> list[str]:
        """Members of the task's current level (empty while an escalated level waits for its draw)."""
        return self.reader.committee(task_id)

    def members(self, task_id: int) -> list[str]:
        """Members of every level of the task, in draw order."""
        return self.reader.members(task_id)

    def level_size(self, level: int) -> int:
        """Size of `level` for a task requested now."""
        return level_size(self.inference.functions.committee_size().call(), level)

    def task_level_size(self, task_id: int, level: int) -> int:
        """Size of `level` of task `task_id` (it keeps the committee size it was requested under)."""
        k, _quorum, _levels = self.inference.functions.task_terms(task_id).call()
        return level_size(k, level)

    def seat(self, task_id: int, member: str) -> tuple[int, bool, bool]:
        """(level + 1 of `member`'s committee in the task, 0 = none; committed; revealed)."""
        return self.reader.seat(task_id, member)

    def has_committed(self, task_id: int, member: str) -> bool:
        return self.seat(task_id, member)[1]

    def revealed_result(self, task_id: int, member: str) -> bytes | None:
        found = self.reader.find(task_id, member)
        return found[0].value_of(found[1]) if found else None

    def reveal_blob(self, task_id: int, member: str) -> bytes:
        """sha256 of the output blob `member` revealed (equal to its result in exact mode)."""
        return self.reader.reveals(task_id, member)[1]

    def commitments(self, task_id: int, from_block: int, to_block: int) -> dict[str, bytes]:
        """Each member's commitment to the task, from the CommitBatch events of those blocks (the
        contract keeps only Merkle roots of commitments, not the commitments themselves)."""
        out = {}
        for ev in self.events(from_block, to_block):
            if ev.name == "CommitBatch":
                for key, value in zip(ev.args["seats"], ev.args["commitments"]):
                    if task_of(key) == task_id:
                        out[ev.args["member"]] = bytes(value)
        return out

    def node(self, address: str) -> NodeView:
        return NodeView(address, *self.registry.functions.nodes(address).call())

    def node_addresses(self) -> list[str]:
        count = self.registry.functions.node_count().call()
        return [self.registry.functions.node_at(i).call() for i in range(1, count + 1)]

    def active_nodes(self, model_id: bytes) -> list[str]:
        return list(self.registry.functions.active_nodes(model_id).call())

    def model_weights_hash(self, model_id: bytes) -> bytes | None:
        weights_hash, registered, _mode, _tolerance = self.registry.functions.models(model_id).call()
        return bytes(weights_hash) if registered else None

    def model_agreement(self, model_id: bytes) -> tuple[int, int]:
        """(mode, tolerance): mode 0 = exact, 1 = near (SimHash within `tolerance` bits)."""
        _hash, _registered, mode, tolerance = self.registry.functions.models(model_id).call()
        return mode, tolerance

    def capabilities(self, address: str) -> int:
        """CAP_* bits the node declared: 1 inference, 2 training, 4 shard."""
        return self.registry.functions.capabilities(address).call()

    def shards(self, model_id: bytes) -> list[ShardView]:
        """Shard announcements for `model_id` by nodes active now, in announcement order."""
        return [ShardView(*(bytes(v) if isinstance(v, (bytes, bytearray)) else v for v in raw))
                for raw in self.registry.functions.shards_of(model_id).call()]

    def shard_announcements(self, model_id: bytes, model: str | None = None,
                            pings_ms: dict[str, float] | None = None) -> list:
        """`shards(model_id)` as route-planner input (`brainnet.shard.route.Announcement`s, id =
        node address), named `model` (the shard servers' name for it), with the pings the caller
        measured (by node address; 0 when unknown)."""
        pings_ms = pings_ms or {}
        return [s.announcement(model, pings_ms.get(s.node, 0.0)) for s in self.shards(model_id)]

    # ------------------------------------------------------------ shard audits
    def audit(self, audit_id: int) -> AuditView:
        """One report of `ShardAudit` (status 1 open, 2 upheld, 3 dismissed; 0 = no such audit)."""
        raw = self.by_name("ShardAudit").functions.audits(audit_id).call()
        return AuditView(audit_id, *(bytes(v) if isinstance(v, (bytes, bytearray)) else v for v in raw))

    def audit_of_task(self, task_id: int) -> int:
        return self.by_name("ShardAudit").functions.audit_of_task(task_id).call()

    # ------------------------------------------------------------ events
    def events(self, from_block: int, to_block: int) -> list[Event]:
        """Decoded events of all brainnet contracts in [from_block, to_block], in chain order."""
        if to_block < from_block:
            return []
        logs = self.w3.eth.get_logs({
            "fromBlock": from_block, "toBlock": to_block,
            "address": [c.address for c in self._all()],
        })
        return self.decode(logs)

    def as_(self, account: LocalAccount) -> "Actor":
        return Actor(self, Signer(self.w3, account))


class Actor:
    """Transactions sent by one account. Each method waits for its receipt; the actor that
    `nowait()` returns sends the same transactions without waiting (its methods return a
    `PendingTx`), so a caller can put several in one block and wait for them together.
    Methods that read their own receipt (`request` returns the task id) need the waiting actor."""

    def __init__(self, contracts: Contracts, signer: Signer, *, wait: bool = True):
        self.c = contracts
        self.signer = signer
        self.address = signer.address
        self._wait = wait

    def nowait(self) -> "Actor":
        """The same account (same signer: nonces stay in order), sending without waiting."""
        return Actor(self.c, self.signer, wait=False)

    def _send(self, fn, label: str, gas: int = 2_000_000) -> Receipt:
        pending = self.signer.send_nowait(call_tx(fn), gas=gas, label=label)
        return pending.wait() if self._wait else pending

    # token
    def approve(self, spender: str, amount: int) -> Receipt:
        return self._send(self.c.token.functions.approve(spender, amount), "approve", 200_000)

    def transfer(self, to: str, amount: int) -> Receipt:
        return self._send(self.c.token.functions.transfer(to, amount), "transfer", 200_000)

    # registry
    def register(self, stake: int, endpoint: str, pubkey: bytes, model_ids: list[bytes]) -> Receipt:
        return self._send(self.c.registry.functions.register(stake, endpoint, pubkey, model_ids), "register", 1_500_000)

    def add_stake(self, amount: int) -> Receipt:
        return self._send(self.c.registry.functions.add_stake(amount), "add_stake", 1_000_000)

    def begin_unbond(self) -> Receipt:
        return self._send(self.c.registry.functions.begin_unbond(), "begin_unbond", 1_000_000)

    def withdraw(self) -> Receipt:
        return self._send(self.c.registry.functions.withdraw(), "withdraw", 500_000)

    def set_capabilities(self, capabilities: int) -> Receipt:
        """Declare CAP_INFERENCE (1) | CAP_TRAINING (2) | CAP_SHARD (4)."""
        return self._send(self.c.registry.functions.set_capabilities(capabilities), "set_capabilities", 300_000)

    def announce_shard(self, model_id: bytes, start: int, end: int, memory_mb: int, throughput: float,
                       endpoint: str) -> Receipt:
        """Announce blocks [start, end) of `model_id`, declaring the shard capability first when the
        node has not; throughput in blocks x tokens per second, rounded to an integer (at least 1)."""
        caps = self.c.capabilities(self.address)
        if self.c.node(self.address).index != 0 and not caps & CAP_SHARD:
            self.set_capabilities(caps | CAP_SHARD)
        return self._send(self.c.registry.functions.announce_shard(
            model_id, start, end, int(memory_mb), max(1, int(round(throughput))), endpoint), "announce_shard", 600_000)

    def withdraw_shard(self, model_id: bytes) -> Receipt:
        return self._send(self.c.registry.functions.withdraw_shard(model_id), "withdraw_shard", 600_000)

    # inference
    def request_many(self, model_id: bytes, input_hashes: list[bytes], input_uri: str, fee: int) -> tuple[list[int], Receipt]:
        """One task per input hash in one transaction (one fee payment for all); their task ids, in order."""
        receipt = self._send(self.c.inference.functions.request_many(model_id, input_hashes, input_uri, fee),
                             "request_many", 200_000 + 60_000 * len(input_hashes))
        ids = [ev.args["task_id"] for ev in self.c.decode(receipt.logs) if ev.name == "TaskRequested"]
        if len(ids) != len(input_hashes):
            raise ConfigError("request_many mined without a TaskRequested event per input; wrong contract address?")
        return ids, receipt

    def request(self, model_id: bytes, input_hash: bytes, input_uri: str, fee: int) -> tuple[int, Receipt]:
        receipt = self._send(self.c.inference.functions.request(model_id, input_hash, input_uri, fee), "request", 800_000)
        for ev in self.c.decode(receipt.logs):
            if ev.name == "TaskRequested":
                return ev.args["task_id"], receipt
        raise ConfigError("request mined without a TaskRequested event; wrong contract address?")

    def draw(self, task_id: int) -> Receipt:
        return self._send(self.c.inference.functions.draw(task_id), "draw", MAX_TX_GAS)

    # commit and reveal name the member's seat by its seat key (protocol.commitment.seat_key);
    # a single commit or reveal is a batch of one (root = leaf, no proof)
    def commit(self, key: int, commitment: bytes) -> Receipt:
        return self.commit_many([key], [commitment])

    def reveal(self, key: int, result: bytes, salt: bytes) -> Receipt:
        return self.reveal_many([key], [result], [salt], [], [])

    def reveal_near(self, key: int, fingerprint: bytes, blob_hash: bytes, salt: bytes) -> Receipt:
        return self.reveal_many([key], [fingerprint], [salt], [], [], blob_hashes=[blob_hash])

    # batched: one transaction for many tasks (Inference.MAX_BATCH = 64 at most)
    def draw_many(self, task_ids: list[int]) -> Receipt:
        return self._send(self.c.inference.functions.draw_many(task_ids), "draw_many", MAX_TX_GAS)

    def commit_many(self, keys: list[int], commitments: list[bytes]) -> Receipt:
        """Leaves of the batch: `batch_leaf(keys[i], commitments[i])`."""
        return self._send(self.c.inference.functions.commit_many(keys, commitments), "commit_many",
                          min(MAX_TX_GAS, 100_000 + 150_000 * len(keys)))

    def reveal_many(self, keys: list[int], results: list[bytes], salts: list[bytes],
                    paths: list[int] | None = None, proofs: list[bytes] | None = None,
                    blob_hashes: list[bytes] | None = None) -> Receipt:
        """paths/proofs: see `brainnet.protocol.commitment.reveal_path`; both empty (the default):
        `keys` are one whole commit batch in commit order. Near models: `blob_hashes`."""
        return self._send(self.c.inference.functions.reveal_many(keys, results, blob_hashes or [], salts,
                                                                 paths or [], proofs or []),
                          "reveal_many", min(MAX_TX_GAS, 100_000 + (500_000 if blob_hashes else 250_000) * len(keys)))

    def deposit(self, amount: int) -> Receipt:
        """Prepay request fees into `claimable` (requests then draw from it; `claim` returns the rest)."""
        return self._send(self.c.inference.functions.deposit(amount), "deposit", 300_000)

    def finalize_many(self, task_ids: list[int]) -> Receipt:
        return self._send(self.c.inference.functions.finalize_many(task_ids), "finalize_many", MAX_TX_GAS)

    def challenge(self, task_id: int) -> Receipt:
        return self._send(self.c.inference.functions.challenge(task_id), "challenge", 1_000_000)

    def finalize(self, task_id: int) -> Receipt:
        return self._send(self.c.inference.functions.finalize(task_id), "finalize", MAX_TX_GAS)

    def claim(self) -> Receipt:
        return self._send(self.c.inference.functions.claim(), "claim", 300_000)

    # shard audits
    def report_hop(self, record, signature: bytes, input_uri: str) -> tuple[int, Receipt]:
        """Report a signed hop record (`brainnet.shard.hops.HopRecord`) to ShardAudit; approves the
        bond and the audit fee first. Returns (audit id, receipt)."""
        audit = self.c.by_name("ShardAudit")
        cost = audit.functions.bond().call() + audit.functions.fee().call()
        self.approve(audit.address, cost)
        receipt = self._send(audit.functions.report(record.model_id, record.start, record.end, record.request_hash,
                                                    record.reply_hash, record.fingerprint, bytes(signature),
                                                    input_uri), "report_hop", 1_500_000)
        for ev in self.c.decode(receipt.logs):
            if ev.name == "HopReported":
                return ev.args["audit_id"], receipt
        raise ConfigError("report mined without a HopReported event; wrong contract address?")

    def resolve_audit(self, audit_id: int) -> Receipt:
        return self._send(self.c.by_name("ShardAudit").functions.resolve(audit_id), "resolve_audit", 1_000_000)

    def fund_audits(self, amount: int) -> Receipt:
        """Add `amount` to ShardAudit's bounty pool (rewards of upheld reports)."""
        audit = self.c.by_name("ShardAudit")
        self.approve(audit.address, amount)
        return self._send(audit.functions.fund(amount), "fund_audits", 200_000)

    # emission
    def claim_rewards(self, epochs: list[int]) -> Receipt:
        return self._send(self.c.by_name("Emission").functions.claim(epochs), "claim_rewards", 300_000 + 120_000 * len(epochs))

    # governance
    def propose(self, target: str, param_id: int, value: int) -> tuple[int, Receipt]:
        receipt = self._send(self.c.by_name("Governance").functions.propose(target, param_id, value), "propose", 600_000)
        for ev in self.c.decode(receipt.logs):
            if ev.name == "ProposalCreated":
                return ev.args["proposal_id"], receipt
        raise ConfigError("propose mined without a ProposalCreated event; wrong contract address?")

    def vote(self, proposal_id: int, support: bool) -> Receipt:
        return self._send(self.c.by_name("Governance").functions.vote(proposal_id, support), "vote", 300_000)

    def execute(self, proposal_id: int) -> Receipt:
        return self._send(self.c.by_name("Governance").functions.execute(proposal_id), "execute", 1_000_000)

    def cancel(self, proposal_id: int) -> Receipt:
        return self._send(self.c.by_name("Governance").functions.cancel(proposal_id), "cancel", 300_000)
