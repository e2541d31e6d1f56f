"""Batched calls: draw_many, commit_many (one Merkle root per batch), reveal_many and
reveal_near_many (leaf index + proof per entry), finalize_many; every revert path; and a
Hypothesis check that a set of tasks settles identically whether its members act one
transaction per task or in batches.
"""
from __future__ import annotations

import dataclasses

import boa
from inference_views import committee_of, drawn_seed, key_of, reveals_of, seat_of, task_view
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from contract_world import (
    A, ABSENT, B, COMMITTEE_SIZE, DRAWN, FEE, MIN_FEE, MODEL, NEAR_MODEL, NEAR_WEIGHTS, REQUESTED, SETTLED, SILENT, World, events,
    keccak, near_result, node_stake, salt_of,
)
from brainnet.protocol import commitment
from brainnet.protocol.commitment import batch_leaf, merkle_root, reveal_path


def open_tasks(world: World, n: int) -> list[tuple[int, list]]:
    ids = [world.request(fee=FEE + i) for i in range(n)]
    boa.env.time_travel(blocks=2)
    world.inference.draw_many(ids, sender=world.owner)
    return [(t, list(committee_of(world.inference, t))) for t in ids]


def duties(tasks) -> dict:
    """member -> task ids it sits on, in task order."""
    out: dict = {}
    for t, members in tasks:
        for m in members:
            out.setdefault(m, []).append(t)
    return out


def keys(world: World, member, ids) -> list[int]:
    """`member`'s seat keys for the tasks `ids` (task id, level and its position in the draw)."""
    return [key_of(world.inference, t, member) for t in ids]


def tree(keys_, commitments) -> list[bytes]:
    """Leaves of a commit batch: each commitment bound to its seat key."""
    return [batch_leaf(k, c) for k, c in zip(keys_, commitments)]


def commit_batch(world: World, member, ids, value=A) -> list[bytes]:
    leaves = [commitment(t, value, str(member), salt_of(member)) for t in ids]
    world.inference.commit_many(keys(world, member, ids), leaves, sender=member)
    return leaves


def reveal_batch(world: World, member, ids, leaves, value=A):
    ks = keys(world, member, ids)
    paths, proofs = [], []
    for i in range(len(ids)):
        path, proof = reveal_path(tree(ks, leaves), i)
        paths.append(path)
        proofs.extend(proof)
    world.inference.reveal_many(ks, [value] * len(ids), [], [salt_of(member)] * len(ids), paths, proofs, sender=member)


# ------------------------------------------------------------------ draw_many

def test_draw_many_draws_every_ready_task_and_skips_the_rest(world, inference):
    first = world.request()
    boa.env.time_travel(blocks=2)
    inference.draw(first, sender=world.owner)
    fresh = world.request(fee=FEE + 1)
    ready = world.request(fee=FEE + 2)
    boa.env.time_travel(blocks=2)
    later = world.request(fee=FEE + 3)                     # its seed block is not mined yet
    assert inference.draw_many([first, fresh, ready, later, 999], sender=world.owner) == 2
    drawn = [e.task_id for e in events(inference, "CommitteeDrawn")]
    assert drawn == [fresh, ready]
    assert [task_view(inference, t).status for t in (fresh, ready, later)] == [DRAWN, DRAWN, REQUESTED]


def test_draw_many_committee_equals_single_draw(world, inference):
    a, b = world.request(), world.request(fee=FEE + 1)
    boa.env.time_travel(blocks=2)
    with boa.env.anchor():
        inference.draw(a, sender=world.owner)
        seed_a = drawn_seed(inference)
        inference.draw(b, sender=world.owner)
        singles = [list(committee_of(inference, a)), list(committee_of(inference, b)), seed_a]
    inference.draw_many([a, b], sender=world.owner)
    seeds = [e.seed for e in events(inference, "CommitteeDrawn")]
    assert [list(committee_of(inference, a)), list(committee_of(inference, b)), seeds[0]] == singles


