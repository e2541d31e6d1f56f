"""Blob store: content addressing, size limit, hash checks, no path tricks."""
from __future__ import annotations

import hashlib
import threading

import pytest

from brainnet.errors import BadBlobHash, BlobError, BlobHashMismatch, BlobNotFound, BlobTooLarge
from brainnet.node.blobs import BlobStore, check_sha


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path) -> BlobStore:
    return BlobStore(tmp_path / "blobs", max_bytes=1024)


def test_put_get_roundtrip_and_idempotent(store):
    digest = store.put(b"hello")
    assert digest == sha(b"hello")
    assert store.has(digest) and store.get(digest) == b"hello"
    assert store.put(b"hello") == digest
    assert store.stats() == (1, 5)
    assert store.path(digest) == store.root / digest[:2] / digest
    assert store.put(b"") == sha(b"") and store.get(sha(b"")) == b""


def test_put_expecting_checks_hash_and_size(store):
    assert store.put_expecting(sha(b"abc"), b"abc") == sha(b"abc")
    with pytest.raises(BlobHashMismatch, match="hashes to"):
        store.put_expecting(sha(b"abc"), b"abd")
    with pytest.raises(BlobTooLarge, match="at most 1024"):
        store.put_expecting(sha(b"x" * 1025), b"x" * 1025)
    with pytest.raises(BlobTooLarge):
        store.put(b"x" * 1025)
    assert store.stats() == (1, 3)


def test_missing_blob_names_the_fix(store):
    with pytest.raises(BlobNotFound, match="fetch it"):
        store.get("0" * 64)
    assert not store.has("0" * 64)


@pytest.mark.parametrize("bad", ["", "../" * 22, "A" * 64, "g" * 64, "0" * 63, "0" * 65,
                                 "../../etc/passwd", "0" * 62 + "/x", None, 123])
def test_malformed_hashes_are_refused_before_touching_disk(store, bad):
    for op in (store.get, store.has, store.path):
        with pytest.raises(BadBlobHash):
            op(bad)
    with pytest.raises(BlobError):
        store.put_expecting(bad, b"x")
    with pytest.raises(BadBlobHash):
        check_sha(bad)


def test_corruption_on_disk_is_detected_and_removed(store):
    digest = store.put(b"payload")
    store.path(digest).write_bytes(b"tampered")
    with pytest.raises(BlobNotFound, match="corrupted"):
        store.get(digest)
    assert not store.has(digest)
    store.put(b"payload")
    assert store.get(digest) == b"payload"


def test_reopened_store_counts_what_is_on_disk(store):
    for i in range(5):
        store.put(bytes([i]) * (i + 1))
    again = BlobStore(store.root)
    assert again.stats() == (5, 15)
    assert again.get(sha(b"\x04" * 5)) == b"\x04" * 5


def test_concurrent_puts_of_the_same_blob(store):
    data = b"same" * 100
    threads = [threading.Thread(target=store.put, args=(data,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.stats() == (1, 400)
    assert not [p for p in store.root.rglob("*.tmp")]
