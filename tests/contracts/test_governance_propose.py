"""Governance deployment and propose: targets, threshold at the snapshot block, what a proposal records."""
import boa
import pytest

from contract_world import events
from economy_world import (ACTIVE, GRACE, QUORUM_BPS, THRESHOLD, TIMELOCK, VOTING_PERIOD, deploy_governance,
                           economy)  # noqa: F401

ZERO = "0x" + "00" * 20


def test_deploy_stores_parameters_and_targets(world, economy):
    g = economy.governance
    assert g.token() == world.token.address
    assert (g.proposal_threshold(), g.quorum_bps(), g.voting_period(), g.timelock_blocks(), g.grace_blocks()) == \
        (THRESHOLD, QUORUM_BPS, VOTING_PERIOD, TIMELOCK, GRACE)
    for c in (world.registry, world.inference, economy.emission):
        assert g.targets(c.address)
        assert c.governance() == g.address
    assert not g.targets(world.token.address)
    assert g.proposal_count() == 0 and g.state(1) == 0


@pytest.mark.parametrize("kwargs, reason", [
    ({"quorum_bps": 0}, "governance: quorum_bps out of range"),
    ({"quorum_bps": 10_001}, "governance: quorum_bps out of range"),
    ({"voting_period": 0}, "governance: voting_period must be positive"),
    ({"grace": 0}, "governance: grace_blocks must be positive"),
])
def test_deploy_rejects_bad_parameters(world, kwargs, reason):
    with boa.reverts(reason):
        deploy_governance(world.token.address, [], **kwargs)


def test_deploy_rejects_a_zero_target(world):
    with boa.reverts("governance: target is the zero address"):
        deploy_governance(world.token.address, [ZERO])


def test_propose_records_the_proposal(world, economy):
    g = economy.governance
    voter = economy.voter(THRESHOLD)
    economy.mine(1)
    block = economy.block()
    pid = g.propose(world.inference.address, 1, 7, sender=voter)
    (ev,) = events(g, "ProposalCreated")
    assert pid == 1 == g.proposal_count()
    supply = world.token.get_past_total_supply(block - 1)
    expected = (voter, world.inference.address, 1, 7, block - 1, block + VOTING_PERIOD,
                block + VOTING_PERIOD + TIMELOCK + 1, block + VOTING_PERIOD + TIMELOCK + GRACE,
                supply * QUORUM_BPS // 10_000, 0, 0, False, False)
    assert tuple(g.proposals(pid)) == expected
    assert (ev.proposal_id, ev.proposer, ev.target, ev.param, ev.value, ev.snapshot, ev.quorum_votes) == \
        (1, voter, world.inference.address, 1, 7, block - 1, supply * QUORUM_BPS // 10_000)
    assert g.state(pid) == ACTIVE


def test_propose_may_target_governance_itself(economy):
    voter = economy.voter(THRESHOLD)
    economy.mine(1)
    assert economy.governance.propose(economy.governance.address, 3, 5, sender=voter) == 1


def test_propose_rejects_an_unknown_target(world, economy):
    voter = economy.voter(THRESHOLD)
    economy.mine(1)
    with boa.reverts("governance: unknown target"):
        economy.governance.propose(world.token.address, 1, 1, sender=voter)


def test_threshold_counts_the_block_before(world, economy):
    """Tokens received in the proposal's own block do not count: the snapshot is the block before."""
    voter = economy.voter(THRESHOLD - 1)
    economy.mine(1)
    with boa.reverts("governance: votes below the proposal threshold"):
        economy.governance.propose(world.inference.address, 1, 7, sender=voter)
    world.token.transfer(voter, 1, sender=world.owner)
    with boa.reverts("governance: votes below the proposal threshold"):
        economy.governance.propose(world.inference.address, 1, 7, sender=voter)
    economy.mine(1)
    assert economy.governance.propose(world.inference.address, 1, 7, sender=voter) == 1


def test_zero_threshold_lets_anyone_propose(world):
    g = deploy_governance(world.token.address, [world.inference.address], threshold=0)
    boa.env.time_travel(blocks=1)
    assert g.propose(world.inference.address, 2, 4, sender=boa.env.generate_address()) == 1
    assert g.proposals(1).quorum_votes == world.token.totalSupply() * QUORUM_BPS // 10_000
