"""One SMTP connection: greeting, command loop, EHLO, STARTTLS, limits, shutdown.

The session runs on :class:`mailtool.net.connection.Connection`, like every
other protocol of ``serve`` (DESIGN principle 6), and speaks through the
sans-I/O :mod:`mailtool.protocol.smtp`: commands are parsed with
:func:`~mailtool.protocol.smtp.parse_command`, DATA is read with
:class:`~mailtool.protocol.smtp.DataReader` (which refuses bare CR and bare LF:
SMTP smuggling, 2023, and enforces SIZE while reading). Why not aiosmtpd's
protocol any more: docs/dev/design-notes.md, "SMTP on our own connection layer".

Bounds (each named in ``[limits]``):

* every command line must arrive whole within ``smtp_idle_timeout`` (a
  trickle of bytes does not restart the timer; RFC 5321 §4.5.3.2);
* before it is trusted a client has ``login_timeout`` seconds, however it
  trickles: on submission (587, 465) until a successful AUTH, on port 25
  until its first accepted MAIL; then ``421 4.4.2`` and the slot is free;
* the DATA transfer as a whole must end within twice ``smtp_idle_timeout``
  (RFC 5321 §4.5.3.2.6's ten minutes, by default) and each read within
  ``smtp_idle_timeout``;
* DATA beyond ``spool_threshold`` goes to an unlinked file in the queue's
  tmp/ (:mod:`.spool`), never to memory;
* bad commands are counted (``max_bad_commands``);
* the peer closing or resetting ends the session at once (the listener frees
  the slot when :meth:`SMTPSession.run` returns).

The transaction commands live in :mod:`.transaction`, AUTH in :mod:`.smtp_auth`.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mailtool.errors import StoreUnavailable
from mailtool.net.connection import (
    Connection,
    ConnectionClosed,
    DeadlineExceeded,
    LineTooLong,
    ReadTimeout,
    WriteTimeout,
)
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
IDENT = "ESMTP mailtool"
LINE_TOO_LONG = Reply(codes.C500_SYNTAX_ERROR, ("line too long",), codes.ES_SYNTAX)
# RFC 5321 §4.5.3.2: the server may close after its timeout; it says why first
TIMED_OUT = Reply(codes.C421_SERVICE_UNAVAILABLE, ("timeout: closing connection",), "4.4.2")
#: commands that do no work (RFC 5321 §4.1.1.5, .6, .9, .8): counted by ``_junk``
JUNK_COMMANDS = frozenset({"NOOP", "RSET", "VRFY", "HELP"})
SHUTTING_DOWN = Reply(codes.C421_SERVICE_UNAVAILABLE, ("shutting down",), "4.3.2")


class SMTPSession(AuthCommands, TransactionCommands):
    """One client connection of the smtp, submission or submissions listener."""

    def __init__(self, env: SessionEnv, conn: Connection) -> None:
        self.env = env
        self.conn = conn
        cfg = env.config
        self.kind = env.kind
        self.hostname = cfg.hostname
        self.tls_context = env.tls_context if env.kind.offers_starttls else None
        # the longest line we ever read (an AUTH line)
        self.line_length_limit = max(cfg.limits.max_line_length, AUTH_LINE_LIMIT) + 2
        self.idle_timeout = cfg.limits.smtp_idle_timeout
        self.conn_id = conn.id
        self.peer_ip = conn.peer_ip
        self.tls_info: str | None = conn.tls_info()
        self.user: str | None = None
        self.helo = ""
        self.esmtp = False
        self.bad_commands = 0
        self.junk_commands = 0  # NOOP, RSET, VRFY, HELP since the last accepted message
        self.idle = False  # waiting for a command: safe to close on shutdown
        self.messages = 0
        self._pending: list[bytes] = []
        self._closing = False  # the server is stopping
        self._done = False  # QUIT, too many bad commands, failed TLS: end the loop
        self._trusted = False  # logged in (submission) or past the first MAIL (port 25)
        self._closer: asyncio.Task[None] | None = None
        self.reset_transaction()

    @property
    def tls_active(self) -> bool:
        return self.conn.tls

    # ------------------------------------------------------------------ output

    def reply(self, reply: Reply) -> None:
        """Queue a reply; it goes out at the next :meth:`flush` (RFC 2920: a
        pipelining client gets its replies in one write)."""
        self._pending.append(reply.format())

    async def flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            await self.conn.send(data)

    async def send(self, reply: Reply) -> None:
        self.reply(reply)
        await self.flush()

    async def read_line(self, limit: int) -> bytes | None:
        """One line with its terminator, or None after a too-long line (answered).

        Our replies go out first unless the client already sent its next
        command (RFC 2920: replies to a pipelined batch in one write)."""
        if not self.conn.has_line():
            await self.flush()
        try:
            return await self.conn.read_line(limit, timeout=self.idle_timeout)
        except LineTooLong:
            self.reply(LINE_TOO_LONG)
            return None

    # ------------------------------------------------------------------ the session

    async def run(self) -> None:
        """Serve the connection until QUIT, the peer leaves, a limit, or shutdown."""
        conn = self.conn
        if not self._trusted:
            conn.set_deadline(self.env.config.limits.login_timeout)
        try:
            await self.send(Reply(codes.C220_SERVICE_READY, (f"{self.hostname} {IDENT}",)))
            await self._command_loop()
            if self._closing and not self._done and not conn.closed:  # stopping, not QUIT
                conn.outcome = "shutdown"
                await self.send(SHUTTING_DOWN)
        except DeadlineExceeded:
            self._timed_out("deadline")
        except ReadTimeout:
            self._timed_out("timeout")
        except WriteTimeout:
            conn.outcome = "write-timeout"
        except (ConnectionClosed, ConnectionError):
            if conn.outcome is None:
                conn.outcome = "shutdown" if self._closing else "reset"
        except asyncio.CancelledError:
            if conn.outcome is None:
                conn.outcome = "shutdown"
            raise
        except Exception as exc:  # a bug: log it, tell the client 421, hang up
            conn.outcome = "error"
            logging.getLogger("mailtool").exception(
                "smtp.crash id=%s: %s", self.conn_id, type(exc).__name__
            )
            self._pending.clear()
            if not conn.closed:
                conn.write(
                    Reply(codes.C421_SERVICE_UNAVAILABLE, ("internal error",), "4.3.0").format()
                )
        finally:
            self.conn.user = self.user

    def _timed_out(self, outcome: str) -> None:
        self.conn.outcome = outcome
        self._pending.clear()
        if not self.conn.closed:
            self.conn.write(TIMED_OUT.format())  # the listener's close sends it

    async def _command_loop(self) -> None:
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
        while not (self._closing or self._done or self.conn.closed):
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
            if command.verb == "AUTH" or not self._too_long(command, line):
                handler = handlers.get(command.verb)
                if handler is None:
                    await self._unknown(command)
                    continue
                if command.verb in JUNK_COMMANDS and await self._junk():
                    continue
                try:
                    await handler(command.argument)
                except StoreUnavailable as exc:
                    self._store_unavailable(command.verb, exc)
                self._check_trust()

    def _store_unavailable(self, verb: str, exc: StoreUnavailable) -> None:
        """The shared database is away (a restart, a network cut): a temporary failure,
        nothing was written; the client tries again (RFC 5321 §4.2.5: 451 makes it retry;
        RFC 4954 §6: 454 4.7.0 for AUTH)."""
        log_event("smtp.store_unavailable", id=self.conn_id, peer=self.peer_ip, verb=verb,
                  error=str(exc), level=logging.WARNING)  # fmt: skip
        if verb == "AUTH":
            self.reply(Reply(codes.C454_TEMP_AUTH_FAILURE, ("temporary authentication failure; "
                                                            "try again later",), "4.7.0"))
            return
        self.reply(Reply(codes.C451_LOCAL_ERROR, ("temporary failure: the mail store is "
                                                  "unavailable; try again later",),
                         codes.ES_SYSTEM_TEMP))  # fmt: skip

    def _check_trust(self) -> None:
        """The pre-login deadline ends with a successful AUTH (submission) or the
        first accepted MAIL (port 25: a sender that gets that far is talking SMTP)."""
        if self._trusted:
            return
        if self.user is not None or (not self.kind.submission and self.tx is not None):
            self._trusted = True
            self.conn.set_deadline(None)

    def _too_long(self, command: Command, line: bytes) -> bool:
        # RFC 5321 §4.5.3.1.4: 512 octets; MAIL/RCPT may add their ESMTP parameters
        limit = ESMTP_COMMAND_LINE_LIMIT if command.verb in ("MAIL", "RCPT") else 512
        if len(line) <= max(limit, 512):
            return False
        self.reply(LINE_TOO_LONG)
        return True

    async def _bad_command(self) -> None:
        self.bad_commands += 1
        if self.bad_commands >= self.env.config.limits.max_bad_commands:
            self.conn.outcome = "too many bad commands"
            await self.send(
                Reply(codes.C421_SERVICE_UNAVAILABLE, ("too many bad commands",), "4.7.0")
            )
            self._done = True

    async def _junk(self) -> bool:
        """Count a command that does no work; past ``[limits] smtp_max_junk_commands``
        since the last accepted message the client is cut off (as Postfix's
        smtpd_junk_command_limit): NOOP every few minutes cannot hold a slot forever."""
        self.junk_commands += 1
        if self.junk_commands <= self.env.config.limits.smtp_max_junk_commands:
            return False
        self.conn.outcome = "too many junk commands"
        await self.send(Reply(codes.C421_SERVICE_UNAVAILABLE, ("too many commands",), "4.7.0"))
        self._done = True
        return True

    async def _unknown(self, command: Command) -> None:
        self.reply(Reply(codes.C502_NOT_IMPLEMENTED, ("command not implemented",), "5.5.1"))
        await self._bad_command()

    def shutdown(self) -> None:
        """Server stopping: an idle session is told 421 and closed now; a busy one
        finishes its command (the listener cancels it after the grace period)."""
        self._closing = True
        if self.idle and not self.conn.closed:
            self.conn.outcome = "shutdown"
            self.conn.write(SHUTTING_DOWN.format())
            # closing wakes the pending read with ConnectionClosed; the reply goes first
            self._closer = asyncio.get_running_loop().create_task(self.conn.close())

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
        self.conn.outcome = "quit"
        self._done = True

    async def cmd_starttls(self, arg: str) -> None:
        if self.tls_context is None or self.tls_active:
            self.reply(bad_sequence("TLS not available or already active"))
            return
        if arg:
            self.reply(Reply(codes.C501_PARAM_SYNTAX_ERROR, ("no arguments",), "5.5.4"))
            return
        await self.send(Reply(codes.C220_SERVICE_READY, ("Ready to start TLS",), "2.0.0"))
        try:
            # drops whatever plaintext was pipelined behind STARTTLS (RFC 3207 §4.2,
            # CVE-2024-34083 in aiosmtpd)
            await self.conn.start_tls(self.tls_context)
        except (ssl.SSLError, OSError, TimeoutError):
            self.conn.outcome = "tls-failed"
            self._done = True
            self.conn.abort()
            return
        self.tls_info = self.conn.tls_info()
        # RFC 3207 §4.2: forget everything the client said before TLS (EHLO, AUTH)
        self.reset_transaction()
        self.helo, self.esmtp, self.user = "", False, None
