"""Emission and Governance on top of the contract tests' world, wired as `brainnet` deploys them.

`Economy` adds an Emission contract (the Token's minter, Inference reporting work to it)
and a Governance contract (the governance of Registry, Inference and Emission) to the
session's `World`. Fixtures `economy` and `emission_only` are imported by the
test_emission_* and test_governance_* files.
"""
from __future__ import annotations

from dataclasses import dataclass

import boa
import pytest

from contract_world import CONTRACTS, E18, World

EPOCH_BLOCKS = 100
INITIAL_EMISSION = 1_000 * E18
DECAY_BPS = 500                    # each epoch mints 5 % less
INFERENCE_WEIGHT_BPS = 7_000
THRESHOLD = 1_000 * E18
QUORUM_BPS = 400                   # 4 % of the supply
VOTING_PERIOD = 20
TIMELOCK = 10
GRACE = 30
INFERENCE, TRAINING = 1, 2
ACTIVE, DEFEATED, QUEUED, EXECUTABLE, EXPIRED, EXECUTED, CANCELED = range(1, 8)

_emission = boa.load_partial(str(CONTRACTS / "Emission.vy"))
_governance = boa.load_partial(str(CONTRACTS / "Governance.vy"))


def deploy_emission(token, epoch_blocks=EPOCH_BLOCKS, initial=INITIAL_EMISSION, decay_bps=DECAY_BPS,
                    weight=INFERENCE_WEIGHT_BPS):
    return _emission.deploy(token, epoch_blocks, initial, decay_bps, weight)


def deploy_governance(token, targets, threshold=THRESHOLD, quorum_bps=QUORUM_BPS, voting_period=VOTING_PERIOD,
                      timelock=TIMELOCK, grace=GRACE):
    return _governance.deploy(token, targets, threshold, quorum_bps, voting_period, timelock, grace)


@dataclass
class Economy:
    world: World
    emission: object
    governance: object

    def mine(self, blocks: int = 1) -> None:
        boa.env.time_travel(blocks=blocks)

    def block(self) -> int:
        return boa.env.evm.patch.block_number

    def next_epoch(self) -> None:
        e = self.emission
        target = e.genesis_block() + (e.current_epoch() + 1) * e.epoch_blocks()
        self.mine(target - self.block())

    def voter(self, amount: int):
        """A fresh account holding `amount` (sent by the owner), with a block mined so it counts."""
        account = boa.env.generate_address()
        self.world.token.transfer(account, amount, sender=self.world.owner)
        self.world.track(account)
        return account

    def pass_proposal(self, target, param: int, value: int, voter=None) -> int:
        """Propose, vote it through with enough votes, wait out the timelock; returns the id."""
        voter = voter or self.voter(self.world.token.totalSupply() // 10)
        self.mine(1)
        pid = self.governance.propose(target, param, value, sender=voter)
        self.governance.vote(pid, True, sender=voter)
        self.mine(VOTING_PERIOD + TIMELOCK + 1)
        assert self.governance.state(pid) == EXECUTABLE
        return pid


@pytest.fixture
def economy(world) -> Economy:
    """Emission is the minter and Inference's work source; Governance governs all three.
    Genesis balances exist before the minter moves, so `world.fund` must not be used."""
    owner = world.owner
    with boa.env.prank(owner):
        emission = deploy_emission(world.token.address)
        emission.set_param(2, int(world.inference.address, 16))        # Inference reports inference work
        world.inference.set_param(10, int(emission.address, 16))        # Inference -> Emission
        governance = deploy_governance(world.token.address, [world.registry.address, world.inference.address,
                                                             emission.address])
        for c in (world.registry, world.inference, emission):
            c.set_governance(governance.address)
        world.token.set_minter(emission.address)
    world.track(emission.address)
    world.track(governance.address)
    return Economy(world, emission, governance)


@pytest.fixture
def emission_only(world) -> Economy:
    """An Emission contract governed by the owner, with a plain account as work source."""
    owner = world.owner
    with boa.env.prank(owner):
        emission = deploy_emission(world.token.address)
        world.token.set_minter(emission.address)
    world.track(emission.address)
    return Economy(world, emission, None)
