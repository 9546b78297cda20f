"""The ManageSieve service (RFC 5804, port 4190): the factory ``mailtool serve`` calls.

``create(ctx, name, host, port)`` (see :mod:`mailtool.server`) returns a
listener serving :class:`~mailtool.mra.managesieve.session.Session` objects.
The Sieve language (validation, extension list) comes from ``ctx.sieve``: the
composition root hands it over because mra may not import mda.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

from mailtool.mra.managesieve.session import Session
from mailtool.net.session_service import SessionService

if TYPE_CHECKING:
    from mailtool.server import ServerContext

#: RFC 5804 §1.3: TRYLATER, a temporary condition
BUSY_REPLY = b'BYE (TRYLATER) "too many connections, try again later"\r\n'


class ManageSieveServer:
    """State shared by every ManageSieve session of the process."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.config = ctx.config
        limits = ctx.config.limits
        self.hostname: str = ctx.config.hostname
        self.max_line: int = limits.max_line_length
        # a PUTSCRIPT literal may be a little over the limit; _room() answers QUOTA/MAXSIZE
        self.max_literal: int = ctx.config.sieve.max_script_size + 1024
        self.max_bad_commands: int = limits.max_bad_commands
        self.idle_timeout: float = limits.imap_idle_timeout
        self.login_timeout: float = limits.login_timeout
        self.login_gate = ctx.login_gate
        self.sieve: Any = ctx.sieve
        self.scripts: Any = ctx.sieve_scripts

    @property
    def tls_context(self) -> ssl.SSLContext:
        return self.ctx.certs.context

    @property
    def accounts(self) -> Any:
        return self.ctx.accounts

    def canonical_user(self, user: str) -> str:
        try:
            return str(self.accounts.get_user(user).address)
        except Exception:
            return user


class ManageSieveService(SessionService):
    def __init__(self, server: ManageSieveServer, name: str, host: str, port: int) -> None:
        self.server = server
        super().__init__(
            name, host, port, lambda conn: Session(server, conn),
            limiter=server.ctx.limiter(), busy_reply=BUSY_REPLY,
            limits=server.ctx.connection_limits(),
        )

    def stop_idle_sessions(self) -> None:
        for session in list(self.sessions):
            session.shutdown()  # type: ignore[attr-defined]


def create(ctx: ServerContext, name: str, host: str, port: int) -> ManageSieveService:
    """Factory named in :data:`mailtool.server.SERVICES` for ``managesieve``."""
    server = ctx.shared(ManageSieveServer, lambda: ManageSieveServer(ctx))
    return ManageSieveService(server, name, host, port)


__all__ = ["BUSY_REPLY", "ManageSieveServer", "ManageSieveService", "create"]
