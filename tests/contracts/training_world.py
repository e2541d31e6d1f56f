"""The deployed training protocol the Training/Models tests play on, and its moves.

`TrainingWorld` holds Token, Registry, Models and Training wired as `brainnet` deploys
them: Training authorized in the Registry (slash, pending) and as a recorder in Models;
`MODEL` created in Models (version 1, owned by `owner`) and registered in the Registry;
eight committee-only nodes and six training nodes (CAP_INFERENCE | CAP_TRAINING) serving it.
Its helpers speak the round's words (`open_round`, `commit_update`, `reveal_update`, `draw`,
`commit_scores`, `reveal_scores`, `finalize_scores`, `post_aggregate`, `commit_confirm`,
`reveal_confirm`, `finalize_aggregate`) and `assert_invariants` checks that tokens are
conserved and the Training escrow covers, to the wei, every open pool, open bond and credit.

The test modules import `tw` and `_rollback` from here: the world is deployed once per
session, and each test runs inside `boa.env.anchor()`.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import boa
import pytest

from brainnet.protocol import keccak
from brainnet.protocol.training import confirm_commitment, scores_commitment, update_commitment
from contract_world import CONTRACTS, E18, MIN_STAKE, MODEL, OTHER_MODEL, OTHER_WEIGHTS, WEIGHTS, Holders

GENESIS = 10_000_000 * E18
COMMITTEE_SIZE = 5
CONFIRM_QUORUM = 3
COMMITTEE_BPS = 1_000          # 10 % of the pool to the committee seats
SLASH_BPS = 1_000
FRAUD_SLASH_BPS = 5_000
CHALLENGE_WINDOW = 10
VOTE_WINDOW = 5
CHALLENGE_BOND = 10 * E18
WINDOW = 10                    # blocks of every phase in these tests
POOL = 1_000 * E18 + 7         # leaves dust in every division
THRESHOLD = 5_000
N_COMMITTEE_NODES = 8
N_TRAINERS = 6
TRAINING_CAPS = 3              # CAP_INFERENCE | CAP_TRAINING
GENESIS_URI = "blob://digits-mlp/v1"


def salt_of(account) -> bytes:
    return keccak(b"training salt" + bytes.fromhex(str(account)[2:]))


def update_hash_of(trainer, round_id: int) -> bytes:
    return hashlib.sha256(b"update %s %d" % (str(trainer).encode(), round_id)).digest()


def trace_hash_of(trainer, round_id: int) -> bytes:
    return hashlib.sha256(b"trace %s %d" % (str(trainer).encode(), round_id)).digest()


@dataclass
class TrainingWorld(Holders):
    token: object
    registry: object
    models: object
    training: object
    owner: object
    treasury: object
    committee_nodes: list = field(default_factory=list)
    trainers: list = field(default_factory=list)
    accounts: list = field(default_factory=list)

    # ------------------------------------------------------------ nodes (accounts and clock: Holders)
    def register(self, stake: int, caps: int = 1, models=(MODEL,)):
        node = self.new_account(stake)
        self.token.approve(self.registry.address, stake, sender=node)
        index = self.registry.node_count() + 1
        self.registry.register(stake, f"http://node{index}.test", keccak(b"k%d" % index), list(models), sender=node)
        if caps != 1:
            self.registry.set_capabilities(caps, sender=node)
        return node

    def nodes(self) -> list:
        return [*self.committee_nodes, *self.trainers]

    # ------------------------------------------------------------ round moves
    def open_round(self, pool: int = POOL, threshold: int = THRESHOLD, windows=(WINDOW,) * 6,
                   model=MODEL, version: int | None = None, sender=None) -> int:
        sender = sender or self.owner
        version = version or self.models.latest(model)
        self.token.approve(self.training.address, pool, sender=sender)
        return self.training.open_round(model, version, pool, threshold, list(windows), sender=sender)

    def round(self, round_id: int):
        return self.training.rounds(round_id)

    def draw(self, round_id: int) -> list:
        self.travel_to(self.round(round_id).seed_block + 1)
        self.training.draw(round_id, sender=self.owner)
        return list(self.training.committee(round_id))

    def commit_update(self, round_id: int, trainer, update_hash: bytes | None = None, trace_hash: bytes | None = None):
        uh = update_hash or update_hash_of(trainer, round_id)
        th = trace_hash or trace_hash_of(trainer, round_id)
        self.training.commit_update(round_id, update_commitment(round_id, uh, th, str(trainer), salt_of(trainer)), sender=trainer)

    def reveal_update(self, round_id: int, trainer, update_hash: bytes | None = None, trace_hash: bytes | None = None):
        uh = update_hash or update_hash_of(trainer, round_id)
        th = trace_hash or trace_hash_of(trainer, round_id)
        self.training.reveal_update(round_id, uh, th, salt_of(trainer), sender=trainer)

    def commit_scores(self, round_id: int, member, scores) -> None:
        self.training.commit_scores(round_id, scores_commitment(round_id, scores, str(member), salt_of(member)), sender=member)

    def reveal_scores(self, round_id: int, member, scores) -> None:
        self.training.reveal_scores(round_id, list(scores), salt_of(member), sender=member)

    def commit_confirm(self, round_id: int, member, weights_hash: bytes) -> None:
        self.training.commit_confirm(round_id, confirm_commitment(round_id, weights_hash, str(member), salt_of(member)), sender=member)

    def reveal_confirm(self, round_id: int, member, weights_hash: bytes) -> None:
        self.training.reveal_confirm(round_id, weights_hash, salt_of(member), sender=member)

    def past(self, round_id: int, deadline: str) -> None:
        """Travel to the first block after the round's `deadline` (e.g. "update_commit_deadline")."""
        self.travel_to(getattr(self.round(round_id), deadline) + 1)

    def to_scoring(self, round_id: int, trainers=None, reveal=None) -> list:
        """Open-to-score: the trainers commit and reveal (all of `reveal`, default all), the
        committee is drawn, and the chain stands in the score commit window."""
        trainers = self.trainers if trainers is None else trainers
        reveal = trainers if reveal is None else reveal
        members = self.draw(round_id)
        for t in trainers:
            self.commit_update(round_id, t)
        self.past(round_id, "update_commit_deadline")
        for t in reveal:
            self.reveal_update(round_id, t)
        self.past(round_id, "update_reveal_deadline")
        return members

    def score(self, round_id: int, rows: dict) -> None:
        """Every member in `rows` commits, then reveals, its score vector."""
        for m, row in rows.items():
            self.commit_scores(round_id, m, row)
        self.past(round_id, "score_commit_deadline")
        for m, row in rows.items():
            self.reveal_scores(round_id, m, row)

    def scored_round(self, rows_of=None, trainers=None, **open_args) -> tuple[int, list]:
        """A round through `finalize_scores`: every member scores `rows_of(member_index)`."""
        rid = self.open_round(**open_args)
        members = self.to_scoring(rid, trainers)
        n = self.round(rid).updates
        rows_of = rows_of or (lambda i: [6000 + 100 * s for s in range(n)])
        self.score(rid, {m: rows_of(i) for i, m in enumerate(members)})
        self.training.finalize_scores(rid, sender=self.owner)
        return rid, members

    # ------------------------------------------------------------ invariants
    def holders(self) -> list:
        return [*self.accounts, self.registry.address, self.training.address]

    def assert_invariants(self) -> None:
        token, training = self.token, self.training
        assert sum(token.balanceOf(a) for a in self.holders()) == token.totalSupply()
        open_pools = sum(training.rounds(i).pool for i in range(1, training.round_count() + 1)
                         if not training.rounds(i).scores_final)
        open_bonds = sum(training.challenges(i).bond for i in range(1, training.challenge_count() + 1)
                         if not training.challenges(i).resolved)
        credits = sum(training.claimable(a) for a in self.accounts)
        assert token.balanceOf(training.address) == open_pools + open_bonds + credits
        assert token.balanceOf(self.registry.address) == sum(self.registry.stake_of(n) for n in self.nodes())


