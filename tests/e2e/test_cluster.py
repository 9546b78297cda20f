"""Two serve nodes on one PostgreSQL database behind HAProxy, end to end (issue 17 point 7).

* mail delivered through one node is read, and seen by an IDLE session, through the other
  (HAProxy's roundrobin spreads the connections; its session counts say which node);
* a node is SIGKILLed during a 500-message burst that HAProxy spreads over both nodes:
  every message that got its 250 is in the mailbox exactly once (counted by Message-ID
  over IMAP, on both nodes);
* PostgreSQL restarts during traffic: SMTP clients get 4xx (never 5xx), IMAP sessions
  get ``NO [UNAVAILABLE]`` or lose the connection, nothing acknowledged is lost, and both
  nodes work again without a restart of their own.

The narrower versions live with their parts: one node's crash in tests/mta/test_crash.py,
two queue runners' claims in tests/store/pg/, IDLE across a database restart in the IMAP
suite, the client's address through HAProxy in tests/e2e/test_haproxy.py.
"""

from __future__ import annotations

import imaplib
import re
import smtplib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import MailtoolServer
from tests.mra.imap.wireclient import Wire
from tests.peers.haproxy import SOURCE

# PostgreSQL nodes whatever MAILTOOL_STORE_BACKENDS says: these tests are about the cluster
pytestmark = pytest.mark.peer

RCPT = "carol@cluster.test"  # the PostgreSQL restart's recipient
PASSWORD = "cluster-pw"
BURST = 500
NODE_CONFIG = {"security": {"plaintext_auth_on_loopback": True}}


def body(tag: str) -> bytes:
    return f"Subject: {tag}\r\nMessage-ID: <{tag}@cluster.test>\r\n\r\n{tag}\r\n".encode()


def start_nodes(root: Path, url: str, count: int = 2) -> list[MailtoolServer]:
    """Nodes on the database at ``url`` that take PROXY headers from HAProxy's address."""
    config = {**NODE_CONFIG, "store": {"url": url}, "listen": {"proxy_from": [SOURCE]}}
    return [MailtoolServer(root / name, services=("smtp", "imap"), config=config).start()
            for name in "ab"[:count]]


def restart_on_same_ports(node: MailtoolServer) -> None:
    """Start a killed node again where HAProxy expects it."""
    for service, (host, port) in node.listeners.items():
        node.config["listen"][service] = f"{host}:{port}"
    node.start()


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, postgres_cluster: Any
) -> Iterator[tuple[list[MailtoolServer], Any]]:
    """Two nodes on one database, HAProxy (PROXY v2) in front of their SMTP and IMAP; for
    the module (each test has a recipient of its own)."""
    from tests.peers.haproxy import haproxy_factory

    root = tmp_path_factory.mktemp("cluster")
    nodes = start_nodes(root, postgres_cluster.create_database())
    try:
        with haproxy_factory(root) as haproxy:
            yield nodes, haproxy({service: [node.address(service) for node in nodes]
                                  for service in ("smtp", "imap")}, proxy="v2")
    finally:
        for node in nodes:
            if node.proc and node.proc.poll() is None:
                node.stop()


def message_ids(node: MailtoolServer, user: str) -> Counter[str]:
    """Message-ID -> how many copies the user's INBOX has, as ``node`` says over IMAP."""
    client = imaplib.IMAP4(*node.address("imap"), timeout=30)
    try:
        client.login(user, PASSWORD)
        client.select("INBOX", readonly=True)
        _, data = client.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    finally:
        client.logout()
    found: Counter[str] = Counter()
    for item in data:
        if isinstance(item, tuple):
            match = re.search(rb"<([^@>]+)@cluster\.test>", item[1])
            if match:
                found[match.group(1).decode()] += 1
    return found


