"""Inference deployment, request (fee escrow) and draw (committee from the next block's hash)."""
from pathlib import Path

import boa
from inference_views import committee_of, seat_of, task_view
import pytest

from contract_world import (
    COMMIT_WINDOW, COMMITTEE_SIZE, DRAWN, FEE, MIN_FEE, MODEL, OTHER_MODEL, QUORUM, REQUESTED,
    REVEAL_WINDOW, SEED_HORIZON, SLASH_BPS, events, keccak,
)
from brainnet.protocol import task_seed

BLOCKHASH = Path(__file__).resolve().parents[1] / "BlockHash.vy"   # a view over blockhash(n)


def block_number() -> int:
    return boa.env.evm.patch.block_number


# ------------------------------------------------------------------ deployment

def test_deployment_parameters(world, inference):
    assert inference.token() == world.token.address
    assert inference.registry() == world.registry.address
    assert (inference.committee_size(), inference.quorum(), inference.commit_window(), inference.reveal_window(),
            inference.slash_bps(), inference.min_fee(), inference.task_count()) == (
        COMMITTEE_SIZE, QUORUM, COMMIT_WINDOW, REVEAL_WINDOW, SLASH_BPS, MIN_FEE, 0)


@pytest.mark.parametrize("args, reason", [
    (dict(committee_size=0, quorum=0), "inference: bad committee size"),
    (dict(committee_size=129, quorum=70), "inference: bad committee size"),
    (dict(committee_size=4, quorum=2), "inference: quorum not a majority"),
    (dict(committee_size=3, quorum=4), "inference: quorum not a majority"),
    (dict(commit_window=0), "inference: window must be > 0"),
    (dict(reveal_window=0), "inference: window must be > 0"),
    (dict(slash_bps=10_001), "inference: slash_bps above 10000"),
])
def test_deployment_rejects_bad_parameters(deployers, world, args, reason):
    with boa.reverts(reason):
        deployers.deploy_inference(world.token.address, world.registry.address, **args)


def test_deployment_accepts_the_edges(deployers, world):
    one = deployers.deploy_inference(world.token.address, world.registry.address, committee_size=1, quorum=1,
                                     slash_bps=10_000, min_fee=0)
    big = deployers.deploy_inference(world.token.address, world.registry.address, committee_size=64, quorum=33)
    assert (one.committee_size(), one.quorum(), big.committee_size(), big.quorum()) == (1, 1, 64, 33)


# ------------------------------------------------------------------ request

def test_request_escrows_the_fee(world, inference, token):
    balance = token.balanceOf(world.requester)
    token.approve(inference.address, FEE, sender=world.requester)
    task_id = inference.request(MODEL, keccak(b"input"), "blob://abc", FEE, sender=world.requester)
    (log,) = events(inference, "TaskRequested")        # before any other call replaces the logs
    assert task_id == 1 and inference.task_count() == 1
    assert (log.task_id, log.requester, log.model_id, log.input_hash, log.input_uri, log.fee, log.seed_block) == (
        1, world.requester, MODEL, keccak(b"input"), "blob://abc", FEE, block_number() + 1)
    t = task_view(inference, task_id)
    assert (t.requester, t.model_id, t.fee, t.request_block, t.status) == (
        world.requester, MODEL, FEE, block_number(), REQUESTED)
    assert (t.commit_deadline, t.commits, t.top_count) == (0, 0, 0)
    assert token.balanceOf(world.requester) == balance - FEE
    assert token.balanceOf(inference.address) == FEE
    assert world.request() == 2
    world.assert_invariants()


def test_request_unknown_model_reverts(world, inference):
    with boa.reverts("inference: unknown model id"):
        inference.request(keccak(b"nope"), keccak(b"in"), "", FEE, sender=world.requester)


def test_request_with_too_few_nodes_reverts(world, inference):
    world.register(models=[OTHER_MODEL])       # a registered model with one node, committee of 5
    with boa.reverts("inference: too few active nodes"):
        inference.request(OTHER_MODEL, keccak(b"in"), "", FEE, sender=world.requester)


def test_request_below_min_fee_reverts(world, inference):
    with boa.reverts("inference: fee below the minimum"):
        inference.request(MODEL, keccak(b"in"), "", MIN_FEE - 1, sender=world.requester)


def test_request_with_empty_input_hash_reverts(world, inference):
    with boa.reverts("inference: input hash is empty"):
        inference.request(MODEL, b"\0" * 32, "", FEE, sender=world.requester)


def test_request_without_allowance_reverts(world, inference):
    with boa.reverts("token: allowance too low"):
        inference.request(MODEL, keccak(b"in"), "", FEE, sender=world.requester)


# ------------------------------------------------------------------ draw

def test_draw_seats_the_sampled_committee(world, inference, registry):
    task_id = world.request()
    request_block = block_number()
    boa.env.time_travel(blocks=5)
    seed = task_seed(boa.load(str(BLOCKHASH)).at(request_block + 1), task_id)
    expected = list(registry.sample(MODEL, seed, COMMITTEE_SIZE))

    inference.draw(task_id, sender=world.nodes[0])           # anyone may draw

    (log,) = events(inference, "CommitteeDrawn")
    assert (log.task_id, list(log.members), log.seed) == (task_id, expected, seed)
    assert (log.commit_deadline, log.reveal_deadline) == (
        block_number() + COMMIT_WINDOW, block_number() + COMMIT_WINDOW + REVEAL_WINDOW)
    t = task_view(inference, task_id)
    assert (t.status, t.commit_deadline, t.reveal_deadline) == (
        DRAWN, log.commit_deadline, log.reveal_deadline)
    assert list(committee_of(inference, task_id)) == expected
    for node in world.nodes:
        assert (seat_of(inference, task_id, node)[0] != 0) == (node in expected)
        assert registry.nodes(node).pending == 1 + (node in expected)     # 1 = no open task


def test_draw_before_the_seed_block_is_mined_reverts(world, inference):
    task_id = world.request()
    for _ in range(2):          # the request block, then the seed block itself
        with boa.reverts("inference: seed not mined yet"):
            inference.draw(task_id)
        boa.env.time_travel(blocks=1)
    inference.draw(task_id)
    assert task_view(inference, task_id).status == DRAWN


def test_draw_at_the_horizon_still_works(world, inference):
    task_id = world.request()
    boa.env.time_travel(blocks=1 + SEED_HORIZON)
    inference.draw(task_id)
    assert task_view(inference, task_id).status == DRAWN


def test_draw_past_the_horizon_reverts(world, inference):
    task_id = world.request()
    boa.env.time_travel(blocks=2 + SEED_HORIZON)
    with boa.reverts("inference: stale seed, finalize"):
        inference.draw(task_id)


def test_draw_twice_reverts(world, inference):
    task_id, _ = world.open_task()
    with boa.reverts("inference: not awaiting a draw"):
        inference.draw(task_id)


def test_draw_of_an_unknown_task_reverts(world, inference):
    boa.env.time_travel(blocks=2)
    with boa.reverts("inference: not awaiting a draw"):
        inference.draw(42)


def test_draw_without_enough_nodes_left_reverts(world, inference, registry):
    task_id = world.request()
    for node in world.nodes[:4]:                # 4 of 8 leave after the request
        registry.begin_unbond(sender=node)
    boa.env.time_travel(blocks=2)
    with boa.reverts("registry: not enough active nodes for the committee"):
        inference.draw(task_id)
