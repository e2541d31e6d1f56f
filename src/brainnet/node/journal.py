"""The node's journal: what it must never forget between a commit and its reveal.

A committee member commits `keccak(task, result, member, salt)` and must later reveal the
same `(result, salt)`, or it is slashed as a no-show. So the result and salt are written
here, in a committed SQLite transaction (WAL, `synchronous=FULL`), *before* the commit
transaction is sent; a node killed at any point after that reveals on restart.

Once recorded, a task's result and salt never change: the commit may already be on the
chain even if `mark_committed` never ran, so `record_result` with other values is refused.
The `meta` table keeps small facts such as the last processed block.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from brainnet.errors import JournalError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    task_id   INTEGER PRIMARY KEY,
    result    BLOB,
    salt      BLOB,
    canonical BLOB,
    committed INTEGER NOT NULL DEFAULT 0,
    commit_tx TEXT,
    revealed  INTEGER NOT NULL DEFAULT 0,
    reveal_tx TEXT,
    finalized INTEGER NOT NULL DEFAULT 0,
    updated   REAL
);
CREATE INDEX IF NOT EXISTS tasks_open ON tasks(finalized);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT
);
"""

_COLUMNS = "task_id, result, salt, canonical, committed, commit_tx, revealed, reveal_tx, finalized, updated"


@dataclass(frozen=True)
class JournalEntry:
    task_id: int
    result: bytes | None      # 32-byte result hash the member commits to
    salt: bytes | None        # 32-byte salt of the commitment
    canonical: bytes | None   # canonical output bytes (also in the blob store)
    committed: bool
    commit_tx: str | None
    revealed: bool
    reveal_tx: str | None
    finalized: bool
    updated: float            # unix time of the last change

    @property
    def phase(self) -> str:
        if self.finalized:
            return "finalized"
        if self.revealed:
            return "revealed"
        if self.committed:
            return "committed"
        return "recorded"


class Journal:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30.0)
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise JournalError(f"journal {self.path}: SQLite refused WAL mode (got {mode!r}); put it on a local disk")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"cannot open journal {self.path}: {exc}; is it a brainnet journal file?") from None

    # -- writes: each one is a committed transaction before the method returns ---------
    def record_result(self, task_id: int, result: bytes, salt: bytes, canonical: bytes) -> None:
        """Durably record a task's result and salt. Call before sending the commit tx.

        Recording the same values again is a no-op; other values for a recorded task
        raise JournalError (the old commitment may be on-chain already: reveal that one).
        """
        result, salt, canonical = bytes(result), bytes(salt), bytes(canonical)
        with self._tx() as db:
            row = db.execute("SELECT result, salt, canonical FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
            if row is not None:
                if (row[0], row[1], row[2]) == (result, salt, canonical):
                    return
                raise JournalError(
                    f"task {task_id} already has a recorded result and salt; its commitment may be on-chain, "
                    "so reveal the journaled values (Journal.get) instead of recording new ones"
                )
            db.execute(
                "INSERT INTO tasks (task_id, result, salt, canonical, updated) VALUES (?, ?, ?, ?, ?)",
                (task_id, result, salt, canonical, time.time()),
            )

    def mark_committed(self, task_id: int, tx: str) -> None:
        self._mark(task_id, "committed = 1, commit_tx = ?", (tx,), "committed")

    def mark_revealed(self, task_id: int, tx: str) -> None:
        self._mark(task_id, "revealed = 1, reveal_tx = ?", (tx,), "revealed")

    def mark_finalized(self, task_id: int) -> bool:
        """Close a task; False (and nothing written) if the journal never recorded it."""
        with self._tx() as db:
            cur = db.execute("UPDATE tasks SET finalized = 1, updated = ? WHERE task_id = ?", (time.time(), task_id))
            return cur.rowcount > 0

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                       (key, str(value)))

    # -- reads -----------------------------------------------------------------------
    def get(self, task_id: int) -> JournalEntry | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        return _entry(row) if row else None

    def open_tasks(self) -> list[JournalEntry]:
        """Tasks not yet finalized, oldest task id first: what a restarted node must finish."""
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM tasks WHERE finalized = 0 ORDER BY task_id").fetchall()
        return [_entry(r) for r in rows]

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------
    def _mark(self, task_id: int, assignment: str, params: tuple, what: str) -> None:
        with self._tx() as db:
            cur = db.execute(f"UPDATE tasks SET {assignment}, updated = ? WHERE task_id = ?", (*params, time.time(), task_id))
            if cur.rowcount == 0:
                raise JournalError(f"cannot mark task {task_id} {what}: no result was recorded for it; call record_result first")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT under the journal's lock; ROLLBACK on error."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")


def _entry(row: tuple) -> JournalEntry:
    task_id, result, salt, canonical, committed, commit_tx, revealed, reveal_tx, finalized, updated = row
    return JournalEntry(task_id, result, salt, canonical, bool(committed), commit_tx,
                        bool(revealed), reveal_tx, bool(finalized), updated or 0.0)


__all__ = ["Journal", "JournalEntry"]