class Sender(threading.Thread):
    """Sends its messages to ``address`` (a node, or HAProxy), a fresh tag per attempt;
    records what was acknowledged, what was not, and every SMTP reply code that refused
    one."""

    def __init__(self, address: tuple[str, int], rcpt: str, tags: list[str]) -> None:
        super().__init__(daemon=True)
        self.address, self.rcpt, self.tags = address, rcpt, tags
        self.acked: list[str] = []
        self.unacked: list[str] = []
        self.codes: list[int] = []

    def run(self) -> None:
        client: smtplib.SMTP | None = None
        for base in self.tags:
            for attempt in range(200):
                tag = f"{base}-a{attempt}"
                try:
                    if client is None:
                        client = smtplib.SMTP(*self.address, timeout=20)
                        client.ehlo("cluster.test")
                    client.sendmail("load@other.test", [self.rcpt], body(tag))
                    self.acked.append(tag)
                    break
                except smtplib.SMTPRecipientsRefused as exc:
                    self.codes.extend(code for code, _ in exc.recipients.values())
                except (smtplib.SMTPResponseException, smtplib.SMTPSenderRefused) as exc:
                    self.codes.append(exc.smtp_code)
                except (OSError, smtplib.SMTPException):
                    pass  # connection refused or cut: the node is down
                # no 250: this attempt may or may not be stored; retry under a new tag,
                # so a second copy is never the client's own doing
                self.unacked.append(tag)
                if client is not None:
                    try:
                        client.close()
                    finally:
                        client = None
                time.sleep(0.05)
            else:
                raise AssertionError(f"{base} never acknowledged")


def settled(
    node: MailtoolServer, user: str, expect: Callable[[Counter[str]], bool], what: str
) -> Counter[str]:
    """Ask ``node`` until the mailbox satisfies ``expect`` (the queue retries deliveries
    that failed while a node or the database was away) or 60 s pass."""
    deadline = time.monotonic() + 60
    while True:
        found = message_ids(node, user)
        if expect(found):
            return found
        assert time.monotonic() < deadline, f"{what}: {found.most_common(3)}..."
        time.sleep(0.5)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


# --------------------------------------------------------------------------- tests


def test_delivered_through_one_node_read_and_idle_through_the_other(
    cluster: tuple[list[MailtoolServer], Any],
) -> None:
    nodes, balancer = cluster
    user = "idle@cluster.test"
    nodes[0].add_user(user, PASSWORD)  # once: the database is shared
    idle = Wire(balancer.port("imap"), timeout=20)
    assert idle.login(user, PASSWORD).status == "OK"
    assert idle.cmd("SELECT INBOX").status == "OK"
    idle.send(b"i1 IDLE\r\n")
    assert idle.line().startswith(b"+ ")
    # two connections through HAProxy's roundrobin: one message through each node
    before = balancer.sessions("smtp")
    for tag in ("first", "second"):
        with smtplib.SMTP(*balancer.address("smtp"), timeout=20) as client:
            client.sendmail("x@other.test", [user], body(tag))
    after = balancer.sessions("smtp")
    assert sorted(after[n] - before.get(n, 0) for n in after) == [1, 1]
    # RFC 2177: the IDLE session is told without asking, also of the message that came
    # through the other node (pushed by LISTEN/NOTIFY, not polled)
    seen = [idle.line()]
    while b"* 2 EXISTS\r\n" not in seen and len(seen) < 6:  # EXISTS, RECENT, ...
        seen.append(idle.line())
    assert b"* 2 EXISTS\r\n" in seen, seen
    idle.send(b"DONE\r\n")
    assert idle.collect("i1").status == "OK"
    reply = idle.cmd("UID FETCH 1:2 (BODY.PEEK[TEXT])")
    assert b"first" in b"".join(reply.untagged) and b"second" in b"".join(reply.untagged)
    idle.close()
    for node in nodes:  # each node reads both, whichever took it
        assert message_ids(node, user) == Counter({"first": 1, "second": 1})


