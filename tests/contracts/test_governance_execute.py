"""Governance.execute and cancel: timelock, expiry, every target, cancel rules."""
import boa
import pytest

from contract_world import A, events
from economy_world import (CANCELED, EXECUTED, EXPIRED, GRACE, THRESHOLD, TIMELOCK, VOTING_PERIOD, economy)  # noqa: F401


def test_execute_changes_the_committee_size_and_the_next_task_uses_it(world, economy):
    g, inf = economy.governance, world.inference
    old = world.run_task([A] * 5, finalize=False)           # open under K = 5
    pid = economy.pass_proposal(inf.address, 1, 7)
    g.execute(pid, sender=world.requester)
    (ev,) = events(g, "ProposalExecuted")
    assert (ev.proposal_id, ev.target, ev.param, ev.value) == (pid, inf.address, 1, 7)
    assert g.state(pid) == EXECUTED and g.proposals(pid).executed
    assert (inf.committee_size(), inf.quorum()) == (7, 4)
    new_id, members = world.open_task()
    assert len(members) == 7 and tuple(inf.task_terms(new_id)) == (7, 4, 1)
    # the task opened before keeps its committee of 5 and settles by its own rules
    assert tuple(inf.task_terms(old.task_id)) == (5, 3, 1)
    world.past_reveal_deadline(old.task_id)
    inf.finalize(old.task_id)
    assert world.task(old.task_id).status == 4


@pytest.mark.parametrize("target, param, value, getter", [
    ("registry", 1, 150 * 10**18, "min_stake"),
    ("registry", 4, 5_000, "slash_burn_bps"),
    ("inference", 5, 2_000, "slash_bps"),
    ("inference", 3, 33, "commit_window"),
    ("emission", 1, 1_234, "inference_weight_bps"),
    ("governance", 3, 55, "voting_period"),
    ("governance", 1, 7, "proposal_threshold"),
])
def test_execute_reaches_every_target(world, economy, target, param, value, getter):
    contract = {"registry": world.registry, "inference": world.inference, "emission": economy.emission,
                "governance": economy.governance}[target]
    economy.governance.execute(economy.pass_proposal(contract.address, param, value))
    assert getattr(contract, getter)() == value


def test_governance_adds_and_removes_targets(world, economy):
    g, new = economy.governance, boa.env.generate_address()
    g.execute(economy.pass_proposal(g.address, 6, int(new, 16)))
    assert g.targets(new)
    g.execute(economy.pass_proposal(g.address, 7, int(new, 16)))
    assert not g.targets(new)


