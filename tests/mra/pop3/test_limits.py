"""Bounds (DESIGN principle 2): line length, bad commands, idle time, failed logins.

Each test goes past one bound, checks the answer the RFCs ask for, and then
that the server still serves a fresh connection. The server here has small
limits (see ``LENIENT`` in conftest) and allows plaintext passwords on loopback.
"""

from __future__ import annotations

import poplib
import socket

import pytest

from tests.mra.pop3.conftest import LENIENT, PASSWORD, Pop3Env


def raw(env: Pop3Env, source: str = "127.0.0.1") -> tuple[socket.socket, object]:
    sock = socket.create_connection(("127.0.0.1", env.port), 30, (source, 0))
    f = sock.makefile("rb")
    assert f.readline().startswith(b"+OK")
    return sock, f


def test_plain_user_allowed_on_loopback_when_configured(pop3_lenient: Pop3Env) -> None:
    user = pop3_lenient.new_user(messages=1)
    pop = pop3_lenient.plain()
    capa = pop.capa()
    assert "USER" in capa and "PLAIN" in capa["SASL"]
    pop.user(user)
    assert pop.pass_(PASSWORD).startswith(b"+OK")
    pop.quit()


def test_long_lines(pop3_lenient: Pop3Env) -> None:
    sock, f = raw(pop3_lenient)
    # RFC 2449 §4: 255 octets; read whole, refused
    sock.sendall(b"USER " + b"a" * 300 + b"\r\n")
    assert f.readline().startswith(b"-ERR")
    # past limits.max_line_length (1024): discarded as it arrives, refused
    sock.sendall(b"NOOP " + b"x" * 200_000 + b"\r\nCAPA\r\n")
    assert f.readline().startswith(b"-ERR")
    assert f.readline().startswith(b"+OK")  # CAPA after the monster line still runs
    sock.close()
    assert pop3_lenient.is_alive()


def test_too_many_bad_commands_closes(pop3_lenient: Pop3Env) -> None:
    sock, f = raw(pop3_lenient)
    sock.sendall(b"FOO\r\nBAR baz\r\nSTAT\r\nRETR\r\nCAPA\r\n")  # 4 bad, max_bad_commands=4
    answers = [f.readline() for _ in range(4)]
    assert all(a.startswith(b"-ERR") for a in answers)
    assert b"bad commands" in answers[-1]
    assert f.readline() == b""  # closed: CAPA never answered
    sock.close()
    assert pop3_lenient.is_alive()


def test_idle_timeout_closes_without_update(pop3_lenient: Pop3Env) -> None:
    user = pop3_lenient.new_user(messages=2)
    pop = pop3_lenient.plain()
    pop.user(user)
    pop.pass_(PASSWORD)
    pop.dele(1)
    # RFC 1939 §3: past the autologout timer (2 s here) the server closes the
    # connection without a response and without entering UPDATE
    assert pop.file.readline() == b""
    pop.close()
    assert len(pop3_lenient.inbox(user).messages()) == 2
    pop = pop3_lenient.plain()
    pop.user(user)
    assert pop.pass_(PASSWORD).startswith(b"+OK")  # the lock was released too
    pop.quit()


def test_failed_logins_are_throttled_per_ip(pop3_lenient: Pop3Env) -> None:
    user = pop3_lenient.new_user(messages=1)
    source = "127.0.0.7"
    pop = pop3_lenient.plain(source=source)
    for _ in range(3):  # security.max_login_failures_per_ip = 3
        pop.user(user)
        with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\]"):
            pop.pass_("wrong")
    pop.user(user)
    with pytest.raises(poplib.error_proto, match=r"-ERR \[SYS/TEMP\]"):
        pop.pass_(PASSWORD)  # refused without checking, even the right password
    pop.quit()
    other = pop3_lenient.plain(source="127.0.0.8")  # other peers are unaffected
    other.user(user)
    assert other.pass_(PASSWORD).startswith(b"+OK")
    other.quit()
    assert pop3_lenient.is_alive()


def test_shutdown_mid_session_deletes_nothing(mailtool_server) -> None:  # type: ignore[no-untyped-def]
    server = mailtool_server(services=("pop3",), config=LENIENT)
    env = Pop3Env(server)
    try:
        user = env.new_user(messages=2)
        pop = env.plain()
        pop.user(user)
        pop.pass_(PASSWORD)
        pop.dele(1)
        assert server.stop() == 0  # SIGTERM while the session waits for a command
        assert pop.file.readline() == b""  # dropped: no QUIT, so no UPDATE
        pop.close()
        assert len(env.inbox(user).messages()) == 2
    finally:
        env.close()
