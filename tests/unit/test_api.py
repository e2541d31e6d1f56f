"""Node HTTP API: blobs by hash, health, metrics; bad input is always a 4xx naming the cause."""
from __future__ import annotations

import hashlib
import socket
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings, strategies as st

from brainnet.errors import BadBlobHash, BlobNotFound
from brainnet.node.api import create_app, serve_in_thread
from brainnet.node.blobs import BlobStore
from brainnet.node.fetch import fetch_blob, fetch_into

LIMIT = 4096


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path) -> BlobStore:
    return BlobStore(tmp_path / "blobs", max_bytes=LIMIT)


@pytest.fixture
def health_state():
    return {"block": 12, "tasks_open": 3, "synced": True, "role": "honest", "gpu": {"mem_gb": 1.5}}


@pytest.fixture
def client(store, health_state):
    with TestClient(create_app(store, lambda: dict(health_state)), raise_server_exceptions=True) as c:
        yield c


def test_put_then_get(client, store):
    data = b"\x00\x01binary\xff"
    r = client.put(f"/blobs/{sha(data)}", content=data)
    assert r.status_code == 201 and r.json() == {"sha256": sha(data), "size": len(data)}
    r = client.put(f"/blobs/{sha(data)}", content=data)
    assert r.status_code == 200
    r = client.get(f"/blobs/{sha(data)}")
    assert r.status_code == 200 and r.content == data
    assert r.headers["content-type"] == "application/octet-stream"
    assert store.get(sha(data)) == data


def test_get_errors(client):
    r = client.get(f"/blobs/{'0' * 64}")
    assert r.status_code == 404 and "not in this store" in r.json()["detail"]
    r = client.get("/blobs/ABC")
    assert r.status_code == 400 and "malformed blob hash" in r.json()["detail"]
    assert client.get("/blobs/..%2F..%2Fetc%2Fpasswd").status_code in (400, 404)


def test_put_errors(client, store):
    r = client.put(f"/blobs/{sha(b'a')}", content=b"b")
    assert r.status_code == 400 and "hashes to" in r.json()["detail"]
    r = client.put("/blobs/nothex", content=b"b")
    assert r.status_code == 400 and "malformed" in r.json()["detail"]
    big = b"x" * (LIMIT + 1)
    r = client.put(f"/blobs/{sha(big)}", content=big)
    assert r.status_code == 413 and "at most 4096" in r.json()["detail"]
    assert store.stats() == (0, 0)


def test_chunked_upload_is_cut_at_the_limit(client, store):
    sent = []

    def body():
        for _ in range(1000):          # would be 1 MB; the server stops after ~LIMIT
            sent.append(1)
            yield b"y" * 1024

    r = client.put(f"/blobs/{'1' * 64}", content=body())
    assert r.status_code == 413 and "larger than 4096" in r.json()["detail"]
    ok = b"z" * LIMIT
    r = client.put(f"/blobs/{sha(ok)}", content=iter([ok[:100], ok[100:]]))
    assert r.status_code == 201 and store.get(sha(ok)) == ok


def test_health_and_metrics(client, health_state):
    assert client.get("/health").json() == health_state
    data = b"metrics"
    client.put(f"/blobs/{sha(data)}", content=data)
    text = client.get("/metrics")
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    lines = text.text.splitlines()
    for expected in ["brainnet_blobs_stored 1", f"brainnet_blob_bytes {len(data)}", "brainnet_node_block 12",
                     "brainnet_node_tasks_open 3", "brainnet_node_synced 1", "brainnet_node_gpu_mem_gb 1.5",
                     "brainnet_health_up 1", 'brainnet_blob_requests_total{outcome="put"} 1']:
        assert expected in lines
    assert not any("role" in line for line in lines)     # only numbers become metrics


def test_failing_health_probe_is_reported(store):
    def broken():
        raise RuntimeError("chain unreachable")
    with TestClient(create_app(store, broken)) as c:
        r = c.get("/health")
        assert r.status_code == 503 and "chain unreachable" in r.json()["detail"]
        assert "brainnet_health_up 0" in c.get("/metrics").text.splitlines()


