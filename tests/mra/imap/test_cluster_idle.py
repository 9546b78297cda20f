"""Two serve nodes on one PostgreSQL database (issue 17 points 3, 4 and 7).

What one node commits reaches the other's IDLE sessions through LISTEN/NOTIFY
(mailtool/store/pg/notify.py), POP3's maildrop lock holds across the nodes (advisory
locks, store/pg/locks.py), and when the database goes away the sessions get temporary
errors, stay connected, and go on once it is back. PostgreSQL only.
"""

from __future__ import annotations

import base64
import poplib
import smtplib
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.harness import MailtoolServer
from tests.mra import stores
from tests.mra.imap.conftest import message
from tests.mra.imap.test_idle import done, idle
from tests.mra.imap.wireclient import Wire

PASSWORD = "correct horse"
#: generous: the acceptance bound is 1 s (issue 17 point 4); the figure is printed
NOTICE_BOUND = 5.0
SERVICES = ("imap", "smtp", "pop3")
CONFIG = {"security": {"plaintext_auth_on_loopback": True}}


def start_nodes(tmp: Any, url: str, services: tuple[str, ...] = SERVICES
                ) -> tuple[MailtoolServer, MailtoolServer]:  # fmt: skip
    config = {**CONFIG, "store": {"url": url}}
    a = MailtoolServer(tmp / "a", services=services, config=config).start()
    try:
        b = MailtoolServer(tmp / "b", services=services, config=config).start()
    except BaseException:
        stores.stop_server(a)
        raise
    return a, b


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory, postgres_cluster: Any
          ) -> Iterator[tuple[MailtoolServer, MailtoolServer]]:  # fmt: skip
    a, b = start_nodes(tmp_path_factory.mktemp("cluster"), postgres_cluster.create_database())
    yield a, b
    stores.stop_server(b)
    stores.stop_server(a)


_users = iter(range(1, 10_000))


def new_user(node: MailtoolServer) -> str:
    user = f"c{next(_users)}@cluster.test"
    stores.add_user(node, user, PASSWORD)
    return user


def imap_login(node: MailtoolServer, user: str) -> Wire:
    w = Wire(node.port("imap"))
    assert w.login(user, PASSWORD).status == "OK"
    return w


def idling(node: MailtoolServer, user: str) -> tuple[Wire, str]:
    """A session on ``node`` with INBOX selected, in IDLE; and the IDLE's tag."""
    w = imap_login(node, user)
    assert w.cmd("SELECT INBOX").status == "OK"
    return w, idle(w)


def wait_pushed(w: Wire, bound: float = NOTICE_BOUND) -> tuple[bytes, float]:
    """The next untagged line and how long it took to come."""
    started = time.monotonic()
    w.sock.settimeout(bound)
    try:
        line = w.line()
    except TimeoutError:
        raise AssertionError(f"nothing pushed within {bound} s") from None
    finally:
        w.sock.settimeout(30)
    return line, time.monotonic() - started


def test_idle_on_one_node_sees_an_append_through_the_other(nodes: Any) -> None:
    a, b = nodes
    user = new_user(a)
    watcher, tag = idling(b, user)
    writer = imap_login(a, user)
    data = message("through node A")
    latencies = []
    for n in (1, 2, 3):
        sent = time.monotonic()
        reply = writer.cmd(f"APPEND INBOX {{{len(data)}+}}\r\n".encode() + data)
        assert reply.status == "OK", reply
        line, _ = wait_pushed(watcher)
        latencies.append(time.monotonic() - sent)
        assert line == b"* %d EXISTS\r\n" % n
        assert wait_pushed(watcher)[0] == b"* %d RECENT\r\n" % n
    print(f"APPEND on A -> EXISTS on B: {', '.join(f'{s * 1000:.0f} ms' for s in latencies)}")
    done(watcher, tag)
    # and the flags a client sets on B reach an IDLE session on A
    assert writer.cmd("SELECT INBOX").status == "OK"
    tag = idle(writer)
    assert watcher.cmd("STORE 1 +FLAGS (\\Flagged)").status == "OK"
    assert b"\\Flagged" in wait_pushed(writer)[0]
    done(writer, tag)


def test_idle_on_one_node_sees_an_smtp_delivery_through_the_other(nodes: Any) -> None:
    a, b = nodes
    user = new_user(a)
    watcher, tag = idling(b, user)
    with smtplib.SMTP("127.0.0.1", a.port("smtp"), timeout=30) as smtp:
        smtp.sendmail("sender@elsewhere.test", [user], message("delivered on A"))
        line, waited = wait_pushed(watcher)  # from the 250 (before our QUIT)
    print(f"SMTP 250 on A -> EXISTS on B: {waited * 1000:.0f} ms")
    assert line == b"* 1 EXISTS\r\n"
    done(watcher, tag)


