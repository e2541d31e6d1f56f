"""ShardAudit: a signed hop record is reported with a bond, audited by an ordinary `near` task on
the hop-audit model, and resolved: the signer is slashed when the committee's fingerprint is
further than the tolerance from the signed one, else the reporter's bond is lost.

A module world: Token, Registry, Inference (K = 3, Q = 2, one level), six nodes serving the
hop-audit model (near, tolerance 16), and a shard node whose key signs hop records
(`brainnet.shard.hops`, the same code a shard server signs with). Each test runs in the
autouse anchor of conftest.py.
"""
from __future__ import annotations

import hashlib

import boa
import pytest
from eth_account import Account

from contract_world import CONTRACTS, E18, REFUNDED, SETTLED, World, keccak, node_stake
from inference_views import task_view
from test_inference_near import blob_of, complement, flip, play_near
from brainnet.protocol.commitment import model_key
from brainnet.shard.hops import HopRecord, audit_bundle

AUDIT_MODEL = model_key("shard-hop-audit")
SHARDED = model_key("minilm-l6")
TOL = 16
BOND, AUDIT_FEE = 20 * E18, 3 * E18 + 1
SLASH, REWARD = 2_000, 5_000                     # 20 % of the stake; half of it to the reporter
SIGNER = Account.from_key(keccak(b"shard node key"))
STRANGER = Account.from_key(keccak(b"not a node"))
FP = keccak(b"fingerprint the node signed")


@pytest.fixture(scope="module")
def aw(deployers):
    w = deployers.world(n_nodes=0, committee_size=3, quorum=2)
    w.registry.register_near_model(AUDIT_MODEL, keccak(b"hop audit weights"), TOL, sender=w.owner)
    w.registry.register_model(SHARDED, keccak(b"minilm weights"), sender=w.owner)
    for i in range(6):
        w.register(stake=node_stake(i), models=[AUDIT_MODEL])
    w.register(node=SIGNER.address, stake=10 * node_stake(0), models=[SHARDED])
    with boa.env.prank(w.owner):
        audit = boa.load(str(CONTRACTS / "ShardAudit.vy"), w.token.address, w.registry.address, w.inference.address,
                         AUDIT_MODEL, BOND, AUDIT_FEE, SLASH, REWARD)
        w.registry.authorize(audit.address, True)
        audit.set_audited(SHARDED, True)
    w.audit = audit
    w.reporter = w.new_account(funds=1_000 * E18)
    w.track(audit.address)
    return w


@pytest.fixture(autouse=True)
def _keep_lists(aw):
    nodes, accounts = list(aw.nodes), list(aw.accounts)
    yield
    aw.nodes[:], aw.accounts[:] = nodes, accounts


def record(fp: bytes = FP, start: int = 4, end: int = 8, tag: bytes = b"") -> HopRecord:
    return HopRecord(SHARDED, start, end, keccak(b"request message" + tag), keccak(b"reply message" + tag), fp)


def report(aw, rec: HopRecord, signature: bytes, reporter=None, approve: bool = True) -> int:
    reporter = reporter or aw.reporter
    if approve:
        aw.token.approve(aw.audit.address, BOND + AUDIT_FEE, sender=reporter)
    return aw.audit.report(rec.model_id, rec.start, rec.end, rec.request_hash, rec.reply_hash, rec.fingerprint,
                           signature, "http://127.0.0.1:1/blobs", sender=reporter)


def named(contract, name: str) -> list:
    return [e for e in contract.get_logs() if type(e).__name__ == name]


def assert_escrow(aw) -> None:
    """ShardAudit holds its bounty plus the bonds of open audits, plus at most their fees (what Inference
    may have returned); with none open, exactly the bounty (the dust of a divided fee joined it).
    Tokens are conserved."""
    audits = [aw.audit.audits(i) for i in range(1, aw.audit.audit_count() + 1)]
    assert aw.audit.bonds() == sum(a.bond for a in audits if a.status == 1)
    assert aw.audit.fees() == sum(a.fee for a in audits if a.status == 1)
    balance = aw.token.balanceOf(aw.audit.address)
    assert aw.audit.bounty() + aw.audit.bonds() <= balance <= aw.audit.bounty() + aw.audit.bonds() + aw.audit.fees()
    if not any(a.status == 1 for a in audits):
        assert balance == aw.audit.bounty()
    aw.assert_invariants()


# ------------------------------------------------------------------ signatures

