"""One client connection with bounded cost both ways (DESIGN principle 6).

Every listener (SMTP, submission, IMAP, POP3, ManageSieve) hands its sessions
a :class:`Connection`. It is built on our own :class:`asyncio.Protocol`, not
on asyncio's StreamReader/StreamWriter, because the sessions need what those
keep private: how many bytes are buffered (IMAP and SMTP pipelining), putting
bytes back (commands pipelined after SMTP's DATA), and a say in flow control.

The bounds, each named in ``[limits]``:

* **input**: at most :attr:`ConnectionLimits.input_buffer` bytes (or the line
  limit a session is reading with, if larger) are buffered before the socket
  stops being read; a line over its limit is discarded as it arrives;
* **output**: :meth:`Connection.drain` waits while more than
  ``output_buffer`` bytes are unsent, and a peer that reads nothing for
  ``write_timeout`` seconds is disconnected (:class:`WriteTimeout`);
* **time before login**: :meth:`Connection.set_deadline` sets an absolute
  deadline that every read honours, so trickling bytes cannot extend it.

After :meth:`Connection.start_compression` (IMAP COMPRESS=DEFLATE, RFC 4978) both
directions are raw DEFLATE under the same bounds: the output limit counts the
compressed bytes, and input is inflated only as far as the input buffer has room
(a small "decompression bomb" stays compressed until the session consumes).

The peer going away (EOF, reset) wakes any read or drain at once with
:class:`ConnectionClosed`, so the session returns and its slot is freed.
Input already buffered when EOF arrives is still served first (a client that
pipelines ``QUIT`` and half-closes gets its replies).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ipaddress
import os
import select
import socket
import ssl
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class LineTooLong(Exception):
    """A line exceeded its limit; the rest of it was discarded."""


class ReadTimeout(Exception):
    """The peer stayed silent past the read's timeout."""


class DeadlineExceeded(ReadTimeout):
    """The connection's deadline (:meth:`Connection.set_deadline`) passed."""



