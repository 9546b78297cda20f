"""ManageSieve on the open internet (issue 15): bounded literals and output, deadlines, slots.

One server with short bounds: 2 s to log in, a peer that does not read for 2 s
is dropped, scripts up to 250 kB (the Sieve parser's own bound is 256 KiB).
"""

from __future__ import annotations

import base64
import itertools
import ssl
import time
from collections.abc import Iterator

import pytest

from tests.harness import MailtoolServer
from tests.mra import stores
from tests.mra.managesieve.conftest import PASSWORD, USER, add_user
from tests.mra.managesieve.conftest import Client as _Client
from tests.mra.pop3.test_hardening import (
    MB,
    Sender,
    connect,
    count_to_end,
    hit_and_run,
    memory_kb,
    read_line,
    read_to_end,
    reset_peak,
    trickle,
)

LOGIN_TIMEOUT = 2.0
WRITE_TIMEOUT = 2.0
IDLE_TIMEOUT = 4.0
MAX_SCRIPT = 250_000


class Client(_Client):
    def close(self) -> None:
        self.file.close()  # else the socket stays open until the file is collected
        super().close()


@pytest.fixture(scope="module", params=stores.BACKENDS)
def server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[MailtoolServer]:
    srv = MailtoolServer(
        tmp_path_factory.mktemp("ms-hard") / "mt",
        services=("managesieve",),
        config=stores.backend_config(request, {
            "security": {"plaintext_auth_on_loopback": True},
            "limits": {
                "login_timeout": LOGIN_TIMEOUT,
                "write_timeout": WRITE_TIMEOUT,
                "imap_idle_timeout": IDLE_TIMEOUT,  # ManageSieve's autologout too
            },
            "sieve": {"max_script_size": MAX_SCRIPT},
        }),
    ).start()
    add_user(srv)
    yield srv
    stores.stop_server(srv)


def port(server: MailtoolServer) -> int:
    return server.port("managesieve")


def logged_in(server: MailtoolServer) -> Client:
    c = Client(port(server))
    assert c.login().startswith(b"OK")
    return c


def plain_token() -> str:
    return base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()


def skip_greeting(sock) -> None:  # type: ignore[no-untyped-def]
    while not read_line(sock).startswith(b"OK"):
        pass


# ---------------------------------------------------------------- literals


@pytest.mark.parametrize(
    "command",
    [b'PUTSCRIPT "big" {999999999+}\r\n', b"CHECKSCRIPT {999999999+}\r\n"],
)
def test_a_huge_literal_is_refused_before_it_is_read(
    server: MailtoolServer, command: bytes
) -> None:
    """``{999999999+}`` with the octets following: BYE at once (the stream is out of step),
    no octet of it buffered (RSS growth < 50 MB while 200 MB are offered)."""
    pid = server.proc.pid  # type: ignore[union-attr]
    c = logged_in(server)
    before = reset_peak(pid)
    c.send(command)
    sender = Sender(c.sock, 200 * MB)  # type: ignore[arg-type]
    sender.start()
    _, final = c.response()
    assert final.startswith(b"BYE"), final
    sender.join(20)
    c.close()
    assert not sender.is_alive(), "the server kept reading the refused literal"
    assert sender.sent < 100 * MB, f"the server read {sender.sent} octets of it"
    assert (memory_kb(pid, "VmHWM") - before) * 1024 < 50 * MB
    logged_in(server).close()  # still serving


@pytest.mark.parametrize("size", [999_999_999, 20_000])
def test_a_literal_before_login_is_bounded_by_sasl_not_by_scripts(
    server: MailtoolServer, size: int
) -> None:
    """Before login only a SASL string may come as a literal: 20,000 octets (under the
    250 kB script limit, over a SASL line) end the connection too."""
    c = Client(port(server))
    c.send(b'AUTHENTICATE "PLAIN" {%d+}\r\n' % size)
    _, final = c.response()
    assert final.startswith(b"BYE"), final
    c.close()


def test_a_sasl_literal_before_login_is_still_accepted(server: MailtoolServer) -> None:
    c = Client(port(server))
    token = plain_token().encode()
    _, final = c.cmd(b'AUTHENTICATE "PLAIN" {%d+}\r\n' % len(token) + token)
    assert final.startswith(b"OK"), final
    c.close()


