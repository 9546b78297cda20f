"""UIDs and MODSEQs are never given twice, though index commits are not flushed one by one.

The index runs SQLite with ``synchronous=NORMAL``: a power loss may undo its
last commits. Numbers come from reservations made by flushed commits, and the
first open after a reboot continues above them (see mailtool.store.index)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mailtool.store import index as index_module
from mailtool.store.index import Index, NewMessage


def entry(n: int) -> NewMessage:
    return NewMessage(f"{n}.M1P1.host", f"new/{n}.M1P1.host", frozenset(), 100, 1.0e9 + n)


@pytest.fixture
def boot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for /proc/sys/kernel/random/boot_id that the test can "reboot"."""
    path = tmp_path / "boot_id"
    path.write_text("first-boot\n")
    monkeypatch.setattr(index_module, "BOOT_ID", path)
    return path


def folder_row(path: Path) -> sqlite3.Row:
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute(
            "SELECT uidnext, highestmodseq, uid_reserved, modseq_reserved FROM folders"
            " WHERE name = 'INBOX'"
        ).fetchone()


def synchronous(index: Index) -> int:
    return index._db.rows("PRAGMA synchronous")[0][0]


def test_numbers_stay_below_a_reservation_that_grows_as_needed(tmp_path, boot, monkeypatch):
    monkeypatch.setattr(index_module, "RESERVE_BLOCK", 3)
    path = tmp_path / "index.sqlite"
    idx = Index(path)
    idx.add_folder("INBOX")
    uids = [idx.add("INBOX", [entry(n)])[0].uid for n in range(10)]
    uids += [i.uid for i in idx.add("INBOX", [entry(n) for n in range(10, 17)])]  # > a block
    idx.close()
    assert uids == list(range(1, 18))  # consecutive: reserving leaves no gap
    row = folder_row(path)
    assert row["uidnext"] == 18
    assert row["uidnext"] <= row["uid_reserved"]
    assert row["highestmodseq"] < row["modseq_reserved"]


def test_after_a_reboot_undone_numbers_are_not_given_again(tmp_path, boot):
    path = tmp_path / "index.sqlite"
    idx = Index(path)
    idx.add_folder("INBOX")
    seen = [i.uid for i in idx.add("INBOX", [entry(n) for n in range(5)])]
    seen_modseq = idx.counters("INBOX")[2]
    idx.close()
    # a power loss undoes the commit that gave UIDs 3-5 (WAL pages never written)
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM messages WHERE uid >= 3")
        conn.execute("UPDATE folders SET uidnext = 3, highestmodseq = 2")
    boot.write_text("second-boot\n")

    idx = Index(path)
    again = idx.add("INBOX", [entry(n) for n in range(2, 5)])  # the next sync finds the files
    idx.close()
    assert min(i.uid for i in again) > max(seen)
    assert min(i.modseq for i in again) > seen_modseq


def one_message_index(path: Path) -> None:
    idx = Index(path)
    idx.add_folder("INBOX")
    idx.add("INBOX", [entry(1)])
    idx.close()


def test_reopening_in_the_same_boot_continues_where_it_was(tmp_path, boot):
    path = tmp_path / "index.sqlite"
    one_message_index(path)
    idx = Index(path)
    assert idx.add("INBOX", [entry(2)])[0].uid == 2
    idx.close()


def test_commits_are_flushed_one_by_one_where_there_is_no_boot_id(tmp_path, monkeypatch):
    idx = Index(tmp_path / "index.sqlite")
    assert synchronous(idx) == 1  # NORMAL: this machine has a boot id
    idx.close()
    monkeypatch.setattr(index_module, "BOOT_ID", tmp_path / "missing")
    idx = Index(tmp_path / "other.sqlite")
    assert synchronous(idx) == 2  # FULL: no way to tell a reboot
    idx.close()


def test_an_index_made_before_the_reservations_gets_them(tmp_path, boot):
    path = tmp_path / "index.sqlite"
    one_message_index(path)
    with sqlite3.connect(path) as conn:  # the schema of the previous release
        conn.execute("ALTER TABLE folders DROP COLUMN uid_reserved")
        conn.execute("ALTER TABLE folders DROP COLUMN modseq_reserved")
    idx = Index(path)
    assert idx.add("INBOX", [entry(2)])[0].uid == 2
    idx.close()
    assert folder_row(path)["uid_reserved"] > 2
