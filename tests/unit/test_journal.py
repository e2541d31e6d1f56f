"""Journal: what a committee member must not forget, durable before the commit is sent."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading

import pytest

from brainnet.errors import JournalError
from brainnet.node.journal import Journal, JournalEntry

RESULT, SALT, CANON = b"\x01" * 32, b"\x02" * 32, b'{"label":7}'


@pytest.fixture
def journal(tmp_path):
    with Journal(tmp_path / "journal.sqlite") as j:
        yield j


def test_pragmas(journal):
    db = sqlite3.connect(journal.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert journal._db.execute("PRAGMA synchronous").fetchone()[0] == 2   # FULL


def test_lifecycle_of_a_task(journal):
    assert journal.get(5) is None
    journal.record_result(5, RESULT, SALT, CANON)
    entry = journal.get(5)
    assert isinstance(entry, JournalEntry)
    assert (entry.result, entry.salt, entry.canonical, entry.phase) == (RESULT, SALT, CANON, "recorded")
    journal.mark_committed(5, "0xc0")
    assert journal.get(5).committed and journal.get(5).commit_tx == "0xc0" and journal.get(5).phase == "committed"
    journal.mark_revealed(5, "0xre")
    assert journal.get(5).reveal_tx == "0xre" and journal.get(5).phase == "revealed"
    assert [e.task_id for e in journal.open_tasks()] == [5]
    assert journal.mark_finalized(5)
    assert journal.get(5).finalized and journal.open_tasks() == []


def test_open_tasks_in_task_order(journal):
    for t in (9, 2, 4):
        journal.record_result(t, RESULT, SALT, CANON)
    journal.mark_finalized(4)
    assert [e.task_id for e in journal.open_tasks()] == [2, 9]


def test_recorded_result_is_never_replaced(journal):
    journal.record_result(1, RESULT, SALT, CANON)
    journal.record_result(1, RESULT, SALT, CANON)          # same values: no-op
    with pytest.raises(JournalError, match="reveal the journaled values"):
        journal.record_result(1, RESULT, b"\x03" * 32, CANON)
    assert journal.get(1).salt == SALT


def test_marking_an_unrecorded_task_is_refused(journal):
    with pytest.raises(JournalError, match="record_result first"):
        journal.mark_committed(77, "0x")
    with pytest.raises(JournalError):
        journal.mark_revealed(77, "0x")
    assert journal.mark_finalized(77) is False
    assert journal.get(77) is None


def test_meta(journal):
    assert journal.get_meta("last_block") is None
    assert journal.get_meta("last_block", "0") == "0"
    journal.set_meta("last_block", "41")
    journal.set_meta("last_block", "42")
    assert journal.get_meta("last_block") == "42"


def test_survives_reopen(tmp_path):
    path = tmp_path / "j.sqlite"
    with Journal(path) as j:
        j.record_result(3, RESULT, SALT, CANON)
        j.mark_committed(3, "0xabc")
        j.set_meta("last_block", "10")
    with Journal(path) as j:
        assert j.get(3).commit_tx == "0xabc" and j.get_meta("last_block") == "10"


def test_threads_share_one_journal(journal):
    def work(base):
        for t in range(base, base + 25):
            journal.record_result(t, RESULT, SALT, CANON)
            journal.mark_committed(t, f"0x{t}")
    threads = [threading.Thread(target=work, args=(i * 100,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(journal.open_tasks()) == 100
    assert all(e.committed for e in journal.open_tasks())


def test_not_a_journal_file(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(JournalError, match="cannot open journal"):
        Journal(bad)


def test_record_is_durable_when_the_process_is_killed_right_after(tmp_path):
    path = tmp_path / "journal.sqlite"
    child = textwrap.dedent(f"""
        import os, signal, sys
        from brainnet.node.journal import Journal
        j = Journal({str(path)!r})
        j.set_meta("last_block", "99")
        j.record_result(12, b"\\x01" * 32, b"\\x02" * 32, b'{{"label":7}}')
        os.kill(os.getpid(), signal.SIGKILL)    # no close, no atexit, no flush
    """)
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    with Journal(path) as j:
        entry = j.get(12)
        assert entry is not None and (entry.result, entry.salt, entry.canonical) == (RESULT, SALT, CANON)
        assert not entry.committed and [e.task_id for e in j.open_tasks()] == [12]
        assert j.get_meta("last_block") == "99"


def test_killed_by_parent_after_record_returns(tmp_path):
    path = tmp_path / "journal.sqlite"
    child = textwrap.dedent(f"""
        import sys, time
        from brainnet.node.journal import Journal
        j = Journal({str(path)!r})
        j.record_result(1, b"\\x01" * 32, b"\\x02" * 32, b"c")
        j.mark_committed(1, "0xdead")
        print("recorded", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "recorded"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    with Journal(path) as j:
        assert j.get(1).commit_tx == "0xdead"
