"""Claiming \\Recent moves the claimed files new/ -> cur/ after the claim has returned
(mailtool.store.recent_moves): reads, STOREs, EXPUNGEs and other processes meanwhile
find every file, lose no rename, and leave none the index does not know. Maildir only."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from mailtool.store import recent_moves
from mailtool.store.maildir import flags_of_letters, split_filename
from mailtool.store.mailstore import MailStore

N = 700  # three batches of recent_moves.BATCH


def _body(n: int) -> bytes:
    return f"Subject: message {n}\r\n\r\nbody {n}\r\n".encode()


@pytest.fixture
def store(tmp_path: Path):
    stores: list[MailStore] = []

    def make() -> MailStore:  # two calls: two processes
        stores.append(MailStore(tmp_path))
        return stores[-1]

    yield make
    for s in stores:
        s.close()


def _drop(mail, n: int = N) -> dict[int, bytes]:
    """``n`` files dropped into INBOX's new/ by another program, indexed: UID -> bytes."""
    inbox = mail.folder("INBOX")
    for i in range(n):
        (inbox.path / "new" / f"1700000000.M{i}P1.mda").write_bytes(_body(i))
    inbox.sync(force=True, report=False)
    return {m.uid: _body(int(m.base.split("M")[1].split("P")[0])) for m in inbox.messages()}


def _consistent(mail) -> list[str]:
    """Every indexed message's file at its indexed path with its flags' letters, and no
    file on disk the index does not know; returns the sub-directories the files are in."""
    inbox = mail.folder("INBOX")
    infos = inbox.messages()
    on_disk = sorted(f"{d}/{n}" for d in ("new", "cur") for n in os.listdir(inbox.path / d))
    assert sorted(m.path for m in infos) == on_disk
    for m in infos:
        if m.path.startswith("cur/"):
            letters = split_filename(m.path[4:])[1]
            assert flags_of_letters(letters) == {f for f in m.flags if f.startswith("\\")}
    return [m.path[:3] for m in infos]


def test_claim_returns_before_the_moves_and_reads_find_every_file(store) -> None:
    mail = store().user("alice@a.test", create=True)
    want = _drop(mail)
    inbox = mail.folder("INBOX")
    listed = inbox.messages()  # paths in new/, as a FETCH listed them before the moves
    held = threading.Event()
    release = threading.Event()
    moved_paths = mail.index.moved_paths

    def slow_commit(name, moved):  # the mover's first batch: renamed, rows not yet updated
        held.set()
        release.wait(10)
        moved_paths(name, moved)

    mail.index.moved_paths = slow_commit
    with mail.lock:  # no batch can start: the claim must not wait for one
        assert inbox.claim_recent() == range(1, N + 1)
        assert len(os.listdir(inbox.path / "new")) == N
    assert held.wait(10)
    assert 0 < len(os.listdir(inbox.path / "cur")) < N
    for info in listed:  # a FETCH BODY[] of each, from the old listing and by UID
        with inbox.open_message(info) as fh:
            assert fh.read() == want[info.uid]
        assert inbox.read_bytes(info.uid) == want[info.uid]
    assert dict(inbox.read_headers(listed)) == {u: b.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
                                                for u, b in want.items()}  # fmt: skip
    release.set()
    assert mail.recent_moves.wait(10)
    assert set(_consistent(mail)) == {"cur"}
    assert inbox.claim_recent() == range(N + 1, N + 1), "claimed once"
    assert inbox.sync(force=True).changed == [], "nothing left to adopt"


