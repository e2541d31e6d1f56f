"""Inference escalation: split levels, the last level, too few nodes, and the challenge bond.

A module world of 26 staked nodes plays K = 3, Q = 2, L = 3 (level sizes 3, 7, 15: 25
members if a task goes all the way). `esc` has no challenge window (a unanimous level
settles at once); `chal` is the same with a challenge window and a bond. Each test runs in
the autouse anchor of conftest.py.
"""
from __future__ import annotations

from pathlib import Path

import boa
from inference_views import committee_of, members_of, seat_of
from brainnet.protocol.escalation import level_size, level_quorum
import pytest

from contract_world import (
    A, ABSENT, B, C, E18, FEE, PROVISIONAL, REFUNDED, REQUESTED, SEED_HORIZON, SETTLED, SILENT,
    SLASH_BPS, GENESIS, World, events,
)
from brainnet.protocol import sample_committee
from brainnet.protocol.escalation import level_seed

N_NODES = 26
K, Q, L = 3, 2, 3
SIZES = [3, 7, 15]
QUORUMS = [2, 4, 8]
CHALLENGE_WINDOW = 6
BOND = 5 * E18 + 3                # not a multiple of the agreeing counts below: dust

BLOCKHASH = Path(__file__).resolve().parents[1] / "BlockHash.vy"   # a view over blockhash(n)


@pytest.fixture(scope="module", autouse=True)
def _fresh_env():
    """This module's worlds live in a chain of their own: titanoboa's revert report decodes
    every storage key ever written at a contract's address with that contract's layout, and
    it crashes on keys an earlier test module's contract left at the same address."""
    with boa.swap_env(boa.Env()):
        yield


@pytest.fixture(scope="module")
def esc(deployers) -> World:
    return deployers.world(n_nodes=N_NODES, committee_size=K, quorum=Q, max_levels=L)


@pytest.fixture(scope="module")
def chal(deployers, esc) -> World:
    return deployers.attach_inference(esc, committee_size=K, quorum=Q, max_levels=L,
                                      challenge_window=CHALLENGE_WINDOW, challenge_bond=BOND)


@pytest.fixture(scope="module")
def blockhash():
    return boa.load(str(BLOCKHASH))


@pytest.fixture(autouse=True)
def _keep_lists(esc):
    nodes, accounts = list(esc.nodes), list(esc.accounts)
    yield
    esc.nodes[:], esc.accounts[:] = nodes, accounts


# ------------------------------------------------------------------ helpers

def block_number() -> int:
    return boa.env.evm.patch.block_number


def cut(stake: int) -> int:
    return stake * SLASH_BPS // 10_000


def stakes(w: World) -> dict:
    return {n: w.registry.stake_of(n) for n in w.nodes}


def play(w: World, task_id: int, plan) -> list:
    """Draw the task's current level, then every member commits and reveals as `plan`
    says (one behaviour per seat, in committee order: a value, SILENT or ABSENT); the
    deadlines pass when someone stays away. Returns the level's members."""
    members = w.draw(task_id)
    assert len(plan) == len(members)
    for m, b in zip(members, plan):
        if b != ABSENT:
            w.commit(task_id, m, World._result(b, m))
    if ABSENT in plan:
        w.past_commit_deadline(task_id)
    for m, b in zip(members, plan):
        if isinstance(b, bytes):
            w.reveal(task_id, m, b)
    if any(not isinstance(b, bytes) for b in plan):
        w.past_reveal_deadline(task_id)
    return members


def finalize(w: World, task_id: int) -> list:
    """Finalize the task; returns the logs of that call (later view calls replace
    `get_logs`, so tests read the events from here)."""
    w.inference.finalize(task_id, sender=w.owner)
    return w.inference.get_logs()


def named(logs: list, name: str) -> list:
    return [e for e in logs if type(e).__name__ == name]


