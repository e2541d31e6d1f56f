"""Bindings over the Models and Training contracts: views, transactions, decoded events.

`TrainingChain` reads rounds, updates, committees, credits and the Models lineage;
`TrainingChain.as_(account)` gives a `TrainingActor` that sends a round's transactions as
one account (a trainer, a committee member, the model owner). Transactions go through
`Signer` (local nonces, explicit gas); `*_nowait` variants let a caller put many in flight
before waiting. Events are decoded from receipts, never by scanning the chain from block 0.
"""
from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from brainnet.chain.backends import Backend
from brainnet.chain.compile import compile_all
from brainnet.chain.contracts import EventDecoder, call_tx
from brainnet.chain.deploy import Deployment
from brainnet.chain.signer import PendingTx, Receipt, Signer
from brainnet.errors import ConfigError

MAX_TX_GAS = 2**24


@dataclass(frozen=True)
class RoundView:
    round_id: int
    owner: str
    model_id: bytes
    version: int
    pool: int
    threshold: int
    seed_block: int
    update_commit_deadline: int
    update_reveal_deadline: int
    score_commit_deadline: int
    score_reveal_deadline: int
    confirm_commit_deadline: int
    confirm_reveal_deadline: int
    seat_reward: int
    updates: int
    revealed_updates: int
    score_commits: int
    score_reveals: int
    confirm_commits: int
    confirm_reveals: int
    drawn: bool
    scores_final: bool
    accepted: int
    score_sum: int
    aggregate_hash: bytes
    aggregator: str
    closed: bool
    new_version: int
    committee_size: int = 0           # K and quorum the round was opened with
    confirm_quorum: int = 0


@dataclass(frozen=True)
class UpdateView:
    trainer: str
    commitment: bytes
    update_hash: bytes
    trace_hash: bytes
    revealed: bool
    median: int
    accepted: bool
    reward: int


@dataclass(frozen=True)
class VersionView:
    version: int
    weights_hash: bytes
    parent: int
    round_id: int
    uri: str
    block: int


class TrainingChain(EventDecoder):
    def __init__(self, backend: Backend, deployment: Deployment):
        self.backend = backend
        self.w3 = backend.w3
        self.deployment = deployment
        addr = deployment.addresses
        if "Training" not in addr or "Models" not in addr:
            raise ConfigError("this deployment has no Training/Models contracts; redeploy with this brainnet version")
        artifacts = compile_all()
        self.token = self.w3.eth.contract(address=addr["Token"], abi=artifacts["Token"].abi)
        self.registry = self.w3.eth.contract(address=addr["Registry"], abi=artifacts["Registry"].abi)
        self.models = self.w3.eth.contract(address=addr["Models"], abi=artifacts["Models"].abi)
        self.training = self.w3.eth.contract(address=addr["Training"], abi=artifacts["Training"].abi)
        self._index_events([self.token, self.registry, self.models, self.training])

    # ------------------------------------------------------------ views
    def block_number(self) -> int:
        return self.w3.eth.block_number

    def round(self, round_id: int) -> RoundView:
        return RoundView(round_id, *self.training.functions.rounds(round_id).call())

    def update(self, round_id: int, slot: int) -> UpdateView:
        return UpdateView(*self.training.functions.updates(round_id, slot).call())

    def committee(self, round_id: int) -> list[str]:
        return list(self.training.functions.committee(round_id).call())

    def claimable(self, account: str) -> int:
        return self.training.functions.claimable(account).call()

    def balance(self, account: str) -> int:
        return self.token.functions.balanceOf(account).call()

    def stake_of(self, node: str) -> int:
        return self.registry.functions.stake_of(node).call()

    def latest(self, model_id: bytes) -> int:
        return self.models.functions.latest(model_id).call()

    def version(self, model_id: bytes, v: int) -> VersionView:
        return VersionView(v, *self.models.functions.version(model_id, v).call())

    def lineage(self, model_id: bytes, v: int | None = None) -> list[VersionView]:
        """Every version from `v` (default: the latest) back to the genesis, 64 per call."""
        v = self.latest(model_id) if v is None else v
        out: list[VersionView] = []
        while v:
            chain = self.models.functions.lineage(model_id, v, 64).call()
            out.extend(self.version(model_id, x) for x in chain)
            v = out[-1].parent
        return out

    # ------------------------------------------------------------ events: EventDecoder.decode / .event
    def as_(self, account: LocalAccount) -> "TrainingActor":
        return TrainingActor(self, Signer(self.w3, account))


