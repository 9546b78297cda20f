"""POP3 on the open internet (issue 15): bounded output, deadlines, slots freed on EOF.

One server with short bounds (``HARD``): 2 s to log in, 2 s of a peer that
does not read before it is dropped, 4 s autologout. Hostile clients are raw
sockets; the server's memory is read from ``/proc/<pid>/status``. The
helpers here are the ManageSieve hardening tests' too.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import struct
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from tests.mra.pop3.conftest import PASSWORD, Pop3Env, message, start_env
from tests.mra.stores import BACKENDS

LOGIN_TIMEOUT = 2.0
WRITE_TIMEOUT = 2.0
IDLE_TIMEOUT = 4.0
HARD = {
    "security": {"plaintext_auth_on_loopback": True},
    "limits": {
        "login_timeout": LOGIN_TIMEOUT,
        "write_timeout": WRITE_TIMEOUT,
        "pop3_idle_timeout": IDLE_TIMEOUT,
    },
}
MB = 1024 * 1024


# ---------------------------------------------------------------- helpers (shared)


def memory_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def reset_peak(pid: int) -> int:
    """Reset the peak RSS (VmHWM) to the current RSS, and return that, in kB."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return memory_kb(pid)


def connect(port: int, *, rcvbuf: int | None = None, timeout: float = 10) -> socket.socket:
    """A raw client socket; ``rcvbuf`` shrinks its receive buffer (a client that reads
    nothing then holds little of what the server sends)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    return sock


def read_line(sock: socket.socket) -> bytes:
    """One line, byte by byte (no buffered reader that would eat what follows)."""
    out = bytearray()
    while not out.endswith(b"\n"):
        byte = sock.recv(1)
        if not byte:
            break
        out += byte
    return bytes(out)


def read_to_end(sock: socket.socket, timeout: float = 10) -> tuple[bytes, str]:
    """Everything the server still sends, and how the stream ended: ``"eof"``,
    ``"reset"`` or ``"open"`` (still open after ``timeout`` s of silence)."""
    sock.settimeout(timeout)
    out = bytearray()
    try:
        while chunk := sock.recv(1 << 20):
            out += chunk
    except TimeoutError:
        return bytes(out), "open"
    except ConnectionResetError:
        return bytes(out), "reset"
    return bytes(out), "eof"


def count_to_end(sock: socket.socket, timeout: float = 10) -> tuple[int, str]:
    """As :func:`read_to_end` for tens of MB: the count, not the bytes."""
    sock.settimeout(timeout)
    total = 0
    buf = bytearray(1 << 20)
    try:
        while n := sock.recv_into(buf):
            total += n
    except TimeoutError:
        return total, "open"
    except ConnectionResetError:
        return total, "reset"
    return total, "eof"


def trickle(
    sock: socket.socket, data: Iterable[int], interval: float, most: int
) -> tuple[bytes, str]:
    """Send ``data`` one byte every ``interval`` s, at most ``most`` bytes, reading
    what comes back meanwhile; returns (all received, ``"eof"``/``"reset"``/``"open"``)."""
    received = bytearray()
    sock.settimeout(interval)
    for byte in itertools.islice(data, most):
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            rest, how = read_to_end(sock, 1)
            return bytes(received + rest), how
        deadline = time.monotonic() + interval
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                return bytes(received), "reset"
            if not chunk:
                return bytes(received), "eof"
            received += chunk
    return bytes(received), "open"


def abortive_close(sock: socket.socket) -> None:
    """Close with a TCP reset (SO_LINGER 0) instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def hit_and_run(port: int, greeting: bytes, times: int = 60) -> None:
    """``times`` × (connect, read the greeting, close without a word), half of them
    with a reset: each must have been served (no busy reply)."""
    for n in range(times):
        sock = connect(port)
        first = read_line(sock)
        assert first.startswith(greeting), (n, first)
        if n % 2:
            abortive_close(sock)
        else:
            sock.close()


class Sender(threading.Thread):
    """Pushes ``total`` bytes at a socket from a thread until the peer stops taking them."""

    def __init__(self, sock: socket.socket, total: int) -> None:
        super().__init__(daemon=True)
        self.sock = sock
        self.total = total
        self.sent = 0

    def run(self) -> None:
        block = b"x" * 65536
        with contextlib.suppress(OSError):
            while self.sent < self.total:
                self.sent += self.sock.send(block)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", params=BACKENDS)
def hard(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
         ) -> Iterator[Pop3Env]:  # fmt: skip
    yield from start_env(tmp_path_factory.mktemp("pop3-hard"), request, **HARD)


