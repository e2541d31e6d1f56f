"""The deployed protocol the contract tests play on, and the moves they make on it.

`World` holds a Token, a Registry and an Inference contract wired together the way
`brainnet` deploys them, plus the accounts that hold tokens. Its helpers speak the
protocol's words (`register`, `request`, `draw`, `commit`, `reveal`, `finalize`) and
`run_task` plays a whole task with one chosen behaviour per committee member.
`assert_invariants` checks what must hold after every step: tokens are conserved, the
Inference escrow covers open fees plus what is claimable, the Registry holds the stakes.

Imported by conftest.py and the test files of this folder (kept out of conftest.py so
the tests can import the constants without importing a conftest).
"""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence, Union

import boa

from brainnet.protocol import commitment, keccak, model_key
from brainnet.protocol.commitment import abi_encode
from inference_views import committee_of, key_of, task_view

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"

E18 = 10**18
MODEL = model_key("digits-mlp")
OTHER_MODEL = model_key("wine-logreg")
WEIGHTS = hashlib.sha256(b"digits-mlp canonical weights").digest()
OTHER_WEIGHTS = hashlib.sha256(b"wine-logreg canonical weights").digest()
NEAR_MODEL = model_key("minilm-l6-near")
NEAR_WEIGHTS = hashlib.sha256(b"minilm-l6 canonical weights").digest()

GENESIS = 10_000_000 * E18
MIN_STAKE = 100 * E18
UNBONDING_BLOCKS = 50
JAIL_AFTER = 3
COMMITTEE_SIZE = 5
QUORUM = 3
COMMIT_WINDOW = 10
REVEAL_WINDOW = 10
SLASH_BPS = 1_000                 # 10 % of a member's stake
MIN_FEE = E18
FEE = 10 * E18 + 1                # not a multiple of 2, 3, 4 or 5: settling leaves dust
N_NODES = 8
SEED_HORIZON = 256

# Inference.Status flag values
REQUESTED, DRAWN, SETTLED, REFUNDED, PROVISIONAL = 1, 2, 4, 8, 16

# What a committee member does in `run_task`: a bytes32 result commits and reveals it.
ABSENT = "absent"                 # never commits
SILENT = "silent"                 # commits, never reveals
A, B, C = (hashlib.sha256(x).digest() for x in (b"result a", b"result b", b"result c"))

Behaviour = Union[bytes, str]


def salt_of(member) -> bytes:
    return keccak(b"salt" + bytes.fromhex(str(member)[2:]))


def near_result(fingerprint: bytes, blob_hash: bytes) -> bytes:
    """What a member of a `near` model commits to: keccak256(abi_encode(fingerprint, blob_hash))."""
    return keccak(abi_encode(fingerprint, blob_hash))


def node_stake(i: int) -> int:
    """Stake of the i-th genesis node: 2..9 × MIN_STAKE, so one 10 % slash keeps it active."""
    return MIN_STAKE * (2 + i)


def events(contract, name: str) -> list:
    """Events named `name` logged by the last call to `contract` (view calls count too),
    child calls included."""
    return [e for e in contract.get_logs() if type(e).__name__ == name]


@dataclass
class TaskRun:
    task_id: int
    members: list
    behaviours: dict          # member -> Behaviour
    reveal_order: list        # members in the order they revealed
    fee: int


class Holders:
    """The accounts a world tracks (its invariants sum their balances) and its clock. Mixed
    into the worlds' dataclasses (`World`, `training_world.TrainingWorld`), which give it
    `token`, `owner` (the Token's minter) and `accounts`."""

    token: object
    owner: object
    accounts: list

    def fund(self, account, amount: int) -> None:
        self.token.mint(account, amount, sender=self.owner)
        self.track(account)

    def track(self, account) -> None:
        if account not in self.accounts:
            self.accounts.append(account)

    def new_account(self, funds: int = 0):
        account = boa.env.generate_address()
        self.track(account)
        if funds:
            self.fund(account, funds)
        return account

    def travel_to(self, block: int) -> None:
        """Mine empty blocks up to `block` (nothing when the chain is already there)."""
        now = boa.env.evm.patch.block_number
        if now < block:
            boa.env.time_travel(blocks=block - now)