def split_to(w: World, task_id: int, level: int) -> list[list]:
    """Play levels 0 .. level-1 as splits (no value reaches a unanimous quorum); returns
    the plans played, in committee order of each level."""
    plans = []
    for lv in range(level):
        plan = ([A, B, C] + [A, B] * 8)[: SIZES[lv]]
        play(w, task_id, plan)
        finalize(w, task_id)
        assert w.task(task_id).level == lv + 1
        plans.append(plan)
    return plans


def unbond_outsiders(w: World, task_id: int, count: int) -> None:
    """`count` nodes that sit on no level of the task leave (begin_unbond)."""
    outsiders = [n for n in w.nodes if not (seat_of(w.inference, task_id, n)[0] != 0)]
    for n in outsiders[:count]:
        w.registry.begin_unbond(sender=n)


# ------------------------------------------------------------------ parameters

def test_level_parameters_are_readable(esc, chal):
    for inference in (esc.inference, chal.inference):
        assert [level_size(inference.committee_size(), lv) for lv in range(L)] == SIZES
        assert [level_quorum(inference.committee_size(), inference.quorum(), lv) for lv in range(L)] == QUORUMS
        assert (inference.committee_size(), inference.quorum(), inference.max_levels()) == (K, Q, L)
    assert (esc.inference.challenge_window(), esc.inference.challenge_bond()) == (0, 0)
    assert (chal.inference.challenge_window(), chal.inference.challenge_bond()) == (CHALLENGE_WINDOW, BOND)


def test_constructor_rejects_bad_level_parameters(deployers, esc):
    args = (esc.token.address, esc.registry.address)
    for bad in (0, 7):
        with boa.reverts("inference: bad max_levels"):
            deployers.deploy_inference(*args, max_levels=bad)
    deployers.deploy_inference(*args, committee_size=31, quorum=16, max_levels=3)      # 31, 63, 127
    with boa.reverts("inference: levels too large"):
        deployers.deploy_inference(*args, committee_size=31, quorum=16, max_levels=4)  # 255 > 128
    with boa.reverts("inference: levels too large"):
        deployers.deploy_inference(*args, committee_size=64, quorum=33, max_levels=2)  # 129 > 128


# ------------------------------------------------------------------ split → level 1 → settled

def test_split_escalates_to_a_fresh_larger_committee_that_settles(esc, blockhash):
    w, inference, registry, token = esc, esc.inference, esc.registry, esc.token
    before_stakes, before = stakes(w), token.balanceOf(w.requester)
    task_id = w.request()
    level0 = play(w, task_id, [A, B, A])
    logs = finalize(w, task_id)

    (log,) = named(logs, "TaskEscalated")
    assert (log.task_id, log.level, log.size, log.seed_block) == (task_id, 1, 7, block_number() + 1)
    t = w.task(task_id)
    assert (t.status, t.level, t.seed_block) == (REQUESTED, 1, block_number() + 1)
    assert (t.commits, t.reveals, t.top_count, t.top_result) == (0, 0, 0, b"\0" * 32)
    assert not named(logs, "MemberSlashed")              # nobody is judged before the end
    w.assert_invariants()

    boa.env.time_travel(blocks=2)
    index_stakes = [registry.stake_of(n) for n in w.nodes]      # every node active: index i+1
    seed = level_seed(blockhash.at(t.seed_block), task_id, 1)
    exclude = [registry.nodes(m).index for m in level0]
    inference.draw(task_id, sender=w.owner)
    (drawn,) = events(inference, "CommitteeDrawn")
    level1 = list(committee_of(inference, task_id))
    assert (drawn.level, drawn.seed, list(drawn.members)) == (1, seed, level1)
    assert level1 == [w.nodes[i - 1] for i in sample_committee(index_stakes, seed, 7, exclude=exclude)]
    assert len(set(level1)) == 7 and not set(level1) & set(level0)
    assert list(members_of(inference, task_id)) == level0 + level1

    # level-0 members are done: they may not commit again
    with boa.reverts("inference: already committed"):
        w.commit(task_id, level0[0], A)
    for m in level1:
        w.commit(task_id, m, A)
    for m in level1:
        w.reveal(task_id, m, A)
    logs = finalize(w, task_id)                                 # all 7 revealed: no waiting

    agreeing = [level0[0], level0[2], *level1]
    share, dust = FEE // 9, FEE % 9
    (settled,) = named(logs, "TaskSettled")
    assert (settled.result, settled.agreeing, settled.share) == (A, 9, share)
    assert (w.task(task_id).status, w.task(task_id).result) == (SETTLED, A)
    dissenter = level0[1]
    assert [(e.member, e.reason) for e in named(logs, "MemberSlashed")] == [
        (dissenter, "inference: dissent from the final result")]
    for m in level0 + level1:
        assert inference.claimable(m) == (share if m in agreeing else 0)
        assert registry.stake_of(m) == before_stakes[m] - (cut(before_stakes[m]) if m == dissenter else 0)
        assert registry.nodes(m).pending == 1
    assert token.balanceOf(w.requester) == before - FEE + dust
    assert token.balanceOf(w.treasury) == cut(before_stakes[dissenter])
    w.assert_invariants()