def test_unknown_routes_and_methods_are_4xx_json(client):
    for r in (client.get("/nope"), client.post(f"/blobs/{'0' * 64}", content=b""), client.delete("/health")):
        assert 400 <= r.status_code < 500 and "detail" in r.json()


HEXISH = st.text(alphabet="0123456789abcdefABCDEF./%?#-_ xz\\\x00é", max_size=70)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.one_of(HEXISH, st.text(max_size=80)), body=st.binary(max_size=LIMIT + 64),
       method=st.sampled_from(["GET", "PUT"]), right_hash=st.booleans())
def test_random_requests_never_cause_a_5xx(client, name, body, method, right_hash):
    if right_hash:
        name = sha(body)
    r = client.request(method, "/blobs/" + quote(name, safe=""), content=body if method == "PUT" else None)
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert isinstance(r.json()["detail"], str)
    if method == "PUT" and right_hash:
        assert r.status_code == 413 if len(body) > LIMIT else r.status_code in (200, 201)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(length=st.one_of(st.text(alphabet="0123456789 -+.xeE", max_size=20),
                        st.binary(max_size=12).map(lambda b: bytes(c for c in b if c not in b"\r\n\0"))))
def test_random_content_length_headers_never_cause_a_5xx(client, length):
    r = client.put(f"/blobs/{'2' * 64}", content=b"abc", headers={"content-length": length})
    assert r.status_code < 500


# -- real uvicorn in a thread, real HTTP -------------------------------------------------

@pytest.fixture
def server(store):
    srv, port = serve_in_thread(create_app(store, lambda: {"ok": True}))
    assert srv.port == port and port > 0 and srv.host == "127.0.0.1"
    yield srv
    srv.stop()
    assert not srv.thread.is_alive()


def test_real_server_roundtrip_and_fetch_blob(server, store, tmp_path):
    data = b"input blob " * 100
    r = httpx.put(f"{server.url}/blobs/{sha(data)}", content=data)
    assert r.status_code == 201
    assert httpx.get(f"{server.url}/health").json() == {"ok": True}
    dead = "http://127.0.0.1:9"   # nothing listens on the discard port here
    assert fetch_blob(sha(data), [dead, server.url + "/"], timeout=5) == data

    with pytest.raises(BlobNotFound) as err:
        fetch_blob("3" * 64, [server.url, dead], timeout=5)
    assert "HTTP 404" in str(err.value) and "127.0.0.1:9" in str(err.value)
    with pytest.raises(BlobNotFound, match="no source URLs"):
        fetch_blob("3" * 64, [], timeout=5)
    with pytest.raises(BadBlobHash):
        fetch_blob("../x", [server.url])

    other = BlobStore(tmp_path / "other")
    assert fetch_into(other, sha(data), [server.url]) == data and other.has(sha(data))


def _serving(body: bytes):
    """A server that answers every blob request with `body`, whatever was asked."""
    app = FastAPI()
    app.get("/blobs/{h}")(lambda h: Response(body))
    return serve_in_thread(app)[0]


def test_fetch_blob_rejects_lying_and_oversized_answers(server, store):
    data = b"the real thing"
    store.put(data)
    liar, flood = _serving(b"lies"), _serving(b"x" * 100)
    try:
        with pytest.raises(BlobNotFound, match="wrong content"):
            fetch_blob(sha(data), [liar.url], timeout=5)
        with pytest.raises(BlobNotFound, match="too large"):
            fetch_blob(sha(data), [flood.url], timeout=5, max_bytes=10)
        assert fetch_blob(sha(data), [liar.url, flood.url, server.url], timeout=5, max_bytes=20) == data
    finally:
        liar.stop()
        flood.stop()


def test_real_server_refuses_oversized_upload_without_reading_it(server):
    # claim 1 GiB, send 10 bytes: the answer must come back at once, before any body
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall((f"PUT /blobs/{'5' * 64} HTTP/1.1\r\nHost: x\r\nContent-Length: {1 << 30}\r\n\r\n").encode())
        s.sendall(b"0123456789")
        reply = s.recv(4096).decode()
    assert reply.startswith("HTTP/1.1 413") and "at most 4096" in reply