class TrainingDeployers:
    def __init__(self):
        self.token = boa.load_partial(str(CONTRACTS / "Token.vy"))
        self.registry = boa.load_partial(str(CONTRACTS / "Registry.vy"))
        self.models = boa.load_partial(str(CONTRACTS / "Models.vy"))
        self.training = boa.load_partial(str(CONTRACTS / "Training.vy"))

    def deploy_training(self, token, registry, models, *, committee_size=COMMITTEE_SIZE, confirm_quorum=CONFIRM_QUORUM,
                        committee_bps=COMMITTEE_BPS, slash_bps=SLASH_BPS, fraud_slash_bps=FRAUD_SLASH_BPS,
                        challenge_window=CHALLENGE_WINDOW, vote_window=VOTE_WINDOW, challenge_bond=CHALLENGE_BOND):
        return self.training.deploy(token, registry, models, committee_size, confirm_quorum, committee_bps,
                                    slash_bps, fraud_slash_bps, challenge_window, vote_window, challenge_bond)

    def world(self, n_committee: int = N_COMMITTEE_NODES, n_trainers: int = N_TRAINERS, token=None,
              **training_args) -> TrainingWorld:
        """`token`: another ERC-20 (with an open `mint`) instead of a fresh brainnet Token."""
        owner = boa.env.generate_address("training owner")
        treasury = boa.env.generate_address("training treasury")
        with boa.env.prank(owner):
            if token is None:
                token = self.token.deploy("brainnet", "BRN", [owner], [GENESIS], owner)
            else:
                token.mint(owner, GENESIS)
            registry = self.registry.deploy(token.address, treasury, MIN_STAKE, 50, 3)
            registry.register_model(MODEL, WEIGHTS)
            registry.register_model(OTHER_MODEL, OTHER_WEIGHTS)
            models = self.models.deploy()
            training = self.deploy_training(token.address, registry.address, models.address, **training_args)
            registry.authorize(training.address, True)
            models.authorize(training.address, True)
            models.create_model(MODEL, WEIGHTS, GENESIS_URI)
        world = TrainingWorld(token, registry, models, training, owner, treasury, accounts=[owner, treasury])
        for i in range(n_committee):
            world.committee_nodes.append(world.register(MIN_STAKE * (2 + i)))
        for i in range(n_trainers):
            world.trainers.append(world.register(MIN_STAKE * (3 + i), caps=TRAINING_CAPS))
        return world


_DEPLOYERS: list = []


def training_deployers() -> TrainingDeployers:
    """Compiled once per session."""
    if not _DEPLOYERS:
        _DEPLOYERS.append(TrainingDeployers())
    return _DEPLOYERS[0]


@pytest.fixture(scope="session")
def tw() -> TrainingWorld:
    return training_deployers().world()


@pytest.fixture(autouse=True)
def _rollback(tw):
    """Overrides conftest's: this world is deployed before the anchor, then every test rolls back."""
    snapshot = (list(tw.committee_nodes), list(tw.trainers), list(tw.accounts))
    with boa.env.anchor():
        yield
    tw.committee_nodes[:], tw.trainers[:], tw.accounts[:] = snapshot
