"""The IMAP service: the factory ``mailtool serve`` calls, and what sessions share.

``create(ctx, name, host, port)`` (see :mod:`mailtool.server`) returns an
:class:`ImapService` for ``imap`` (143, STARTTLS) or ``imaps`` (993, implicit
TLS, RFC 8314). Both share one :class:`ImapServer` per process: the limits,
the login throttle, the stores and the per-user connection counts.
"""

from __future__ import annotations

import ssl
from collections import Counter
from typing import TYPE_CHECKING, Any

# the command family modules register their handlers on import
from mailtool.mra.imap import (  # noqa: F401
    append,
    auth,
    compress,
    copy_move,
    expunge,
    fetch,
    id_enable,
    idle,
    mailboxes,
    metadata,
    notify,
    quota,
    search,
    select,
    sort,
    store_cmd,
    thread,
)
from mailtool.mra.imap.session import Session
from mailtool.net.session_service import SessionService
from mailtool.protocol.imap.limits import Limits

if TYPE_CHECKING:
    from mailtool.config import Config
    from mailtool.mra.imap.backend import UserMail
    from mailtool.server import ServerContext

#: the small literals of LOGIN, SEARCH, ... (APPEND's is max_message_size)
MAX_SMALL_LITERAL = 64 * 1024
BUSY_REPLY = b"* BYE [UNAVAILABLE] Too many connections, try again later\r\n"


class ImapServer:
    """State shared by every IMAP session of the process."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.config: Config = ctx.config
        limits = ctx.config.limits
        self.limits = Limits(
            max_line=limits.imap_max_line_length,
            max_literal=limits.max_message_size,
            max_small_literal=MAX_SMALL_LITERAL,
        )
        # commands run back to back from data sent before the client read our answers
        self.max_pipelined = limits.imap_max_pipelined
        self.max_per_user = limits.max_connections_per_user
        self.login_gate = ctx.login_gate
        self._users: Counter[str] = Counter()
        self._mail: dict[str, UserMail] = {}

    @property
    def tls_context(self) -> ssl.SSLContext:
        return self.ctx.certs.context

    @property
    def tls_available(self) -> bool:
        return True

    @property
    def accounts(self) -> Any:
        return self.ctx.accounts

    def open_mail(self, user: str) -> UserMail:
        """The user's mailboxes (one adapter per user, shared by their sessions)."""
        if user not in self._mail:
            from mailtool.mra.imap.store_adapter import StoreUserMail

            self._mail[user] = StoreUserMail(self.ctx.mail, user)
        return self._mail[user]

    def claim_user(self, session: Session, user: str) -> bool:
        """Count one more session for ``user``; False when over the limit."""
        if self._users[user] >= self.max_per_user:
            return False
        self._users[user] += 1
        session.counted_user = user
        return True

    def release_user(self, session: Session) -> None:
        user = getattr(session, "counted_user", None)
        if user is not None:
            self._users[user] -= 1
            if self._users[user] <= 0:
                del self._users[user]
            session.counted_user = None


class ImapService(SessionService):
    """One listener (imap or imaps) serving :class:`Session` objects."""

    def __init__(self, server: ImapServer, name: str, host: str, port: int) -> None:
        self.server = server
        super().__init__(
            name, host, port, lambda conn: Session(server, conn),
            limiter=server.ctx.limiter(), busy_reply=BUSY_REPLY,
            limits=server.ctx.connection_limits(),
            ssl_context=server.tls_context if name == "imaps" else None,
        )

    def stop_idle_sessions(self) -> None:
        # RFC 9051 §7.1.5: idle sessions get BYE now; a command in progress finishes
        for session in list(self.sessions):
            session.shutdown()  # type: ignore[attr-defined]


def create(ctx: ServerContext, name: str, host: str, port: int) -> ImapService:
    """Factory named in :data:`mailtool.server.SERVICES` for ``imap`` and ``imaps``."""
    server = ctx.shared(ImapServer, lambda: ImapServer(ctx))  # imap and imaps: one
    return ImapService(server, name, host, port)


__all__ = ["ImapServer", "ImapService", "create"]