def test_no_shows_and_dissenters_of_every_level_are_slashed(esc):
    w, inference, registry, token = esc, esc.inference, esc.registry, esc.token
    before_stakes, before = stakes(w), token.balanceOf(w.requester)
    task_id = w.request()
    level0 = play(w, task_id, [A, B, SILENT])        # 1 agrees with A: no quorum
    logs = finalize(w, task_id)
    assert w.task(task_id).level == 1
    plan1 = [B, B, ABSENT, B, B, SILENT, B]           # 5 of 5 revealers: B settles
    level1 = play(w, task_id, plan1)
    logs = finalize(w, task_id)
    t = w.task(task_id)
    assert (t.status, t.result, t.level) == (SETTLED, B, 1)
    slashed = {e.member: e.reason for e in named(logs, "MemberSlashed")}
    assert slashed == {
        level0[0]: "inference: dissent from the final result",       # revealed A, B won
        level0[2]: "inference: no reveal",
        level1[2]: "inference: no reveal",
        level1[5]: "inference: no reveal",
    }
    agreeing = [level0[1]] + [m for m, b in zip(level1, plan1) if b == B]
    share = FEE // 6
    for m in level0 + level1:
        assert inference.claimable(m) == (share if m in agreeing else 0)
        expected = before_stakes[m] - (cut(before_stakes[m]) if m in slashed else 0)
        assert registry.stake_of(m) == expected
    assert token.balanceOf(w.requester) == before - FEE + FEE % 6
    w.assert_invariants()


# ------------------------------------------------------------------ the last level

def test_split_at_the_last_level_settles_by_quorum(esc):
    w, inference, registry, token = esc, esc.inference, esc.registry, esc.token
    before_stakes, before = stakes(w), token.balanceOf(w.requester)
    task_id = w.request()
    plans = split_to(w, task_id, 2)
    plan2 = [A] * 9 + [B] * 5 + [SILENT]               # 9 >= quorum 8, not unanimous
    level2 = play(w, task_id, plan2)
    logs = finalize(w, task_id)
    escalations = named(logs, "TaskEscalated")
    assert escalations == []                          # no level left: settles
    t = w.task(task_id)
    assert (t.status, t.result, t.level, t.top_count) == (SETTLED, A, 2, 9)
    members = list(members_of(inference, task_id))
    assert len(members) == len(set(members)) == 25
    behaviour = dict(zip(members, plans[0] + plans[1] + plan2))
    agreeing = [m for m in members if behaviour[m] == A]
    assert len(agreeing) == 1 + 3 + 9
    share = FEE // len(agreeing)
    (settled,) = named(logs, "TaskSettled")
    assert (settled.agreeing, settled.share) == (len(agreeing), share)
    for m in members:
        b = behaviour[m]
        reason = None if b == A else ("inference: no reveal" if b == SILENT else "inference: dissent from the final result")
        assert inference.claimable(m) == (share if reason is None else 0)
        assert registry.stake_of(m) == before_stakes[m] - (0 if reason is None else cut(before_stakes[m]))
    assert {e.member: e.reason for e in named(logs, "MemberSlashed")} == {
        m: ("inference: no reveal" if behaviour[m] == SILENT else "inference: dissent from the final result")
        for m in members if behaviour[m] != A}
    assert token.balanceOf(w.requester) == before - FEE + FEE % len(agreeing)
    w.assert_invariants()


