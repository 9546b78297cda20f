"""``mailtool backup`` of a running server with deliveries in flight, ``mailtool restore``
into a new data dir, and a server started on it: a QRESYNC client that was in sync stays
in sync (RFC 7162 §3.2.5: its SELECT gets no VANISHED and no FETCH), and every message
acknowledged before the backup started is there exactly once."""

from __future__ import annotations

import json
import os
import re
import smtplib
import stat
import threading
import time
from pathlib import Path

import pytest

from tests.harness import MailtoolServer, render_toml
from tests.mra.imap.conftest import PASSWORD, add_user
from tests.mra.imap.wireclient import Wire

ALICE = "alice@example.test"  # the client in sync; nothing changes her INBOX meanwhile
BOB = "bob@example.test"  # mail keeps arriving for him during the backup
SERVICES = ("imap", "imaps", "smtp")


def _mail(to: str, n: int) -> bytes:
    return (
        f"From: carol@example.test\r\nTo: {to}\r\nSubject: message {n}\r\n"
        f"Message-ID: <m{n}.{to}>\r\nDate: Mon, 07 Dec 2026 04:00:00 +0000\r\n\r\n"
        f"body {n}\r\n"
    ).encode()


def _send(port: int, to: str, numbers: range) -> list[int]:
    """Deliver over SMTP; returns the numbers acknowledged with 250."""
    done = []
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        for n in numbers:
            smtp.sendmail("carol@example.test", [to], _mail(to, n))
            done.append(n)
    return done


def _wire(server: MailtoolServer, user: str) -> Wire:
    w = Wire(server.port("imaps"), tls=True)
    assert w.login(user, PASSWORD).status == "OK"
    return w