def test_execute_reverts_in_every_other_state(world, economy):
    g = economy.governance
    with boa.reverts("governance: unknown proposal"):
        g.execute(1)
    voter = economy.voter(world.token.totalSupply() // 10)
    economy.mine(1)
    pid = g.propose(world.inference.address, 2, 4, sender=voter)
    with boa.reverts("governance: voting still open"):
        g.execute(pid)
    g.vote(pid, True, sender=voter)
    economy.mine(VOTING_PERIOD + 1)
    with boa.reverts("governance: timelock not over"):
        g.execute(pid)
    economy.mine(g.proposals(pid).expires - economy.block() + 1)
    assert g.state(pid) == EXPIRED
    with boa.reverts("governance: proposal expired"):
        g.execute(pid)
    lost = g.propose(world.inference.address, 2, 4, sender=voter)
    economy.mine(VOTING_PERIOD + 1)
    with boa.reverts("governance: proposal defeated"):
        g.execute(lost)
    done = economy.pass_proposal(world.inference.address, 2, 4, voter=voter)
    g.execute(done)
    with boa.reverts("governance: proposal already executed"):
        g.execute(done)


def test_execute_stays_open_for_the_grace_period(world, economy):
    g = economy.governance
    pid = economy.pass_proposal(world.inference.address, 2, 4)
    economy.mine(GRACE - 1)
    g.execute(pid)
    assert world.inference.quorum() == 4


def test_a_failing_change_reverts_the_execution(world, economy):
    g = economy.governance
    pid = economy.pass_proposal(world.inference.address, 2, 1)      # quorum 1 of 5: not a majority
    with boa.reverts("inference: quorum not a majority"):
        g.execute(pid)
    assert not g.proposals(pid).executed
    bad = economy.pass_proposal(g.address, 99, 1)
    with boa.reverts("governance: unknown parameter"):
        g.execute(bad)


def test_a_removed_target_cannot_be_changed(world, economy):
    g = economy.governance
    voter = economy.voter(world.token.totalSupply() // 10)
    economy.mine(1)
    pid = g.propose(world.inference.address, 2, 4, sender=voter)
    removal = g.propose(g.address, 7, int(world.inference.address, 16), sender=voter)
    g.vote(pid, True, sender=voter)
    g.vote(removal, True, sender=voter)
    economy.mine(VOTING_PERIOD + TIMELOCK + 1)
    g.execute(removal)
    with boa.reverts("governance: target no longer allowed"):
        g.execute(pid)


def test_proposer_cancels(world, economy):
    g = economy.governance
    voter = economy.voter(THRESHOLD)
    economy.mine(1)
    pid = g.propose(world.inference.address, 2, 4, sender=voter)
    with boa.reverts("governance: only the proposer may cancel while it holds the threshold"):
        g.cancel(pid, sender=world.requester)
    g.cancel(pid, sender=voter)
    (ev,) = events(g, "ProposalCanceled")
    assert (ev.proposal_id, ev.by) == (pid, voter)
    assert g.state(pid) == CANCELED
    with boa.reverts("governance: proposal already canceled"):
        g.cancel(pid, sender=voter)
    with boa.reverts("governance: proposal canceled"):
        g.execute(pid)
    with boa.reverts("governance: voting is closed"):
        g.vote(pid, True, sender=world.owner)


def test_anyone_cancels_once_the_proposer_drops_below_the_threshold(world, economy):
    g = economy.governance
    voter = economy.voter(THRESHOLD)
    economy.mine(1)
    pid = g.propose(world.inference.address, 2, 4, sender=voter)
    world.token.transfer(world.owner, 1, sender=voter)
    economy.mine(1)
    g.cancel(pid, sender=world.requester)
    assert g.state(pid) == CANCELED


def test_cancel_reverts(world, economy):
    g = economy.governance
    with boa.reverts("governance: unknown proposal"):
        g.cancel(3)
    pid = economy.pass_proposal(world.inference.address, 2, 4)
    g.execute(pid)
    with boa.reverts("governance: proposal already executed"):
        g.cancel(pid, sender=g.proposals(pid).proposer)


def test_only_governance_changes_parameters_once_handed_over(world, economy):
    with boa.reverts("inference: only governance"):
        world.inference.set_param(1, 7, sender=world.owner)
    with boa.reverts("registry: only governance may set parameters"):
        world.registry.set_param(1, 1, sender=world.owner)


@pytest.mark.parametrize("param, value, reason", [
    (2, 0, "governance: quorum_bps out of range"),
    (2, 10_001, "governance: quorum_bps out of range"),
    (3, 0, "governance: voting_period must be positive"),
    (5, 0, "governance: grace_blocks must be positive"),
    (6, 2**160, "governance: target is not an address"),
    (6, 0, "governance: target is the zero address"),
])
def test_own_parameter_changes_are_checked(economy, param, value, reason):
    g = economy.governance
    pid = economy.pass_proposal(g.address, param, value)
    with boa.reverts(reason):
        g.execute(pid)


def test_own_parameters_change_later_proposals_only(world, economy):
    g = economy.governance
    voter = economy.voter(world.token.totalSupply() // 10)
    economy.mine(1)
    open_one = g.propose(world.inference.address, 2, 4, sender=voter)
    g.execute(economy.pass_proposal(g.address, 3, 3, voter=voter))      # voting period 20 -> 3
    assert g.voting_period() == 3
    p = g.proposals(open_one)
    assert p.vote_end - (p.snapshot + 1) == VOTING_PERIOD                 # kept its own period
    economy.mine(1)
    later = g.propose(world.inference.address, 2, 4, sender=voter)
    q = g.proposals(later)
    assert q.vote_end - (q.snapshot + 1) == 3