def test_digest_and_recover_mirror_the_python_hop_record(aw):
    rec = record()
    assert aw.audit.hop_digest(rec.model_id, rec.start, rec.end, rec.request_hash, rec.reply_hash,
                               rec.fingerprint) == rec.digest()
    assert aw.audit.recover(rec.digest(), rec.sign(SIGNER)) == SIGNER.address == rec.signer(rec.sign(SIGNER))
    assert aw.audit.recover(rec.digest(), b"\1" * 65) == "0x" + "0" * 40


def test_report_opens_a_near_audit_task_on_the_hops_input(aw):
    rec = record()
    before = aw.token.balanceOf(aw.reporter)
    audit_id = report(aw, rec, rec.sign(SIGNER))
    (requested,) = named(aw.audit, "TaskRequested")       # Inference's event, a child call of the report
    (ev,) = named(aw.audit, "HopReported")
    assert (ev.audit_id, ev.node, ev.reporter, ev.start, ev.end, ev.digest) == \
        (audit_id, SIGNER.address, aw.reporter, 4, 8, rec.digest())
    a = aw.audit.audits(audit_id)
    assert (a.node, a.fingerprint, a.bond, a.fee, a.status) == (SIGNER.address, FP, BOND, AUDIT_FEE, 1)
    t = task_view(aw.inference, a.task_id)
    bundle = hashlib.sha256(audit_bundle(rec.request_hash, rec.reply_hash)).digest()
    assert (t.model_id, t.fee, t.tolerance) == (AUDIT_MODEL, AUDIT_FEE, TOL)
    assert (requested.task_id, requested.input_hash) == (a.task_id, bundle)
    assert aw.audit.audit_of_task(a.task_id) == audit_id and aw.audit.reported(rec.digest()) == audit_id
    assert aw.token.balanceOf(aw.reporter) == before - BOND - AUDIT_FEE
    assert aw.token.balanceOf(aw.audit.address) == BOND
    assert_escrow(aw)


def test_a_signature_over_other_fields_recovers_a_stranger_and_is_refused(aw):
    rec = record()
    altered = record(fp=flip(FP, [0]))                 # the reporter changed the signed fingerprint
    with boa.reverts("shardaudit: signer is not a registered node"):
        report(aw, altered, rec.sign(SIGNER))
    with boa.reverts("shardaudit: signer is not a registered node"):
        report(aw, rec, rec.sign(STRANGER))            # an unknown node's key
    bad_v = rec.sign(SIGNER)[:64] + bytes([3])
    with boa.reverts("shardaudit: signature does not recover"):
        report(aw, rec, bad_v)
    with boa.reverts("shardaudit: signature does not recover"):
        report(aw, rec, rec.sign(SIGNER)[:64])


def test_a_record_is_reported_once_and_only_for_audited_models(aw):
    rec = record()
    report(aw, rec, rec.sign(SIGNER))
    with boa.reverts("shardaudit: hop already reported"):
        report(aw, rec, rec.sign(SIGNER))
    other = HopRecord(model_key("decoder"), 0, 3, keccak(b"q"), keccak(b"r"), FP)
    with boa.reverts("shardaudit: hops of this model are not audited"):
        report(aw, other, other.sign(SIGNER))
    empty = HopRecord(SHARDED, 5, 5, keccak(b"q"), keccak(b"r"), FP)
    with boa.reverts("shardaudit: empty block range"):
        report(aw, empty, empty.sign(SIGNER))
    poor = aw.new_account(funds=BOND)                  # cannot pay the fee too
    with boa.reverts():
        report(aw, record(tag=b"2"), record(tag=b"2").sign(SIGNER), reporter=poor)


# ------------------------------------------------------------------ resolve

def _audit(aw, tag: bytes = b"") -> tuple[int, int]:
    rec = record(tag=tag)
    audit_id = report(aw, rec, rec.sign(SIGNER))
    return audit_id, aw.audit.audits(audit_id).task_id


def test_resolve_waits_for_the_audit_task(aw):
    audit_id, _ = _audit(aw)
    with boa.reverts("shardaudit: the audit task is not final yet"):
        aw.audit.resolve(audit_id)
    with boa.reverts("shardaudit: no open audit with this id"):
        aw.audit.resolve(audit_id + 1)


