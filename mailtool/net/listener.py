"""Listeners with bounded cost: connection slots, ids, logs, implicit TLS.

A service hands a :class:`StreamListener` an ``async handler(conn)``; the
listener accepts, enforces :class:`~mailtool.net.limits.ConnectionLimiter`,
wraps implicit TLS, gives each connection an id, runs the handler as a task
and logs the open and the close. The slot is freed the moment the handler
returns, which it does as soon as the peer goes away (reads raise
:class:`~mailtool.net.connection.ConnectionClosed`). Every protocol's
sessions run on :class:`~mailtool.net.connection.Connection`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import os
import ssl
import time
from collections.abc import Awaitable, Callable

from mailtool.net.connection import (
    Connection,
    ConnectionClosed,
    ConnectionLimits,
    ConnectionProtocol,
    DeadlineExceeded,
    LineTooLong,
    ReadTimeout,
    WriteTimeout,
)
from mailtool.net.limits import ConnectionLimiter
from mailtool.net.log import log_event

_counter = itertools.count(1)
_prefix = f"{os.getpid():x}"


def new_connection_id() -> str:
    """A short id, unique within this process's lifetime, for log correlation."""
    return f"{_prefix}-{next(_counter):x}"


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
        limits: ConnectionLimits | None = None,
        buffer_limit: int | None = None,
        reuse_port: bool = False,
    ) -> None:
        self.service = service
        self.host = host
        self.port = port
        self.handler = handler
        self.limiter = limiter
        self.busy_reply = busy_reply
        self.ssl_context = ssl_context
        limits = limits or ConnectionLimits()
        if buffer_limit is not None:
            limits = dataclasses.replace(limits, input_buffer=buffer_limit)
        self.limits = limits
        self.reuse_port = reuse_port  # [limits] smtp_workers: several processes, one port
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> tuple[str, int]:
        """Bind and listen; returns the bound (host, port)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol,
            self.host,
            self.port,
            ssl=self.ssl_context,
            ssl_handshake_timeout=30 if self.ssl_context else None,
            reuse_address=True,
            reuse_port=self.reuse_port or None,
        )
        sockname = self._server.sockets[0].getsockname()
        return sockname[0], sockname[1]

    def _protocol(self) -> ConnectionProtocol:
        conn = Connection(id=new_connection_id(), service=self.service, limits=self.limits)
        return ConnectionProtocol(conn, self._made)

    def _made(self, conn: Connection) -> None:
        task = asyncio.get_running_loop().create_task(self._serve(conn))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, conn: Connection) -> None:
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
                conn.write(self.busy_reply)
            await conn.close()
            return
        log_event("conn.open", id=conn.id, service=self.service, peer=conn.peer_ip, tls=conn.tls)
        outcome = "closed"
        try:
            await self.handler(conn)
        except asyncio.CancelledError:
            outcome = "shutdown"
            raise
        except WriteTimeout:
            outcome = "write-timeout"
        except ConnectionClosed:
            outcome = "reset"
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
                outcome=conn.outcome or outcome,
                seconds=f"{time.monotonic() - conn.started:.3f}",
            )

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


__all__ = [
    "Connection",
    "ConnectionClosed",
    "ConnectionLimits",
    "DeadlineExceeded",
    "Handler",
    "LineTooLong",
    "ReadTimeout",
    "StreamListener",
    "WriteTimeout",
    "new_connection_id",
]