def set_nodelay(sock: object) -> None:
    """TCP_NODELAY: a reply goes out when written, not when the peer's delayed ACK of the
    previous one comes back (a client waiting for ``+`` after a synchronizing literal
    stalled ~40 ms per APPEND). Each reply is one write, so this costs no extra packets."""
    if isinstance(getattr(sock, "family", None), int) and sock.family in (  # type: ignore[attr-defined]
            socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[attr-defined]


def _until(timeout: float | None) -> float | None:
    """The ``time.monotonic()`` a read of ``timeout`` seconds must end by."""
    return None if timeout is None else time.monotonic() + timeout


class ConnectionClosed(ConnectionResetError):
    """The peer closed or reset the connection (or we aborted it)."""


class WriteTimeout(ConnectionClosed):
    """The peer read none of our output for ``write_timeout`` seconds; it was aborted."""


@dataclass(frozen=True)
class ConnectionLimits:
    """Per-connection bounds (``[limits]`` in the config), and who may speak first
    with a PROXY header (``[listen] proxy_from``, :mod:`mailtool.net.proxy`)."""

    #: bytes buffered from the peer before we stop reading the socket
    input_buffer: int = 64 * 1024
    #: unsent bytes above which :meth:`Connection.drain` waits
    output_buffer: int = 1024 * 1024
    #: seconds a peer may leave our output unread before it is disconnected
    write_timeout: float = 120.0
    #: peers whose connections start with a PROXY header naming the real client
    proxy_from: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()


@dataclass(eq=False)
class Connection:
    """One accepted connection, as a session sees it."""

    id: str
    service: str
    #: the client's address: the socket's peer, or what a trusted proxy's header says
    peer_ip: str = "?"
    peer_port: int = 0
    #: the proxy's address when peer_ip/peer_port came from its PROXY header
    via: str | None = None
    local_port: int = 0
    tls: bool = False
    limits: ConnectionLimits = field(default_factory=ConnectionLimits)
    started: float = field(default_factory=time.monotonic)
    #: set by the session once authenticated, for the close log
    user: str | None = None
    #: set by the session when it ends for a reason worth logging (timeout, ...)
    outcome: str | None = None
    _transport: Any = field(default=None, repr=False)
    #: the loop the connection was made on (asyncio.get_running_loop asks getpid(2))
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _buf: bytearray = field(default_factory=bytearray, repr=False)
    _scanned: int = 0  # bytes of _buf known to hold no newline
    _want: int = 0  # bytes a read_line may need buffered at once
    _eof: bool = False
    _lost: bool = False
    _reading_paused: bool = False
    _writing_paused: bool = False
    _waiter: asyncio.Future[bool] | None = field(default=None, repr=False)
    _until: float | None = None  # when the read waiting on _waiter must end
    #: the read timer, kept armed from one read to the next (see _wait_for_input)
    _timer: asyncio.TimerHandle | None = field(default=None, repr=False)
    _timer_at: float = 0.0  # the ``until`` it was armed for
    _drainers: collections.deque[asyncio.Future[None]] = field(
        default_factory=collections.deque, repr=False
    )
    _deadline: float | None = None
    #: RFC 4978 raw DEFLATE, once started: compressed input not inflated yet
    _deflater: Any = field(default=None, repr=False)
    _inflater: Any = field(default=None, repr=False)
    _zin: bytes = b""
    _zmore: bool = False  # the last inflate filled its room: zlib may hold more output
    #: :meth:`answer_inline`'s handler, the longest line it takes, the idle timeout
    _inline: Callable[[bytes], bool] | None = field(default=None, repr=False)
    _inline_limit: int = 0
    _inline_timeout: float | None = None
    _line_wait: bool = False  # a read_line waits for the rest of a line (not a discard)

    # ---------------------------------------------------------------- state

    @property
    def closed(self) -> bool:
        """The connection is gone (closed by either side, or aborted)."""
        return self._lost or self._transport is None or self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """As :meth:`asyncio.BaseTransport.get_extra_info` (peername, socket, ssl_object...)."""
        if self._transport is None:
            return default
        return self._transport.get_extra_info(name, default)

    def quickack(self) -> None:
        """ACK what arrives next at once (Linux TCP_QUICKACK, a one-shot mode): for a
        client whose next write waits for our ACK (Nagle), the kernel's delayed ACK would
        add ~40 ms; elsewhere a no-op."""
        sock = self._transport.get_extra_info("socket") if self._transport else None
        if sock is not None and hasattr(socket, "TCP_QUICKACK"):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)

    def tls_info(self) -> str | None:
        """``TLSv1.3 TLS_AES_256_GCM_SHA384``, or None in plaintext."""
        obj = self.get_extra_info("ssl_object")
        if obj is None:
            return None
        cipher = obj.cipher()
        return f"{obj.version()} {cipher[0] if cipher else ''}".strip()

    # ---------------------------------------------------------------- input

    def buffered(self) -> int:
        """Bytes received from the peer and not consumed yet."""
        return len(self._buf)

    def has_line(self) -> bool:
        """Whether a whole line (up to LF) is buffered."""
        return self._buf.find(b"\n", self._scanned) >= 0

    def input_pending(self) -> bool:
        """Whether the peer already sent more than we consumed: bytes buffered here or
        still in the kernel (the peer is pipelining, it did not wait for us)."""
        if self._buf or self._zin:
            return True
        sock = self.get_extra_info("socket")
        if sock is None or self.closed:
            return False
        try:
            ready, _, _ = select.select([sock.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return bool(ready)

    def push_back(self, data: bytes) -> None:
        """Put ``data`` back in front of the input (read again next)."""
        if data:
            self._buf[:0] = data
            self._scanned = 0

    def set_deadline(self, seconds: float | None) -> None:
        """From now on, every read fails with :class:`DeadlineExceeded` once
        ``seconds`` have passed, whatever arrives meanwhile; None removes it
        (after a successful login)."""
        self._deadline = None if seconds is None else time.monotonic() + seconds

    @property
    def deadline_left(self) -> float | None:
        """Seconds before the deadline (negative once passed), or None."""
        return None if self._deadline is None else self._deadline - time.monotonic()

    async def read(self, max_bytes: int = 65536, timeout: float | None = None) -> bytes:
        """Up to ``max_bytes`` bytes, as soon as there are some."""
        if not self._buf:
            await self._wait_for_input(_until(timeout))
        data = bytes(self._buf[:max_bytes])
        self._consume(len(data))
        return data

    async def read_exactly(self, n: int, timeout: float | None = None) -> bytes:
        """Exactly ``n`` bytes (the whole read within ``timeout``); the input buffer
        grows to ``n``, which the caller bounds (a literal's announced size, checked)."""
        until = _until(timeout)
        try:
            while len(self._buf) < n:
                self._want = max(self._want, n)
                await self._wait_for_input(until)
        finally:
            self._want = 0
        data = bytes(self._buf[:n])
        self._consume(n)
        return data

    async def read_line(self, limit: int, timeout: float | None = None) -> bytes:
        """One LF-terminated line, terminator included; the whole line must arrive
        within ``timeout`` seconds (a trickle cannot stretch it).

        Raises :class:`LineTooLong` (after discarding the rest of that line),
        :class:`ReadTimeout`, :class:`DeadlineExceeded` or :class:`ConnectionClosed`.
        """
        end = self._buf.find(b"\n", self._scanned)
        if 0 <= end < limit:  # fast path: no timer when the line is already here
            return self._take(end + 1)
        until = _until(timeout)
        self._want = limit
        try:  # the wait in this frame, not one more coroutine: it runs for every command
            while True:
                end = self._buf.find(b"\n", self._scanned)
                if end >= 0:
                    if end + 1 > limit:
                        self._consume(end + 1)
                        raise LineTooLong
                    return self._take(end + 1)
                if len(self._buf) >= limit:
                    await self._discard_line(until)
                    raise LineTooLong
                self._scanned = len(self._buf)
                self._line_wait = True
                try:
                    await self._wait_for_input(until)
                finally:
                    self._line_wait = False
                if self._until is not None and until is not None and self._until > until:
                    until = self._until  # lines answered inline meanwhile restarted it
        finally:
            self._want = 0

    async def _discard_line(self, until: float | None) -> None:
        # bounded cost: what arrives is dropped until the newline
        while True:
            end = self._buf.find(b"\n")
            if end >= 0:
                self._consume(end + 1)
                return
            self._consume(len(self._buf))
            await self._wait_for_input(until)

    def _take(self, n: int) -> bytes:
        data = bytes(self._buf[:n])
        self._consume(n)
        return data

    def _consume(self, n: int) -> None:
        del self._buf[:n]
        self._scanned = 0
        if self._inflater is not None:
            self._inflate()
        if self._reading_paused and not self._zin and len(self._buf) < self._read_high() // 2:
            self._reading_paused = False
            if self._transport is not None and not self._lost:
                self._transport.resume_reading()

    def _read_high(self) -> int:
        return max(self.limits.input_buffer, self._want + 1)

    async def _wait_for_input(self, until: float | None) -> None:
        """Until more bytes arrive; ConnectionClosed at EOF, DeadlineExceeded, ReadTimeout
        (``until``: the ``time.monotonic()`` by which the whole read must be done).

        This runs for every command that is not pipelined, so the timer is not made
        anew for each read (``asyncio.timeout``'s frames, then a ``call_later`` and its
        cancel, were a good part of a POP3 RETR's CPU time): one timer per connection
        stays armed, and when it fires for an earlier read's time while a later read
        waits, :meth:`_on_timer` re-arms it for the later one. A read that must end
        sooner than the armed time (a deadline, a shorter timeout) re-arms it at once."""
        if self._inflater is not None and self._inflate():
            return  # a read_line with a larger limit made room for compressed input
        if self._buf and self._eof:
            # EOF seen and the session still wants more: what is left is a fragment
            raise ConnectionClosed("connection closed by peer")
        if self._eof or self._lost:
            raise ConnectionClosed("connection closed by peer")
        by_deadline = self._deadline is not None and (until is None or self._deadline <= until)
        if by_deadline:
            until = self._deadline
        if until is not None and until <= time.monotonic():
            raise DeadlineExceeded if by_deadline else ReadTimeout
        if self._reading_paused and len(self._buf) < self._read_high():
            self._reading_paused = False  # a read_line with a larger limit wants more
            self._transport.resume_reading()
        loop = self._loop or asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        self._until = until
        if until is not None and (self._timer is None or self._timer_at > until):
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = until
            self._timer = loop.call_later(until - time.monotonic(), self._on_timer)
        try:
            expired = await waiter
        finally:
            self._waiter = None
        if expired:
            # the deadline's timer may fire a clock tick early, when deadline_left is
            # still a hair above 0: it is the deadline all the same
            raise DeadlineExceeded if by_deadline else ReadTimeout
        if self._lost and not self._buf:
            raise ConnectionClosed("connection closed by peer")

    def _on_timer(self) -> None:
        """The read timer fired: the waiting read has timed out if the timer was armed
        for its ``until``; if it was armed for an earlier read's, it is armed again for
        this one's. With no read waiting it stays off until the next read."""
        self._timer = None
        waiter, until = self._waiter, self._until
        if waiter is None or waiter.done() or until is None:
            return
        if until > self._timer_at:
            self._timer_at = until
            loop = self._loop or asyncio.get_running_loop()
            self._timer = loop.call_later(until - time.monotonic(), self._on_timer)
            return
        waiter.set_result(True)

    def _wake_reader(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(False)

    # --------------------------------------------------------------- output

    def write(self, data: bytes) -> None:
        """Queue ``data``; call :meth:`drain` before producing much more."""
        if data and not self.closed:
            if self._deflater is not None:
                # RFC 4978 §4: a sync flush per write, so the peer can inflate all of it
                data = self._deflater.compress(data) + self._deflater.flush(zlib.Z_SYNC_FLUSH)
            self._transport.write(data)

    def unsent(self) -> int:
        """Bytes written and not yet taken by the kernel."""
        if self._transport is None or self._lost:
            return 0
        size: int = self._transport.get_write_buffer_size()
        return size

    async def drain(self) -> None:
        """Wait until unsent output is below the limit.

        A peer that reads nothing for ``write_timeout`` seconds is aborted
        (:class:`WriteTimeout`); a closed connection raises ConnectionClosed.
        """
        if self._lost:
            raise ConnectionClosed("connection closed")
        if not self._writing_paused:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._drainers.append(waiter)
        try:
            async with asyncio.timeout(self.limits.write_timeout):
                await waiter
        except TimeoutError:
            self.abort()
            raise WriteTimeout(
                f"peer read nothing for {self.limits.write_timeout:g} s"
            ) from None
        finally:
            with contextlib.suppress(ValueError):
                self._drainers.remove(waiter)
        if self._lost:
            raise ConnectionClosed("connection closed")

    async def send(self, data: bytes) -> None:
        """:meth:`write` then :meth:`drain`."""
        self.write(data)
        await self.drain()

    @property
    def can_send_file(self) -> bool:
        """Whether :meth:`send_file` may work here (plaintext, uncompressed, a socket)."""
        return (not self.tls and self._deflater is None and hasattr(os, "sendfile")
                and self.get_extra_info("socket") is not None)

    def send_file(self, fd: int, offset: int, count: int) -> int:
        """Send up to ``count`` bytes of the file ``fd`` from ``offset`` straight from
        the page cache (one ``sendfile(2)``, no copy through Python); returns how many
        went. 0 when it cannot: TLS, compression, output already queued (bytes must
        stay in order), the socket's buffer full, no socket. The caller then sends
        that part with :meth:`write` and :meth:`drain`, under the usual bounds."""
        if count <= 0 or self.tls or self._deflater is not None or self.closed or self.unsent():
            return 0
        sock = self.get_extra_info("socket")
        if sock is None or not hasattr(os, "sendfile"):
            return 0
        try:
            return os.sendfile(sock.fileno(), fd, offset, count)
        except OSError:
            # EAGAIN (the socket is full), or the peer went away: the transport's own
            # write path finds out and reports it; EINVAL/ENOSYS: not sendfile-able
            return 0

    def _wake_drainers(self) -> None:
        for waiter in self._drainers:
            if not waiter.done():
                waiter.set_result(None)

    # ----------------------------------------------------------- lifecycle

    async def start_tls(self, context: ssl.SSLContext) -> None:
        """Upgrade in place (STARTTLS / STLS) once our last reply is sent.

        RFC 3207 §4.2: whatever the client pipelined in plaintext behind the
        command is discarded, never read as if it had come over TLS.
        """
        await self.drain()
        loop = asyncio.get_running_loop()
        self._buf.clear()  # no await between this and start_tls pausing the socket
        self._scanned = 0
        new = await loop.start_tls(
            self._transport, self._protocol, context, server_side=True,
            ssl_handshake_timeout=30,
        )
        if new is None:
            raise ConnectionClosed("TLS handshake: connection closed")
        self._transport = new
        self._reading_paused = False
        self._set_write_limits()
        self.tls = True

    @property
    def compressed(self) -> bool:
        """Whether :meth:`start_compression` was called."""
        return self._deflater is not None

    def start_compression(self) -> None:
        """From now on both directions are raw DEFLATE (zlib ``wbits=-15``), as IMAP
        COMPRESS=DEFLATE (RFC 4978 §3) wants right after its tagged OK: call it once
        that OK is written. Input buffered before now stays as it is (the protocol
        decides what to do with it; RFC 4978 forbids the client to send any).

        The bounds stay: :meth:`drain` counts compressed bytes, and compressed input
        is inflated only while the input buffer has room (``decompress(data,
        max_length)``); the rest waits compressed, with the socket paused.
        zlib's state costs about 300 KB per connection (deflate 256 KB, inflate 32 KB).
        """
        if self._deflater is not None:
            raise RuntimeError("compression is already active")
        self._deflater = zlib.compressobj(wbits=-15)
        self._inflater = zlib.decompressobj(wbits=-15)

    def _inflate(self) -> bool:
        """Inflate compressed input while the buffer has room; True if bytes were added."""
        room = self._read_high() - len(self._buf)
        if room <= 0 or not (self._zin or self._zmore):
            return False
        try:
            out = self._inflater.decompress(self._zin, room)  # max_length: never 0 here
        except zlib.error:
            # not DEFLATE: nothing sensible can be read from this peer any more
            self.outcome = "bad-deflate"
            self._zin, self._zmore = b"", False
            self._eof = True
            self.abort()
            return False
        self._zin = self._inflater.unconsumed_tail
        self._zmore = len(out) >= room
        self._buf += out
        return bool(out)

    def abort(self) -> None:
        """Close at once, dropping unsent output."""
        if self._transport is not None:
            self._transport.abort()

    async def close_lingering(self, linger: float, max_bytes: int) -> None:
        """Close after an error reply while the peer may still be sending: half-close,
        drop its input for up to ``linger`` seconds or ``max_bytes``, then :meth:`close`.

        Closing a socket with unread input makes the kernel send a reset, which can
        reach the peer before it has read our reply, and lose it (RFC 9112 §9.6 asks
        for this staged close). Under TLS, or where half-close is not possible, this
        is :meth:`close`."""
        transport = self._transport
        if transport is not None and not self._lost and transport.can_write_eof():
            with contextlib.suppress(ConnectionClosed, ReadTimeout):
                await self.drain()
                transport.write_eof()
                self._deadline = None  # often why we are closing: it must not end this
                until = time.monotonic() + linger
                dropped = 0
                while dropped < max_bytes and (left := until - time.monotonic()) > 0:
                    dropped += len(await self.read(65536, timeout=left))
        await self.close()

    async def close(self) -> None:
        """Send what is queued (within ``write_timeout``) and close."""
        transport = self._transport
        if transport is None or self._lost:
            return
        if not transport.is_closing():
            transport.close()
        with contextlib.suppress(asyncio.TimeoutError):
            async with asyncio.timeout(min(self.limits.write_timeout, 5.0)):
                while not self._lost:
                    waiter = asyncio.get_running_loop().create_future()
                    self._drainers.append(waiter)
                    await waiter
        if not self._lost:
            transport.abort()

    # ---------------------------------------------------- protocol callbacks

    @property
    def _protocol(self) -> asyncio.Protocol:
        return self._transport.get_protocol()  # type: ignore[no-any-return]

    def _set_write_limits(self) -> None:
        high = self.limits.output_buffer
        self._transport.set_write_buffer_limits(high=high, low=high // 4)

    def _made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        peer = transport.get_extra_info("peername") or ("?", 0)
        local = transport.get_extra_info("sockname") or ("?", 0)
        if self.via is None:  # else the PROXY header's client (mailtool.net.proxy)
            self.peer_ip, self.peer_port = str(peer[0]), int(peer[1])
        self.local_port = int(local[1])
        self.tls = transport.get_extra_info("ssl_object") is not None
        self._set_write_limits()
        set_nodelay(transport.get_extra_info("socket"))

    def answer_inline(
        self, handler: Callable[[bytes], bool] | None, limit: int = 0,
        timeout: float | None = None,
    ) -> None:
        """Offer each whole line that arrives while a :meth:`read_line` waits to
        ``handler(line)`` first, from the protocol callback (no task wake-up): True means
        it answered the line (written, never awaited), False leaves the line to the
        waiting read. Each answered line restarts that read's ``timeout``, as a new read
        would. None stops it. ``limit`` is the read's own line limit: the start of a line
        shorter than it does not wake the read. Lines of ``limit`` bytes or more, input
        while unsent output is over its bound, a deadline or compressed input always take
        the ordinary path, so every bound holds. For the commands that make up most of a
        session (a POP3 client's RETRs: the wake-up was about a third of the server's CPU
        for each)."""
        self._inline, self._inline_limit, self._inline_timeout = handler, limit, timeout

    def _answer_inline(self, handler: Callable[[bytes], bool]) -> bool:
        """Answer the whole lines ``handler`` takes; whether the waiting read must look at
        what is left (False: nothing, or the start of a line under the limit, which it
        would only wait on: no wake-up for it)."""
        buf = self._buf
        while not self._writing_paused and not self._lost:
            end = buf.find(b"\n")
            if end < 0:
                return len(buf) >= self._inline_limit
            if end >= self._inline_limit or not handler(bytes(buf[: end + 1])):
                return True
            del buf[: end + 1]
            self._scanned = 0
            if self._inline_timeout is not None:
                self._until = time.monotonic() + self._inline_timeout  # _on_timer re-arms
        return True

    def _data(self, data: bytes) -> None:
        if self._inflater is not None:
            self._zin += data
            self._inflate()
        else:
            self._buf += data
            handler = self._inline
            if (handler is not None and self._line_wait and self._deadline is None
                    and self._waiter is not None and not self._waiter.done()
                    and not self._answer_inline(handler)):
                return  # all answered, or a line's start: the read waits on
        if not self._reading_paused and (self._zin or len(self._buf) >= self._read_high()):
            self._reading_paused = True
            self._transport.pause_reading()
        self._wake_reader()

    def _got_eof(self) -> None:
        self._eof = True
        self._wake_reader()

    def _gone(self) -> None:
        self._lost = True
        if self._timer is not None:  # else it would keep this connection for a timeout
            self._timer.cancel()
            self._timer = None
        self._wake_reader()
        self._wake_drainers()

    def _pause_writing(self) -> None:
        self._writing_paused = True

    def _resume_writing(self) -> None:
        self._writing_paused = False
        self._wake_drainers()


class ConnectionProtocol(asyncio.Protocol):
    """Feeds one :class:`Connection`; ``on_made(conn)`` starts its session."""

    def __init__(self, conn: Connection, on_made: Any) -> None:
        self.conn = conn
        self.on_made = on_made

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.conn._made(transport)
        self.on_made(self.conn)

    def data_received(self, data: bytes) -> None:
        self.conn._data(data)

    def eof_received(self) -> bool:
        # keep the write side open: replies to what was buffered before EOF still go out
        self.conn._got_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.conn._gone()

    def pause_writing(self) -> None:
        self.conn._pause_writing()

    def resume_writing(self) -> None:
        self.conn._resume_writing()


__all__ = [
    "Connection",
    "ConnectionClosed",
    "ConnectionLimits",
    "ConnectionProtocol",
    "DeadlineExceeded",
    "LineTooLong",
    "ReadTimeout",
    "WriteTimeout",
]
