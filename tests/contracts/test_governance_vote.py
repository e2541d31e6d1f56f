"""Governance.vote: one vote per address, weighted by the balance at the snapshot; moved tokens never vote twice."""
import boa

from contract_world import events
from economy_world import ACTIVE, DEFEATED, EXECUTABLE, QUEUED, THRESHOLD, TIMELOCK, VOTING_PERIOD, economy  # noqa: F401


def _proposal(economy, proposer_votes=THRESHOLD):
    proposer = economy.voter(proposer_votes)
    economy.mine(1)
    return economy.governance.propose(economy.world.inference.address, 2, 4, sender=proposer), proposer


def test_vote_counts_the_snapshot_balance(world, economy):
    g = economy.governance
    pid, proposer = _proposal(economy)
    assert g.vote(pid, True, sender=proposer) == THRESHOLD
    (ev,) = events(g, "VoteCast")
    assert (ev.proposal_id, ev.voter, ev.support, ev.weight) == (pid, proposer, True, THRESHOLD)
    against = economy.voter(5)
    economy.mine(1)
    # `against` got its tokens after the snapshot: no votes
    with boa.reverts("governance: no votes at the snapshot"):
        g.vote(pid, False, sender=against)
    p = g.proposals(pid)
    assert (p.votes_for, p.votes_against) == (THRESHOLD, 0)
    assert g.has_voted(pid, proposer)


def test_moved_tokens_cannot_vote_twice(world, economy):
    g = economy.governance
    pid, proposer = _proposal(economy)
    g.vote(pid, True, sender=proposer)
    friend = boa.env.generate_address()
    world.token.transfer(friend, THRESHOLD, sender=proposer)
    economy.mine(1)
    with boa.reverts("governance: no votes at the snapshot"):
        g.vote(pid, True, sender=friend)
    with boa.reverts("governance: already voted"):
        g.vote(pid, False, sender=proposer)
    assert g.proposals(pid).votes_for == THRESHOLD


def test_vote_against(world, economy):
    g = economy.governance
    pid, proposer = _proposal(economy)
    g.vote(pid, False, sender=world.owner)
    p = g.proposals(pid)
    assert p.votes_against == world.token.get_past_votes(world.owner, p.snapshot) and p.votes_for == 0


def test_vote_reverts_on_an_unknown_or_closed_proposal(world, economy):
    g = economy.governance
    with boa.reverts("governance: unknown proposal"):
        g.vote(9, True, sender=world.owner)
    pid, _ = _proposal(economy)
    economy.mine(VOTING_PERIOD + 1)
    with boa.reverts("governance: voting is closed"):
        g.vote(pid, True, sender=world.owner)


def test_states_of_a_passing_proposal(world, economy):
    g = economy.governance
    pid, _ = _proposal(economy)
    g.vote(pid, True, sender=world.owner)
    p = g.proposals(pid)
    economy.mine(p.vote_end - economy.block())
    assert g.state(pid) == ACTIVE                         # the last voting block
    economy.mine(1)
    assert g.state(pid) == QUEUED
    economy.mine(p.eta - economy.block() - 1)
    assert g.state(pid) == QUEUED
    economy.mine(1)
    assert g.state(pid) == EXECUTABLE
    assert p.eta == p.vote_end + TIMELOCK + 1


def test_without_quorum_or_majority_a_proposal_is_defeated(world, economy):
    g = economy.governance
    pid, proposer = _proposal(economy)                     # proposer's votes are far below quorum
    g.vote(pid, True, sender=proposer)
    economy.mine(VOTING_PERIOD + 1)
    assert g.proposals(pid).votes_for < g.proposals(pid).quorum_votes
    assert g.state(pid) == DEFEATED
    # a tie with quorum: defeated too
    a, b = economy.voter(world.token.totalSupply() // 10), economy.voter(world.token.totalSupply() // 10)
    pid2, _ = _proposal(economy)
    g.vote(pid2, True, sender=a)
    g.vote(pid2, False, sender=b)
    economy.mine(VOTING_PERIOD + 1)
    assert g.state(pid2) == DEFEATED