@dataclass
class World(Holders):
    token: object
    registry: object
    inference: object
    owner: object             # deployer of everything, minter, registry owner
    treasury: object
    requester: object
    nodes: list = field(default_factory=list)
    accounts: list = field(default_factory=list)

    # ------------------------------------------------------------ registry

    def register(self, node=None, stake: int = MIN_STAKE, models: Sequence[bytes] = (MODEL,)):
        node = node or self.new_account()
        self.fund(node, stake)
        self.token.approve(self.registry.address, stake, sender=node)
        index = self.registry.node_count() + 1
        self.registry.register(
            stake, f"http://node{index}.test:7070", keccak(b"x25519 %d" % index), list(models), sender=node
        )
        self.nodes.append(node)
        return node

    # ------------------------------------------------------------ inference

    def request(self, fee: int = FEE, model: bytes = MODEL, requester=None) -> int:
        requester = requester or self.requester
        self.token.approve(self.inference.address, fee, sender=requester)
        return self.inference.request(model, keccak(b"input %d" % fee), "blob://input", fee, sender=requester)

    def draw(self, task_id: int) -> list:
        """Mine the seed block, then draw (from an unrelated account: anyone may)."""
        boa.env.time_travel(blocks=2)
        self.inference.draw(task_id, sender=self.owner)
        return self.committee(task_id)

    def committee(self, task_id: int) -> list:
        """Members of the task's current level: the last level's seats of `members`."""
        return committee_of(self.inference, task_id)

    def open_task(self, fee: int = FEE) -> tuple[int, list]:
        task_id = self.request(fee)
        return task_id, self.draw(task_id)

    def key(self, task_id: int, member) -> int:
        return key_of(self.inference, task_id, member)

    def commit(self, task_id: int, member, result: bytes) -> None:
        """A single commit: a batch of one (its root is the leaf)."""
        self.inference.commit_many([self.key(task_id, member)],
                                   [commitment(task_id, result, str(member), salt_of(member))], sender=member)

    def reveal(self, task_id: int, member, result: bytes) -> None:
        self.inference.reveal_many([self.key(task_id, member)], [result], [], [salt_of(member)], [0], [], sender=member)

    def commit_near(self, task_id: int, member, fingerprint: bytes, blob_hash: bytes) -> None:
        self.commit(task_id, member, near_result(fingerprint, blob_hash))

    def reveal_near(self, task_id: int, member, fingerprint: bytes, blob_hash: bytes) -> None:
        self.inference.reveal_many([self.key(task_id, member)], [fingerprint], [blob_hash], [salt_of(member)], [0], [], sender=member)

    def task(self, task_id: int):
        return task_view(self.inference, task_id)

    def past_commit_deadline(self, task_id: int) -> None:
        self.travel_to(self.task(task_id).commit_deadline + 1)

    def past_reveal_deadline(self, task_id: int) -> None:
        self.travel_to(self.task(task_id).reveal_deadline + 1)

    def run_task(
        self,
        behave: Union[Sequence[Behaviour], Callable[[object], Behaviour]],
        fee: int = FEE,
        reveal_order: Sequence[int] | None = None,
        finalize: bool = True,
    ) -> TaskRun:
        """Request, draw, commit, reveal and (by default) finalize one task.

        `behave` is either one behaviour per committee seat (in committee order) or a
        function from member to behaviour. `reveal_order` permutes the revealing seats.
        """
        task_id, members = self.open_task(fee)
        if callable(behave):
            behaviours = {m: behave(m) for m in members}
        else:
            assert len(behave) == len(members), "one behaviour per committee seat"
            behaviours = dict(zip(members, behave))
        for m in members:
            if behaviours[m] != ABSENT:
                self.commit(task_id, m, self._result(behaviours[m], m))
        if any(b == ABSENT for b in behaviours.values()):
            self.past_commit_deadline(task_id)
        seats = list(reveal_order) if reveal_order is not None else list(range(len(members)))
        order = [members[i] for i in seats if isinstance(behaviours[members[i]], bytes)]
        for m in order:
            self.reveal(task_id, m, behaviours[m])
        if finalize:
            if len(order) < len(members):
                self.past_reveal_deadline(task_id)
            self.inference.finalize(task_id, sender=self.owner)
        return TaskRun(task_id, members, behaviours, order, fee)

    @staticmethod
    def _result(behaviour: Behaviour, member) -> bytes:
        # a silent member still commits to something
        return behaviour if isinstance(behaviour, bytes) else keccak(b"silent" + salt_of(member))

    # ------------------------------------------------------------ invariants

    def balances(self) -> dict:
        return {a: self.token.balanceOf(a) for a in self.all_holders()}

    def all_holders(self) -> list:
        return [*self.accounts, self.registry.address, self.inference.address]

    def assert_invariants(self) -> None:
        token, registry, inference = self.token, self.registry, self.inference
        # tokens are conserved: every token sits with someone we know
        assert sum(token.balanceOf(a) for a in self.all_holders()) == token.totalSupply()
        # the Inference escrow covers open fees (and challenge bonds) plus everything
        # claimable, to the wei
        open_fees = sum(
            t.fee + t.bond
            for t in (task_view(inference, i) for i in range(1, inference.task_count() + 1))
            if t.status in (REQUESTED, DRAWN, PROVISIONAL)
        )
        claimable = sum(inference.claimable(a) for a in self.accounts)
        assert token.balanceOf(inference.address) == open_fees + claimable
        # the Registry holds exactly the stakes
        assert token.balanceOf(registry.address) == sum(registry.stake_of(n) for n in self.nodes)