def test_an_upheld_audit_slashes_the_signer_and_rewards_the_reporter(aw):
    aw.token.approve(aw.audit.address, 500 * E18, sender=aw.owner)
    aw.audit.fund(500 * E18, sender=aw.owner)
    audit_id, task_id = _audit(aw)
    recomputed = complement(FP)                        # the committee's recomputation is far from the claim
    play_near(aw, task_id, [recomputed, flip(recomputed, [1, 2]), recomputed])
    assert task_view(aw.inference, task_id).status == SETTLED
    stake = aw.registry.stake_of(SIGNER.address)
    before = aw.token.balanceOf(aw.reporter)
    assert aw.audit.resolve(audit_id, sender=aw.nodes[0])
    (ev,) = named(aw.audit, "AuditResolved")
    taken = stake * SLASH // 10_000
    assert (ev.upheld, ev.distance, ev.slashed, ev.reward) == (True, 256, taken, taken * REWARD // 10_000)
    assert aw.registry.stake_of(SIGNER.address) == stake - taken
    assert aw.registry.nodes(SIGNER.address).slashes == 1
    assert aw.token.balanceOf(aw.reporter) == before + BOND + taken * REWARD // 10_000
    assert aw.audit.bounty() == 500 * E18 - taken * REWARD // 10_000 + AUDIT_FEE % 3   # + the fee's dust
    assert aw.audit.audits(audit_id).status == 2
    with boa.reverts("shardaudit: no open audit with this id"):
        aw.audit.resolve(audit_id)
    assert_escrow(aw)


def test_the_reward_is_capped_by_the_bounty(aw):
    audit_id, task_id = _audit(aw)                     # nothing funded yet
    play_near(aw, task_id, [complement(FP)] * 3)
    before = aw.token.balanceOf(aw.reporter)
    assert aw.audit.resolve(audit_id)
    assert aw.token.balanceOf(aw.reporter) == before + BOND and aw.audit.bounty() == AUDIT_FEE % 3
    assert_escrow(aw)


def test_a_report_of_an_honest_hop_loses_the_bond(aw):
    audit_id, task_id = _audit(aw)
    stake = aw.registry.stake_of(SIGNER.address)
    near_claim = flip(FP, range(TOL))                  # recomputation within the tolerance of the signed value
    play_near(aw, task_id, [near_claim, FP, near_claim])
    before = aw.token.balanceOf(aw.reporter)
    assert not aw.audit.resolve(audit_id)
    (ev,) = named(aw.audit, "AuditResolved")
    assert (ev.upheld, ev.distance, ev.slashed, ev.reward) == (False, TOL, 0, 0)
    assert aw.registry.stake_of(SIGNER.address) == stake
    assert aw.token.balanceOf(aw.reporter) == before and aw.audit.bounty() == BOND + AUDIT_FEE % 3
    assert aw.audit.audits(audit_id).status == 3
    assert_escrow(aw)


def test_a_refunded_audit_returns_the_fee_and_keeps_the_bond(aw):
    audit_id, task_id = _audit(aw)
    play_near(aw, task_id, ["absent", "absent", "absent"])
    assert task_view(aw.inference, task_id).status == REFUNDED
    before = aw.token.balanceOf(aw.reporter)
    assert not aw.audit.resolve(audit_id)
    (ev,) = named(aw.audit, "AuditResolved")
    assert (ev.upheld, ev.distance) == (False, 256)
    assert aw.token.balanceOf(aw.reporter) == before + AUDIT_FEE and aw.audit.bounty() == BOND
    assert_escrow(aw)


def test_parameters_change_only_through_governance(aw):
    audit = aw.audit
    with boa.reverts("shardaudit: only governance may set parameters"):
        audit.set_param(1, 1, sender=aw.reporter)
    with boa.reverts("shardaudit: only the owner may choose audited models"):
        audit.set_audited(SHARDED, False, sender=aw.reporter)
    for pid, value, getter in ((1, 7, audit.bond), (2, 8, audit.fee), (3, 9, audit.slash_bps), (4, 10, audit.reward_bps)):
        audit.set_param(pid, value, sender=aw.owner)
        assert getter() == value
    with boa.reverts("shardaudit: slash_bps above 10000"):
        audit.set_param(3, 10_001, sender=aw.owner)
    with boa.reverts("shardaudit: unknown parameter"):
        audit.set_param(99, 1, sender=aw.owner)
    audit.set_governance(aw.reporter, sender=aw.owner)
    audit.set_param(1, 5, sender=aw.reporter)
    assert audit.bond() == 5
