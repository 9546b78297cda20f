"""Every bound, exceeded: the RFC's answer, and a live server afterwards (DESIGN principle 2).

Line length, literal size (APPEND's is in test_messages), pipelined commands, bad
commands before BYE, autologout, failed-login delay and per-IP rate, connections per
IP and per user.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from tests.mra.imap.conftest import PASSWORD, Imap, add_user
from tests.mra.imap.wireclient import Wire


def alive(imap: Imap) -> None:
    w = imap.wire()
    assert w.cmd("NOOP").status == "OK"
    w.close()


def test_line_too_long_gets_bad_and_the_session_goes_on(
    imap_server: Callable[..., Imap],
) -> None:
    imap = imap_server(config={"limits": {"imap_max_line_length": 1024}})
    w = imap.wire()
    w.send(b"t1 SEARCH SUBJECT " + b"x" * 200_000 + b"\r\n")  # skipped, never buffered
    assert w.line().startswith(b"t1 BAD ")  # RFC 9051 §7.1.5; Dovecot does the same
    assert w.cmd("NOOP").status == "OK"
    body = b"y" * 4000  # literals do not count (RFC 9051 §4.3)
    tag = w.tag()
    w.send(f"{tag} APPEND INBOX {{{len(body)}+}}\r\n".encode() + body + b"\r\n")
    assert w.collect(tag).status == "OK"
    # ending in a non-synchronizing literal: its bytes cannot be told from commands
    w.send(b"t9 APPEND INBOX " + b"z" * 2000 + b" {5+}\r\nhello\r\n")
    assert w.line().startswith(b"* BYE")
    assert w.closed()
    alive(imap)


def test_literal_over_the_small_limit_is_toobig(imap: Imap) -> None:
    w = imap.wire()
    tag = w.tag()
    w.send(f"{tag} SEARCH SUBJECT {{{10 * 1024 * 1024}}}\r\n".encode())
    reply = w.collect(tag)
    assert reply.status == "NO" and b"[TOOBIG]" in reply.tagged
    assert w.cmd("NOOP").status == "OK"


def test_too_many_pipelined_commands(imap_server: Callable[..., Imap]) -> None:
    # a small limit: the whole burst is one loopback segment, read at once. The server
    # decides "the client waited" before its answer leaves, so the NOOP sent after
    # reading every answer is never counted with the burst (CI once saw it counted
    # when the check ran after the flush and the client was quicker)
    limit = 50
    imap = imap_server(config={"limits": {"imap_max_pipelined": limit}})
    w = imap.wire()
    count = limit + 5
    lines: list[bytes] = []

    def read() -> None:
        for _ in range(count):
            lines.append(w.line())

    reader = threading.Thread(target=read)
    reader.start()
    w.send(b"".join(b"p%d NOOP\r\n" % i for i in range(count)))
    reader.join(120)
    limited = [line for line in lines if b"NO [LIMIT]" in line]
    assert limited and limited[-1].startswith(b"p%d NO [LIMIT]" % (count - 1))
    assert w.cmd("NOOP").status == "OK"  # once the client waits, it is served again


def test_bad_commands_end_in_bye(imap: Imap) -> None:
    w = Wire(imap.tls_port, tls=True)
    for i in range(19):
        assert w.cmd(f"BLURB{i}").status == "BAD"
    w.send(b"t99 BLURB\r\n")
    assert w.line().startswith(b"t99 BAD")
    assert w.line().startswith(b"* BYE")
    assert w.closed()
    alive(imap)


def test_autologout(imap_server: Callable[..., Imap]) -> None:
    imap = imap_server(config={"limits": {"imap_idle_timeout": 1}})
    w = imap.wire()
    w.sock.settimeout(10)
    assert w.line() == b"* BYE Autologout; idle for too long\r\n"
    assert w.closed()
    w = imap.wire()
    tag = w.tag()
    w.send(f"{tag} IDLE\r\n".encode())
    assert w.line().startswith(b"+ ")
    assert w.line().startswith(b"* BYE Autologout")
    alive(imap)


def test_failed_login_delay_and_rate(imap_server: Callable[..., Imap]) -> None:
    imap = imap_server(
        config={"security": {"login_failure_delay": 0.5, "max_login_failures_per_ip": 3}}
    )
    w = Wire(imap.tls_port, tls=True)
    start = time.monotonic()
    assert b"[AUTHENTICATIONFAILED]" in w.login(imap.user, "wrong").tagged
    assert time.monotonic() - start >= 0.5
    for _ in range(2):
        w.login(imap.user, "wrong")
    reply = w.login(imap.user, PASSWORD)  # right password, but this IP spent its budget
    assert reply.status == "NO" and b"[UNAVAILABLE]" in reply.tagged
    w2 = Wire2(imap.tls_port, "127.0.0.2")
    assert w2.login(imap.user, PASSWORD).status == "OK"  # another IP is not affected


class Wire2(Wire):
    """A Wire from another loopback address."""

    def __init__(self, port: int, source: str) -> None:
        import ssl

        sock = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0))
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(sock)
        self.buf = b""
        self.n = 0
        self.greeting = self.line()


def test_connections_per_ip(imap_server: Callable[..., Imap]) -> None:
    imap = imap_server(config={"limits": {"max_connections_per_ip": 3}})
    open_ = [Wire(imap.port) for _ in range(3)]
    refused = Wire(imap.port)
    assert refused.greeting.startswith(b"* BYE [UNAVAILABLE]")
    assert refused.closed()
    assert Wire2(imap.tls_port, "127.0.0.2").greeting.startswith(b"* OK")
    open_[0].cmd("LOGOUT")
    open_[0].close()
    for _ in range(100):  # the server counts the slot free once it has seen the close
        if (again := Wire(imap.port)).greeting.startswith(b"* OK"):
            break
        again.close()
        time.sleep(0.1)
    assert again.greeting.startswith(b"* OK")


def test_connections_per_user(imap_server: Callable[..., Imap]) -> None:
    imap = imap_server(config={"limits": {"max_connections_per_user": 2}})
    first, second = imap.wire(), imap.wire()
    third = imap.wire(login=False)
    reply = third.login(imap.user, PASSWORD)
    assert reply.status == "NO" and b"[LIMIT]" in reply.tagged
    add_user(imap.server, "other@example.test")
    assert third.login("other@example.test", PASSWORD).status == "OK"
    first.cmd("LOGOUT")
    assert second.cmd("NOOP").status == "OK"
    fourth = imap.wire(login=False)
    for _ in range(50):
        if fourth.login(imap.user, PASSWORD).status == "OK":
            break
        time.sleep(0.1)
    assert fourth.cmd("SELECT INBOX").status == "OK"
