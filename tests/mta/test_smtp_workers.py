"""``[limits] smtp_workers``: more SMTP processes on the same ports (SO_REUSEPORT).

Every message accepted by any of them lands once in each mailbox and in its index;
the workers stop with the main process, on SIGTERM and when it is SIGKILLed."""

from __future__ import annotations

import os
import signal
import smtplib
import sys
import threading
import time
from pathlib import Path

import pytest

from mailtool.store.mailstore import MailStore
from tests.mta.maildir_view import mailbox_files, mailbox_messages

ALICE, BOB = "alice@local.test", "bob@local.test"


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def workers_of(server, count: int) -> list[int]:
    deadline = time.monotonic() + 30
    while len(pids := children(server.proc.pid)) < count:
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.05)
    return pids


@pytest.mark.skipif(sys.platform != "linux", reason="SO_REUSEPORT spreading, /proc")
def test_workers_share_the_port_and_every_message_lands_once(mailtool_server):
    server = mailtool_server(services=["smtp"], config={"limits": {"smtp_workers": 3}})
    server.add_user(ALICE, "pw")
    server.add_user(BOB, "pw")
    assert len(workers_of(server, 2)) == 2
    errors: list[BaseException] = []

    def send(n: int) -> None:
        try:
            for i in range(n, n + 10):
                with smtplib.SMTP(*server.address("smtp"), timeout=30) as c:
                    msg = f"Subject: w{i}\r\nMessage-ID: <w{i}@workers.test>\r\n\r\n{i}\r\n"
                    assert c.sendmail("x@other.test", [ALICE, BOB], msg) == {}
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(0, 60, 10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    for rcpt in (ALICE, BOB):  # on either backend: every message once
        ids = sorted(int(m.rsplit(b"\r\n", 2)[-2]) for m in mailbox_messages(server, rcpt))
        assert ids == list(range(60))
    assert "server.workers smtp_workers=2" in server.log()
    if server.store_url:
        return  # PostgreSQL: no Maildir to compare the index with
    store = MailStore(server.data_dir)
    try:
        for rcpt in (ALICE, BOB):
            files = mailbox_files(server, rcpt)
            ids = sorted(int(p.read_bytes().rsplit(b"\r\n", 2)[-2]) for p in files)
            assert ids == list(range(60))
            indexed = {m.path for m in store.user(rcpt).folder("INBOX").messages()}
            assert indexed == {f"{p.parent.name}/{p.name}" for p in files}
    finally:
        store.close()


@pytest.mark.skipif(sys.platform != "linux", reason="SO_REUSEPORT spreading, /proc")
def test_workers_stop_with_the_main_process(mailtool_server):
    server = mailtool_server(services=["smtp"], config={"limits": {"smtp_workers": 2}})
    server.add_user(ALICE, "pw")
    (worker,) = workers_of(server, 1)
    os.kill(worker, signal.SIGKILL)  # a worker dies: said in the log, the port still served
    deadline = time.monotonic() + 30
    while "server.worker_exit" not in server.log():
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.05)
    for _ in range(5):
        with smtplib.SMTP(*server.address("smtp"), timeout=30) as c:
            assert c.sendmail("x@other.test", [ALICE], "Subject: still\r\n\r\nhere\r\n") == {}
    assert len(mailbox_messages(server, ALICE)) == 5
    assert server.stop() == 0

    server.start()
    (worker,) = workers_of(server, 1)
    assert server.stop() == 0
    assert not alive(worker)

    server.start()
    (worker,) = workers_of(server, 1)
    server.kill()  # SIGKILL: the worker notices its parent is gone and stops
    deadline = time.monotonic() + 30
    while alive(worker):
        assert time.monotonic() < deadline, f"worker outlived a SIGKILLed main:\n{server.log()}"
        time.sleep(0.1)
    server.start()  # and the ports are free for the next one (stopped by the fixture)
    workers_of(server, 1)