def test_empty_batches_revert(world, inference):
    member = world.nodes[0]
    for call in (lambda: inference.draw_many([], sender=world.owner),
                 lambda: inference.finalize_many([], sender=world.owner),
                 lambda: inference.commit_many([], [], sender=member),
                 lambda: inference.reveal_many([], [], [], [], [], [], sender=member),
                 lambda: inference.reveal_many([], [], [], [], [], [], sender=member)):
        with boa.reverts("inference: empty batch"):
            call()


# ------------------------------------------------------------------ commit_many

def test_commit_many_stores_one_root_and_logs_every_task(world, inference):
    tasks = open_tasks(world, 4)
    member, ids = max(duties(tasks).items(), key=lambda kv: len(kv[1]))
    leaves = commit_batch(world, member, ids)
    (log,) = events(inference, "CommitBatch")
    ks = keys(world, member, ids)
    assert (log.member, list(log.seats), list(log.commitments)) == (member, ks, leaves)
    assert log.root == merkle_root(tree(ks, leaves))
    for t in ids:
        assert seat_of(inference, t, member)[1]
        assert task_view(inference, t).commits == 1


def test_commit_many_reverts_whole_batch_on_one_bad_entry(world, inference):
    tasks = open_tasks(world, 3)
    (t0, m0), (t1, _m1) = tasks[0], tasks[1]
    member = m0[0]
    outsider_task = next((t for t, ms in tasks if member not in ms), None)
    if outsider_task is not None:
        with boa.reverts("inference: not on the committee"):
            commit_batch(world, member, [t0, outsider_task])
    with boa.reverts("inference: already committed"):
        commit_batch(world, member, [t0, t0])
    with boa.reverts("inference: batch length mismatch"):
        inference.commit_many([key_of(inference, t0, member)], [A, B], sender=member)
    with boa.reverts("inference: commitment is empty"):
        inference.commit_many([key_of(inference, t0, member)], [b"\0" * 32], sender=member)
    assert task_view(inference, t0).commits == 0


# ------------------------------------------------------------------ reveal_many

def test_batched_tasks_settle_with_reveal_many(world, inference):
    tasks = open_tasks(world, 4)
    plan = duties(tasks)
    leaves = {m: commit_batch(world, m, ids) for m, ids in plan.items()}
    for m, ids in plan.items():
        reveal_batch(world, m, ids, leaves[m])
    assert inference.finalize_many([t for t, _ in tasks], sender=world.owner) == 4
    for t, members in tasks:
        assert task_view(inference, t).status == SETTLED and task_view(inference, t).result == A
        assert all(reveals_of(inference, t, m)[0] == A and seat_of(inference, t, m)[2] for m in members)
    world.assert_invariants()


def _one_batch(world, inference):
    tasks = open_tasks(world, 3)
    member, ids = max(duties(tasks).items(), key=lambda kv: len(kv[1]))
    others = [(t, ms) for t, ms in tasks if t in ids]
    for t, ms in others:                                    # everyone else commits so reveals open
        for m in ms:
            if m != member:
                world.commit(t, m, A)
    leaves = commit_batch(world, member, ids)
    return member, ids, leaves


def test_reveal_many_revert_paths(world, inference):
    member, ids, leaves = _one_batch(world, inference)
    if len(ids) < 2:
        pytest.skip("the seed gave this member one task only")
    salts = [salt_of(member)] * len(ids)
    ids = keys(world, member, ids)                          # from here on, the member's seat keys
    good = [reveal_path(tree(ids, leaves), i) for i in range(len(ids))]
    paths = [p for p, _ in good]
    proofs = [w for _, pr in good for w in pr]
    with boa.reverts("inference: reveal != commitment"):
        inference.reveal_many(ids, [B] * len(ids), [], salts, paths, proofs, sender=member)
    with boa.reverts("inference: reveal != commitment"):      # proof of another leaf
        inference.reveal_many(ids[:1], [A], [], salts[:1], [paths[1]], good[1][1], sender=member)
    depth = paths[0] >> 8
    with boa.reverts("inference: reveal != commitment"):      # leaf index past the tree
        inference.reveal_many(ids[:1], [A], [], salts[:1], [(1 << depth) + (depth << 8)], good[0][1], sender=member)
    with boa.reverts("inference: proof words missing"):
        inference.reveal_many(ids, [A] * len(ids), [], salts, paths, proofs[:-1], sender=member)
    with boa.reverts("inference: unused proof words"):
        inference.reveal_many(ids, [A] * len(ids), [], salts, paths, proofs + [A], sender=member)
    with boa.reverts("inference: batch length mismatch"):
        inference.reveal_many(ids, [A] * len(ids), [], salts, paths[:-1], proofs, sender=member)
    with boa.reverts("inference: reveal != commitment"):      # single reveal has no proof
        inference.reveal_many([ids[0]], [A], [], [salt_of(member)], [0], [], sender=member)
    inference.reveal_many(ids, [A] * len(ids), [], salts, paths, proofs, sender=member)
    with boa.reverts("inference: already revealed"):
        inference.reveal_many(ids[:1], [A], [], salts[:1], paths[:1], good[0][1], sender=member)