def test_no_quorum_at_the_last_level_refunds(esc):
    w, inference, registry, token = esc, esc.inference, esc.registry, esc.token
    before_stakes, before = stakes(w), token.balanceOf(w.requester)
    task_id = w.request()
    split_to(w, task_id, 1)
    plan1 = [A, B, A, B, A, B, SILENT]
    level1 = play(w, task_id, plan1)
    logs = finalize(w, task_id)
    plan2 = [A] * 7 + [B] * 7 + [C]                    # 7 < quorum 8
    play(w, task_id, plan2)
    logs = finalize(w, task_id)
    (log,) = named(logs, "TaskRefunded")
    assert (log.task_id, log.fee, log.top_count) == (task_id, FEE, 7)
    assert w.task(task_id).status == REFUNDED
    silent = level1[6]
    assert [(e.member, e.reason) for e in named(logs, "MemberSlashed")] == [(silent, "inference: no reveal")]
    for m in members_of(inference, task_id):
        assert inference.claimable(m) == 0
        assert registry.stake_of(m) == before_stakes[m] - (cut(before_stakes[m]) if m == silent else 0)
        assert registry.nodes(m).pending == 1
    assert token.balanceOf(w.requester) == before
    w.assert_invariants()


def test_last_level_settles_at_once_even_with_a_challenge_window(chal):
    w, inference = chal, chal.inference
    task_id = w.request()
    split_to(w, task_id, 2)
    play(w, task_id, [C] * 15)
    logs = finalize(w, task_id)
    assert not named(logs, "TaskProvisional")
    t = w.task(task_id)
    assert (t.status, t.result, t.level) == (SETTLED, C, 2)
    with boa.reverts("inference: no provisional result"):
        inference.challenge(task_id, sender=w.requester)
    w.assert_invariants()


# ------------------------------------------------------------------ too few nodes left

def test_too_few_nodes_left_settles_level_0_by_quorum(esc):
    w, inference, registry = esc, esc.inference, esc.registry
    task_id = w.request()
    members = w.draw(task_id)
    unbond_outsiders(w, task_id, N_NODES - 3 - 6)     # 6 nodes left outside: level 1 needs 7
    assert registry.available(w.task(task_id).model_id, members) == 6
    for m, b in zip(members, [A, A, B]):
        w.commit(task_id, m, b)
    for m, b in zip(members, [A, A, B]):
        w.reveal(task_id, m, b)
    logs = finalize(w, task_id)
    assert not named(logs, "TaskEscalated")
    t = w.task(task_id)
    assert (t.status, t.result, t.level) == (SETTLED, A, 0)
    assert [e.member for e in named(logs, "MemberSlashed")] == [members[2]]
    assert inference.claimable(members[0]) == FEE // 2
    w.assert_invariants()


def test_too_few_nodes_left_refunds_without_a_quorum(esc):
    w, inference = esc, esc.inference
    before = w.token.balanceOf(w.requester)
    task_id = w.request()
    split_to(w, task_id, 1)
    boa.env.time_travel(blocks=2)
    inference.draw(task_id, sender=w.owner)
    level1 = list(committee_of(inference, task_id))
    unbond_outsiders(w, task_id, 2)                   # 14 left outside: level 2 needs 15
    plan = [A, B, A, B, A, B, C]                      # 3 < quorum 4
    for m, b in zip(level1, plan):
        w.commit(task_id, m, b)
    for m, b in zip(level1, plan):
        w.reveal(task_id, m, b)
    logs = finalize(w, task_id)
    assert not named(logs, "TaskEscalated")
    (log,) = named(logs, "TaskRefunded")
    assert (log.fee, log.top_count) == (FEE, 3)
    assert w.task(task_id).status == REFUNDED
    assert w.token.balanceOf(w.requester) == before
    assert not named(logs, "MemberSlashed")
    w.assert_invariants()


