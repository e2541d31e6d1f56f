"""Crash-safe file writes shared by the model store and the node's blob store.

A file is written to a temporary name in the same folder, flushed to disk, then renamed
(or linked) to its final name, so a reader (or a node restarted after a kill) sees either
the whole old file or the whole new one, never a torn write.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _write_temp(path: Path, data: bytes, mode: int) -> str:
    """Write `data` durably to a temp file beside `path`; returns the temp file's name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write `data` to `path` atomically (temp file + fsync + os.replace)."""
    path = Path(path)
    tmp = _write_temp(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)


def create_new_file(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write `path` atomically, failing with FileExistsError if it already exists.

    The content is written to a temp file first and then hard-linked into place: the link
    either appears whole or not at all, and never replaces an existing file.
    """
    path = Path(path)
    tmp = _write_temp(path, data, mode)
    try:
        os.link(tmp, path)
    finally:
        os.unlink(tmp)
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename durable: fsync the folder that holds it (best effort off POSIX)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