def test_reveal_many_of_single_commits_needs_no_proof(world, inference):
    (t, members), = open_tasks(world, 1)
    for m in members:
        world.commit(t, m, A)
    for m in members:
        inference.reveal_many([key_of(inference, t, m)], [A], [], [salt_of(m)], [0], [], sender=m)
    inference.finalize_many([t], sender=world.owner)
    assert task_view(inference, t).status == SETTLED


def test_finalize_many_skips_tasks_not_ready(world, inference):
    tasks = open_tasks(world, 2)
    (t0, m0), (t1, _) = tasks
    for m in m0:
        world.commit(t0, m, A)
    for m in m0:
        world.reveal(t0, m, A)
    assert inference.finalize_many([t0, t1, t0], sender=world.owner) == 1
    assert task_view(inference, t0).status == SETTLED and task_view(inference, t1).status == DRAWN


# ------------------------------------------------------------------ request_many

def test_request_many_opens_consecutive_tasks_for_one_fee_payment(world, inference, token):
    hashes = [keccak(b"input %d" % i) for i in range(3)]
    token.approve(inference.address, 3 * FEE, sender=world.requester)
    before = token.balanceOf(world.requester)
    first = inference.request_many(MODEL, hashes, "blob://batch", FEE, sender=world.requester)
    logs = events(inference, "TaskRequested")
    assert len(events(inference, "Transfer")) == 1                  # one transferFrom for the three fees
    ids = list(range(first, first + 3))
    assert [e.task_id for e in logs] == ids and inference.task_count() == ids[-1]
    assert [e.input_hash for e in logs] == hashes
    assert all((e.requester, e.fee, e.input_uri) == (world.requester, FEE, "blob://batch") for e in logs)
    assert token.balanceOf(world.requester) == before - 3 * FEE
    views = [task_view(inference, t) for t in ids]
    assert all((v.status, v.fee, v.requester, v.prepaid) == (REQUESTED, FEE, world.requester, False) for v in views)
    boa.env.time_travel(blocks=2)                                 # past the seed block
    assert inference.draw_many(ids, sender=world.owner) == 3     # each draws like a single request


def test_request_many_from_a_deposit(world, inference, token):
    token.approve(inference.address, 2 * FEE, sender=world.requester)
    inference.deposit(2 * FEE, sender=world.requester)
    first = inference.request_many(MODEL, [keccak(b"a"), keccak(b"b")], "", FEE, sender=world.requester)
    assert not events(inference, "Transfer") and inference.claimable(world.requester) == 0
    assert task_view(inference, first).prepaid and task_view(inference, first + 1).prepaid


def test_request_many_reverts_as_a_whole(world, inference, token):
    token.approve(inference.address, 3 * FEE, sender=world.requester)
    with boa.reverts("inference: empty batch"):
        inference.request_many(MODEL, [], "", FEE, sender=world.requester)
    with boa.reverts("inference: input hash is empty"):
        inference.request_many(MODEL, [keccak(b"a"), b"\0" * 32, keccak(b"c")], "", FEE, sender=world.requester)
    with boa.reverts("inference: fee below the minimum"):
        inference.request_many(MODEL, [keccak(b"a")], "", MIN_FEE - 1, sender=world.requester)
    assert inference.task_count() == 0


