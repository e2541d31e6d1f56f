"""`near` agreement: SimHash fingerprints that agree within the model's Hamming tolerance.

A module world of 12 nodes serving both an exact model (MODEL) and a near model
(NEAR_MODEL, tolerance 16); its Inference is BRAIN's single level (K = 5, Q = 3). Members
of a near task commit to keccak256(abi_encode(fingerprint, blob_hash)) and reveal both
with `reveal_near`. Each test runs in the autouse anchor of conftest.py.
"""
from __future__ import annotations

import boa
from inference_views import key_of, reveals_of, seat_of
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from contract_world import (
    ABSENT, E18, FEE, MODEL, NEAR_MODEL, NEAR_WEIGHTS, REFUNDED, SETTLED, SILENT, SLASH_BPS, World,
    keccak, near_result, node_stake, salt_of,
)
from brainnet.protocol.escalation import NEAR, hamming, tally

TOL = 16
N_NODES = 12
BOND = 3 * E18 + 1


@pytest.fixture(scope="module")
def nw(deployers) -> World:
    w = deployers.world(n_nodes=0, committee_size=5, quorum=3)
    w.registry.register_near_model(NEAR_MODEL, NEAR_WEIGHTS, TOL, sender=w.owner)
    for i in range(N_NODES):
        w.register(stake=node_stake(i), models=[MODEL, NEAR_MODEL])
    return w


@pytest.fixture(autouse=True)
def _keep_lists(nw):
    nodes, accounts = list(nw.nodes), list(nw.accounts)
    yield
    nw.nodes[:], nw.accounts[:] = nodes, accounts


# ------------------------------------------------------------------ fingerprints

BASE = keccak(b"fingerprint of the honest output")


def flip(fp: bytes, bits) -> bytes:
    x = int.from_bytes(fp, "big")
    for b in bits:
        x ^= 1 << b
    return x.to_bytes(32, "big")


def complement(fp: bytes) -> bytes:
    return flip(fp, range(256))


def blob_of(fp: bytes, member) -> bytes:
    return keccak(b"blob" + fp + bytes.fromhex(str(member)[2:]))


def cut(stake: int) -> int:
    return stake * SLASH_BPS // 10_000


def play_near(w: World, task_id: int, plan, order=None, finalize: bool = True) -> tuple[list, list]:
    """Draw the current level; members commit and reveal fingerprints as `plan` says (one
    per seat: a fingerprint, SILENT or ABSENT), revealing seats in `order`. Returns the
    members and the logs of `finalize` (empty when not finalizing)."""
    members = w.draw(task_id)
    for m, b in zip(members, plan):
        if b != ABSENT:
            fp = b if isinstance(b, bytes) else keccak(b"silent" + salt_of(m))
            w.commit_near(task_id, m, fp, blob_of(fp, m))
    if ABSENT in plan:
        w.past_commit_deadline(task_id)
    for i in (order if order is not None else range(len(members))):
        if isinstance(plan[i], bytes):
            w.reveal_near(task_id, members[i], plan[i], blob_of(plan[i], members[i]))
    if not finalize:
        return members, []
    if any(not isinstance(b, bytes) for b in plan):
        w.past_reveal_deadline(task_id)
    w.inference.finalize(task_id, sender=w.owner)
    return members, w.inference.get_logs()


def named(logs: list, name: str) -> list:
    return [e for e in logs if type(e).__name__ == name]


# ------------------------------------------------------------------ registry

def test_near_model_records_mode_and_tolerance(nw):
    registry = nw.registry
    assert tuple(registry.models(NEAR_MODEL)) == (NEAR_WEIGHTS, True, NEAR, TOL)
    assert tuple(registry.models(MODEL))[2:] == (0, 0)
    other = keccak(b"another near model")
    registry.register_near_model(other, keccak(b"w"), 127, sender=nw.owner)
    (log,) = [e for e in registry.get_logs() if type(e).__name__ == "ModelRegistered"]
    assert (log.model_id, log.weights_hash, log.mode, log.tolerance) == (other, keccak(b"w"), NEAR, 127)


def test_register_near_model_reverts(nw):
    registry, other = nw.registry, keccak(b"another near model")
    for bad in (128, 255, 2**256 - 1):
        with boa.reverts("registry: tolerance must be below 128 bits"):
            registry.register_near_model(other, keccak(b"w"), bad, sender=nw.owner)
    with boa.reverts("registry: only the owner may register models"):
        registry.register_near_model(other, keccak(b"w"), 8, sender=nw.nodes[0])
    with boa.reverts("registry: weights hash is empty"):
        registry.register_near_model(other, b"\0" * 32, 8, sender=nw.owner)
    assert not registry.models(other).registered


def test_task_takes_the_mode_and_tolerance_of_its_model(nw):
    near_task = nw.request(model=NEAR_MODEL)
    exact_task = nw.request(model=MODEL)
    assert (nw.task(near_task).mode, nw.task(near_task).tolerance) == (NEAR, TOL)
    assert (nw.task(exact_task).mode, nw.task(exact_task).tolerance) == (0, 0)