def test_a_script_at_the_size_limit_is_accepted(server: MailtoolServer) -> None:
    c = logged_in(server)
    script = ("# " + "s" * 1000 + "\r\n") * (MAX_SCRIPT // 1004 - 1) + "keep;\r\n"
    assert c.put("limit", script).startswith(b"OK")
    lines, final = c.cmd('GETSCRIPT "limit"')
    assert final.startswith(b"OK") and lines[0] == script.encode()
    c.cmd('DELETESCRIPT "limit"')
    c.close()


# ---------------------------------------------------------------- bounded output


def test_a_client_that_never_reads_getscript_answers_is_dropped(server: MailtoolServer) -> None:
    """GETSCRIPT of a 250 kB script pipelined 200 times (50 MB) and never read: bounded
    server memory, and the peer is dropped after ``write_timeout``."""
    name = "fat"
    script = ("# " + "g" * 1000 + "\r\n") * (MAX_SCRIPT // 1010) + "keep;\r\n"
    c = logged_in(server)
    assert c.put(name, script).startswith(b"OK")
    c.close()
    pid = server.proc.pid  # type: ignore[union-attr]
    sock = connect(port(server), rcvbuf=64 * 1024)
    skip_greeting(sock)
    sock.sendall(f'AUTHENTICATE "PLAIN" "{plain_token()}"\r\n'.encode())
    assert read_line(sock).startswith(b"OK")
    before = reset_peak(pid)
    sock.sendall(f'GETSCRIPT "{name}"\r\n'.encode() * 200 + b"LISTSCRIPTS\r\n" * 1000)
    time.sleep(0.5)
    # the peak before another login: an argon2id check alone takes 64 MiB for a moment
    growth = memory_kb(pid, "VmHWM") - before
    other = logged_in(server)  # served meanwhile
    assert other.cmd("LISTSCRIPTS")[1].startswith(b"OK")
    other.close()
    time.sleep(WRITE_TIMEOUT + 1.5)
    received, how = count_to_end(sock, timeout=5)
    sock.close()
    assert growth * 1024 < 50 * MB, f"server RSS grew by {growth} kB"
    assert how in ("eof", "reset"), "a client that stopped reading was never dropped"
    assert received < 25 * MB, received
    cleanup = logged_in(server)
    cleanup.cmd(f'DELETESCRIPT "{name}"')
    cleanup.close()


# ---------------------------------------------------------------- deadlines


def test_a_trickle_before_login_meets_the_deadline(server: MailtoolServer) -> None:
    """One byte every 0.5 s: BYE at the pre-login deadline (2 s), then close."""
    sock = connect(port(server))
    skip_greeting(sock)
    received, how = trickle(sock, itertools.repeat(ord("x")), 0.5, most=30)
    sock.close()
    assert how in ("eof", "reset"), "still connected after 15 s of trickling"
    assert received.startswith(b"BYE") and received.count(b"\r\n") == 1, received


def test_complete_commands_before_login_do_not_extend_the_deadline(
    server: MailtoolServer,
) -> None:
    sock = connect(port(server))
    skip_greeting(sock)
    received, how = trickle(sock, itertools.cycle(b"NOOP\r\n"), 0.1, most=150)
    sock.close()
    assert how in ("eof", "reset"), "still connected after 15 s of NOOP"
    last = received.rstrip(b"\r\n").rsplit(b"\r\n", 1)[-1]
    assert last.startswith(b"BYE"), received[-200:]


def test_the_deadline_ends_at_login(server: MailtoolServer) -> None:
    c = logged_in(server)
    time.sleep(LOGIN_TIMEOUT + 0.5)
    assert c.cmd("NOOP")[1].startswith(b"OK")
    assert c.cmd("LOGOUT")[1].startswith(b"OK")
    c.close()


def test_after_login_a_trickled_script_meets_the_idle_timer(server: MailtoolServer) -> None:
    """The autologout timer runs from the last complete command: a PUTSCRIPT whose
    literal trickles in is dropped with BYE, and nothing is stored."""
    c = logged_in(server)
    c.send(b'PUTSCRIPT "slow" {1000+}\r\n')
    received, how = trickle(c.sock, itertools.repeat(ord("#")), 0.5, most=30)  # type: ignore[arg-type]
    c.close()
    assert how in ("eof", "reset"), "still connected after 15 s of trickling"
    assert received.startswith(b"BYE"), received
    other = logged_in(server)
    names = other.cmd("LISTSCRIPTS")[0]
    other.close()
    assert not any(b"slow" in n for n in names)


def test_the_deadline_holds_across_starttls(server: MailtoolServer) -> None:
    """STARTTLS does not restart the clock: a TLS session that never logs in ends too."""
    c = Client(port(server))
    c.starttls()
    c.sock.settimeout(LOGIN_TIMEOUT + 5)
    rest, how = read_to_end(c.sock, LOGIN_TIMEOUT + 5)  # type: ignore[arg-type]
    c.close()
    assert how == "eof" and rest.startswith(b"BYE"), (rest, how)


def test_commands_pipelined_after_starttls_are_not_executed(server: MailtoolServer) -> None:
    """RFC 5804 §2.2 / STARTTLS command injection: plaintext sent behind STARTTLS is
    dropped with the plaintext buffer, never run inside TLS."""
    c = Client(port(server))
    c.send(f'STARTTLS\r\nAUTHENTICATE "PLAIN" "{plain_token()}"\r\n'.encode())
    assert c.response()[1].startswith(b"OK")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c.sock = ctx.wrap_socket(c.sock, server_hostname="localhost")
    c.file = c.sock.makefile("rb")
    lines, final = c.response()  # RFC 5804 §2.2: capabilities again, over TLS
    assert final.startswith(b"OK") and not any(b"OWNER" in x for x in lines)
    assert c.cmd("LISTSCRIPTS")[1].startswith(b"NO")  # not logged in
    assert c.login().startswith(b"OK")
    c.close()


# ---------------------------------------------------------------- slots


def test_connections_closed_without_logout_free_their_slots(server: MailtoolServer) -> None:
    hit_and_run(port(server), b'"IMPLEMENTATION"')
    c = logged_in(server)
    assert c.cmd("LOGOUT")[1].startswith(b"OK")
    c.close()