def test_outcome_names_status_result_and_tolerance(world, inference):
    run = world.run_task([A] * COMMITTEE_SIZE)
    assert inference.outcome(run.task_id) == (SETTLED, A, 0)
    task_id = world.request()
    assert inference.outcome(task_id) == (REQUESTED, b"\0" * 32, 0)
    assert inference.outcome(task_id + 1) == (0, b"\0" * 32, 0)      # no such task


def test_state_rejects_a_level_past_the_last(world, inference):
    task_id = world.request()
    with boa.reverts("inference: no such level"):
        inference.state(task_id, 6)


def test_fee_above_79_bits_reverts(world, inference):
    with boa.reverts("inference: fee above 2**79 - 1"):
        world.request(fee=2**79)


def test_registry_index_of(world, registry):
    assert [registry.index_of(n) for n in world.nodes] == list(range(1, len(world.nodes) + 1))
    assert registry.index_of(world.requester) == 0


# ------------------------------------------------------------------ near

def test_reveal_near_many(deployers):
    w = deployers.world(n_nodes=0, committee_size=3, quorum=2)
    w.registry.register_near_model(NEAR_MODEL, NEAR_WEIGHTS, 8, sender=w.owner)
    for i in range(6):
        w.register(stake=node_stake(i), models=[MODEL, NEAR_MODEL])
    ids = [w.request(fee=FEE + i, model=NEAR_MODEL) for i in range(3)]
    boa.env.time_travel(blocks=2)
    w.inference.draw_many(ids, sender=w.owner)
    plan = duties([(t, list(committee_of(w.inference, t))) for t in ids])
    fp = keccak(b"fingerprint")
    for m, mine in plan.items():
        blob = keccak(b"blob" + bytes.fromhex(str(m)[2:]))
        leaves = [commitment(t, near_result(fp, blob), str(m), salt_of(m)) for t in mine]
        w.inference.commit_many(keys(w, m, mine), leaves, sender=m)
        plan[m] = (mine, leaves, blob)
    for m, (mine, leaves, blob) in plan.items():
        ts, mine = mine, keys(w, m, mine)
        paths, proofs = [], []
        for i in range(len(mine)):
            p, pr = reveal_path(tree(mine, leaves), i)
            paths.append(p)
            proofs.extend(pr)
        n = len(mine)
        with boa.reverts("inference: batch length mismatch"):
            w.inference.reveal_many(mine, [fp] * n, [blob] * (n + 1), [salt_of(m)] * n, paths, proofs, sender=m)
        w.inference.reveal_many(mine, [fp] * n, [blob] * n, [salt_of(m)] * n, paths, proofs, sender=m)
        assert all(reveals_of(w.inference, t, m)[1] == blob for t in ts)
    assert w.inference.finalize_many(ids, sender=w.owner) == 3
    assert all(task_view(w.inference, t).status == SETTLED and task_view(w.inference, t).result == fp for t in ids)


# ------------------------------------------------------------------ batched == unbatched

BEHAVIOURS = st.sampled_from([A, A, A, B, SILENT, ABSENT])


def _outcome(world: World, ids, members_of) -> tuple:
    inf = world.inference
    views = [task_view(inf, t) for t in ids]
    tasks = tuple((v.status, v.result, v.top_count) for v in views)
    per_member = tuple((t, m, reveals_of(inf, t, m)[0], seat_of(inf, t, m)[2]) for t in ids for m in members_of[t])
    money = tuple((n, inf.claimable(n), world.registry.stake_of(n)) for n in world.nodes)
    return tasks, per_member, money, tuple(world.balances().items())


