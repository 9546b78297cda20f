"""The PostgreSQL mail store beyond the tests it shares with SQLite
(tests/store/test_mailstore.py runs those on both): two nodes writing one mailbox,
bodies streamed with bounded memory, the restore API, a database that is down."""

from __future__ import annotations

import io
import itertools
import os
import threading
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

from mailtool.errors import NotFound, StoreUnavailable
from mailtool.store.pg import bodies
from mailtool.store.pg.bodies import CHUNK, CrlfCounter
from mailtool.store.pg.db import Database
from mailtool.store.pg.mailstore import PgMailStore

MSG = b"From: a@b.test\r\nSubject: hello\r\n\r\nbody\r\n"


@pytest.fixture
def mail_backend() -> str:
    return "postgresql"


@pytest.fixture
def nodes(open_mail_store: Callable[[], PgMailStore]) -> list[PgMailStore]:
    """Two mail stores on one database, each with its own pool: two serve nodes."""
    return [open_mail_store(), open_mail_store()]


def test_two_nodes_appending_at_once_get_distinct_uids_and_growing_modseqs(nodes):
    """RFC 9051 §2.3.1.1 and RFC 7162 §3 across nodes: 2 x 200 appends from threads."""
    folders = [store.user("alice@a.test").folder("INBOX") for store in nodes]
    results: list[list[tuple[int, int]]] = [[], []]
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for _ in range(200):
                info = folders[i].append(MSG)
                results[i].append((info.uid, info.modseq))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    uids = sorted(u for r in results for u, _ in r)
    assert uids == list(range(1, 401))
    for mine in results:  # each writer saw its own numbers strictly grow
        assert [u for u, _ in mine] == sorted(u for u, _ in mine)
        assert all(a[1] < b[1] for a, b in itertools.pairwise(mine))
    by_uid = dict(u_m for r in results for u_m in r)
    modseqs = [by_uid[u] for u in uids]
    assert modseqs == sorted(modseqs) and len(set(modseqs)) == 400, "MODSEQ grows with the UID"
    st = folders[1].status()
    assert (st.messages, st.uidnext, st.highestmodseq) == (400, 401, max(modseqs))


def test_a_watcher_on_one_node_hears_an_append_on_the_other(nodes):
    heard = threading.Event()
    seen = []

    def callback(change: Any) -> None:
        seen.append(change)
        heard.set()

    unwatch = nodes[1].user("alice@a.test").watch(callback)
    uid = nodes[0].user("alice@a.test").deliver(MSG)
    assert heard.wait(10)
    assert (seen[0].folder, seen[0].kind, seen[0].uids) == ("INBOX", "append", (uid,))
    unwatch()