def test_escalated_level_never_drawn_refunds_after_the_seed_horizon(esc):
    w, inference, registry = esc, esc.inference, esc.registry
    before = w.token.balanceOf(w.requester)
    task_id = w.request()
    level0 = play(w, task_id, [A, B, SILENT])
    logs = finalize(w, task_id)
    seed_block = w.task(task_id).seed_block
    boa.env.time_travel(blocks=seed_block + SEED_HORIZON - block_number())
    with boa.reverts("inference: not drawn, call draw"):
        finalize(w, task_id)
    boa.env.time_travel(blocks=1)
    with boa.reverts("inference: stale seed, finalize"):
        inference.draw(task_id)
    logs = finalize(w, task_id)
    t = w.task(task_id)
    assert (t.status, t.level) == (REFUNDED, 1)
    assert [(e.member, e.reason) for e in named(logs, "MemberSlashed")] == [(level0[2], "inference: no reveal")]
    assert w.token.balanceOf(w.requester) == before
    for m in level0:
        assert registry.nodes(m).pending == 1
    w.assert_invariants()


# ------------------------------------------------------------------ provisional results

def provisional(w: World, plan=(A, A, A)) -> tuple[int, list]:
    task_id = w.request()
    members = play(w, task_id, list(plan))
    (log,) = named(finalize(w, task_id), "TaskProvisional")
    assert (log.task_id, log.result) == (task_id, plan[0])
    return task_id, members


def challenge(w: World, task_id: int, sender=None) -> list:
    sender = sender or w.requester
    w.token.approve(w.inference.address, BOND, sender=sender)
    w.inference.challenge(task_id, sender=sender)
    return w.inference.get_logs()