def _play(world: World, ids, members_of, plan, batched: bool) -> tuple:
    inf = world.inference
    mine: dict = {}
    for t in ids:
        for m, b in zip(members_of[t], plan[t]):
            if b != ABSENT:
                value = b if isinstance(b, bytes) else keccak(b"silent" + salt_of(m))
                mine.setdefault(m, []).append((t, value, b))
    if batched:
        leaves = {m: [commitment(t, v, str(m), salt_of(m)) for t, v, _ in rows] for m, rows in mine.items()}
        for m, rows in mine.items():
            inf.commit_many(keys(world, m, [t for t, _, _ in rows]), leaves[m], sender=m)
    else:
        for m, rows in mine.items():
            for t, v, _ in rows:
                world.commit(t, m, v)
    boa.env.time_travel(blocks=11)                          # past every commit deadline
    for m, rows in mine.items():
        keep = [(i, t, v) for i, (t, v, b) in enumerate(rows) if b != SILENT]
        if not keep:
            continue
        if batched:
            paths, proofs = [], []
            for i, _, _ in keep:
                p, pr = reveal_path(tree(keys(world, m, [t for t, _, _ in mine[m]]), leaves[m]), i)
                paths.append(p)
                proofs.extend(pr)
            inf.reveal_many(keys(world, m, [t for _, t, _ in keep]), [v for _, _, v in keep], [],
                            [salt_of(m)] * len(keep), paths, proofs, sender=m)
        else:
            for _, t, v in keep:
                world.reveal(t, m, v)
    boa.env.time_travel(blocks=11)                          # past every reveal deadline
    if batched:
        inf.finalize_many(ids, sender=world.owner)
    else:
        for t in ids:
            inf.finalize(t, sender=world.owner)
    return _outcome(world, ids, members_of)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.lists(st.lists(BEHAVIOURS, min_size=5, max_size=5), min_size=1, max_size=4))
def test_batched_and_unbatched_settle_identically(world, plan):
    with boa.env.anchor():
        ids = [world.request(fee=FEE + i) for i in range(len(plan))]
        boa.env.time_travel(blocks=2)
        world.inference.draw_many(ids, sender=world.owner)
        members_of = {t: list(committee_of(world.inference, t)) for t in ids}
        by_task = dict(zip(ids, plan))
        with boa.env.anchor():
            single = _play(world, ids, members_of, by_task, batched=False)
        with boa.env.anchor():
            batch = _play(world, ids, members_of, by_task, batched=True)
        assert batch == single


# ------------------------------------------------------------------ payouts owed per call

def test_finalize_many_pays_the_same_when_the_owed_list_overflows(deployers):
    """finalize_many owes members their earnings and closed seats until one payout per call;
    when more members are owed than its list holds (64), it pays out early, mid-task too.
    A build whose list holds 2 settles the same batch exactly as the real one."""
    from contract_world import CONTRACTS

    source = (CONTRACTS / "Inference.vy").read_text()
    assert "MAX_OWED: constant(uint256) = 64" in source
    small = boa.loads_partial(source.replace("MAX_OWED: constant(uint256) = 64", "MAX_OWED: constant(uint256) = 2"),
                              name="InferenceOwesTwo")
    base = deployers.world()
    outcomes = []
    for deployer in (deployers.inference, small):
        with boa.env.anchor():
            with boa.env.prank(base.owner):
                inf = deployer.deploy(base.token.address, base.registry.address, COMMITTEE_SIZE, 3, 20, 20,
                                      1000, MIN_FEE, 1, 0, 0)
                base.registry.authorize(inf.address, True)
            w = dataclasses.replace(base, inference=inf)
            runs = [w.run_task(plan, finalize=False) for plan in ([A, A, A, A, B], [A, A, B, B, A], [A] * 5)]
            assert inf.finalize_many([r.task_id for r in runs], sender=w.owner) == 3
            outcomes.append((tuple((n, inf.claimable(n), w.registry.stake_of(n), w.registry.nodes(n).pending)
                                   for n in w.nodes),
                             tuple(task_view(inf, r.task_id).status for r in runs), w.token.balanceOf(w.requester)))
    assert outcomes[0] == outcomes[1]
    assert all(pending == 1 for _n, _c, _s, pending in outcomes[0][0])       # every seat closed
    assert outcomes[0][1] == (SETTLED, SETTLED, SETTLED)
