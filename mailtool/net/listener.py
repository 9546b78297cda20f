"""Stream listeners with bounded cost: connection limits, ids, logs, TLS, bounded reads.

A service hands a :class:`StreamListener` an ``async handler(conn)``; the
listener accepts, enforces :class:`~mailtool.net.limits.ConnectionLimiter`,
wraps implicit TLS, gives each connection an id and logs its open and close.
Services that are asyncio Protocols (aiosmtpd) use the limiter and
:func:`new_connection_id` directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mailtool.net.limits import ConnectionLimiter
from mailtool.net.log import log_event

_counter = itertools.count(1)
_prefix = f"{os.getpid():x}"


def new_connection_id() -> str:
    """A short id, unique within this process's lifetime, for log correlation."""
    return f"{_prefix}-{next(_counter):x}"


class LineTooLong(Exception):
    """A line exceeded its limit; the rest of it was discarded."""


class ReadTimeout(Exception):
    """The peer stayed silent past the idle timeout."""


class ConnectionClosed(Exception):
    """The peer closed the connection."""


@dataclass
class Connection:
    """One accepted client connection, as the service's handler sees it."""

    id: str
    service: str
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    peer_ip: str
    peer_port: int
    local_port: int
    tls: bool
    started: float = field(default_factory=time.monotonic)
    user: str | None = None  # set by the service once authenticated, for the close log

    def write(self, data: bytes) -> None:
        self.writer.write(data)

    async def drain(self) -> None:
        await self.writer.drain()

    async def read_line(self, limit: int, timeout: float) -> bytes:
        """One CRLF/LF-terminated line, terminator included.

        Raises :class:`LineTooLong` (after discarding the rest of that line),
        :class:`ReadTimeout` or :class:`ConnectionClosed`.
        """
        try:
            # asyncio.timeout, not wait_for: no extra Task (and event loop pass) per line
            async with asyncio.timeout(timeout):
                return await self._read_line(limit)
        except TimeoutError:
            raise ReadTimeout from None

    async def _read_line(self, limit: int) -> bytes:
        reader = self.reader
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            raise ConnectionClosed from exc
        except asyncio.LimitOverrunError:
            await self._discard_line()
            raise LineTooLong from None
        if len(line) > limit:
            raise LineTooLong
        return line

    async def _discard_line(self) -> None:
        # bounded cost: drop buffered bytes chunk by chunk until the newline
        while True:
            try:
                await self.reader.readuntil(b"\n")
                return
            except asyncio.LimitOverrunError as exc:
                await self.reader.readexactly(exc.consumed)
            except asyncio.IncompleteReadError:
                raise ConnectionClosed from None

    async def start_tls(self, context: ssl.SSLContext) -> None:
        """Upgrade in place (STARTTLS / STLS)."""
        await self.writer.start_tls(context)
        self.tls = True

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 5)


Handler = Callable[[Connection], Awaitable[None]]


class StreamListener:
    """One listening socket for one service."""

    def __init__(
        self,
        service: str,
        host: str,
        port: int,
        handler: Handler,
        *,
        limiter: ConnectionLimiter,
        busy_reply: bytes,
        ssl_context: ssl.SSLContext | None = None,
        buffer_limit: int = 64 * 1024,
    ) -> None:
        self.service = service
        self.host = host
        self.port = port
        self.handler = handler
        self.limiter = limiter
        self.busy_reply = busy_reply
        self.ssl_context = ssl_context
        self.buffer_limit = buffer_limit
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> tuple[str, int]:
        """Bind and listen; returns the bound (host, port)."""
        self._server = await asyncio.start_server(
            self._accept,
            self.host,
            self.port,
            ssl=self.ssl_context,
            limit=self.buffer_limit,
            ssl_handshake_timeout=30 if self.ssl_context else None,
        )
        sockname = self._server.sockets[0].getsockname()
        return sockname[0], sockname[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        peer = writer.get_extra_info("peername") or ("?", 0)
        local = writer.get_extra_info("sockname") or ("?", 0)
        conn = Connection(
            id=new_connection_id(),
            service=self.service,
            reader=reader,
            writer=writer,
            peer_ip=peer[0],
            peer_port=peer[1],
            local_port=local[1],
            tls=self.ssl_context is not None,
        )
        try:
            if not self.limiter.acquire(conn.peer_ip):
                log_event(
                    "conn.refused",
                    id=conn.id,
                    service=self.service,
                    peer=conn.peer_ip,
                    reason="too many connections",
                    level=logging.WARNING,
                )
                with contextlib.suppress(Exception):
                    writer.write(self.busy_reply)
                    await asyncio.wait_for(writer.drain(), 5)
                await conn.close()
                return
            log_event(
                "conn.open", id=conn.id, service=self.service, peer=conn.peer_ip, tls=conn.tls
            )
            outcome = "closed"
            try:
                await self.handler(conn)
            except asyncio.CancelledError:
                outcome = "shutdown"
                raise
            except Exception as exc:  # a bug: log it, never show a traceback to the peer
                outcome = "error"
                logging.getLogger("mailtool").exception(
                    "conn.crash id=%s service=%s: %s", conn.id, self.service, type(exc).__name__
                )
            finally:
                self.limiter.release(conn.peer_ip)
                await conn.close()
                log_event(
                    "conn.close",
                    id=conn.id,
                    service=self.service,
                    peer=conn.peer_ip,
                    user=conn.user,
                    outcome=outcome,
                    seconds=f"{time.monotonic() - conn.started:.3f}",
                )
        finally:
            self._tasks.discard(task)

    async def stop(self, grace: float = 10.0) -> None:
        """Stop accepting, give in-flight connections ``grace`` seconds, then cancel them."""
        if self._server is not None:
            self._server.close()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)