def raw_login(env: Pop3Env, user: str, **kw: object) -> socket.socket:
    sock = connect(env.port, **kw)  # type: ignore[arg-type]
    assert read_line(sock).startswith(b"+OK")
    sock.sendall(f"USER {user}\r\nPASS {PASSWORD}\r\n".encode())
    assert read_line(sock).startswith(b"+OK")
    assert read_line(sock).startswith(b"+OK"), "login failed"
    return sock


def served(env: Pop3Env) -> None:
    """Another user logs in, reads a message and quits, as usual."""
    user = env.new_user(messages=1)
    pop = env.plain()
    pop.user(user)
    pop.pass_(PASSWORD)
    _, lines, _ = pop.retr(1)
    assert b"Body of message 1." in lines
    pop.quit()


# ---------------------------------------------------------------- bounded output


def test_a_client_that_never_reads_a_20_mb_retr_is_dropped(hard: Pop3Env) -> None:
    """RETR of 20 MB, twice more pipelined, never read: the server holds a bounded
    amount (RSS growth < 50 MB), serves others meanwhile, and drops the peer after
    ``write_timeout`` instead of waiting for it forever."""
    line = b"z" * 998 + b"\r\n"
    big = b"Subject: big\r\n\r\n" + line * (20 * MB // len(line))
    user = hard.new_user()
    hard.deliver(user, big)
    pid = hard.server.proc.pid  # type: ignore[union-attr]
    sock = raw_login(hard, user, rcvbuf=64 * 1024)
    before = reset_peak(pid)
    sock.sendall(b"RETR 1\r\nRETR 1\r\nRETR 1\r\nQUIT\r\n")
    time.sleep(0.5)  # the server fills the socket and its own bounded buffer, then waits
    # the peak before another login: an argon2id check alone takes 64 MiB for a moment
    growth = memory_kb(pid, "VmHWM") - before
    served(hard)  # the event loop is not stuck behind the stalled writer
    time.sleep(WRITE_TIMEOUT + 1.5)
    received, how = count_to_end(sock, timeout=5)
    sock.close()
    assert growth * 1024 < 50 * MB, f"server RSS grew by {growth} kB"
    assert how in ("eof", "reset"), "a client that stopped reading was never dropped"
    assert received < len(big), f"{received} octets: the first RETR was finished anyway"
    served(hard)
    assert hard.is_alive()


class FakeConn:
    """Records what a session writes and how much was unsent at each write."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.pending = 0
        self.most_pending = 0
        self.biggest_write = 0
        self.id = "test"
        self.peer_ip = "127.0.0.1"
        self.tls = True
        self.user: str | None = None

    def write(self, data: bytes) -> None:
        self.out += data
        self.pending += len(data)
        self.most_pending = max(self.most_pending, self.pending)
        self.biggest_write = max(self.biggest_write, len(data))

    async def drain(self) -> None:
        self.pending = 0

    async def send(self, data: bytes) -> None:
        self.write(data)
        await self.drain()

    def unsent(self) -> int:
        return self.pending


class FakeEntry:
    def __init__(self, number: int) -> None:
        self.number = number
        self.size = 1000 + number
        self.uidl = f"{number:08x}.{'u' * 60}"


class FakeMaildrop:
    """A maildrop of ``count`` messages, without files."""

    def __init__(self, count: int) -> None:
        self.entries = [FakeEntry(n) for n in range(1, count + 1)]

    def stat(self) -> tuple[int, int]:
        return len(self.entries), sum(e.size for e in self.entries)

    def live(self) -> list[FakeEntry]:
        return self.entries


@pytest.mark.parametrize("command", ["LIST", "UIDL"])
def test_list_and_uidl_of_a_huge_maildrop_go_out_in_bounded_pieces(command: str) -> None:
    """200,000 messages make a ~15 MB UIDL answer: it is written a piece at a time,
    each drained (so bounded by ``output_buffer``) before the next is built."""
    import asyncio

    from mailtool.mra.pop3 import session as pop3_session
    from mailtool.protocol import pop3

    conn = FakeConn()
    sess = pop3_session.Session(None, conn)  # type: ignore[arg-type]
    sess.maildrop = FakeMaildrop(200_000)  # type: ignore[assignment]
    sess.state = pop3_session.TRANSACTION
    asyncio.run(sess.dispatch(pop3.parse_command(f"{command}\r\n".encode())))
    assert conn.out.startswith(b"+OK") and conn.out.endswith(b"\r\n.\r\n")
    lines = bytes(conn.out).split(b"\r\n")
    assert lines[1].startswith(b"1 ") and lines[-3].startswith(b"200000 ")
    assert len(conn.out) > 2 * MB
    assert conn.most_pending <= 512 * 1024, conn.most_pending


# ---------------------------------------------------------------- deadlines


def test_a_trickle_before_login_meets_the_deadline(hard: Pop3Env) -> None:
    """One byte every 0.5 s never makes a line: the pre-login deadline (2 s) still
    ends it, with ``-ERR`` (the old idle timer restarted with every byte)."""
    sock = connect(hard.port)
    assert read_line(sock).startswith(b"+OK")
    received, how = trickle(sock, itertools.repeat(ord("x")), 0.5, most=30)
    sock.close()
    assert how in ("eof", "reset"), "still connected after 15 s of trickling"
    assert received.startswith(b"-ERR") and received.count(b"\r\n") == 1, received


def test_complete_commands_before_login_do_not_extend_the_deadline(hard: Pop3Env) -> None:
    sock = connect(hard.port)
    assert read_line(sock).startswith(b"+OK")
    received, how = trickle(sock, itertools.cycle(b"CAPA\r\n"), 0.1, most=150)
    sock.close()
    assert how in ("eof", "reset"), "still connected after 15 s of CAPA"
    assert received.rstrip(b"\r\n").rsplit(b"\r\n", 1)[-1].startswith(b"-ERR"), received[-200:]


def test_the_deadline_ends_at_login(hard: Pop3Env) -> None:
    user = hard.new_user(messages=1)
    sock = raw_login(hard, user)
    time.sleep(LOGIN_TIMEOUT + 0.5)
    sock.sendall(b"STAT\r\n")
    assert read_line(sock).startswith(b"+OK 1 ")
    sock.sendall(b"QUIT\r\n")
    assert read_line(sock).startswith(b"+OK")
    sock.close()


def test_autologout_counts_from_the_last_command_not_the_last_byte(hard: Pop3Env) -> None:
    """After login a trickle of bytes that never ends a command is dropped after the
    autologout time, without a response and without UPDATE (RFC 1939 §3)."""
    user = hard.new_user(messages=1)
    sock = raw_login(hard, user)
    sock.sendall(b"DELE 1\r\n")
    assert read_line(sock).startswith(b"+OK")
    received, how = trickle(sock, itertools.repeat(ord("N")), 0.5, most=30)
    sock.close()
    assert how in ("eof", "reset") and received == b""
    assert len(hard.inbox(user).messages()) == 1
    assert "conn.crash" not in hard.server.log()  # an autologout, not an unhandled timeout


# ---------------------------------------------------------------- slots


def test_connections_closed_without_quit_free_their_slots(hard: Pop3Env) -> None:
    """60 × (connect, greeting, close) from one IP (max_connections_per_ip 50):
    each slot is freed when the peer goes, so a normal client is served at once."""
    hit_and_run(hard.port, b"+OK")
    pop = hard.plain()
    assert pop.getwelcome().startswith(b"+OK")
    pop.quit()
    served(hard)


def test_messages_survive_the_dropped_sessions(hard: Pop3Env) -> None:
    """A session dropped for not reading deletes nothing (no UPDATE) and frees its lock."""
    user = hard.new_user(messages=1)
    hard.deliver(user, message(2, b"x" * (2 * MB)))
    sock = raw_login(hard, user, rcvbuf=64 * 1024)
    sock.sendall(b"DELE 1\r\n" + b"RETR 2\r\n" * 15 + b"QUIT\r\n")  # 30 MB never read
    time.sleep(WRITE_TIMEOUT + 1.5)
    _, how = count_to_end(sock, timeout=5)
    sock.close()
    assert how in ("eof", "reset")
    assert len(hard.inbox(user).messages()) == 2
    pop = hard.login_after_drop(user)
    assert pop.stat()[0] == 2
    pop.quit()


def test_pipelined_commands_around_inline_retrs_are_answered_in_order(hard: Pop3Env) -> None:
    """RETRs of small messages are answered from the input callback; in a pipelined
    batch with DELE, lower case, a deleted and a missing message, each gets its own
    answer in order (RFC 2449 PIPELINING), and the autologout still counts."""
    user = hard.new_user(messages=2)
    sock = raw_login(hard, user)
    sock.sendall(b"RETR 1\r\nDELE 1\r\nRETR 1\r\nretr 2\r\nRETR 9\r\nLIST 2\r\nRETR 2\r\n")
    got = b""
    sock.settimeout(5)
    while got.count(b"\r\n.\r\n") < 3 or not got.endswith(b"\r\n.\r\n"):
        chunk = sock.recv(65536)
        assert chunk, got
        got += chunk
    size2 = len(message(2))
    one, two = message(1), message(2)
    assert got == (
        b"+OK %d octets\r\n%s.\r\n" % (len(one), one) + b"+OK message 1 deleted\r\n"
        + b"-ERR message 1 already deleted\r\n" + b"+OK %d octets\r\n%s.\r\n" % (size2, two)
        + b"-ERR no message 9\r\n" + b"+OK 2 %d\r\n" % size2
        + b"+OK %d octets\r\n%s.\r\n" % (size2, two)
    ), got
    sock.close()
