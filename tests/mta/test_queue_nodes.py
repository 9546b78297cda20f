"""Several serve nodes on one PostgreSQL queue (issue 17 points 2, 3 and 7): a queued
message is tried by one node at a time and delivered once; a SIGKILLed node's claims
expire and another node delivers; a database restart during SMTP traffic gives clients
4xx, never 5xx, loses nothing acknowledged, and the node reconnects by itself.

The relay goes to a sink both nodes can reach (tests/mta/relay_sink.py); each message
carries a Message-ID the sink counts.
"""

from __future__ import annotations

import re
import smtplib
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailtool.store.pg.db import CONNECT_TIMEOUT
from tests.harness import MailtoolServer
from tests.mta.maildir_view import mailbox_messages, server_stores
from tests.mta.relay_sink import Sink

SENDER = "alice@local.test"
REMOTE = "bob@remote.test"


def node(tmp_path: Path, name: str, url: str, relay_port: int, **queue: Any) -> MailtoolServer:
    """A serve node of the database ``url`` relaying through 127.0.0.1:``relay_port``."""
    return MailtoolServer(
        tmp_path / name,
        services=["smtp", "submission"],
        config={
            "store": {"url": url},
            "security": {"plaintext_auth_on_loopback": True, "login_failure_delay": 0.0},
            "relay": {"host": "127.0.0.1", "port": relay_port, "tls": "none"},
            "outbound": {"connect_timeout": 5, "timeout": 60},
            "queue": {"retry_first": 600.0, "poll_interval": 1.0, **queue},
        },
    ).start()


def submit(server: MailtoolServer, numbers: range, rcpt: str = REMOTE) -> None:
    with smtplib.SMTP(*server.address("submission"), timeout=30) as c:
        c.login(SENDER, "alice-pw")
        for n in numbers:
            c.sendmail(SENDER, [rcpt], f"From: {SENDER}\r\nTo: {rcpt}\r\nMessage-ID: <{n}@nodes>"
                                       f"\r\nSubject: {n}\r\n\r\nmessage {n}\r\n".encode())


def received(sink: Sink) -> Counter[int]:
    ids = [re.search(rb"Message-ID: <(\d+)@nodes>", s.data or b"") for s in sink.sessions]
    return Counter(int(m.group(1)) for m in ids if m)


def wait_until(predicate: Any, timeout: float, what: str | Any) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what() if callable(what) else what
        time.sleep(0.1)


def queue_listing(server: MailtoolServer) -> str:
    """What is left in the queue, and why (for a failure's message)."""
    return server.cli("queue", "list", "--json", check=False).stdout


def queue_ids(server: MailtoolServer) -> list[str]:
    with server_stores(server) as stores:
        return list(stores.queue.ids())


@pytest.fixture
def sink() -> Iterator[Sink]:
    with Sink() as s:
        yield s