def test_30_mb_message_round_trips_with_bounded_memory(nodes):
    """Issue 17 point 2: bodies chunked and streamed both ways, never whole in memory."""
    size = 30 * 1024 * 1024
    line = b"x" * 76 + b"\r\n"

    class Source(io.RawIOBase):  # the message as a stream, made as it is read
        def __init__(self) -> None:
            self.left = size

        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            n = min(len(b), self.left)
            pattern = (line * (n // len(line) + 1))[:n]
            b[:n] = pattern
            self.left -= n
            return n

    inbox = nodes[0].user("alice@a.test").folder("INBOX")
    tracemalloc.start()
    try:
        info = inbox.append(io.BufferedReader(Source(), CHUNK), size=size)
        _, peak_in = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        total = 0
        counter = CrlfCounter()
        with inbox.open(info.uid) as fh:
            while chunk := fh.read(64 * 1024):
                total += len(chunk)
                counter.feed(chunk)
        _, peak_out = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == size and info.size == counter.size == size
    assert peak_in < size / 8, f"append held {peak_in} bytes"
    assert peak_out < size / 8, f"reading held {peak_out} bytes"


def test_open_reads_across_chunks_and_seeks(nodes):
    data = bytes(range(256)) * (CHUNK // 256 * 2 + 3)  # two chunks and a bit
    inbox = nodes[0].user("alice@a.test").folder("INBOX")
    uid = inbox.append(data).uid
    with inbox.open(uid) as fh:
        fh.seek(CHUNK - 5)
        assert fh.read(10) == data[CHUNK - 5 : CHUNK + 5]
        fh.seek(0)
        assert fh.read() == data
    assert nodes[1].user("alice@a.test").folder("INBOX").read_bytes(uid) == data


def test_copy_shares_the_body_and_expunge_keeps_it_for_the_copy(nodes, monkeypatch):
    mail = nodes[0].user("alice@a.test")
    inbox = mail.folder("INBOX")
    big = MSG + b"x" * CHUNK  # two chunks: the second is fetched after the expunge
    uid = inbox.append(big).uid
    [(_, copied)] = inbox.copy([uid], "Archive").items()
    inbox.store([uid], ["\\Deleted"])
    assert inbox.expunge() == [uid]
    assert mail.folder("Archive").read_bytes(copied) == big
    with mail.folder("Archive").open(copied) as reader:  # a FETCH streaming it
        mail.folder("Archive").store([copied], ["\\Deleted"])
        mail.folder("Archive").expunge()
        assert reader.read() == big, "an expunged body outlives its readers"
    with nodes[0].db.connection() as conn:
        assert conn.execute("SELECT count(*) FROM mail_bodies WHERE orphaned_at IS NULL"
                            ).fetchone()[0] == 0  # fmt: skip
    monkeypatch.setattr(bodies, "ORPHAN_GRACE", -1)  # the grace is over: the next sweep
    inbox.store([inbox.append(MSG).uid], ["\\Deleted"])
    inbox.expunge()
    with nodes[0].db.connection() as conn:
        assert conn.execute("SELECT count(*) FROM mail_bodies").fetchone()[0] == 0


def test_import_message_and_set_state_keep_a_client_in_sync(nodes):
    """The restore API of `mailtool store migrate`: UIDs, MODSEQs and UIDVALIDITY as given."""
    mail = nodes[0].user("alice@a.test")
    inbox = mail.folder("INBOX")
    inbox.set_state(uidvalidity=123456)
    assert mail.import_message("INBOX", uid=7, flags=["\\Seen", "work"], internal_date=1e9,
                               modseq=40, data=MSG)  # fmt: skip
    assert not mail.import_message("INBOX", uid=7, flags=[], internal_date=1e9, modseq=40,
                                   data=MSG), "a rerun changes nothing"  # fmt: skip
    inbox.set_state(uidnext=12, highestmodseq=55)
    inbox.set_state(uidnext=3, highestmodseq=2)  # numbers never go down
    st = inbox.status()
    assert (st.uidvalidity, st.uidnext, st.highestmodseq, st.messages) == (123456, 12, 55, 1)
    [info] = inbox.messages()
    assert (info.uid, info.flags, info.internal_date, info.modseq) == (
        7, {"\\Seen", "work"}, 1e9, 40)  # fmt: skip
    assert inbox.changes_since(55).changed == [] and inbox.changes_since(55).vanished == []
    assert inbox.append(MSG).uid == 12


def test_unknown_users_are_not_found_and_known_ones_get_a_mailbox_on_any_node(nodes):
    with pytest.raises(NotFound):
        nodes[0].user("bob@a.test")
    assert nodes[1].user("alice@a.test").folders()[0] == "INBOX"
    assert nodes[0].user("carol@a.test", create=True).folders()[0] == "INBOX"


def test_database_down_is_store_unavailable(mail_accounts):
    from tests.peers import free_port

    db = Database(f"postgresql://mailtool@127.0.0.1:{free_port('127.0.0.1')}/none",
                  connect_timeout=0.5)  # fmt: skip
    store = PgMailStore(db, accounts=mail_accounts)
    try:
        with pytest.raises(StoreUnavailable):
            store.user("alice@a.test")
    finally:
        store.close()
        db.close()


def test_read_headers_batched_and_a_long_header_read_on(nodes):
    """SEARCH/SORT read each header block once: one query per batch, bounded reads."""
    from mailtool.store.pg.folder import HEADER_PREFIX

    inbox = nodes[0].user("alice@a.test").folder("INBOX")
    short = inbox.append(MSG).uid
    long_header = b"X-Long: " + b"y" * (HEADER_PREFIX + 100) + b"\r\n\r\nbody\r\n"
    long = inbox.append(long_header).uid
    gone = inbox.append(MSG).uid
    infos = inbox.messages()
    inbox.store([gone], ["\\Deleted"])
    inbox.expunge()
    got = dict(inbox.read_headers(infos))
    assert got == {short: MSG[: MSG.index(b"\r\n\r\n") + 4], long: long_header[:-6], gone: None}


def test_append_file_streams_the_spooled_file_in_and_removes_it(nodes):
    mail = nodes[0].user("alice@a.test")
    path = mail.tmp_path()
    with open(path, "wb") as fh:
        fh.write(MSG)
    info = mail.folder("Drafts").append_file(path, ["\\Draft"], 1e9)
    assert mail.folder("Drafts").read_bytes(info.uid) == MSG and info.flags == {"\\Draft"}
    assert not os.path.exists(path)


def test_purge_mail_removes_every_folder_message_and_body(nodes):
    from mailtool.store.pg.mailstore import purge_mail

    mail = nodes[0].user("alice@a.test")
    mail.deliver(MSG)
    mail.folder("INBOX").copy([1], "Archive")
    with nodes[0].db.transaction() as conn:
        purge_mail(conn, "alice@a.test")
    with nodes[0].db.connection() as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM mail_folders), (SELECT count(*) FROM mail_messages),"
            " (SELECT count(*) FROM mail_bodies), (SELECT count(*) FROM mail_users)"
        ).fetchone()
    assert counts == (0, 0, 1, 0), "the body waits out its grace (ORPHAN_GRACE)"


def test_a_database_restart_is_store_unavailable_then_the_store_carries_on(mail_accounts):
    """Issue 17 point 7: while PostgreSQL is away every call says StoreUnavailable (the
    servers' temporary error), never a psycopg error; afterwards the pool reconnects."""
    from mailtool.store.pg import schema
    from tests.peers.postgres import PostgresCluster

    cluster = PostgresCluster().start()  # a private one: the session's is shared
    db = Database(cluster.create_database(), pool_size=2, connect_timeout=1)
    store = PgMailStore(db, accounts=mail_accounts)
    try:
        schema.init(db)
        mail = store.user("alice@a.test")
        inbox = mail.folder("INBOX")
        uid = inbox.append(MSG).uid
        cluster.stop()
        for call in (lambda: inbox.append(MSG), inbox.status, lambda: inbox.read_bytes(uid),
                     lambda: inbox.store([uid], ["\\Seen"]), mail.folders):  # fmt: skip
            with pytest.raises(StoreUnavailable):
                call()
        cluster.start()
        assert inbox.append(MSG).uid == uid + 1
        assert [m.uid for m in inbox.messages()] == [uid, uid + 1]
    finally:
        store.close()
        db.close()
        cluster.cleanup()