class Deployers:
    """Contracts compiled once per session; `deploy_*` makes fresh instances."""

    def __init__(self):
        self.token = boa.load_partial(str(CONTRACTS / "Token.vy"))
        self.registry = boa.load_partial(str(CONTRACTS / "Registry.vy"))
        self.inference = boa.load_partial(str(CONTRACTS / "Inference.vy"))

    def deploy_inference(self, token, registry, *, committee_size=COMMITTEE_SIZE, quorum=QUORUM,
                         commit_window=COMMIT_WINDOW, reveal_window=REVEAL_WINDOW,
                         slash_bps=SLASH_BPS, min_fee=MIN_FEE, max_levels=1, challenge_window=0,
                         challenge_bond=0):
        # max_levels=1: one committee, BRAIN's rule; escalation has tests of its own
        return self.inference.deploy(
            token, registry, committee_size, quorum, commit_window, reveal_window, slash_bps, min_fee,
            max_levels, challenge_window, challenge_bond,
        )

    def attach_inference(self, world: World, **inference_args) -> World:
        """The same token, registry, nodes and accounts with a fresh Inference contract
        (`deploy_inference` arguments), authorized on the registry."""
        inference = self.deploy_inference(world.token.address, world.registry.address, **inference_args)
        world.registry.authorize(inference.address, True, sender=world.owner)
        return dataclasses.replace(world, inference=inference)

    def world(self, n_nodes: int = N_NODES, token=None, **inference_args) -> World:
        owner = boa.env.generate_address("owner")
        treasury = boa.env.generate_address("treasury")
        requester = boa.env.generate_address("requester")
        with boa.env.prank(owner):
            if token is None:
                token = self.token.deploy("brainnet", "BRN", [owner, requester], [GENESIS, GENESIS], owner)
            registry = self.registry.deploy(token.address, treasury, MIN_STAKE, UNBONDING_BLOCKS, JAIL_AFTER)
            registry.register_model(MODEL, WEIGHTS)
            registry.register_model(OTHER_MODEL, OTHER_WEIGHTS)
            inference = self.deploy_inference(token.address, registry.address, **inference_args)
            registry.authorize(inference.address, True)
        world = World(token, registry, inference, owner, treasury, requester, accounts=[owner, treasury, requester])
        for i in range(n_nodes):
            world.register(stake=node_stake(i))
        return world