# ------------------------------------------------------------------ reveal_near

def test_reveal_and_reveal_near_do_not_mix(nw):
    inference = nw.inference
    near_task = nw.request(model=NEAR_MODEL)
    members = nw.draw(near_task)
    blob = blob_of(BASE, members[0])
    nw.commit_near(near_task, members[0], BASE, blob)
    nw.past_commit_deadline(near_task)
    with boa.reverts("inference: near: needs blob hash"):
        inference.reveal_many([key_of(inference, near_task, members[0])], [near_result(BASE, blob)], [], [salt_of(members[0])], [0], [], sender=members[0])
    nw.reveal_near(near_task, members[0], BASE, blob)

    exact_task = nw.request(model=MODEL)
    members = nw.draw(exact_task)
    nw.commit(exact_task, members[0], BASE)
    nw.past_commit_deadline(exact_task)
    with boa.reverts("inference: exact: no blob hashes"):
        nw.reveal_near(exact_task, members[0], BASE, b"\0" * 32)
    nw.reveal(exact_task, members[0], BASE)


def test_reveal_near_checks_the_commitment_and_records_both_hashes(nw):
    inference = nw.inference
    task_id = nw.request(model=NEAR_MODEL)
    members = nw.draw(task_id)
    m = members[0]
    blob = blob_of(BASE, m)
    nw.commit_near(task_id, m, BASE, blob)
    nw.past_commit_deadline(task_id)
    with boa.reverts("inference: reveal != commitment"):
        nw.reveal_near(task_id, m, BASE, keccak(b"another blob"))
    with boa.reverts("inference: reveal != commitment"):
        nw.reveal_near(task_id, m, flip(BASE, [0]), blob)
    with boa.reverts("inference: reveal != commitment"):   # the exact-mode commitment
        inference.reveal_many([key_of(inference, task_id, m)], [BASE], [blob], [keccak(b"wrong salt")], [0], [], sender=m)
    nw.reveal_near(task_id, m, BASE, blob)
    (log,) = [e for e in inference.get_logs() if type(e).__name__ == "RevealBatch"]
    assert (log.member, list(log.seats)) == (m, [key_of(inference, task_id, m)])
    assert reveals_of(inference, task_id, m)[0] == BASE
    assert reveals_of(inference, task_id, m)[1] == blob
    assert seat_of(inference, task_id, m)[2]
    with boa.reverts("inference: already revealed"):
        nw.reveal_near(task_id, m, BASE, blob)
    with boa.reverts("inference: no commitment"):
        nw.reveal_near(task_id, members[1], BASE, blob_of(BASE, members[1]))


# ------------------------------------------------------------------ agreement within tolerance

