"""The POP3 service: the factory ``mailtool serve`` calls, and what sessions share.

``create(ctx, name, host, port)`` (see :mod:`mailtool.server`) returns a
:class:`Pop3Service` for ``pop3`` (110, STLS, RFC 2595) or ``pop3s`` (995,
implicit TLS, RFC 8314). Both listeners share one :class:`Pop3Server` per
process: limits, the login throttle, the account and mail stores. The
maildrop lock lives on disk (see :mod:`mailtool.mra.pop3.maildrop`), so it
holds across listeners and processes alike.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import TYPE_CHECKING, Any

from mailtool.mra.pop3.session import Session
from mailtool.net.session_service import SessionService
from mailtool.protocol.pop3 import COMMAND_LINE_LIMIT

if TYPE_CHECKING:
    from mailtool.server import ServerContext

#: RFC 2449 §8 / RFC 3206 §4: a temporary condition, try again later
BUSY_REPLY = b"-ERR [SYS/TEMP] too many connections, try again later\r\n"


class Pop3Server:
    """State shared by every POP3 session of the process."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.config = ctx.config
        limits = ctx.config.limits
        self.hostname: str = ctx.config.hostname
        # lines up to this are read whole and answered "-ERR line too long" when over
        # RFC 2449's 255; longer ones are discarded as they arrive
        self.max_line = max(limits.max_line_length, COMMAND_LINE_LIMIT)
        self.max_bad_commands: int = limits.max_bad_commands
        self.idle_timeout: float = limits.pop3_idle_timeout
        self.login_timeout: float = limits.login_timeout
        self.login_gate = ctx.login_gate

    @property
    def tls_context(self) -> ssl.SSLContext:
        return self.ctx.certs.context  # the live context: SIGHUP reloads apply

    @property
    def accounts(self) -> Any:
        return self.ctx.accounts

    @property
    def mail(self) -> Any:
        return self.ctx.mail

    def canonical_user(self, user: str) -> str:
        """The account's own spelling of ``user`` (case, IDNA), for the maildrop path."""
        try:
            return str(self.accounts.get_user(user).address)
        except Exception:
            return user


class Pop3Service(SessionService):
    """One listener (pop3 or pop3s) serving :class:`Session` objects."""

    def __init__(self, server: Pop3Server, name: str, host: str, port: int) -> None:
        self.server = server
        super().__init__(
            name, host, port, lambda conn: Session(server, conn),
            limiter=server.ctx.limiter(), busy_reply=BUSY_REPLY,
            limits=server.ctx.connection_limits(),
            ssl_context=server.tls_context if name == "pop3s" else None,
        )

    async def stop(self, grace: float = 10.0) -> None:
        """Sessions waiting for a command are dropped at once (no UPDATE, so nothing is
        deleted: RFC 1939 §6); one busy with RETR or QUIT gets ``grace`` seconds."""
        stopping = asyncio.create_task(self.listener.stop(grace))
        await asyncio.sleep(0)  # the listener stops accepting first
        for session in list(self.sessions):
            if session.waiting:  # type: ignore[attr-defined]
                session.conn.abort()  # type: ignore[attr-defined]
        await stopping


def create(ctx: ServerContext, name: str, host: str, port: int) -> Pop3Service:
    """Factory named in :data:`mailtool.server.SERVICES` for ``pop3`` and ``pop3s``."""
    server = ctx.shared(Pop3Server, lambda: Pop3Server(ctx))  # pop3 and pop3s: one
    return Pop3Service(server, name, host, port)


__all__ = ["BUSY_REPLY", "Pop3Server", "Pop3Service", "create"]
