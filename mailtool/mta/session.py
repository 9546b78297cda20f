"""One SMTP connection: aiosmtpd's protocol object, with our rules enforced.

We keep what aiosmtpd does well — the asyncio Protocol, the STARTTLS switch
(which drops whatever plaintext was pipelined behind ``STARTTLS``, RFC 3207
§4.2, CVE-2024-34083), the idle timer — and replace the command loop and the
transaction commands, because its defaults are not ours:

* DATA: aiosmtpd 1.4 splits on CRLF only and lets a bare LF or bare CR through
  into the content; we read DATA with the sans-I/O
  :class:`~mailtool.protocol.smtp.DataReader`, which refuses both (SMTP
  smuggling, 2023) and enforces SIZE while reading;
* paths: aiosmtpd uses ``email``'s parser, which resolves source routes and
  unquotes local parts; we use :mod:`mailtool.protocol.smtp` and hand the
  raw local part to :mod:`.relay_policy`;
* every reply carries an enhanced status code (RFC 2034), bad commands are
  counted (``limits.max_bad_commands``), AUTH uses our SASL halves with the
  login throttle, connections are counted by the listener's limiter.

The transaction commands live in :mod:`.transaction`; this module is the
connection: greeting, command loop, EHLO, STARTTLS, AUTH, limits, shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiosmtpd.smtp import SMTP, TLSSetupException

from mailtool.net.listener import new_connection_id
from mailtool.net.log import log_event
from mailtool.protocol.smtp import (
    AUTH_LINE_LIMIT,
    ESMTP_COMMAND_LINE_LIMIT,
    Command,
    Ehlo,
    Extensions,
    Reply,
    SMTPProtocolError,
    codes,
    parse_command,
)

from .smtp_auth import AUTH_MECHANISMS, AuthCommands, bad_sequence
from .transaction import TransactionCommands

if TYPE_CHECKING:
    from .service import SessionEnv

CLOSING = Reply(codes.C221_CLOSING, ("bye",), codes.ES_CLOSING)
OK = Reply(codes.C250_OK, ("ok",), codes.ES_OK)


class SMTPSession(AuthCommands, TransactionCommands, SMTP):
    """aiosmtpd's ``SMTP`` protocol running mailtool's command loop."""

    def __init__(self, env: SessionEnv) -> None:
        self.env = env
        cfg = env.config
        # the StreamReader's limit: the longest line we ever read (an AUTH line)
        self.line_length_limit = max(cfg.limits.max_line_length, AUTH_LINE_LIMIT) + 2
        self._init_aiosmtpd_state(
            tls_context=env.tls_context if env.kind.offers_starttls else None,
            timeout=cfg.limits.smtp_idle_timeout,
        )
        self.kind = env.kind
        self.conn_id = new_connection_id()
        self.peer_ip = "?"
        self.started = time.monotonic()
        self.refused = False
        self.implicit_tls = False
        self.tls_info: str | None = None
        self.user: str | None = None
        self.helo = ""
        self.esmtp = False
        self.bad_commands = 0
        self.idle = False  # waiting for a command: safe to close on shutdown
        self.outcome = "closed"
        self.messages = 0
        self._pending: list[bytes] = []
        self._closing = False
        self.reset_transaction()

    def _init_aiosmtpd_state(self, *, tls_context: ssl.SSLContext | None, timeout: float) -> None:
        """What ``aiosmtpd.smtp.SMTP.__init__`` sets up, minus its per-connection handler
        introspection (``inspect.getmembers`` of the protocol and the handler: half a
        millisecond of CPU per connection, for hooks and auth methods we replace).

        These are the attributes the aiosmtpd methods we keep (``connection_made``,
        ``connection_lost``, ``eof_received``, ``smtp_STARTTLS``, the idle timer)
        read; ``tests/mta`` drives all of them, STARTTLS included.
        """
        loop = asyncio.get_running_loop()
        asyncio.StreamReaderProtocol.__init__(
            self,
            asyncio.StreamReader(limit=self.line_length_limit, loop=loop),
            client_connected_cb=self._cb_client_connected,
            loop=loop,
        )
        self.loop = loop
        self.__ident__ = "ESMTP mailtool"
        self.event_handler = None
        self.hostname = self.env.config.hostname  # never getfqdn() per connection
        self.data_size_limit = self.env.config.limits.max_message_size
        self.enable_SMTPUTF8 = True
        self._decode_data = False
        self.tls_context = tls_context
        self.require_starttls = False
        self._timeout_duration = timeout
        self._timeout_handle: asyncio.TimerHandle | None = None
        self._tls_handshake_okay = True
        self._tls_protocol = None
        self._original_transport = None
        self.session = None
        self.envelope = None
        self.transport = None
        self._handler_coroutine = None
        self._auth_require_tls = True
        self._auth_required = False
        self._proxy_timeout = None
        self._handle_hooks: dict[str, Any] = {}  # no aiosmtpd handler hooks: we own the commands
        self._smtp_methods: dict[str, Any] = {}
        self._enforce_call_limit = False

    # ------------------------------------------------------------------ connection

    @property
    def tls_active(self) -> bool:
        return self.implicit_tls or self._tls_protocol is not None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._original_transport is not None:  # the STARTTLS handshake finished
            super().connection_made(transport)  # drops pipelined plaintext (RFC 3207 §4.2)
            self._note_tls(transport)
            self.reset_transaction()
            # RFC 3207 §4.2: forget everything the client said before TLS (EHLO, AUTH)
            self.helo, self.esmtp, self.user = "", False, None
            return
        peer = transport.get_extra_info("peername") or ("?", 0)
        self.peer_ip = str(peer[0])
        if not self.env.limiter.acquire(self.peer_ip):
            self.refused = True
            log_event(
                "conn.refused",
                id=self.conn_id,
                service=self.kind.name,
                peer=self.peer_ip,
                reason="too many connections",
                level=logging.WARNING,
            )
            reply = Reply(codes.C421_SERVICE_UNAVAILABLE, ("too many connections",), "4.7.0")
            with contextlib.suppress(Exception):
                transport.write(reply.format())  # type: ignore[attr-defined]
            transport.close()
            return
        if transport.get_extra_info("ssl_object") is not None:
            self.implicit_tls = True
            self._note_tls(transport)
        self.env.sessions.add(self)
        log_event(
            "conn.open", id=self.conn_id, service=self.kind.name, peer=self.peer_ip,
            tls=self.tls_active,
        )
        super().connection_made(transport)
        if self.implicit_tls and self.session is not None:
            self.session.ssl = {"ssl_object": transport.get_extra_info("ssl_object")}

    def _note_tls(self, transport: asyncio.BaseTransport) -> None:
        obj = transport.get_extra_info("ssl_object")
        if obj is not None:
            cipher = obj.cipher()
            self.tls_info = f"{obj.version()} {cipher[0] if cipher else ''}".strip()

    def connection_lost(self, error: Exception | None) -> None:
        if self.refused:
            return
        if self in self.env.sessions:
            self.env.sessions.discard(self)
            self.env.limiter.release(self.peer_ip)
            log_event(
                "conn.close",
                id=self.conn_id,
                service=self.kind.name,
                peer=self.peer_ip,
                user=self.user,
                messages=self.messages,
                outcome=self.outcome,
                seconds=f"{time.monotonic() - self.started:.3f}",
            )
        super().connection_lost(error)

    def eof_received(self) -> bool | None:
        if self.refused:
            return False
        return super().eof_received()

    def _timeout_cb(self) -> None:
        # RFC 5321 §4.5.3.2: the server may close after its timeout; say why first
        if self.transport is None:
            return  # already closing (QUIT)
        self.outcome = "timeout"
        reply = Reply(codes.C421_SERVICE_UNAVAILABLE, ("idle timeout",), "4.4.2")
        with contextlib.suppress(Exception):
            self.transport.write(reply.format())  # type: ignore[attr-defined]
        super()._timeout_cb()

    def shutdown(self) -> None:
        """Server stopping: an idle session is told 421 and closed now; a busy one
        finishes its command (the service cancels it after the grace period)."""
        self._closing = True
        if self.idle and self.transport is not None:
            reply = Reply(codes.C421_SERVICE_UNAVAILABLE, ("shutting down",), "4.3.2")
            self.outcome = "shutdown"
            with contextlib.suppress(Exception):
                self.transport.write(reply.format())  # type: ignore[attr-defined]
            self.transport.close()

    # ------------------------------------------------------------------ output

    def reply(self, reply: Reply) -> None:
        """Queue a reply; it goes out at the next :meth:`flush` (RFC 2920: a
        pipelining client gets its replies in one write)."""
        self._pending.append(reply.format())

    async def flush(self) -> None:
        if self._pending and self._writer is not None:
            self._writer.write(b"".join(self._pending))
            self._pending.clear()
            await self._writer.drain()

    async def send(self, reply: Reply) -> None:
        self.reply(reply)
        await self.flush()

    def _has_buffered_line(self) -> bool:
        return b"\n" in self._reader._buffer  # type: ignore[attr-defined]

    async def read_line(self, limit: int) -> bytes | None:
        """One line with its terminator, or None after a too-long line (answered)."""
        if not self._has_buffered_line():
            await self.flush()
        try:
            line: bytes = await self._reader.readuntil(b"\n")
        except asyncio.LimitOverrunError as exc:
            await self._discard_long_line(exc.consumed)
            self.reply(Reply(codes.C500_SYNTAX_ERROR, ("line too long",), codes.ES_SYNTAX))
            return None
        except asyncio.IncompleteReadError:
            raise ConnectionResetError from None
        if len(line) > limit:
            self.reply(Reply(codes.C500_SYNTAX_ERROR, ("line too long",), codes.ES_SYNTAX))
            return None
        return line

    async def _discard_long_line(self, consumed: int) -> None:
        await self._reader.readexactly(consumed)
        while True:
            try:
                await self._reader.readuntil(b"\n")
                return
            except asyncio.LimitOverrunError as exc:
                await self._reader.readexactly(exc.consumed)
            except asyncio.IncompleteReadError:
                raise ConnectionResetError from None

    # ------------------------------------------------------------------ command loop

    async def _handle_client(self) -> None:
        handlers: dict[str, Callable[[str], Awaitable[Any]]] = {
            "HELO": self.cmd_helo,
            "EHLO": self.cmd_ehlo,
            "MAIL": self.cmd_mail,
            "RCPT": self.cmd_rcpt,
            "DATA": self.cmd_data,
            "RSET": self.cmd_rset,
            "NOOP": self.cmd_noop,
            "QUIT": self.cmd_quit,
            "STARTTLS": self.cmd_starttls,
            "AUTH": self.cmd_auth,
            "VRFY": self.cmd_vrfy,
            "HELP": self.cmd_help,
        }
        try:
            await self.send(Reply(codes.C220_SERVICE_READY, (f"{self.hostname} {self.__ident__}",)))
            while self.transport is not None and not self._closing:
                self.idle = True
                line = await self.read_line(self.line_length_limit)
                self.idle = False
                if line is None:
                    await self._bad_command()
                    continue
                try:
                    command = parse_command(line, max_length=ESMTP_COMMAND_LINE_LIMIT + 2)
                except SMTPProtocolError as exc:
                    self.reply(exc.reply)
                    await self._bad_command()
                    continue
                self._reset_timeout()
                if command.verb == "AUTH" or not self._too_long(command, line):
                    handler = handlers.get(command.verb)
                    if handler is None:
                        await self._unknown(command)
                        continue
                    await handler(command.argument)
            if self.transport is not None:  # the server is stopping (not QUIT)
                self.outcome = "shutdown"
                self.reply(Reply(codes.C421_SERVICE_UNAVAILABLE, ("shutting down",), "4.3.2"))
                await self.flush()
                self.transport.close()
        except (ConnectionResetError, BrokenPipeError):
            self.outcome = "reset"
        except asyncio.CancelledError:
            if self.outcome == "closed":
                self.outcome = "gone"
            raise
        except TLSSetupException:
            self.outcome = "tls-failed"
            if self.transport is not None:
                self.transport.close()
        except Exception as exc:  # a bug: log it, tell the client 421, hang up
            self.outcome = "error"
            logging.getLogger("mailtool").exception(
                "smtp.crash id=%s: %s", self.conn_id, type(exc).__name__
            )
            with contextlib.suppress(Exception):
                await self.send(
                    Reply(codes.C421_SERVICE_UNAVAILABLE, ("internal error",), "4.3.0")
                )
            if self.transport is not None:
                self.transport.close()

    def _too_long(self, command: Command, line: bytes) -> bool:
        # RFC 5321 §4.5.3.1.4: 512 octets; MAIL/RCPT may add their ESMTP parameters
        limit = ESMTP_COMMAND_LINE_LIMIT if command.verb in ("MAIL", "RCPT") else 512
        if len(line) <= max(limit, 512):
            return False
        self.reply(Reply(codes.C500_SYNTAX_ERROR, ("line too long",), codes.ES_SYNTAX))
        return True

    async def _bad_command(self) -> None:
        self.bad_commands += 1
        if self.bad_commands >= self.env.config.limits.max_bad_commands:
            self.outcome = "too many bad commands"
            await self.send(
                Reply(codes.C421_SERVICE_UNAVAILABLE, ("too many bad commands",), "4.7.0")
            )
            if self.transport is not None:
                self.transport.close()

    async def _unknown(self, command: Command) -> None:
        self.reply(Reply(codes.C502_NOT_IMPLEMENTED, ("command not implemented",), "5.5.1"))
        await self._bad_command()

    # ------------------------------------------------------------------ simple commands

    async def cmd_helo(self, arg: str) -> None:
        if not arg.strip():
            self.reply(Reply(codes.C501_PARAM_SYNTAX_ERROR, ("HELO needs a domain",), "5.5.4"))
            return
        self.helo, self.esmtp = arg.split()[0], False
        self.reset_transaction()
        self.reply(Reply(codes.C250_OK, (self.hostname,)))

    def extensions(self) -> Extensions:
        items: dict[str, tuple[str, ...]] = {
            "PIPELINING": (),  # RFC 2920
            "SIZE": (str(self.env.config.limits.max_message_size),),  # RFC 1870
            "8BITMIME": (),  # RFC 6152
            "SMTPUTF8": (),  # RFC 6531
            "ENHANCEDSTATUSCODES": (),  # RFC 2034
        }
        if self.tls_context is not None and not self.tls_active:
            items["STARTTLS"] = ()  # RFC 3207
        if self.kind.submission and self.auth_allowed():
            items["AUTH"] = AUTH_MECHANISMS  # RFC 4954
        items["HELP"] = ()
        return Extensions(items)

    async def cmd_ehlo(self, arg: str) -> None:
        if not arg.strip():
            self.reply(Reply(codes.C501_PARAM_SYNTAX_ERROR, ("EHLO needs a domain",), "5.5.4"))
            return
        self.helo, self.esmtp = arg.split()[0], True
        self.reset_transaction()  # RFC 5321 §4.1.4: EHLO resets the transaction
        self.reply(Ehlo(self.hostname, self.extensions(), "").reply())

    async def cmd_rset(self, arg: str) -> None:
        self.reset_transaction()
        self.reply(OK)

    async def cmd_noop(self, arg: str) -> None:
        self.reply(OK)

    async def cmd_vrfy(self, arg: str) -> None:
        # RFC 5321 §3.5.3: 252 rather than disclose which users exist
        self.reply(Reply(codes.C252_CANNOT_VRFY, ("cannot VRFY; send mail and see",), "2.5.0"))

    async def cmd_help(self, arg: str) -> None:
        self.reply(Reply(codes.C214_HELP, ("see RFC 5321",), "2.0.0"))

    async def cmd_quit(self, arg: str) -> None:
        await self.send(CLOSING)
        self._closing = True
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    async def cmd_starttls(self, arg: str) -> None:
        if self.tls_context is None or self.tls_active:
            self.reply(bad_sequence("TLS not available or already active"))
            return
        if arg:
            self.reply(Reply(codes.C501_PARAM_SYNTAX_ERROR, ("no arguments",), "5.5.4"))
            return
        await self.flush()
        # aiosmtpd sends 220, switches the transport to TLS and, once the
        # handshake is done, clears the plaintext pipelined behind STARTTLS.
        await self.smtp_STARTTLS("")
