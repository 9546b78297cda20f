"""A real HAProxy (Debian ``haproxy``, TCP mode, roundrobin) in front of two mailtool
nodes, with ``send-proxy-v2`` and with ``send-proxy`` (issue 17 point 5): for SMTP,
submission, IMAP and POP3, connections through HAProxy reach both nodes, and each node
sees the client's own address (127.0.0.5), not HAProxy's (127.0.0.3), in its connection
log, its login log and the Received: field it writes.

The nodes are on the default backend, each with its own data dir (the users exist on
both); tests/e2e/test_cluster.py puts two nodes on one PostgreSQL database.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.harness import MailtoolServer
from tests.net import proxy_clients as pc
from tests.peers.haproxy import SOURCE

CLIENT = "127.0.0.5"
USER = "dave@proxy.test"
PASSWORD = "proxy-pw"
SERVICES = ("smtp", "submission", "imap", "pop3")


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[MailtoolServer]]:
    root = tmp_path_factory.mktemp("haproxy-nodes")
    config = {
        "listen": {"proxy_from": [SOURCE]},
        # the client is on loopback: plaintext logins as on a test node
        "security": {"plaintext_auth_on_loopback": True},
    }
    started = []
    try:
        for name in ("a", "b"):
            node = MailtoolServer(root / name, services=SERVICES, config=config).start()
            started.append(node)
            node.add_user(USER, PASSWORD)
        yield started
    finally:
        codes = [node.stop() for node in started]
        assert codes == [0] * len(started), [node.log() for node in started]


def backends(nodes: list[MailtoolServer]) -> dict[str, list[tuple[str, int]]]:
    return {service: [node.address(service) for node in nodes] for service in SERVICES}


def logged(node: MailtoolServer, *parts: str) -> int:
    """Lines of the node's log holding every one of ``parts``."""
    return sum(all(p in line for p in parts) for line in node.log().splitlines())


def delivered(nodes: list[MailtoolServer], tag: str) -> tuple[int, bytes]:
    """Which node holds the message tagged ``tag``, and the message, read from the
    node's Maildir (these nodes are on the SQLite + Maildir default)."""
    for _ in range(200):
        for index, node in enumerate(nodes):
            root = node.data_dir / "mail" / "proxy.test" / "dave"
            for path in (p for sub in ("new", "cur") if (root / sub).is_dir()
                         for p in (root / sub).iterdir()):
                data = path.read_bytes()
                if tag.encode() in data:
                    return index, data
        time.sleep(0.05)
    raise AssertionError(f"{tag} delivered nowhere")


@pytest.mark.parametrize("proxy", ["v2", "v1"])
def test_haproxy_spreads_clients_over_both_nodes_which_see_the_client(nodes, haproxy, proxy):
    balancer = haproxy(backends(nodes), proxy=proxy)
    before = [{s: logged(n, f"service={s} peer={CLIENT} ", f"via={SOURCE}") for s in SERVICES}
              for n in nodes]

    # SMTP: two messages, two connections: one per node (roundrobin)
    for i in range(2):
        with pc.SMTP(balancer.address("smtp"), source=CLIENT,
                     local_hostname="client.proxy.test") as smtp:
            smtp.sendmail("x@elsewhere.test", [USER], _message(f"{proxy}-smtp-{i}"))
    # submission: AUTH then a message
    for i in range(2):
        with pc.SMTP(balancer.address("submission"), source=CLIENT) as smtp:
            smtp.login(USER, PASSWORD)
            smtp.sendmail(USER, [USER], _message(f"{proxy}-sub-{i}", sender=USER))
    # IMAP and POP3: a login each, twice
    for _ in range(2):
        imap = pc.IMAP(balancer.address("imap"), source=CLIENT)
        assert imap.login(USER, PASSWORD)[0] == "OK"
        imap.select("INBOX")
        imap.logout()
        pop = pc.POP3(balancer.address("pop3"), source=CLIENT)
        pop.user(USER)
        assert pop.pass_(PASSWORD).startswith(b"+OK")
        pop.quit()

    for service in SERVICES:
        assert balancer.sessions(service) == {"n0": 1, "n1": 1}, service
    for node, seen in zip(nodes, before, strict=True):
        for service in SERVICES:
            # each node got one connection of each service, from the client, via HAProxy
            assert logged(node, f"service={service} peer={CLIENT} ", f"via={SOURCE}") == \
                seen[service] + 1, (service, node.log())
        assert logged(node, "imap.login", f"peer={CLIENT}", "outcome=ok") >= 1
        assert logged(node, "pop3.login", f"peer={CLIENT}", "outcome=ok") >= 1
        assert logged(node, "smtp.auth", f"peer={CLIENT}") >= 1
    # which node got which message is HAProxy's choice; each got one of each kind
    for kind in ("smtp", "sub"):
        found = [delivered(nodes, f"{proxy}-{kind}-{i}") for i in range(2)]
        assert sorted(holder for holder, _ in found) == [0, 1], kind
        for _, data in found:
            head = data.split(b"\r\n\r\n")[0]
            assert f"([{CLIENT}])".encode() in head  # RFC 5321 §4.4 TCP-info: the client
            assert SOURCE.encode() not in head


def _message(tag: str, sender: str = "x@elsewhere.test") -> bytes:
    return (f"From: {sender}\r\nTo: {USER}\r\nSubject: {tag}\r\n"
            f"Message-ID: <{tag}@proxy.test>\r\n\r\n{tag}\r\n").encode()

