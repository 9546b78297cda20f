"""A listener whose every connection runs one protocol session (IMAP, POP3, ManageSieve).

The service keeps the set of live sessions so that, on shutdown, each protocol
can treat idle sessions first (IMAP sends ``* BYE``, POP3 drops them without
UPDATE) before the listener's grace period for busy ones.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Protocol

from mailtool.net.limits import Limiter
from mailtool.net.listener import Connection, ConnectionLimits, StreamListener


class SessionLike(Protocol):
    async def run(self) -> None: ...


class SessionService:
    """``make_session(conn)`` builds the session that serves one connection."""

    def __init__(
        self,
        name: str,
        host: str,
        port: int,
        make_session: Callable[[Connection], SessionLike],
        *,
        limiter: Limiter,
        busy_reply: bytes,
        ssl_context: ssl.SSLContext | None = None,
        limits: ConnectionLimits | None = None,
    ) -> None:
        self.make_session = make_session
        self.sessions: set[SessionLike] = set()
        self.listener = StreamListener(
            name, host, port, self.handle,
            limiter=limiter, busy_reply=busy_reply, ssl_context=ssl_context, limits=limits,
        )

    async def handle(self, conn: Connection) -> None:
        session = self.make_session(conn)
        self.sessions.add(session)
        try:
            await session.run()
        finally:
            self.sessions.discard(session)

    async def start(self) -> tuple[str, int]:
        return await self.listener.start()

    def stop_idle_sessions(self) -> None:
        """Hook: what this protocol does to sessions when the server stops (default: none)."""

    async def stop(self, grace: float = 10.0) -> None:
        self.stop_idle_sessions()
        await self.listener.stop(grace)