class TrainingActor:
    """Transactions of one account on Token, Registry, Models and Training."""

    def __init__(self, chain: TrainingChain, signer: Signer):
        self.c = chain
        self.signer = signer
        self.address = signer.address

    def nowait(self, fn, label: str, gas: int = 1_000_000) -> PendingTx:
        return self.signer.send_nowait(call_tx(fn), gas=gas, label=label)

    def send(self, fn, label: str, gas: int = 1_000_000) -> Receipt:
        return self.nowait(fn, label, gas).wait()

    # token / registry / models
    def approve(self, spender: str, amount: int) -> PendingTx:
        return self.nowait(self.c.token.functions.approve(spender, amount), "approve", 200_000)

    def transfer(self, to: str, amount: int) -> PendingTx:
        return self.nowait(self.c.token.functions.transfer(to, amount), "transfer", 200_000)

    def register(self, stake: int, endpoint: str, pubkey: bytes, model_ids: list[bytes]) -> PendingTx:
        return self.nowait(self.c.registry.functions.register(stake, endpoint, pubkey, model_ids), "register", 1_500_000)

    def set_capabilities(self, caps: int) -> PendingTx:
        return self.nowait(self.c.registry.functions.set_capabilities(caps), "set_capabilities", 200_000)

    def create_model(self, model_id: bytes, weights_hash: bytes, uri: str) -> PendingTx:
        return self.nowait(self.c.models.functions.create_model(model_id, weights_hash, uri), "create_model", 500_000)

    # training round
    def open_round(self, model_id: bytes, version: int, pool: int, threshold: int, windows: list[int]) -> PendingTx:
        return self.nowait(self.c.training.functions.open_round(model_id, version, pool, threshold, windows),
                           "open_round", 1_000_000)

    def draw(self, round_id: int) -> PendingTx:
        return self.nowait(self.c.training.functions.draw(round_id), "draw", 3_000_000)

    def commit_update(self, round_id: int, commitment: bytes) -> PendingTx:
        return self.nowait(self.c.training.functions.commit_update(round_id, commitment), "commit_update", 400_000)

    def reveal_update(self, round_id: int, update_hash: bytes, trace_hash: bytes, salt: bytes) -> PendingTx:
        return self.nowait(self.c.training.functions.reveal_update(round_id, update_hash, trace_hash, salt),
                           "reveal_update", 300_000)

    def commit_scores(self, round_id: int, commitment: bytes) -> PendingTx:
        return self.nowait(self.c.training.functions.commit_scores(round_id, commitment), "commit_scores", 200_000)

    def reveal_scores(self, round_id: int, scores: list[int], salt: bytes) -> PendingTx:
        return self.nowait(self.c.training.functions.reveal_scores(round_id, scores, salt), "reveal_scores", 2_000_000)

    def finalize_scores(self, round_id: int) -> PendingTx:
        return self.nowait(self.c.training.functions.finalize_scores(round_id), "finalize_scores", MAX_TX_GAS)

    def post_aggregate(self, round_id: int, weights_hash: bytes, uri: str) -> PendingTx:
        return self.nowait(self.c.training.functions.post_aggregate(round_id, weights_hash, uri), "post_aggregate", 300_000)

    def commit_confirm(self, round_id: int, commitment: bytes) -> PendingTx:
        return self.nowait(self.c.training.functions.commit_confirm(round_id, commitment), "commit_confirm", 200_000)

    def reveal_confirm(self, round_id: int, weights_hash: bytes, salt: bytes) -> PendingTx:
        return self.nowait(self.c.training.functions.reveal_confirm(round_id, weights_hash, salt), "reveal_confirm", 200_000)

    def finalize_aggregate(self, round_id: int) -> PendingTx:
        return self.nowait(self.c.training.functions.finalize_aggregate(round_id), "finalize_aggregate", 3_000_000)

    def challenge(self, round_id: int, trainer: str, evidence_hash: bytes) -> PendingTx:
        return self.nowait(self.c.training.functions.challenge(round_id, trainer, evidence_hash), "challenge", 500_000)

    def vote(self, challenge_id: int, guilty: bool) -> PendingTx:
        return self.nowait(self.c.training.functions.vote(challenge_id, guilty), "vote", 200_000)

    def resolve_challenge(self, challenge_id: int) -> PendingTx:
        return self.nowait(self.c.training.functions.resolve_challenge(challenge_id), "resolve_challenge", 1_000_000)

    def claim(self) -> PendingTx:
        return self.nowait(self.c.training.functions.claim(), "claim", 200_000)