def test_two_nodes_never_deliver_one_queued_message_twice(tmp_path, postgres_url, sink):
    count = 60
    sink.data_reply = "451 4.3.0 not now"  # everything queued first, deferred
    a = node(tmp_path, "a", postgres_url, sink.port)
    b = node(tmp_path, "b", postgres_url, sink.port)
    try:
        a.add_user(SENDER, "alice-pw")
        submit(a, range(count // 2))
        submit(b, range(count // 2, count))
        wait_until(lambda: len(sink.sessions) >= count, 60, "the first tries")
        sink.sessions.clear()
        sink.data_reply = None
        a.cli("queue", "flush")  # NOTIFY: both nodes' runners wake and claim at once
        wait_until(lambda: not queue_ids(a), 60, f"queue drained\n{a.log()}\n{b.log()}")
        got = received(sink)
        assert sorted(got) == list(range(count)), "nothing lost"
        assert [n for n, k in got.items() if k > 1] == [], "nothing delivered twice"
    finally:
        for server in (a, b):
            assert server.stop() == 0, server.log()


def test_a_sigkilled_nodes_claims_expire_and_the_other_node_delivers(
    tmp_path, postgres_url, sink
):
    # node a relays into a black hole: it holds its claims (renewing them) while it waits
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)  # connections complete in the backlog; no greeting ever comes
    a = node(tmp_path, "a", postgres_url, hole.getsockname()[1], claim_lease=2.0)
    b = node(tmp_path, "b", postgres_url, sink.port, claim_lease=2.0)
    try:
        a.add_user(SENDER, "alice-pw")
        submit(a, range(5))
        time.sleep(4)  # two leases: a renews, so b, polling every second, takes nothing
        assert sink.sessions == [], "a live node's claims are respected"
        assert len(queue_ids(a)) == 5
        a.kill()
        wait_until(lambda: len(received(sink)) == 5, 30, f"b delivers\n{b.log()}")
        wait_until(lambda: not queue_ids(b), 30, "queue drained")
        assert received(sink) == Counter(range(5)), "each once"
        assert "queue.unavailable" not in b.log()
    finally:
        hole.close()
        assert b.stop() == 0, b.log()


class Burst(threading.Thread):
    """Sends messages one per transaction; records each reply's class."""

    def __init__(self, server: MailtoolServer, first: int, count: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.server, self.numbers, self.halt = server, range(first, first + count), stop
        self.acked: list[int] = []
        self.temporary: list[int] = []
        self.permanent: list[str] = []

    def run(self) -> None:
        client: smtplib.SMTP | None = None
        for n in self.numbers:
            if self.halt.is_set():
                return
            try:
                if client is None:
                    client = smtplib.SMTP(*self.server.address("smtp"), timeout=30)
                    client.ehlo("burst.test")
                client.sendmail("load@other.test", [SENDER],
                                f"Message-ID: <{n}@nodes>\r\nSubject: {n}\r\n\r\n{n}\r\n".encode())
                self.acked.append(n)
            except smtplib.SMTPResponseException as exc:
                (self.permanent if exc.smtp_code >= 500 else self.temporary).append(
                    n if exc.smtp_code < 500 else f"{n}: {exc.smtp_code} {exc.smtp_error!r}")
                client = None
            except (OSError, smtplib.SMTPException):
                self.temporary.append(n)  # 421 and hang up, or a reset: not acknowledged
                client = None
            time.sleep(0.01)


def test_a_database_restart_during_traffic_gives_4xx_and_loses_nothing(tmp_path):
    from tests.peers.postgres import PostgresCluster

    cluster = PostgresCluster().start()  # its own: the restart must not hit other tests
    server = None
    try:
        server = node(tmp_path, "n", cluster.create_database(), 9)
        server.add_user(SENDER, "alice-pw")
        stop = threading.Event()
        bursts = [Burst(server, i * 1000, 400, stop) for i in range(2)]
        for b in bursts:
            b.start()
        time.sleep(1.0)
        # down longer than the pool's wait for a connection (pg.db.CONNECT_TIMEOUT): a
        # shorter outage is only a delay, the transactions wait and then succeed
        cluster.restart(down=CONNECT_TIMEOUT + 3)
        time.sleep(2.0)
        stop.set()
        for b in bursts:
            b.join(60)
        after = Burst(server, 9000, 5, threading.Event())
        after.run()  # the node reconnected by itself
        assert after.acked == list(range(9000, 9005)), server.log()[-3000:]
        assert [p for b in bursts for p in b.permanent] == [], "4xx, never 5xx"
        assert any(b.temporary for b in bursts), "the restart was felt"
        acked = [n for b in [*bursts, after] for n in b.acked]
        tried = set(acked) | {n for b in bursts for n in b.temporary}
        wait_until(lambda: not queue_ids(server), 60,
                   lambda: f"queue drained\n{queue_listing(server)}\n{server.log()[-8000:]}")
        got = Counter(int(re.search(rb"Message-ID: <(\d+)@nodes>", m).group(1))
                      for m in mailbox_messages(server, SENDER))  # fmt: skip
        assert [n for n in acked if n not in got] == [], "nothing acknowledged is lost"
        assert [n for n, k in got.items() if k > 1] == [], "nothing twice"
        assert set(got) <= tried
        assert server.stop() == 0, server.log()[-3000:]
    finally:
        if server is not None and server.proc is not None and server.proc.poll() is None:
            server.stop()  # a failed assertion must not leave the node running
        cluster.cleanup()