def test_store_and_expunge_racing_the_moves_lose_no_rename(store, monkeypatch) -> None:
    """STOREs and EXPUNGEs of this process run between the mover's batches, those of
    another process (not under our lock) also between a batch's renames and its commit."""
    monkeypatch.setattr(recent_moves, "BATCH", 50)
    mail = store().user("alice@a.test", create=True)
    other = store().user("alice@a.test")  # another process: not under our lock
    want = _drop(mail)
    set_flags_many = mail.maildir.set_flags_many

    def slow_renames(folder, files):  # the window before the batch's paths are committed
        out = set_flags_many(folder, files)
        time.sleep(0.02)
        return out

    mail.maildir.set_flags_many = slow_renames
    inbox, elsewhere = mail.folder("INBOX"), other.folder("INBOX")
    uids = sorted(want)
    assert inbox.claim_recent() == range(1, N + 1)
    for i, uid in enumerate(uids):  # while the moves run
        if i % 3 == 0:
            inbox.store([uid], ["\\Seen", "$Work"])
        elif i % 3 == 1:
            elsewhere.store([uid], ["\\Flagged"])
        if i % 7 == 0:
            inbox.store([uid], ["\\Deleted"])
            assert inbox.expunge([uid]) == [uid]
        elif i % 11 == 0:
            elsewhere.store([uid], ["\\Deleted"])
            assert elsewhere.expunge([uid]) == [uid]
    assert mail.recent_moves.wait(10)
    where = _consistent(mail)
    gone = {u for i, u in enumerate(uids) if i % 7 == 0 or i % 11 == 0}
    assert len(where) == N - len(gone) and set(where) == {"cur"}
    flags = {m.uid: m.flags for m in inbox.messages()}
    for i, uid in enumerate(uids):
        if uid not in gone:
            expected = [{"\\Seen", "$Work"}, {"\\Flagged"}, set()][i % 3]
            assert flags[uid] == expected
            assert inbox.read_bytes(uid) == want[uid]
    assert inbox.sync(force=True).changed == [], "nothing left to adopt"


def test_a_stop_leaves_claimed_files_in_new_and_the_next_claim_moves_them(store) -> None:
    first = store()
    mail = first.user("alice@a.test", create=True)
    _drop(mail, 30)
    mail.recent_moves.stop()  # the server stopping (or a crash) right after the claim
    assert mail.folder("INBOX").claim_recent() == range(1, 31)
    assert set(_consistent(mail)) == {"new"}
    again = store().user("alice@a.test")  # the next process: nothing new to claim ...
    assert again.folder("INBOX").claim_recent() == range(31, 31)
    assert again.recent_moves.wait(10)
    assert set(_consistent(again)) == {"cur"}  # ... and the leftovers moved


def test_examine_moves_nothing(store) -> None:
    mail = store().user("alice@a.test", create=True)
    _drop(mail, 5)
    assert mail.folder("INBOX").claim_recent(peek=True) == range(1, 6)
    assert mail.recent_moves.wait(10)
    assert set(_consistent(mail)) == {"new"}



def test_many_users_moves_share_the_process_threads(store, monkeypatch) -> None:
    """Six users' first SELECTs at once: their moves queue for the shared threads
    (recent_moves.MOVER_THREADS), they do not start a thread each, and all get done."""
    monkeypatch.setattr(recent_moves, "_pool", None)  # a pool of this test's own
    monkeypatch.setattr(recent_moves, "MOVER_THREADS", 2)
    gate, running, names, most = threading.Event(), set(), set(), [0]
    lock = threading.Lock()
    move = recent_moves.RecentMover._move

    def held(self, folder: str, below: int) -> None:
        with lock:
            running.add(threading.current_thread().name)
            names.add(threading.current_thread().name)
            most[0] = max(most[0], len(running))
        assert gate.wait(30)
        move(self, folder, below)
        with lock:
            running.discard(threading.current_thread().name)

    monkeypatch.setattr(recent_moves.RecentMover, "_move", held)
    shared = store()
    users = [shared.user(f"u{n}@a.test", create=True) for n in range(6)]
    for mail in users:
        _drop(mail, 20)
        assert mail.folder("INBOX").claim_recent() == range(1, 21)
    deadline = time.monotonic() + 10
    while most[0] < 2 and time.monotonic() < deadline:  # both threads at work, held
        time.sleep(0.01)
    time.sleep(0.2)  # a third would have started by now
    assert most[0] == 2, "two users' moves at once, the others queued"
    gate.set()
    for mail in users:
        assert mail.recent_moves.wait(10)
        assert set(_consistent(mail)) == {"cur"}
    assert most[0] == 2 and len(names) == 2, names  # never more threads than the bound
    recent_moves._shared_pool().shutdown()
