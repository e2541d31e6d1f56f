"""Training.vy: constructor checks, `open_round` (escrow, deadlines, every revert), `draw`, `phase`."""
from __future__ import annotations

from pathlib import Path

import boa

from brainnet.protocol import sample_committee
from brainnet.protocol.commitment import task_seed

from brainnet.protocol import keccak
from contract_world import MODEL, OTHER_MODEL, events
from training_world import (
    COMMITTEE_SIZE, POOL, THRESHOLD, WINDOW, _rollback, training_deployers, tw,  # noqa: F401
)


def test_constructor_reverts(tw):
    d = training_deployers()
    args = (tw.token.address, tw.registry.address, tw.models.address)
    with boa.reverts("training: committee size out of range"):
        d.deploy_training(*args, committee_size=0)
    with boa.reverts("training: committee size out of range"):
        d.deploy_training(*args, committee_size=33, confirm_quorum=17)
    with boa.reverts("training: quorum must be a majority of the committee"):
        d.deploy_training(*args, confirm_quorum=2)
    with boa.reverts("training: quorum must be a majority of the committee"):
        d.deploy_training(*args, confirm_quorum=6)
    with boa.reverts("training: bps above 10000"):
        d.deploy_training(*args, committee_bps=10_001)
    with boa.reverts("training: vote window must be positive"):
        d.deploy_training(*args, vote_window=0)


def test_open_round_escrows_and_sets_deadlines(tw):
    before = tw.token.balanceOf(tw.owner)
    start = boa.env.evm.patch.block_number
    rid = tw.open_round(windows=(3, 4, 5, 6, 7, 8))
    ev = events(tw.training, "RoundOpened")[0]
    assert rid == 1 and tw.training.round_count() == 1
    r = tw.round(rid)
    assert tw.token.balanceOf(tw.owner) == before - POOL
    assert tw.token.balanceOf(tw.training.address) == POOL
    opened = start                     # titanoboa does not advance blocks per transaction
    assert r.seed_block == opened + 1
    assert [r.update_commit_deadline, r.update_reveal_deadline, r.score_commit_deadline, r.score_reveal_deadline,
            r.confirm_commit_deadline, r.confirm_reveal_deadline] == [opened + s for s in (3, 7, 12, 18, 25, 33)]
    assert list(ev.deadlines) == [opened + s for s in (3, 7, 12, 18, 25, 33)]
    assert r.seat_reward == POOL * 1000 // 10000 // COMMITTEE_SIZE
    assert (r.version, r.threshold, r.owner) == (1, THRESHOLD, tw.owner)
    tw.assert_invariants()


def test_open_round_reverts(tw):
    stranger = tw.new_account(10 * POOL)
    with boa.reverts("training: only the model owner may open a round"):
        tw.open_round(sender=stranger)
    with boa.reverts("training: version does not exist"):
        tw.open_round(version=2)
    with boa.reverts("training: reward pool is zero"):
        tw.open_round(pool=0)
    with boa.reverts("training: threshold above the maximum score"):
        tw.open_round(threshold=10_001)
    with boa.reverts("training: windows must be positive"):
        tw.open_round(windows=(1, 1, 0, 1, 1, 1))
    # a model in Models that the Registry does not know
    tw.models.create_model(keccak(b"unregistered"), keccak(b"w"), "", sender=tw.owner)
    with boa.reverts("training: model is not registered in the Registry"):
        tw.open_round(model=keccak(b"unregistered"), version=1)
    # registered, but served by nobody
    tw.models.create_model(OTHER_MODEL, keccak(b"w"), "", sender=tw.owner)
    with boa.reverts("training: not enough active nodes for the committee"):
        tw.open_round(model=OTHER_MODEL, version=1)
    # no allowance
    with boa.reverts():
        tw.training.open_round(MODEL, 1, POOL, THRESHOLD, [WINDOW] * 6, sender=tw.new_account(POOL))


def test_draw_mirrors_the_registry_sample(tw):
    rid = tw.open_round()
    with boa.reverts("training: seed block not mined yet"):
        tw.training.draw(rid, sender=tw.owner)
    tw.travel_to(tw.round(rid).seed_block + 1)
    tw.training.draw(rid, sender=tw.new_account())        # anyone may draw
    ev = events(tw.training, "CommitteeDrawn")[0]
    members = list(tw.training.committee(rid))
    r = tw.round(rid)
    assert list(ev.members) == members and len(members) == COMMITTEE_SIZE and len(set(members)) == COMMITTEE_SIZE
    assert list(tw.registry.sample(MODEL, ev.seed, COMMITTEE_SIZE)) == members
    for i, m in enumerate(members):
        assert tw.training.seat_of(rid, m) == i + 1
        assert tw.registry.nodes(m).pending == 2          # cannot withdraw before the round closes
    assert r.drawn
    with boa.reverts("training: committee already drawn"):
        tw.training.draw(rid, sender=tw.owner)
    with boa.reverts("training: unknown round"):
        tw.training.draw(99, sender=tw.owner)


def test_draw_equals_the_python_mirror(tw):
    """The seed is keccak(blockhash(seed_block), round_id) and the committee is
    `protocol.committee.sample_committee` over the registry's stakes (1-based node indices)."""
    rid = tw.open_round()
    members = tw.draw(rid)
    blockhash = boa.load(str(Path(__file__).resolve().parents[1] / "BlockHash.vy"))
    seed = task_seed(blockhash.at(tw.round(rid).seed_block), rid)
    count = tw.registry.node_count()
    stakes = [tw.registry.stake_of(tw.registry.node_at(i)) for i in range(1, count + 1)]
    drawn = sample_committee(stakes, seed, COMMITTEE_SIZE)
    assert [tw.registry.node_at(i) for i in drawn] == members


def test_draw_windows(tw):
    rid = tw.open_round()
    tw.past(rid, "score_commit_deadline")
    with boa.reverts("training: score commit window closed"):
        tw.training.draw(rid, sender=tw.owner)
    rid2 = tw.open_round(windows=(300, 1, 1, 1, 1, 1))
    tw.travel_to(tw.round(rid2).seed_block + 257)
    with boa.reverts("training: seed block too old"):
        tw.training.draw(rid2, sender=tw.owner)


def test_phase_follows_blocks(tw):
    assert tw.training.phase(5) == 0
    rid = tw.open_round()
    assert tw.training.phase(rid) == 1
    names = ["update_commit_deadline", "update_reveal_deadline", "score_commit_deadline", "score_reveal_deadline",
             "confirm_commit_deadline", "confirm_reveal_deadline"]
    for i, name in enumerate(names):
        tw.past(rid, name)
        assert tw.training.phase(rid) == i + 2
    tw.training.finalize_scores(rid, sender=tw.owner)
    tw.training.finalize_aggregate(rid, sender=tw.owner)
    assert tw.training.phase(rid) == 8
