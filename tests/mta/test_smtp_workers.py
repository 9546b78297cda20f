"""``[limits] smtp_workers``: more SMTP processes on the same ports (SO_REUSEPORT).

Every message accepted by any of them lands once in each mailbox and in its index;
the workers stop with the main process, on SIGTERM and when it is SIGKILLed."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
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


def banner(address: tuple[str, int], source: str = "127.0.0.1") -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(address, timeout=30, source_address=(source, 0))
    return sock, sock.recv(200)


@pytest.mark.skipif(sys.platform != "linux", reason="SO_REUSEPORT spreading, /proc")
def test_connection_limits_count_for_all_the_processes(mailtool_server):
    """max_connections_per_ip holds for the port, not per process: the kernel spreads
    one address's connections over the three processes, which count them together;
    another address is still served; a worker's death frees what it held."""
    server = mailtool_server(services=["smtp", "submission"], config={
        "limits": {"smtp_workers": 3, "max_connections_per_ip": 4}})  # fmt: skip
    workers = workers_of(server, 2)
    held = [banner(server.address("smtp")) for _ in range(4)]
    assert all(reply.startswith(b"220 ") for _, reply in held)
    for _ in range(6):  # whichever process the kernel picks, the fifth is one too many
        sock, reply = banner(server.address("smtp"))
        sock.close()
        assert reply.startswith(b"421 4.7.0"), reply
    other, reply = banner(server.address("smtp"), source="127.0.0.2")
    assert reply.startswith(b"220 ")
    other.close()
    for pid in workers:  # their connections go with them
        os.kill(pid, signal.SIGKILL)
    server.wait_log("server.worker_exit", count=2)
    alive_held = []
    for sock, _ in held:
        sock.settimeout(5)
        try:
            sock.sendall(b"NOOP\r\n")
            if sock.recv(100).startswith(b"250"):
                alive_held.append(sock)
                continue
        except OSError:
            pass
        sock.close()
    fresh = [banner(server.address("smtp")) for _ in range(4 - len(alive_held))]
    assert all(reply.startswith(b"220 ") for _, reply in fresh)
    extra, reply = banner(server.address("smtp"))
    assert reply.startswith(b"421 4.7.0"), reply
    for sock in [extra, *alive_held, *(s for s, _ in fresh)]:
        sock.close()


@pytest.mark.skipif(sys.platform != "linux", reason="/proc")
def test_workers_serve_inbound_smtp_only_and_the_default_is_one_per_core_plus_one(
    mailtool_server,
):
    """Submission, where passwords are checked and throttled, stays in the main process;
    ``smtp_workers = 0`` (the default) is one process more than the cores, at most 4."""
    server = mailtool_server(services=["smtp", "submission"], config={
        "limits": {"smtp_workers": 0}})  # fmt: skip
    cores = len(os.sched_getaffinity(0))
    expected = 1 if cores < 2 else min(cores + 1, 4)
    if expected > 1:
        workers_of(server, expected - 1)
    log = server.wait_log("server.start", count=expected)
    starts = [line for line in log.splitlines() if "server.start" in line]
    assert sum("submission=" in line for line in starts) == 1  # the main process only
    assert all("smtp=" in line for line in starts)
    assert f"server.workers smtp_workers={expected - 1}" in log or expected == 1
