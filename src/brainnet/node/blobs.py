"""Content-addressed blob store: where a node keeps inputs, outputs and updates by sha256.

The chain stores only 32-byte hashes; the payloads live here and are served over HTTP
(`node/api.py`). A blob's name is its sha256, so a blob can be fetched from anyone and
checked on arrival. Names are validated as 64 lowercase hex characters before any path is
built from them, so a request can never escape the store's folder.

Layout: `<root>/<first 2 hex>/<sha256>`; writes are atomic (temp file + rename).
"""
from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path

from brainnet.errors import BadBlobHash, BlobError, BlobHashMismatch, BlobNotFound, BlobTooLarge
from brainnet.fsutil import atomic_write_bytes

MAX_BLOB_BYTES = 8 * 1024 * 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_sha(sha_hex: object) -> str:
    """Return `sha_hex` if it is 64 lowercase hex characters, else raise BadBlobHash."""
    if not isinstance(sha_hex, str) or not _HEX64.fullmatch(sha_hex):
        shown = repr(sha_hex) if len(repr(sha_hex)) <= 80 else repr(sha_hex)[:77] + "..."
        raise BadBlobHash(f"malformed blob hash {shown}: expected a sha256 as 64 lowercase hex characters")
    return sha_hex


class BlobStore:
    def __init__(self, root: Path | str, max_bytes: int = MAX_BLOB_BYTES):
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._count, self._bytes = self._scan()

    def path(self, sha_hex: str) -> Path:
        sha_hex = check_sha(sha_hex)
        return self.root / sha_hex[:2] / sha_hex

    def has(self, sha_hex: str) -> bool:
        return self.path(sha_hex).is_file()

    def put(self, data: bytes) -> str:
        """Store `data` under its sha256 (atomic, idempotent) and return the hex hash."""
        return self._put(sha256_hex(bytes(data)), bytes(data))

    def put_expecting(self, sha_hex: str, data: bytes) -> str:
        """Store `data` only if it hashes to `sha_hex` and fits; BlobError otherwise."""
        sha_hex = check_sha(sha_hex)
        data = bytes(data)
        self._check_size(len(data))
        actual = sha256_hex(data)
        if actual != sha_hex:
            raise BlobHashMismatch(f"blob content hashes to {actual}, not {sha_hex}; the sender sent the wrong bytes")
        return self._put(sha_hex, data)

    def put_new(self, sha_hex: str, data: bytes) -> bool:
        """Like put_expecting; True when the blob was not stored before."""
        sha_hex = check_sha(sha_hex)
        existed = self.has(sha_hex)
        self.put_expecting(sha_hex, data)
        return not existed

    def get(self, sha_hex: str) -> bytes:
        """The blob's bytes, checked against its name. A corrupted file is removed."""
        path = self.path(sha_hex)
        try:
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise BlobNotFound(f"blob {sha_hex} is not in this store ({self.root}); fetch it from a node that has it") from None
        actual = sha256_hex(data)
        if actual != sha_hex:
            self._remove(path, len(data))
            raise BlobNotFound(f"blob {sha_hex} was corrupted on disk (hashed to {actual}) and was removed; fetch it again")
        return data

    def stats(self) -> tuple[int, int]:
        """(blobs stored, total bytes) as counted by this process since it opened the store."""
        with self._lock:
            return self._count, self._bytes

    # -- internals ---------------------------------------------------------------------
    def _check_size(self, size: int) -> None:
        if size > self.max_bytes:
            raise BlobTooLarge(f"blob is {size} bytes; this store accepts at most {self.max_bytes}")

    def _put(self, sha_hex: str, data: bytes) -> str:
        self._check_size(len(data))
        path = self.path(sha_hex)
        with self._lock:
            if path.is_file():
                return sha_hex
            atomic_write_bytes(path, data)
            self._count += 1
            self._bytes += len(data)
        return sha_hex

    def _remove(self, path: Path, size: int) -> None:
        with self._lock:
            try:
                path.unlink()
            except FileNotFoundError:
                return
            self._count -= 1
            self._bytes -= size

    def _scan(self) -> tuple[int, int]:
        count = total = 0
        for sub in self.root.iterdir():
            if not (sub.is_dir() and len(sub.name) == 2):
                continue
            for f in sub.iterdir():
                if _HEX64.fullmatch(f.name) and f.is_file():
                    count += 1
                    total += f.stat().st_size
        return count, total


__all__ = ["BlobStore", "BlobError", "MAX_BLOB_BYTES", "check_sha", "sha256_hex"]