def _message_ids(server: MailtoolServer, user: str, folder: str = "INBOX") -> list[int]:
    w = _wire(server, user)
    assert w.cmd(f"EXAMINE {folder}").status == "OK"
    reply = w.cmd("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    w.close()
    return [int(n) for n in re.findall(rb"<m(\d+)\.", b"".join(reply.untagged))]


def _uidnext(server: MailtoolServer, user: str) -> int:
    w = _wire(server, user)
    reply = w.cmd("STATUS INBOX (UIDNEXT)")
    w.close()
    return int(re.search(rb"UIDNEXT (\d+)", reply.untagged[0]).group(1))


def _in_sync_client(server: MailtoolServer) -> tuple[int, int, str]:
    """ALICE's client state after a sync: (UIDVALIDITY, HIGHESTMODSEQ, known UIDs)."""
    w = _wire(server, ALICE)
    assert w.cmd("ENABLE QRESYNC").status == "OK"
    reply = w.cmd("SELECT INBOX")
    uidvalidity = int(reply.lines(b"* OK [UIDVALIDITY")[0].split()[3].rstrip(b"]"))
    modseq = int(reply.lines(b"* OK [HIGHESTMODSEQ")[0].split()[3].rstrip(b"]"))
    uids = w.cmd("UID SEARCH ALL").lines(b"* SEARCH")[0].split()[2:]
    w.close()
    return uidvalidity, modseq, ",".join(u.decode() for u in uids)


def _server_on(workdir: Path) -> MailtoolServer:
    """A server not started yet, its config written (for ``cli`` before ``start``)."""
    server = MailtoolServer(workdir, services=SERVICES)
    workdir.mkdir(parents=True, exist_ok=True)
    server.config_path.write_text(render_toml(server.config))
    return server


def test_backup_while_delivering_restores_a_store_a_qresync_client_agrees_with(
    mailtool_server, tmp_path: Path
) -> None:
    live = mailtool_server(services=SERVICES)
    add_user(live, ALICE)
    add_user(live, BOB)
    smtp_port = live.port("smtp")
    _send(smtp_port, ALICE, range(1, 13))
    acked_before = _send(smtp_port, BOB, range(1, 21))
    # ALICE's INBOX gets flags, an expunge and a move: MODSEQs, VANISHED history, renames
    w = _wire(live, ALICE)
    assert w.cmd("SELECT INBOX").status == "OK"
    assert w.cmd("STORE 1:4 +FLAGS (\\Seen \\Flagged)").status == "OK"
    assert w.cmd("STORE 5 +FLAGS (\\Deleted)").status == "OK"
    assert w.cmd("EXPUNGE").status == "OK"
    w.cmd("CREATE Archive")  # (a default folder already, maybe)
    assert w.cmd("CREATE Work").status == "OK"
    assert w.cmd("MOVE 6 Archive").status == "OK"
    w.close()
    synced = _in_sync_client(live)

    # deliveries to BOB and flag changes (renames) on his mail while the backup runs
    stop = threading.Event()
    acked_during: list[int] = []

    def deliver() -> None:
        n = 1000
        while not stop.is_set():
            acked_during.extend(_send(smtp_port, BOB, range(n, n + 5)))
            n += 5

    def flag() -> None:
        w = _wire(live, BOB)
        w.cmd("SELECT INBOX")
        while not stop.is_set():
            w.cmd("STORE 1:10 +FLAGS (\\Seen)")
            w.cmd("STORE 1:10 -FLAGS (\\Seen)")
        w.close()

    appended: list[int] = []

    def append() -> None:
        """ALICE's index changes during its snapshot too (another folder than INBOX)."""
        w = _wire(live, ALICE)
        n = 2000
        while not stop.is_set():
            data = _mail(ALICE, n)
            if w.cmd(f"APPEND Work {{{len(data)}+}}\r\n".encode() + data).status == "OK":
                appended.append(n)
            n += 1
        w.close()

    threads = [threading.Thread(target=f) for f in (deliver, flag, append)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 60
        while not (appended and acked_during) and time.monotonic() < deadline:
            time.sleep(0.05)  # mail is coming in when the backup starts
        assert appended and acked_during
        acked_before += acked_during[:]  # snapshots: acknowledged before the backup starts
        appended_before = appended[:]
        dest = tmp_path / "backup"
        result = live.cli("backup", str(dest), "--json", "--no-progress")
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    summary = json.loads(result.stdout)
    assert summary["users"] == 2 and summary["databases"] >= 3  # accounts + 2 indexes
    assert summary["linked"] >= 12 + 20  # the message files: DEST is on the same file system
    assert (dest / "mailtool-backup.json").exists()
    bob_uidnext = _uidnext(live, BOB)  # UIDs up to here were handed out, some after the backup
    live.stop()

    restored = _server_on(tmp_path / "restored")
    result = restored.cli("restore", str(dest), "--json", "--no-progress")
    assert json.loads(result.stdout)["users"] == 2
    for dirpath, _dirnames, filenames in os.walk(restored.data_dir):
        assert stat.S_IMODE(os.stat(dirpath).st_mode) == 0o700, dirpath
        for name in filenames:
            assert stat.S_IMODE(os.stat(Path(dirpath) / name).st_mode) == 0o600, name
    restored.start()
    try:
        uidvalidity, modseq, uids = synced
        w = _wire(restored, ALICE)
        assert w.cmd("ENABLE QRESYNC").status == "OK"
        reply = w.cmd(f"SELECT INBOX (QRESYNC ({uidvalidity} {modseq} {uids}))")
        assert reply.status == "OK", reply
        assert not reply.lines(b"* VANISHED") and not [
            line for line in reply.untagged if b" FETCH " in line
        ], reply.untagged
        assert reply.lines(b"* 10 EXISTS")  # 12 - 1 expunged - 1 moved
        w.close()
        assert _message_ids(restored, ALICE, "Archive") == [7]  # seq 6 after the expunge
        work = _message_ids(restored, ALICE, "Work")
        assert len(work) == len(set(work)) and set(appended_before) <= set(work) <= set(appended)
        # no UID the live server gave after the snapshot names another message now
        assert _uidnext(restored, BOB) >= bob_uidnext
        bob = _message_ids(restored, BOB)
        assert len(bob) == len(set(bob)), "a message restored twice"
        assert set(acked_before) <= set(bob)
        assert set(bob) <= set(acked_before) | set(acked_during)
    finally:
        assert restored.stop() == 0, restored.log()


def test_restore_refuses_a_partial_backup_and_a_data_dir_in_use(tmp_path: Path) -> None:
    from mailtool.store.accounts import AccountStore
    from mailtool.store.backup import MANIFEST, BackupError, backup, restore

    data = tmp_path / "data"
    AccountStore.in_data_dir(data).close()
    with pytest.raises(BackupError, match="inside the data dir"):
        backup(data, data / "copy")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(BackupError, match="not an empty directory"):
        backup(data, tmp_path / "full")
    summary = backup(data, tmp_path / "b")
    assert summary.databases == 1
    with pytest.raises(BackupError, match="not empty"):
        restore(tmp_path / "b", data)
    restore(tmp_path / "b", data, force=True)  # replaces what is there
    assert (data / "accounts.db").exists()
    (tmp_path / "b" / MANIFEST).unlink()
    with pytest.raises(BackupError, match="not a complete mailtool backup"):
        restore(tmp_path / "b", tmp_path / "new")


def test_backup_copies_and_fsyncs_across_file_systems(tmp_path: Path) -> None:
    """No hard link across file systems: the copy path, INTERNALDATE (mtime) kept."""
    from mailtool.store.backup import backup, restore
    from mailtool.store.mailstore import MailStore

    data = tmp_path / "data"
    store = MailStore(data)
    inbox = store.user(ALICE, create=True).folder("INBOX")
    uid = inbox.append(_mail(ALICE, 1), internal_date=1_700_000_000).uid
    store.close()
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second file system to back up to")
    import tempfile

    with tempfile.TemporaryDirectory(dir=shm) as other:
        summary = backup(data, Path(other) / "b")
        assert summary.linked == 0 and summary.copied >= 1
        restore(Path(other) / "b", tmp_path / "again")
    store = MailStore(tmp_path / "again")
    info = store.user(ALICE).folder("INBOX").message(uid)
    assert info.internal_date == 1_700_000_000
    assert store.user(ALICE).folder("INBOX").read_bytes(uid) == _mail(ALICE, 1)
    store.close()


def test_every_kind_of_file_comes_back_and_run_is_left_out(tmp_path: Path) -> None:
    """Queue entries, keys, certificates, sieve scripts, metadata databases: all of the
    data dir but ``run/`` (the running process's own files)."""
    from mailtool.store.backup import backup, restore
    from mailtool.store.mailstore import MailStore
    from mailtool.store.queue import Queue

    data = tmp_path / "data"
    store = MailStore(data)
    mail = store.user(ALICE, create=True)
    mail.metadata  # noqa: B018 - the METADATA database exists beside the index
    store.close()
    queue = Queue.in_data_dir(data)
    entry = queue.enqueue("carol@example.test", ["dave@remote.test"], _mail("dave", 1))
    for rel, text in {
        "dkim/example.test/mailtool.key": "KEY",
        "tls/acme/cert.pem": "CERT",
        "sieve/example.test/alice/scripts/main.sieve": "keep;",
        "run/listeners.json": "{}",
    }.items():
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_text(text)
    summary = backup(data, tmp_path / "b")
    assert summary.queue_entries == 1 and summary.skipped == ["run"]
    restore(tmp_path / "b", tmp_path / "again")
    again = tmp_path / "again"
    assert not (again / "run").exists()
    assert (again / "dkim/example.test/mailtool.key").read_text() == "KEY"
    assert (again / "tls/acme/cert.pem").read_text() == "CERT"
    assert (again / "sieve/example.test/alice/scripts/main.sieve").read_text() == "keep;"
    restored = Queue.in_data_dir(again).get(str(entry.id))
    assert [r.address for r in restored.recipients] == ["dave@remote.test"]
    assert not list(again.rglob("*-wal")) and not list(again.rglob("*-shm"))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (hands the tree to a service user)")
def test_restore_as_root_hands_the_tree_to_the_service_user(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from mailtool import privsep
    from mailtool.cli.main import cli
    from mailtool.store.backup import backup
    from mailtool.store.mailstore import MailStore
    from tests.test_privsep import TEST_USER

    user = privsep.service_user(TEST_USER, create=True)
    data = tmp_path / "data"
    store = MailStore(data)
    store.user(ALICE, create=True).folder("INBOX").append(_mail(ALICE, 1))
    store.close()
    backup(data, tmp_path / "b")
    config = tmp_path / "mailtool.toml"
    config.write_text(render_toml({"data_dir": str(tmp_path / "again"),
                                   "server": {"user": TEST_USER}}))  # fmt: skip
    result = CliRunner().invoke(cli, ["--config", str(config), "restore", str(tmp_path / "b"),
                                      "--json", "--no-progress"])  # fmt: skip
    assert result.exit_code == 0, result.output
    for dirpath, _dirs, names in os.walk(tmp_path / "again"):
        for path in [Path(dirpath), *(Path(dirpath) / n for n in names)]:
            st = os.lstat(path)
            assert (st.st_uid, st.st_gid) == (user.uid, user.gid), path
            assert stat.S_IMODE(st.st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_a_queue_entry_whose_delivery_is_in_the_backup_is_not_delivered_twice(
    tmp_path: Path,
) -> None:
    """The queue is copied before the mail: an entry the server delivered meanwhile is in
    both; the restored server's start-up finds the copy by its Received id (the queue
    runner's crash recovery) and does not deliver it again."""
    from mailtool.store.backup import backup
    from mailtool.store.mailstore import MailStore
    from mailtool.store.queue import Queue

    server = _server_on(tmp_path / "live")
    add_user(server, ALICE)
    store = MailStore(server.data_dir)
    received = b"Received: from carol.example.test\r\n\tid 4E5F6A7B8C9D; Mon, 7 Dec 2026\r\n"
    store.user(ALICE, create=True).folder("INBOX").append(received + _mail(ALICE, 1))
    store.close()
    Queue.in_data_dir(server.data_dir).enqueue(
        "carol@example.test", [ALICE], received + _mail(ALICE, 1),
        metadata={"local": [ALICE], "remote": [], "trace_id": "4E5F6A7B8C9D"},
    )  # fmt: skip
    backup(server.data_dir, tmp_path / "b")
    restored = _server_on(tmp_path / "restored")
    restored.cli("restore", str(tmp_path / "b"), "--no-progress")
    restored.start()
    try:
        deadline = time.monotonic() + 30
        while Queue.in_data_dir(restored.data_dir).ids() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not Queue.in_data_dir(restored.data_dir).ids(), restored.log()
        assert _message_ids(restored, ALICE) == [1]
    finally:
        assert restored.stop() == 0, restored.log()
