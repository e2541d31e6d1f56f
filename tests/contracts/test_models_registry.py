"""Models.vy: creation, ownership, recording versions (owner or authorized recorder), lineage."""
from __future__ import annotations

import hashlib

import boa
import pytest

from contract_world import MODEL, OTHER_MODEL, WEIGHTS, events
from training_world import GENESIS_URI, _rollback, tw  # noqa: F401  (fixtures)


def h(tag: str) -> bytes:
    return hashlib.sha256(tag.encode()).digest()


def test_genesis_version(tw):
    m = tw.models
    assert m.latest(MODEL) == 1
    assert m.owner_of(MODEL) == tw.owner
    v = m.version(MODEL, 1)
    assert (v.weights_hash, v.parent, v.round_id, v.uri) == (WEIGHTS, 0, 0, GENESIS_URI)
    assert m.weights_hash(MODEL, 1) == WEIGHTS
    assert list(m.lineage(MODEL, 1, 64)) == [1]


def test_create_model_logs_and_reverts(tw):
    m, alice = tw.models, tw.new_account()
    assert m.create_model(OTHER_MODEL, h("w"), "uri", sender=alice) == 1
    created = events(m, "ModelCreated")
    assert created[0].owner == alice and created[0].weights_hash == h("w")
    recorded = events(m, "VersionRecorded")
    assert recorded[0].version == 1 and recorded[0].parent == 0
    with boa.reverts("models: model id already exists"):
        m.create_model(OTHER_MODEL, h("w2"), "", sender=alice)
    with boa.reverts("models: model id is empty"):
        m.create_model(b"\0" * 32, h("w"), "", sender=alice)
    with boa.reverts("models: weights hash is empty"):
        m.create_model(h("another id"), b"\0" * 32, "", sender=alice)


def test_owner_records_versions_and_lineage(tw):
    m = tw.models
    v2 = m.record_version(MODEL, 1, h("v2"), 0, "u2", sender=tw.owner)
    v3 = m.record_version(MODEL, 2, h("v3"), 7, "u3", sender=tw.owner)
    v4 = m.record_version(MODEL, 2, h("v4 fork"), 0, "u4", sender=tw.owner)   # a fork from v2
    ev = events(m, "VersionRecorded")[-1]
    assert ev.version == 4 and ev.parent == 2 and ev.recorder == tw.owner
    assert (v2, v3, v4) == (2, 3, 4) and m.latest(MODEL) == 4
    assert list(m.lineage(MODEL, 3, 64)) == [3, 2, 1]
    assert list(m.lineage(MODEL, 4, 64)) == [4, 2, 1]
    assert list(m.lineage(MODEL, 3, 2)) == [3, 2]          # bounded: continue from 2's parent
    assert m.version(MODEL, 3).round_id == 7


def test_record_version_reverts(tw):
    m, stranger = tw.models, tw.new_account()
    with boa.reverts("models: unknown model id"):
        m.record_version(OTHER_MODEL, 1, h("x"), 0, "", sender=tw.owner)
    with boa.reverts("models: only the owner or an authorized recorder may record versions"):
        m.record_version(MODEL, 1, h("x"), 0, "", sender=stranger)
    with boa.reverts("models: parent version does not exist"):
        m.record_version(MODEL, 2, h("x"), 0, "", sender=tw.owner)
    with boa.reverts("models: parent version does not exist"):
        m.record_version(MODEL, 0, h("x"), 0, "", sender=tw.owner)
    with boa.reverts("models: weights hash is empty"):
        m.record_version(MODEL, 1, b"\0" * 32, 0, "", sender=tw.owner)


def test_authorized_recorder(tw):
    m, recorder = tw.models, tw.new_account()
    with boa.reverts("models: only the admin may authorize recorders"):
        m.authorize(recorder, True, sender=recorder)
    m.authorize(recorder, True, sender=tw.owner)
    assert events(m, "RecorderAuthorized")[0].allowed
    assert m.record_version(MODEL, 1, h("by recorder"), 3, "", sender=recorder) == 2
    m.authorize(recorder, False, sender=tw.owner)
    with boa.reverts("models: only the owner or an authorized recorder may record versions"):
        m.record_version(MODEL, 1, h("again"), 0, "", sender=recorder)


def test_transfer_ownership(tw):
    m, bob = tw.models, tw.new_account()
    with boa.reverts("models: only the model owner may transfer it"):
        m.transfer_ownership(MODEL, bob, sender=bob)
    with boa.reverts("models: unknown model id"):
        m.transfer_ownership(OTHER_MODEL, bob, sender=tw.owner)
    with boa.reverts("models: new owner is the zero address"):
        m.transfer_ownership(MODEL, "0x" + "00" * 20, sender=tw.owner)
    m.transfer_ownership(MODEL, bob, sender=tw.owner)
    assert events(m, "OwnershipTransferred")[0].owner == bob
    assert m.owner_of(MODEL) == bob
    assert m.record_version(MODEL, 1, h("bob's"), 0, "", sender=bob) == 2
    with boa.reverts("models: only the owner or an authorized recorder may record versions"):
        m.record_version(MODEL, 1, h("old owner"), 0, "", sender=tw.owner)


def test_view_reverts(tw):
    m = tw.models
    with boa.reverts("models: version does not exist"):
        m.version(MODEL, 2)
    with boa.reverts("models: version does not exist"):
        m.weights_hash(MODEL, 0)
    with boa.reverts("models: version does not exist"):
        m.lineage(MODEL, 5, 3)
    with boa.reverts("models: depth above 64"):
        m.lineage(MODEL, 1, 65)


def test_long_lineage_is_walked_in_bounded_pages(tw):
    m = tw.models
    for v in range(1, 70):
        m.record_version(MODEL, v, h(f"v{v + 1}"), v, "", sender=tw.owner)
    assert m.latest(MODEL) == 70
    first = list(m.lineage(MODEL, 70, 64))
    assert first == list(range(70, 6, -1))
    rest = list(m.lineage(MODEL, m.version(MODEL, first[-1]).parent, 64))
    assert first + rest == list(range(70, 0, -1))