def test_sigkill_of_a_node_mid_burst_loses_and_doubles_nothing(
    cluster: tuple[list[MailtoolServer], Any],
) -> None:
    (a, b), balancer = cluster
    user = "burst@cluster.test"
    a.add_user(user, PASSWORD)
    before = balancer.sessions("smtp")
    tags = [f"m{n}" for n in range(BURST)]
    senders = [Sender(balancer.address("smtp"), user, tags[i::4]) for i in range(4)]
    for s in senders:
        s.start()
    # both nodes take part of the burst; then A dies mid-flight (HAProxy has no health
    # checks: the clients whose connection it hands to the dead node retry, and the next
    # connection goes to B) and comes back on its ports
    wait_for(lambda: sum(len(s.acked) for s in senders) >= BURST // 5, "no progress")
    a.kill()
    time.sleep(0.5)
    restart_on_same_ports(a)
    for s in senders:
        s.join(120)
        assert not s.is_alive()
    acked = [t for s in senders for t in s.acked]
    unacked = {t for s in senders for t in s.unacked}
    assert len(acked) == BURST
    after = balancer.sessions("smtp")
    assert all(after[n] > before.get(n, 0) for n in after)  # both nodes took some
    assert not [c for s in senders for c in s.codes if c >= 500]
    found = settled(b, user, lambda f: all(t in f for t in acked), "acknowledged mail missing")
    assert [t for t, n in found.items() if n > 1] == []  # nothing twice
    assert set(found) <= set(acked) | unacked  # nothing from nowhere
    assert message_ids(a, user) == found  # both nodes see the same mailbox


def test_postgres_restart_during_traffic(tmp_path: Path) -> None:
    """A private cluster (the session's is shared by other tests): stopped for two
    seconds while both nodes take mail (reached directly) and an IMAP session works."""
    from tests.peers.postgres import PostgresCluster

    pg = PostgresCluster().start()
    nodes: list[MailtoolServer] = []
    try:
        nodes = start_nodes(tmp_path, pg.create_database("cluster"))
        a, b = nodes
        a.add_user(RCPT, PASSWORD)
        tags = [f"r{n}" for n in range(120)]
        senders = [Sender(node.address("smtp"), RCPT, tags[i::2])
                   for i, node in enumerate(nodes)]
        session = Wire(b.port("imap"), timeout=20)
        assert session.login(RCPT, PASSWORD).status == "OK"
        for s in senders:
            s.start()
        wait_for(lambda: sum(len(s.acked) for s in senders) >= 30, "no progress")
        pg.stop()
        imap_replies = imap_during_outage(session)
        time.sleep(2)
        pg.start()
        for s in senders:
            s.join(180)
            assert not s.is_alive()
        codes = [c for s in senders for c in s.codes]
        assert codes and all(400 <= c < 500 for c in codes), codes  # 451 4.3.0, never 5xx
        assert all(r == "OK" or b"[UNAVAILABLE]" in r or r == "closed"
                   for r in imap_replies), imap_replies
        assert any(r != "OK" for r in imap_replies), "the outage was never seen"
        acked = [t for s in senders for t in s.acked]
        unacked = {t for s in senders for t in s.unacked}
        found = settled(a, RCPT, lambda f: all(t in f for t in acked), "acknowledged lost")
        assert [t for t, n in found.items() if n > 1] == []
        assert set(found) <= set(acked) | unacked
        # both nodes came back by themselves: new mail through each, read through the other
        for via, reader in ((a, b), (b, a)):
            with smtplib.SMTP(*via.address("smtp"), timeout=20) as client:
                client.sendmail("x@other.test", [RCPT], body(f"after-{via.workdir.name}"))
            tag = f"after-{via.workdir.name}"
            settled(reader, RCPT, lambda f, tag=tag: f[tag] == 1, f"{tag} not read")
    finally:
        for node in nodes:
            if node.proc and node.proc.poll() is None:
                node.stop()
        pg.cleanup()


def imap_during_outage(session: Wire) -> list[Any]:
    """SELECT/NOOP while the database is down: each reply's tagged line, or "closed"."""
    replies: list[Any] = []
    for command in ("SELECT INBOX", "STATUS INBOX (MESSAGES)"):
        try:
            reply = session.cmd(command)
        except (OSError, ConnectionError):
            replies.append("closed")
            break
        replies.append("OK" if reply.status == "OK" else reply.tagged)
    return replies
