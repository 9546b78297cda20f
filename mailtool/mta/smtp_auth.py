"""SMTP AUTH (RFC 4954), mixed into :class:`~mailtool.mta.session.SMTPSession`.

Kept apart from the connection's command loop so that the login path (SASL
mechanisms, the login throttle, the password check) has one place.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from mailtool.net.limits import is_loopback
from mailtool.net.log import log_event
from mailtool.net.login import BUSY, LoginAttempt, LoginRefused
from mailtool.protocol import sasl
from mailtool.protocol.smtp import AUTH_LINE_LIMIT, Reply, codes, reply_for_sasl_error

if TYPE_CHECKING:
    from mailtool.net.connection import Connection

    from .listener_kind import ListenerKind
    from .service import SessionEnv
    from .transaction import Envelope

AUTH_MECHANISMS = ("PLAIN", "LOGIN", "SCRAM-SHA-256")


def bad_sequence(text: str) -> Reply:
    return Reply(codes.C503_BAD_SEQUENCE, (text,), codes.ES_INVALID_COMMAND)


class AuthCommands:
    """``AUTH`` for the SMTP session."""

    env: SessionEnv
    kind: ListenerKind
    conn: Connection
    user: str | None
    esmtp: bool
    peer_ip: str
    conn_id: str
    tx: Envelope | None

    if TYPE_CHECKING:  # provided by the session

        @property
        def tls_active(self) -> bool: ...
        def reply(self, reply: Reply) -> None: ...
        async def flush(self) -> None: ...
        async def read_line(self, limit: int) -> bytes | None: ...

    def auth_allowed(self) -> bool:
        """RFC 4954 §4 / DESIGN principle 3: passwords only over TLS, or over
        loopback when ``security.plaintext_auth_on_loopback`` says so."""
        if self.tls_active:
            return True
        return self.env.config.security.plaintext_auth_on_loopback and is_loopback(self.peer_ip)

    async def cmd_auth(self, arg: str) -> None:
        if not self.kind.submission:
            self.reply(
                Reply(codes.C502_NOT_IMPLEMENTED, ("AUTH only on submission",), "5.5.1")
            )
            return
        if not self.esmtp:
            self.reply(bad_sequence("send EHLO first"))
            return
        if self.user is not None:
            self.reply(bad_sequence("already authenticated"))
            return
        if self.tx is not None:
            self.reply(bad_sequence("AUTH not allowed during a mail transaction"))
            return
        if not self.auth_allowed():
            self.reply(
                Reply(
                    codes.C538_ENCRYPTION_REQUIRED,
                    ("encryption required: use STARTTLS first",),
                    codes.ES_ENCRYPTION_REQUIRED,
                )
            )
            return
        name, _, initial = arg.partition(" ")
        accounts = self.env.accounts()
        await self.flush()  # what came before is answered while the password is checked
        try:
            # the password check runs in the login gate's pool, throttled per (IP, account)
            async with self.env.login_gate.attempt(self.peer_ip) as attempt:
                if name.upper() not in AUTH_MECHANISMS:
                    raise sasl.SaslUnsupported(name[:40])
                mech = attempt.mechanism(name, accounts)
                initial_response = sasl.decode_initial_response(initial or None)
                done = await self._sasl_exchange(attempt, mech, initial_response)
                if not await attempt.accept(done):
                    # RFC 4954 §4: acting as someone else is not something users may do here
                    self.reply(Reply(codes.C535_AUTH_INVALID,
                                     ("not authorized for that identity",), "5.7.8"))  # fmt: skip
                    return
        except LoginRefused as exc:
            # RFC 4954 §6: 454 4.7.0, a temporary failure; nothing was checked
            log_event("smtp.auth", id=self.conn_id, peer=self.peer_ip, mech=name.upper()[:40],
                      outcome=exc.reason, level=logging.WARNING)  # fmt: skip
            why = "too many logins in progress" if exc.reason == BUSY else "too many failed logins"
            self.reply(Reply(codes.C454_TEMP_AUTH_FAILURE, (f"{why}; try later",), "4.7.0"))
            return
        except sasl.SaslAuthFailed:  # counted, and the failure delay waited, by the gate
            log_event(
                "smtp.auth", id=self.conn_id, peer=self.peer_ip, mech=name.upper(),
                outcome="failed", level=logging.WARNING,
            )
            self.reply(Reply(codes.C535_AUTH_INVALID, ("authentication failed",), "5.7.8"))
            return
        except sasl.SaslError as exc:
            self.reply(reply_for_sasl_error(exc))
            return
        self.user = done.authcid
        log_event("smtp.auth", id=self.conn_id, peer=self.peer_ip, user=self.user,
                  mech=name.upper(), outcome="ok")
        self.reply(Reply(codes.C235_AUTH_SUCCESS, ("authenticated",), codes.ES_AUTH_OK))

    async def _sasl_exchange(
        self, attempt: LoginAttempt, mech: sasl.ServerMechanism, response: bytes | None
    ) -> sasl.Done:
        out = await attempt.step(mech, response)
        while not isinstance(out, sasl.Done):
            # RFC 4954 §4: "334" SP base64 — the space even when the challenge is empty
            await self.flush()
            await self.conn.send(b"334 " + sasl.encode_challenge(out) + b"\r\n")
            line = await self.read_line(AUTH_LINE_LIMIT + 2)
            if line is None:
                raise sasl.SaslMalformed("SASL line too long")
            self._pending.clear()
            out = await attempt.step(mech, sasl.decode_response(line))
        return out
