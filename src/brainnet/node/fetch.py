"""Fetch a blob by sha256 from other nodes over HTTP, trusting none of them.

Inputs, outputs and weights are named on the chain by hash and live in nodes' blob
stores. Any source may be slow, down or lying, so each base URL is tried in turn, the
body is read only up to the size limit, and the first body that hashes to the name wins.
"""
from __future__ import annotations

import hashlib
from typing import Sequence

import httpx

from brainnet.errors import BlobNotFound
from brainnet.node.blobs import MAX_BLOB_BYTES, BlobStore, check_sha


def blob_url(base_url: str, sha_hex: str) -> str:
    return f"{base_url.rstrip('/')}/blobs/{sha_hex}"


def fetch_blob(sha_hex: str, urls: Sequence[str], timeout: float = 10.0, *,
               max_bytes: int = MAX_BLOB_BYTES, client: httpx.Client | None = None) -> bytes:
    """GET `{url}/blobs/{sha}` from each base URL until one returns bytes with that sha256.

    Raises BlobNotFound listing every URL tried and why it failed.
    """
    check_sha(sha_hex)
    tried: list[str] = []
    own = client is None
    http = client if client is not None else httpx.Client(timeout=timeout, follow_redirects=False)
    try:
        for base in urls:
            url = blob_url(base, sha_hex)
            try:
                data = _get_limited(http, url, max_bytes, timeout)
            except _Refused as why:
                tried.append(f"{url} ({why})")
                continue
            except httpx.HTTPError as exc:
                tried.append(f"{url} ({type(exc).__name__}: {exc or 'no detail'})")
                continue
            actual = hashlib.sha256(data).hexdigest()
            if actual == sha_hex:
                return data
            tried.append(f"{url} (wrong content: hashes to {actual})")
    finally:
        if own:
            http.close()
    where = "; ".join(tried) if tried else "no source URLs were given"
    raise BlobNotFound(f"could not fetch blob {sha_hex}: {where}. Check that a node holding it is online, or pass another URL")


def fetch_into(store: BlobStore, sha_hex: str, urls: Sequence[str], timeout: float = 10.0) -> bytes:
    """The blob from the local store, else fetched from `urls` and stored there."""
    if store.has(sha_hex):
        try:
            return store.get(sha_hex)
        except BlobNotFound:
            pass   # corrupted copy was removed: fetch again
    data = fetch_blob(sha_hex, urls, timeout, max_bytes=store.max_bytes)
    store.put_expecting(sha_hex, data)
    return data


class _Refused(Exception):
    pass


def _get_limited(http: httpx.Client, url: str, max_bytes: int, timeout: float) -> bytes:
    with http.stream("GET", url, timeout=timeout) as resp:
        if resp.status_code != 200:
            raise _Refused(f"HTTP {resp.status_code}")
        declared = resp.headers.get("content-length")
        if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
            raise _Refused(f"too large: {declared} bytes > {max_bytes}")
        chunks, size = [], 0
        for chunk in resp.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise _Refused(f"too large: more than {max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)