def test_pop3_maildrop_lock_holds_across_nodes(nodes: Any) -> None:
    a, b = nodes
    user = new_user(a)
    first = poplib.POP3("127.0.0.1", a.port("pop3"), timeout=30)
    first.user(user)
    assert first.pass_(PASSWORD).startswith(b"+OK")
    second = poplib.POP3("127.0.0.1", b.port("pop3"), timeout=30)
    second.user(user)
    with pytest.raises(poplib.error_proto, match=r"-ERR \[IN-USE\]"):
        second.pass_(PASSWORD)  # RFC 2449 §8.1.1: another node holds the maildrop
    first.quit()  # the lock goes with the session
    second.user(user)
    assert second.pass_(PASSWORD).startswith(b"+OK")
    second.quit()


# ------------------------------------------------ the database goes away and comes back


@pytest.fixture(scope="module")
def private_cluster() -> Iterator[Any]:
    """A cluster of this module's own: stopping it must not disturb the shared one."""
    from tests.peers.postgres import PostgresCluster

    cluster = PostgresCluster().start()
    yield cluster
    cluster.cleanup()


@pytest.fixture(scope="module")
def restartable(tmp_path_factory: pytest.TempPathFactory, private_cluster: Any
                ) -> Iterator[tuple[MailtoolServer, MailtoolServer, Any]]:  # fmt: skip
    """Two nodes on the private cluster, shared by the tests below: each leaves the
    database running (and the nodes going on is what they show)."""
    a, b = start_nodes(tmp_path_factory.mktemp("restart"), private_cluster.create_database(),
                       (*SERVICES, "managesieve"))  # fmt: skip
    yield a, b, private_cluster
    if private_cluster.proc is None or private_cluster.proc.poll() is not None:
        private_cluster.start()  # a failed test left it stopped: the nodes stop cleanly
    stores.stop_server(b)
    stores.stop_server(a)


def append_when_back(node: MailtoolServer, user: str, subject: str, within: float = 30) -> None:
    """APPEND through ``node``, again while it answers NO [UNAVAILABLE] or is unreachable
    (the database coming back)."""
    data = message(subject)
    deadline = time.monotonic() + within
    while True:
        try:
            w = imap_login(node, user)
            reply = w.cmd(f"APPEND INBOX {{{len(data)}+}}\r\n".encode() + data)
            w.close()
            if reply.status == "OK":
                return
            assert b"[UNAVAILABLE]" in reply.tagged, reply
        except (AssertionError, OSError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def test_idle_survives_a_database_restart(restartable: Any) -> None:
    a, b, cluster = restartable
    user = new_user(a)
    watcher, tag = idling(b, user)
    stores.close_stores(a)  # the test's own pool would only see the restart as errors
    cluster.restart(down=1.0)
    append_when_back(a, user, "after the restart")
    line, _ = wait_pushed(watcher, NOTICE_BOUND + 10)  # B's bus listens again by itself
    assert line == b"* 1 EXISTS\r\n"
    done(watcher, tag)
    assert watcher.cmd("NOOP").status == "OK"


class Sieve:
    """Just enough ManageSieve (RFC 5804): PLAIN login, one-line commands."""

    def __init__(self, node: MailtoolServer, user: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", node.port("managesieve")), 30)
        self.reader = self.sock.makefile("rb")
        self.final()  # the capabilities, then OK
        token = base64.b64encode(f"\0{user}\0{PASSWORD}".encode()).decode()
        assert self.cmd(f'AUTHENTICATE "PLAIN" "{token}"').startswith(b"OK")

    def final(self) -> bytes:
        while True:
            line: bytes = self.reader.readline()
            if line.startswith((b"OK", b"NO", b"BYE")) or not line:
                return line

    def cmd(self, command: str) -> bytes:
        self.sock.sendall(command.encode() + b"\r\n")
        return self.final()

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def test_sessions_get_temporary_errors_while_the_database_is_down(restartable: Any) -> None:
    a, _b, cluster = restartable
    user = new_user(a)
    stores.server_stores(a).mail.user(user, create=True).deliver(message("kept"))
    stores.close_stores(a)
    imap = imap_login(a, user)
    pop = poplib.POP3("127.0.0.1", a.port("pop3"), timeout=30)
    pop.user(user)
    pop.pass_(PASSWORD)
    sieve = Sieve(a, user)
    cluster.stop()
    try:
        # RFC 5530 §3: UNAVAILABLE; the session stays
        reply = imap.cmd("SELECT INBOX")
        assert reply.status == "NO" and b"[UNAVAILABLE]" in reply.tagged, reply
        # RFC 3206 §4: SYS/TEMP (the listing is the session's snapshot; the body is not)
        with pytest.raises(poplib.error_proto, match=r"-ERR \[SYS/TEMP\]"):
            pop.retr(1)
        # RFC 5804 §1.3: TRYLATER
        assert sieve.cmd("LISTSCRIPTS").startswith(b"NO (TRYLATER)")
    finally:
        cluster.start()
    assert imap.cmd("SELECT INBOX").status == "OK"  # the same sessions go on
    assert b"Subject: kept" in b"\r\n".join(pop.retr(1)[1])
    pop.quit()
    assert sieve.cmd("LISTSCRIPTS").startswith(b"OK")
    sieve.close()