def test_unanimous_level_0_is_provisional_until_the_window_ends(chal):
    w, inference, token = chal, chal.inference, chal.token
    before = token.balanceOf(w.requester)
    task_id = w.request()
    members = play(w, task_id, [A, A, A])
    (log,) = named(finalize(w, task_id), "TaskProvisional")
    deadline = block_number() + CHALLENGE_WINDOW
    assert (log.task_id, log.result, log.challenge_deadline) == (task_id, A, deadline)
    t = w.task(task_id)
    assert (t.status, t.result, t.challenge_deadline) == (PROVISIONAL, A, deadline)
    for m in members:
        assert inference.claimable(m) == 0
        assert w.registry.nodes(m).pending == 2
    w.assert_invariants()
    with boa.reverts("inference: challenge window open"):
        finalize(w, task_id)
    boa.env.time_travel(blocks=deadline - block_number())
    with boa.reverts("inference: challenge window open"):    # the deadline block is open
        finalize(w, task_id)
    boa.env.time_travel(blocks=1)
    logs = finalize(w, task_id)
    (settled,) = named(logs, "TaskSettled")
    assert (settled.result, settled.agreeing, settled.share) == (A, 3, FEE // 3)
    assert w.task(task_id).status == SETTLED
    for m in members:
        assert inference.claimable(m) == FEE // 3
        assert w.registry.nodes(m).pending == 1
    assert token.balanceOf(w.requester) == before - FEE + FEE % 3
    w.assert_invariants()


def test_challenge_won_returns_the_bond_and_slashes_level_0(chal):
    w, inference, registry, token = chal, chal.inference, chal.registry, chal.token
    before_stakes, before = stakes(w), token.balanceOf(w.requester)
    task_id, level0 = provisional(w)
    logs = challenge(w, task_id)
    (challenged,) = named(logs, "TaskChallenged")
    assert (challenged.task_id, challenged.challenger, challenged.bond) == (task_id, w.requester, BOND)
    (escalated,) = named(logs, "TaskEscalated")
    assert (escalated.level, escalated.size) == (1, 7)
    t = w.task(task_id)
    assert (t.status, t.level, t.challenger, t.bond, t.challenged) == (REQUESTED, 1, w.requester, BOND, A)
    assert token.balanceOf(w.requester) == before - FEE - BOND
    w.assert_invariants()
    with boa.reverts("inference: no provisional result"):      # one challenge per task
        challenge(w, task_id)

    level1 = play(w, task_id, [B] * 7)                  # level 0 lied
    logs = finalize(w, task_id)
    assert not named(logs, "TaskProvisional")     # a challenged task is final at once
    t = w.task(task_id)
    assert (t.status, t.result) == (SETTLED, B)
    assert {e.member: e.reason for e in named(logs, "MemberSlashed")} == {
        m: "inference: dissent from the final result" for m in level0}
    for m in level0:
        assert registry.stake_of(m) == before_stakes[m] - cut(before_stakes[m])
        assert inference.claimable(m) == 0
    for m in level1:
        assert inference.claimable(m) == FEE // 7
    assert token.balanceOf(w.requester) == before - FEE + FEE % 7      # bond back
    w.assert_invariants()
    with boa.reverts("inference: no provisional result"):
        challenge(w, task_id)


def test_challenge_lost_pays_the_bond_to_the_committee(chal):
    w, inference, registry, token = chal, chal.inference, chal.registry, chal.token
    before_stakes, before = stakes(w), token.balanceOf(w.requester)
    task_id, level0 = provisional(w)
    challenge(w, task_id)
    level1 = play(w, task_id, [A] * 7)
    logs = finalize(w, task_id)
    pot = FEE + BOND
    share, dust = pot // 10, pot % 10
    assert dust > 0
    (settled,) = named(logs, "TaskSettled")
    assert (settled.result, settled.agreeing, settled.share) == (A, 10, share)
    assert not named(logs, "MemberSlashed")
    for m in level0 + level1:
        assert inference.claimable(m) == share
        assert registry.stake_of(m) == before_stakes[m]
    assert token.balanceOf(w.requester) == before - FEE - BOND + dust
    w.assert_invariants()


def test_challenge_then_no_quorum_refunds_fee_and_bond(chal):
    w, inference, token = chal, chal.inference, chal.token
    before = token.balanceOf(w.requester)
    task_id, level0 = provisional(w)
    challenge(w, task_id)
    plan = [A, B, A, B, C, C, SILENT]
    play(w, task_id, plan)
    unbond_outsiders(w, task_id, N_NODES - 10 - 14)   # level 2 cannot be drawn
    logs = finalize(w, task_id)
    assert w.task(task_id).status == REFUNDED
    assert token.balanceOf(w.requester) == before
    assert len(named(logs, "MemberSlashed")) == 1
    w.assert_invariants()


def test_challenge_at_level_1_escalates_to_level_2(chal):
    w, inference = chal, chal.inference
    before = w.token.balanceOf(w.requester)
    task_id = w.request()
    split_to(w, task_id, 1)
    play(w, task_id, [B] * 7)
    logs = finalize(w, task_id)
    assert w.task(task_id).status == PROVISIONAL
    challenge(w, task_id)
    assert w.task(task_id).level == 2
    play(w, task_id, [A] * 15)
    logs = finalize(w, task_id)
    t = w.task(task_id)
    assert (t.status, t.result) == (SETTLED, A)
    members = list(members_of(inference, task_id))
    level0, level1, level2 = members[:3], members[3:10], members[10:]
    for m in level1:
        assert inference.claimable(m) == 0
    agreeing = [level0[0], *level2]                    # level 0 played A, B, C
    for m in agreeing:
        assert inference.claimable(m) == FEE // 16
    assert w.token.balanceOf(w.requester) == before - FEE + FEE % 16     # the bond came back
    w.assert_invariants()


# ------------------------------------------------------------------ challenge reverts

def test_challenge_by_anyone_but_the_requester_reverts(chal):
    task_id, members = provisional(chal)
    chal.token.approve(chal.inference.address, BOND, sender=chal.owner)    # a funded outsider
    for who in (members[0], chal.owner):
        with boa.reverts("inference: only the requester"):
            chal.inference.challenge(task_id, sender=who)
    assert chal.task(task_id).status == PROVISIONAL


def test_challenge_after_the_window_reverts(chal):
    task_id, _ = provisional(chal)
    boa.env.time_travel(blocks=CHALLENGE_WINDOW)
    assert block_number() == chal.task(task_id).challenge_deadline
    with boa.env.anchor():
        challenge(chal, task_id)                         # the deadline block is still open
        assert chal.task(task_id).status == REQUESTED
    boa.env.time_travel(blocks=1)
    with boa.reverts("inference: challenge too late"):
        challenge(chal, task_id)


def test_challenge_with_no_level_left_reverts(chal):
    task_id, members = provisional(chal)
    unbond_outsiders(chal, task_id, N_NODES - 3 - 6)
    with boa.reverts("inference: no level to escalate"):
        challenge(chal, task_id)
    boa.env.time_travel(blocks=CHALLENGE_WINDOW + 1)
    finalize(chal, task_id)
    assert chal.task(task_id).status == SETTLED


def test_challenge_without_a_provisional_result_reverts(chal):
    w = chal
    task_id = w.request()
    with boa.reverts("inference: no provisional result"):       # REQUESTED
        challenge(w, task_id)
    members = w.draw(task_id)
    with boa.reverts("inference: no provisional result"):       # DRAWN
        challenge(w, task_id)
    with boa.reverts("inference: no provisional result"):       # unknown task
        challenge(w, 99)
    for m in members:
        w.commit(task_id, m, A)
    for m in members:
        w.reveal(task_id, m, A)
    logs = finalize(w, task_id)
    boa.env.time_travel(blocks=CHALLENGE_WINDOW + 1)
    logs = finalize(w, task_id)
    with boa.reverts("inference: no provisional result"):       # SETTLED
        challenge(w, task_id)


def test_challenge_without_allowance_reverts(chal):
    task_id, _ = provisional(chal)
    chal.token.approve(chal.inference.address, BOND - 1, sender=chal.requester)
    with boa.reverts("token: allowance too low"):
        chal.inference.challenge(task_id, sender=chal.requester)


# ------------------------------------------------------------------ bond transfers that fail

@pytest.fixture(scope="module")
def fchal(deployers):
    """K = 1, L = 2 over 5 nodes, on a token that returns False on demand; slashes take
    nothing (slash_bps = 0), so no Registry transfer runs before the bond's."""
    from test_transfer_failures import FALSE_TOKEN
    token = boa.loads(FALSE_TOKEN)
    w = deployers.world(n_nodes=5, token=token, committee_size=1, quorum=1, max_levels=2, slash_bps=0,
                        challenge_window=CHALLENGE_WINDOW, challenge_bond=BOND)
    w.fund(w.requester, GENESIS)
    return w


def test_bond_transfer_failures_revert(fchal):
    w = fchal
    task_id, _ = provisional(w, [A])
    w.token.approve(w.inference.address, BOND, sender=w.requester)
    w.token.set_failing(True)
    with boa.reverts("inference: bond transfer failed"):
        w.inference.challenge(task_id, sender=w.requester)
    w.token.set_failing(False)
    w.inference.challenge(task_id, sender=w.requester)
    play(w, task_id, [B, B, B])                           # the result changed: the bond goes back
    w.token.set_failing(True)
    with boa.reverts("inference: bond transfer failed"):
        finalize(w, task_id)
    w.token.set_failing(False)
    logs = finalize(w, task_id)
    assert w.task(task_id).status == SETTLED