def test_fingerprints_within_tolerance_agree_and_settle(nw):
    plan = [BASE, flip(BASE, range(TOL)), flip(BASE, [200, 201, 202, 203, 204]), flip(BASE, [255]), BASE]
    members, logs = play_near(nw, nw.request(model=NEAR_MODEL), plan)
    (settled,) = named(logs, "TaskSettled")
    assert (settled.result, settled.agreeing, settled.share) == (BASE, 5, FEE // 5)
    assert not named(logs, "MemberSlashed")
    for m in members:
        assert nw.inference.claimable(m) == FEE // 5
    nw.assert_invariants()


def test_far_fingerprints_are_dissenters(nw):
    registry = nw.registry
    stakes = {n: registry.stake_of(n) for n in nw.nodes}
    edge = flip(BASE, range(100, 100 + TOL + 1))              # TOL + 1 bits away: out
    plan = [BASE, flip(BASE, range(TOL)), flip(BASE, [200, 201, 202]), edge, keccak(b"unrelated")]
    task_id = nw.request(model=NEAR_MODEL)
    members, logs = play_near(nw, task_id, plan)
    t = nw.task(task_id)
    assert (t.status, t.result, t.top_count) == (SETTLED, BASE, 3)
    dissenters = members[3:]
    assert {e.member: e.reason for e in named(logs, "MemberSlashed")} == {
        m: "inference: dissent from the final result" for m in dissenters}
    for m in members:
        assert nw.inference.claimable(m) == (0 if m in dissenters else FEE // 3)
        assert registry.stake_of(m) == stakes[m] - (cut(stakes[m]) if m in dissenters else 0)
    nw.assert_invariants()


def test_complement_fingerprint_is_as_far_as_can_be(nw):
    """xor of a fingerprint and its complement has all 256 bits set: popcount 256, not 0."""
    anti = complement(BASE)
    members, logs = play_near(nw, nw.request(model=NEAR_MODEL), [BASE, BASE, BASE, anti, anti])
    (settled,) = named(logs, "TaskSettled")
    assert (settled.result, settled.agreeing) == (BASE, 3)
    assert [e.member for e in named(logs, "MemberSlashed")] == members[3:]


def test_center_is_the_value_most_reveals_agree_with(nw):
    """X and Y are 2·TOL apart; M lies TOL from both: M's cluster {X, Y, M} is the largest,
    though M is revealed third."""
    x, y, m = BASE, flip(BASE, range(2 * TOL)), flip(BASE, range(TOL))
    plan = [x, y, m, keccak(b"far 1"), keccak(b"far 2")]
    task_id = nw.request(model=NEAR_MODEL)
    members = nw.draw(task_id)
    for member, fp in zip(members, plan):
        nw.commit_near(task_id, member, fp, blob_of(fp, member))
    seen = []
    for member, fp in zip(members, plan):
        nw.reveal_near(task_id, member, fp, blob_of(fp, member))
        seen.append(fp)
        t, mirror = nw.task(task_id), tally(seen, NEAR, TOL)
        assert (t.top_result, t.top_count) == (mirror.center, mirror.center_count)
    assert (t.top_result, t.top_count) == (m, 3)
    nw.inference.finalize(task_id, sender=nw.owner)
    t = nw.task(task_id)
    assert (t.status, t.result) == (SETTLED, m)
    for member in members[:3]:
        assert nw.inference.claimable(member) == FEE // 3


@pytest.mark.parametrize("first", [0, 2])
def test_ties_go_to_the_earliest_reveal(nw, first):
    x, y = BASE, complement(BASE)
    plan = [x, flip(x, [1, 2]), y, flip(y, [3]), keccak(b"far")]
    order = [first, 1, 2 - first, 3, 4]                     # x first, or y first
    task_id = nw.request(model=NEAR_MODEL)
    members, logs = play_near(nw, task_id, plan, order=order)
    t = nw.task(task_id)
    assert (t.top_result, t.top_count) == (plan[first], 2)
    assert tally([plan[i] for i in order], NEAR, TOL).center == plan[first]
    assert t.status == REFUNDED                            # 2 < quorum 3
    (log,) = named(logs, "TaskRefunded")
    assert log.top_count == 2


def test_no_show_in_a_near_task_is_slashed(nw):
    members, logs = play_near(nw, nw.request(model=NEAR_MODEL), [BASE, BASE, flip(BASE, [7]), SILENT, ABSENT])
    assert {e.member: e.reason for e in named(logs, "MemberSlashed")} == {
        members[3]: "inference: no reveal", members[4]: "inference: no reveal"}
    (settled,) = named(logs, "TaskSettled")
    assert settled.agreeing == 3


# ------------------------------------------------------------------ near mode with escalation

@pytest.fixture(scope="module")
def near_chal(deployers, nw) -> World:
    """K = 3, Q = 2, L = 2 (sizes 3, 7) with a challenge window, on the near world."""
    return deployers.attach_inference(nw, committee_size=3, quorum=2, max_levels=2,
                                      challenge_window=4, challenge_bond=BOND)


def test_near_split_escalates_and_far_members_are_slashed(near_chal):
    w = near_chal
    task_id = w.request(model=NEAR_MODEL)
    level0, logs = play_near(w, task_id, [BASE, keccak(b"far"), flip(BASE, [9])])
    assert named(logs, "TaskEscalated") and w.task(task_id).level == 1
    plan1 = [flip(BASE, [i, i + 50]) for i in range(7)]
    level1, logs = play_near(w, task_id, plan1)
    t = w.task(task_id)
    assert (t.status, t.result) == (SETTLED, plan1[0])      # last level: final at once
    assert [e.member for e in named(logs, "MemberSlashed")] == [level0[1]]
    share = FEE // 9
    for m in level0 + level1:
        assert w.inference.claimable(m) == (0 if m == level0[1] else share)
    w.assert_invariants()


@pytest.mark.parametrize("lied", [False, True])
def test_near_challenge_bond_follows_agreement_not_equality(near_chal, lied):
    """The challenge is lost when the final fingerprint agrees (within tolerance) with the
    challenged one, although the bits differ; won when it is far."""
    w, token = near_chal, near_chal.token
    before = token.balanceOf(w.requester)
    task_id = w.request(model=NEAR_MODEL)
    level0, logs = play_near(w, task_id, [BASE, BASE, flip(BASE, [4])])
    assert named(logs, "TaskProvisional") and w.task(task_id).result == BASE
    token.approve(w.inference.address, BOND, sender=w.requester)
    w.inference.challenge(task_id, sender=w.requester)
    final = keccak(b"the true output") if lied else flip(BASE, [1, 2, 3])
    level1, logs = play_near(w, task_id, [final] * 7)
    t = w.task(task_id)
    assert (t.status, t.result, t.challenged) == (SETTLED, final, BASE)
    if lied:
        assert token.balanceOf(w.requester) == before - FEE + FEE % 7
        assert [e.member for e in named(logs, "MemberSlashed")] == level0
    else:
        pot = FEE + BOND
        assert token.balanceOf(w.requester) == before - FEE - BOND + pot % 10
        for m in level0 + level1:
            assert w.inference.claimable(m) == pot // 10
    w.assert_invariants()
