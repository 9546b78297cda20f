"""[listen] proxy_from on a real `mailtool serve`: raw PROXY v1 and v2 headers from a
socket at 127.0.0.2 (the trusted proxy) make the client they name the one that SMTP's
Received: and SPF, the per-IP connection cap, the login throttle and the loopback
exemption see, for SMTP, submission, IMAP (and IMAPS: the header comes before TLS) and
POP3. A header from anyone else is the protocol's garbage; the proxy without a header,
or with a broken or oversized one, is closed at once, before any greeting."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from mailtool.protocol.proxy import V2_SIGNATURE, format_v1, format_v2
from tests.harness import MailtoolServer
from tests.net import proxy_clients as pc
from tests.peers.dnsmasq import DnsServer

PROXY = "127.0.0.2"
DIRECT = "127.0.0.1"  # not in proxy_from
PASSWORD = "secret"
ZONE = ['txt-record=good.test,"v=spf1 ip4:203.0.113.9 -all"']


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailtoolServer]:
    """One server for the module (each test uses client addresses of its own)."""
    tmp = tmp_path_factory.mktemp("proxy")
    dns = DnsServer(tmp / "dns", ZONE).start()
    srv = MailtoolServer(
        tmp / "mt",
        services=("smtp", "submission", "imap", "imaps", "pop3", "managesieve"),
        config={
            "dns": {"nameservers": [dns.address]},
            "listen": {"proxy_from": [f"{PROXY}/32"]},
            "limits": {"max_connections_per_ip": 2},
            "security": {"plaintext_auth_on_loopback": True, "max_login_failures_per_ip": 3},
        },
    ).start()
    try:
        srv.add_user("bob@local.test", PASSWORD)
        yield srv
    finally:
        code = srv.stop()
        dns.stop()
    assert code == 0, srv.log()


def v1(client: tuple[str, int], server: MailtoolServer, service: str) -> bytes:
    return format_v1(client, server.address(service))


def v2(client: tuple[str, int], server: MailtoolServer, service: str) -> bytes:
    return format_v2(client, server.address(service))


def inbox(server: MailtoolServer) -> list[bytes]:
    """Bob's messages, from the Maildir (this module's server is on the SQLite default)."""
    root = server.data_dir / "mail" / "local.test" / "bob"
    return [p.read_bytes() for sub in ("new", "cur") for p in sorted((root / sub).iterdir())]


def wait_for(predicate, what: str):  # type: ignore[no-untyped-def]
    for _ in range(200):
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


MESSAGE = (
    b"From: alice@good.test\r\nTo: bob@local.test\r\nSubject: via proxy\r\n"
    b"Message-ID: <proxy-1@good.test>\r\nDate: Mon, 7 Dec 2026 08:00:00 +0000\r\n\r\nbody\r\n"
)


def test_smtp_received_and_spf_see_the_header_client(server):
    header = v1(("203.0.113.9", 50000), server, "smtp")
    with pc.SMTP(server.address("smtp"), source=PROXY, header=header,
                 local_hostname="client.good.test") as smtp:
        smtp.sendmail("alice@good.test", ["bob@local.test"], MESSAGE)
    text = wait_for(lambda: [m for m in inbox(server) if b"<proxy-1@good.test>" in m], "delivery")
    head = text[0].split(b"\r\n\r\n", 1)[0]
    # RFC 5321 §4.4: the TCP-info is the client's address, not the proxy's
    assert b"Received: from client.good.test ([203.0.113.9])" in head
    assert b"127.0.0.2" not in head
    assert b"spf=pass" in head  # good.test's SPF allows 203.0.113.9 only


def test_submission_per_ip_cap_counts_the_header_client(server):
    # [limits] max_connections_per_ip = 2: a third connection from one client is refused,
    # while other clients behind the same proxy (and direct ones) go on
    address = server.address("submission")
    held = [pc.SMTP(address, source=PROXY, header=v2(("203.0.113.20", n), server, "submission"))
            for n in (1, 2)]
    try:
        sock = pc.raw(address, source=PROXY, first=v2(("203.0.113.20", 3), server, "submission"))
        assert pc.read_all(sock).startswith(b"421 4.7.0 ")
        sock.close()
        for other in (pc.SMTP(address, source=PROXY,
                              header=v1(("203.0.113.21", 1), server, "submission")),
                      pc.SMTP(address, source=DIRECT)):
            assert other.noop()[0] == 250
            other.quit()
    finally:
        for smtp in held:
            smtp.quit()


def test_imap_login_throttle_keys_on_the_header_client(server):
    # [security] max_login_failures_per_ip = 3, counted per client behind the proxy
    address = server.address("imap")
    bad = pc.IMAP(address, source=PROXY, header=v2(("127.0.0.50", 1), server, "imap"))
    for _ in range(3):
        with pytest.raises(bad.error, match="AUTHENTICATIONFAILED"):
            bad.login("bob@local.test", "wrong")
    with pytest.raises(bad.error, match="UNAVAILABLE"):
        bad.login("bob@local.test", PASSWORD)
    bad.logout()
    good = pc.IMAP(address, source=PROXY, header=v1(("127.0.0.51", 1), server, "imap"))
    assert good.login("bob@local.test", PASSWORD)[0] == "OK"
    good.logout()
    log = server.log()
    assert "imap.login" in log and "peer=127.0.0.50" in log


def test_loopback_exemption_is_the_clients_not_the_proxys(server):
    # [security] plaintext_auth_on_loopback: the proxy is on loopback, its client is not
    imap = pc.IMAP(server.address("imap"), source=PROXY,
                   header=v2(("203.0.113.30", 1), server, "imap"))
    assert "LOGINDISABLED" in imap.capabilities
    with pytest.raises(imap.error, match="PRIVACYREQUIRED"):
        imap.login("bob@local.test", PASSWORD)
    imap.logout()


def test_imaps_header_before_tls(server):
    # an IPv6 client behind an IPv4 proxy: v2's TCP6 block
    header = format_v2(("2001:db8::70", 7), ("2001:db8::1", 993))
    imaps = pc.IMAPS(server.address("imaps"), source=PROXY, header=header)
    assert imaps.login("bob@local.test", PASSWORD)[0] == "OK"
    imaps.logout()
    assert "service=imaps peer=2001:db8::70 tls=True via=127.0.0.2" in server.log()


def test_pop3_v1_and_the_log_name_the_client(server):
    pop = pc.POP3(server.address("pop3"), source=PROXY,
                  header=v1(("127.0.0.60", 1100), server, "pop3"))
    pop.user("bob@local.test")
    assert pop.pass_(PASSWORD).startswith(b"+OK")
    pop.quit()
    assert "pop3.login id=" in server.log()
    assert any("pop3.login" in line and "peer=127.0.0.60" in line and "outcome=ok" in line
               for line in server.log().splitlines())


@pytest.mark.parametrize(
    ("service", "reply", "bye"),
    [
        ("smtp", b"\r\n5", b"QUIT\r\n"),
        ("submission", b"\r\n5", b"QUIT\r\n"),
        ("imap", b"PROXY BAD", b"a LOGOUT\r\n"),
        ("pop3", b"-ERR", b"QUIT\r\n"),
    ],
)
def test_a_header_from_elsewhere_is_the_protocols_garbage(server, service, reply, bye):
    sock = pc.raw(server.address(service), source=DIRECT,
                  first=v1(("203.0.113.40", 1), server, service) + bye)
    got = pc.read_all(sock)
    sock.close()
    assert reply in got  # SMTP 500, IMAP tagged BAD, POP3 -ERR
    assert "peer=203.0.113.40" not in server.log()  # never trusted


@pytest.mark.parametrize("service", ["smtp", "submission", "imap", "imaps", "pop3", "managesieve"])
@pytest.mark.parametrize(
    "first",
    [
        b"EHLO the.proxy.forgot.send-proxy\r\n",
        b"a NOOP\r\n",
        b"PROXY TCP4 203.0.113.5 198.51.100.1 1 25\n",  # bare LF
        b"PROXY UNKNOWN " + b"f" * 200,  # no CRLF within 107 bytes
        V2_SIGNATURE + b"\x21\x11\xff\xff",  # 64 KiB announced (bound: 4 KiB of TLVs)
        V2_SIGNATURE + b"\x21\x11\x00\x0c\x01\x02",  # truncated, then the proxy closes
    ],
)
def test_the_proxy_without_a_valid_header_is_closed_before_any_greeting(server, service, first):
    sock = pc.raw(server.address(service), source=PROXY, first=first)
    if first.endswith(b"\x01\x02"):
        sock.shutdown(1)  # SHUT_WR: the rest of the header never comes
    assert pc.read_all(sock) == b""
    sock.close()


def test_managesieve_sees_the_header_client(server):
    sock = pc.raw(server.address("managesieve"), source=PROXY,
                  first=v2(("203.0.113.80", 4190), server, "managesieve") + b"LOGOUT\r\n")
    assert pc.read_all(sock).endswith(b'OK "Logout completed"\r\n')
    sock.close()
    assert "service=managesieve peer=203.0.113.80 tls=False via=127.0.0.2" in server.log()


def test_local_health_checks_are_the_proxy_itself(server):
    # PROXY §2.2: v2 LOCAL (HAProxy's checks with send-proxy-v2) uses the real endpoints
    with pc.SMTP(server.address("smtp"), source=PROXY, header=format_v2()) as smtp:
        assert smtp.noop()[0] == 250
    assert "service=smtp peer=127.0.0.2 tls=False\n" in server.log()


def test_smtp_worker_processes_read_the_header_too(mailtool_server):
    # [limits] smtp_workers: the worker processes get [listen] proxy_from with the config
    srv = mailtool_server(services=("smtp",), config={
        "listen": {"proxy_from": [PROXY]}, "limits": {"smtp_workers": 2}})
    wait_for(lambda: "worker=" in srv.log() and "server.start" in srv.log(), "the worker")
    for n in range(1, 41):  # SO_REUSEPORT spreads connections over the two processes
        with pc.SMTP(srv.address("smtp"), source=PROXY,
                     header=v2((f"203.0.113.{n}", 1), srv, "smtp")) as smtp:
            assert smtp.noop()[0] == 250
        opens = [line for line in srv.log().splitlines() if "conn.open" in line]
        if len({line.split("id=")[1].split("-")[0] for line in opens}) == 2:
            break
    else:
        raise AssertionError("no connection reached the worker process")
    assert all(f"peer=203.0.113.{i + 1} tls=False via={PROXY}" in line
               for i, line in enumerate(opens))
