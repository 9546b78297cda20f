"""Listeners with bounded cost: connection slots, ids, logs, implicit TLS.

A service hands a :class:`StreamListener` an ``async handler(conn)``; the
listener accepts, enforces :class:`~mailtool.net.limits.ConnectionLimiter`,
wraps implicit TLS, gives each connection an id, runs the handler as a task
and logs the open and the close. The slot is freed the moment the handler
returns, which it does as soon as the peer goes away (reads raise
:class:`~mailtool.net.connection.ConnectionClosed`). Every protocol's
sessions run on :class:`~mailtool.net.connection.Connection`.

With ``proxy_from`` in its limits (``[listen] proxy_from``) the listener accepts by
itself and reads those peers' PROXY header before anything else, TLS included
(:mod:`mailtool.net.proxy`), so that the slot, the throttle and every protocol see
the client the header names.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import os
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

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
from mailtool.net.limits import Limiter
from mailtool.net.log import log_event
from mailtool.net.proxy import bind_sockets, client_of, is_trusted, read_proxy_header
from mailtool.protocol.proxy import ProxyHeader, ProxyHeaderError

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
        limiter: Limiter,
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
        self._sockets: list[socket.socket] = []  # proxy_from: the sockets we accept on
        self._acceptors: list[asyncio.Task[None]] = []
        self._awaiting_header = 0  # proxy_from: connections whose header is not read yet

    async def start(self) -> tuple[str, int]:
        """Bind and listen; returns the bound (host, port)."""
        if self.limits.proxy_from:
            return self._start_accepting()
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

    def _protocol(self, client: tuple[str, int] | None = None,
                  via: str | None = None) -> ConnectionProtocol:
        conn = Connection(id=new_connection_id(), service=self.service, limits=self.limits)
        if client is not None:  # named by the PROXY header of ``via``, a trusted proxy
            conn.peer_ip, conn.peer_port, conn.via = client[0], client[1], via
        return ConnectionProtocol(conn, self._made)

    # ------------------------------------------------ [listen] proxy_from

    def _start_accepting(self) -> tuple[str, int]:
        self._sockets = bind_sockets(self.host, self.port, reuse_port=self.reuse_port)
        loop = asyncio.get_running_loop()
        self._acceptors = [loop.create_task(self._accept(sock)) for sock in self._sockets]
        sockname = self._sockets[0].getsockname()
        return sockname[0], sockname[1]

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _accept(self, listening: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, address = await loop.sock_accept(listening)
            except OSError as exc:  # EMFILE and friends: breathe, as asyncio's own server does
                log_event("conn.accept_failed", service=self.service, error=exc.strerror,
                          level=logging.WARNING)  # fmt: skip
                await asyncio.sleep(0.1)
                continue
            self._spawn(self._accepted(sock, str(address[0])))

    async def _accepted(self, sock: socket.socket, peer: str) -> None:
        """PROXY §5: a peer in proxy_from must start with a valid header (else it is
        closed: a proxy that forgot it must not make every client look like it); any
        other peer's bytes go to the protocol untouched."""
        sock.setblocking(False)
        client: tuple[str, int] | None = None
        header: ProxyHeader | None = None
        if is_trusted(peer, self.limits.proxy_from):
            try:
                header = await self._read_header(sock, peer)
            finally:
                if header is None:  # refused, or the server is stopping
                    sock.close()
            if header is None:
                return
            client = client_of(header)  # None: v2 LOCAL, v1 UNKNOWN... the proxy itself
        try:
            await asyncio.get_running_loop().connect_accepted_socket(
                lambda: self._protocol(client, peer),
                sock,
                ssl=self.ssl_context,
                ssl_handshake_timeout=30 if self.ssl_context else None,
            )
        except (OSError, TimeoutError) as exc:  # a failed TLS handshake, a reset
            log_event("conn.failed", service=self.service, peer=peer, error=type(exc).__name__)
            sock.close()

    async def _read_header(self, sock: socket.socket, peer: str) -> ProxyHeader | None:
        """A trusted proxy's header, or None (logged): the connection must be closed.
        Bounded: at most ``max_connections`` wait for theirs, each for HEADER_TIMEOUT."""
        header = None
        if self._awaiting_header >= self.limiter.total:  # before any client address is known
            reason = "too many connections awaiting a PROXY header"
        else:
            self._awaiting_header += 1
            try:
                header = await read_proxy_header(sock)
                reason = ""
            except ProxyHeaderError as exc:
                header, reason = None, str(exc)
            except TimeoutError:
                header, reason = None, "no PROXY header in time"
            except OSError:
                header, reason = None, "closed before its PROXY header"
            finally:
                self._awaiting_header -= 1
        if header is None:
            log_event("conn.proxy_refused", service=self.service, peer=peer, reason=reason,
                      level=logging.WARNING)  # fmt: skip
        return header

    def _made(self, conn: Connection) -> None:
        self._spawn(self._serve(conn))

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
        log_event("conn.open", id=conn.id, service=self.service, peer=conn.peer_ip, tls=conn.tls,
                  via=conn.via)  # fmt: skip
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
        for acceptor in self._acceptors:  # proxy_from: stop accepting, then close
            acceptor.cancel()
        if self._acceptors:
            await asyncio.wait(self._acceptors, timeout=5)
        for sock in self._sockets:
            sock.close()
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
