"""An in-process SMTP server (aiosmtpd) that records what our relay sends it.

Per-recipient replies, an optional DATA reply, STARTTLS and AUTH on demand: the
parts of a remote MX or smart host that :mod:`mailtool.mta.outbound` must
handle, with every session written down for the assertions.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any

from tests.peers import free_port


@dataclass
class Session:
    helo: str = ""
    tls: bool = False
    login: str | None = None
    sender: str = ""
    mail_options: list[str] = field(default_factory=list)
    rcpts: list[str] = field(default_factory=list)
    data: bytes | None = None


class Sink:
    """``Sink(rcpt_replies={"x@b.test": "550 5.1.1 no"}).start()``; ``sink.sessions``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rcpt_replies: dict[str, str] | None = None,
        data_reply: str | None = None,
        tls: ssl.SSLContext | None = None,
        users: dict[str, str] | None = None,
    ) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.rcpt_replies = dict(rcpt_replies or {})
        self.data_reply = data_reply
        self.users = dict(users or {})
        self.sessions: list[Session] = []
        self._current: dict[int, Session] = {}

        def authenticator(
            server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
        ) -> Any:
            ok = self.users.get(auth_data.login.decode()) == auth_data.password.decode()
            if ok:
                self._session(session).login = auth_data.login.decode()
            return AuthResult(success=ok, handled=False)

        kwargs: dict[str, Any] = {}
        if tls is not None:
            kwargs.update(tls_context=tls, require_starttls=False)
        if self.users:
            kwargs.update(authenticator=authenticator, auth_require_tls=tls is not None)
        # aiosmtpd's Controller probes its own port, so it cannot take port 0
        self.controller = Controller(
            self,
            hostname=host,
            port=port or free_port(host),
            server_hostname="mx.sink.test",
            **kwargs,
        )

    def _session(self, session: Any) -> Session:
        key = id(session)
        if key not in self._current:
            self._current[key] = Session()
        return self._current[key]

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        s = self._session(session)
        s.helo = hostname
        s.tls = session.ssl is not None
        session.host_name = hostname
        return responses

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        s = self._session(session)
        s.sender, s.mail_options = address, list(options)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        reply = self.rcpt_replies.get(address, "250 2.1.5 OK")
        if reply.startswith("2"):
            envelope.rcpt_tos.append(address)
            self._session(session).rcpts.append(address)
        return reply

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        s = self._session(session)
        s.data = envelope.original_content or envelope.content
        self.sessions.append(s)
        self._current.pop(id(session), None)
        return self.data_reply or "250 2.0.0 queued"

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def start(self) -> Sink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> Sink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
