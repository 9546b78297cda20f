"""One POP3 session: AUTHORIZATION -> TRANSACTION -> UPDATE (RFC 1939 §3).

Parsing and formatting are :mod:`mailtool.protocol.pop3`'s; this module keeps
the state, talks to the maildrop and the account store, and enforces the
bounds of DESIGN principle 2:

* command lines: RFC 2449 §4's 255 octets (``-ERR``), read with a hard cap of
  ``limits.max_line_length`` (longer lines are discarded unread);
* ``limits.max_bad_commands`` unknown/malformed/out-of-state commands, then
  ``-ERR`` and the connection is closed;
* ``limits.login_timeout`` seconds from accept to a successful login, however
  the client trickles bytes or commands: ``-ERR`` and the connection is closed;
* ``limits.pop3_idle_timeout`` seconds without a complete command: the
  connection is closed without a response and without entering UPDATE
  (RFC 1939 §3 autologout);
* output: large answers (RETR, TOP, LIST, UIDL) are written a piece at a time,
  each drained, so unsent output stays within ``limits.output_buffer``; a
  client that reads nothing for ``limits.write_timeout`` is dropped (no UPDATE);
* failed logins wait ``security.login_failure_delay`` and count against the
  peer's ``security.max_login_failures_per_ip`` per minute.

Passwords (USER/PASS, AUTH PLAIN) need TLS, or a loopback peer when
``security.plaintext_auth_on_loopback`` is set (RFC 2595 §4, RFC 8314).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from mailtool.errors import StoreUnavailable
from mailtool.mra.pop3.maildrop import Maildrop, MaildropInUse, NoSuchMessage
from mailtool.mra.pop3.stream import (
    CHUNK_SIZE,
    SENDFILE_MIN,
    read_start,
    sendable_as_is,
    stuff_whole,
    stuffed_chunks,
)
from mailtool.net.connection import (
    ConnectionClosed,
    DeadlineExceeded,
    LineTooLong,
    ReadTimeout,
    WriteTimeout,
)
from mailtool.net.limits import is_loopback
from mailtool.net.log import log_event
from mailtool.net.login import THROTTLED, LoginRefused
from mailtool.protocol import pop3
from mailtool.protocol.pop3 import Command, Continuation, MultilineEncoder, Response
from mailtool.protocol.sasl import (
    MAX_SASL_LINE,
    Done,
    SaslAuthFailed,
    SaslError,
    decode_initial_response,
    decode_response,
    encode_challenge,
)

T = TypeVar("T")

if TYPE_CHECKING:
    from collections.abc import Iterable

    from mailtool.mra.pop3.service import Pop3Server
    from mailtool.net.connection import Connection

AUTHORIZATION = "AUTHORIZATION"
TRANSACTION = "TRANSACTION"
UPDATE = "UPDATE"

#: octets of a LIST/UIDL answer written before waiting for the client to read
LISTING_PIECE = 64 * 1024

#: the SASL mechanisms we serve (RFC 5034), only where passwords may travel: SCRAM
#: does not send one, but a login before STLS would have the mail read in the clear
SASL_MECHANISMS = ("SCRAM-SHA-256", "PLAIN")


#: command -> the method that serves it
_HANDLERS = {
    name: f"do_{name.lower()}"
    for name in pop3.AUTHORIZATION_COMMANDS | pop3.TRANSACTION_COMMANDS
}


class _Close(Exception):
    """End the session (after QUIT, too many bad commands, a failed STLS)."""


def ok(text: str = "") -> Response:
    return Response(True, text)


def err(text: str, code: str | None = None) -> Response:
    return Response(False, text, code)


class Session:
    """Serves one connection; :meth:`run` returns when it is over."""

    def __init__(self, server: Pop3Server, conn: Connection) -> None:
        self.server = server
        self.conn = conn
        self.state = AUTHORIZATION
        self.user_arg: str | None = None  # USER's argument, waiting for PASS
        self.maildrop: Maildrop | None = None
        self.bad_commands = 0
        self.waiting = False
        #: True once part of the current command's multi-line answer has been written
        self.answering = False

    # ---- wire

    def send(self, response: Response | Continuation | bytes) -> None:
        self.conn.write(response if isinstance(response, bytes) else response.format())

    async def read_line(self, limit: int) -> bytes:
        self.waiting = True  # between commands: safe to drop at shutdown
        try:
            return await self.conn.read_line(limit, self.server.idle_timeout)
        finally:
            self.waiting = False

    @property
    def plaintext_ok(self) -> bool:
        """May a password cross this connection? (RFC 2595 §4)"""
        return self.conn.tls or (
            self.server.config.security.plaintext_auth_on_loopback
            and is_loopback(self.conn.peer_ip)
        )

    # ---- the loop

    async def run(self) -> None:
        # a deadline, not an idle timer: trickled bytes and commands cannot extend it
        self.conn.set_deadline(self.server.login_timeout)
        self.send(ok(f"{self.server.hostname} POP3 ready"))
        try:
            conn, server = self.conn, self.server
            await conn.drain()
            while True:
                try:
                    self.waiting = True  # between commands: safe to drop at shutdown
                    try:  # not self.read_line: one coroutine less for every command
                        line = await conn.read_line(server.max_line, server.idle_timeout)
                    finally:
                        self.waiting = False
                    cmd = pop3.parse_command(line)
                except (LineTooLong, pop3.POP3ProtocolError) as exc:
                    reply = exc.reply if isinstance(exc, pop3.POP3ProtocolError) else None
                    await self.bad(reply or err("line too long"))
                    continue
                await self.dispatch(cmd)
                await conn.drain()
        except DeadlineExceeded:
            self.conn.outcome = "login-timeout"
            log_event("pop3.login_timeout", id=self.conn.id, peer=self.conn.peer_ip)
            self.send(err("Login timeout, closing connection"))
        except ReadTimeout:
            # RFC 1939 §3: autologout closes without a response and without UPDATE
            self.conn.outcome = "idle-timeout"
            log_event("pop3.idle_timeout", id=self.conn.id, peer=self.conn.peer_ip)
        except WriteTimeout:
            self.conn.outcome = "write-timeout"  # it stopped reading our answers
        except (_Close, ConnectionClosed, ConnectionError):
            pass
        finally:
            if self.maildrop is not None:
                maildrop, self.maildrop = self.maildrop, None
                await asyncio.to_thread(maildrop.close)

    async def bad(self, reply: Response) -> None:
        """A command we refuse as malformed or out of place: count it, maybe hang up."""
        self.bad_commands += 1
        if self.bad_commands >= self.server.max_bad_commands:
            self.send(err("Too many bad commands, closing connection"))
            await self.conn.drain()
            log_event(
                "pop3.bad_commands", id=self.conn.id, peer=self.conn.peer_ip,
                level=logging.WARNING,
            )  # fmt: skip
            raise _Close
        self.send(reply)
        await self.conn.drain()

    async def dispatch(self, cmd: Command) -> None:
        allowed = (
            pop3.AUTHORIZATION_COMMANDS
            if self.state == AUTHORIZATION
            else pop3.TRANSACTION_COMMANDS
        )
        if cmd.name not in allowed:
            await self.bad(err(f"{cmd.name} is not valid in the {self.state} state"))
            return
        handler = getattr(self, _HANDLERS[cmd.name])
        self.answering = False
        try:
            await handler(cmd)
        except StoreUnavailable as exc:
            log_event("pop3.store_unavailable", id=self.conn.id, command=cmd.name, error=str(exc),
                      level=logging.WARNING)  # fmt: skip
            if self.answering:  # part of a multi-line answer is out: only hanging up is safe
                raise _Close from None
            # RFC 3206 §4: SYS/TEMP, a temporary system failure; the session goes on
            self.send(err("Mail store temporarily unavailable, try again later", pop3.SYS_TEMP))

    # ---- any state

    async def do_capa(self, cmd: Command) -> None:
        self.send(self.capabilities().format())

    def capabilities(self) -> pop3.Capabilities:
        """RFC 2449 §6; USER and PLAIN only where passwords may travel."""
        caps: dict[str, tuple[str, ...]] = {
            "TOP": (),
            "UIDL": (),
            "RESP-CODES": (),
            "AUTH-RESP-CODE": (),
            "PIPELINING": (),
            "EXPIRE": ("NEVER",),
            "LOGIN-DELAY": ("0",),
            "IMPLEMENTATION": ("mailtool",),
        }
        if self.state == AUTHORIZATION:
            if self.plaintext_ok:
                caps["USER"] = ()
                caps["SASL"] = SASL_MECHANISMS
            if not self.conn.tls:
                caps["STLS"] = ()
        return pop3.Capabilities(caps)

    async def do_quit(self, cmd: Command) -> None:
        if self.state == TRANSACTION and self.maildrop is not None:
            self.state = UPDATE
            try:
                gone = await asyncio.to_thread(self.maildrop.commit)
            except Exception as exc:  # RFC 1939 §6: say so if some deletions failed
                logging.getLogger("mailtool").exception("pop3.update failed id=%s", self.conn.id)
                self.send(err(f"some deleted messages not removed ({type(exc).__name__})"))
            else:
                log_event("pop3.update", id=self.conn.id, user=self.conn.user, expunged=len(gone))
                self.send(ok(f"{self.server.hostname} signing off ({len(gone)} deleted)"))
        else:
            self.send(ok(f"{self.server.hostname} signing off"))
        await self.conn.drain()
        raise _Close

    # ---- AUTHORIZATION

    async def do_stls(self, cmd: Command) -> None:
        if self.conn.tls:
            await self.bad(err("TLS is already active"))
            return
        self.send(ok("Begin TLS negotiation"))
        await self.conn.drain()
        # RFC 2595 §3.1 / RFC 3207-style: anything pipelined after STLS arrived in
        # plaintext and must not be executed inside the TLS session (start_tls drops it)
        self.user_arg = None
        try:
            await self.conn.start_tls(self.server.tls_context)
        except (OSError, ValueError) as exc:
            log_event("pop3.stls_failed", id=self.conn.id, error=type(exc).__name__)
            raise _Close from None

    async def do_apop(self, cmd: Command) -> None:
        # we keep no plaintext secrets, which APOP needs (RFC 1939 §7)
        self.send(err("APOP is not supported, use AUTH SCRAM-SHA-256"))

    async def do_user(self, cmd: Command) -> None:
        if not self.plaintext_ok:
            # RFC 2595 §4, RFC 3206 §4: AUTH response code
            self.send(err("Plaintext authentication disallowed without TLS, use STLS", pop3.AUTH))
            return
        self.user_arg = str(cmd.args[0])
        self.send(ok("send PASS"))

    async def do_pass(self, cmd: Command) -> None:
        user, self.user_arg = self.user_arg, None
        if user is None:
            await self.bad(err("USER first"))
            return
        try:  # checked in the login gate's pool, throttled per (IP, account)
            async with self.server.login_gate.attempt(self.conn.peer_ip) as attempt:
                verify = self.server.accounts.verify_password
                await attempt.check_password(verify, user, str(cmd.args[0]))
                attempt.succeeded()
        except LoginRefused as exc:
            self.login_refused(exc)
            return
        except SaslAuthFailed:
            self.login_failed(user, "bad-credentials")
            return
        await self.login(user)

    async def do_auth(self, cmd: Command) -> None:
        if not cmd.args:  # the widespread pre-RFC 5034 mechanism listing
            mechs = self.capabilities().sasl
            self.send(pop3.format_multiline(ok("SASL mechanisms follow"), mechs))
            return
        if not self.plaintext_ok:
            # as USER/PASS (RFC 2595 §4): SCRAM keeps the password, not the mail, secret
            self.send(err("Authentication disallowed without TLS, use STLS", pop3.AUTH))
            return
        mech_name = str(cmd.args[0]).upper()
        if mech_name not in SASL_MECHANISMS:
            self.send(err(f"unsupported mechanism {mech_name[:40]}"))
            return
        try:  # every step in the login gate's pool, throttled per (IP, account)
            async with self.server.login_gate.attempt(self.conn.peer_ip) as attempt:
                mech = attempt.mechanism(mech_name, self.server.accounts)
                initial = decode_initial_response(str(cmd.args[1]) if len(cmd.args) > 1 else None)
                out = await attempt.step(mech, initial)
                while not isinstance(out, Done):
                    self.send(Continuation(encode_challenge(out)))  # RFC 5034 §4
                    await self.conn.drain()
                    line = await self.read_line(MAX_SASL_LINE + 2)
                    out = await attempt.step(mech, decode_response(line))
                if not await attempt.accept(out):
                    self.login_failed(out.authcid, "authzid")
                    return
        except LoginRefused as exc:
            self.login_refused(exc)
            return
        except SaslAuthFailed:
            self.login_failed(None, "bad-credentials")
            return
        except LineTooLong:
            self.send(err("SASL response too long"))
            return
        except SaslError as exc:
            self.send(pop3.reply_for_sasl_error(exc))
            return
        await self.login(out.authcid)

    def login_refused(self, exc: LoginRefused) -> None:
        """The gate would not check (throttled, or too many logins in progress)."""
        log_event("pop3.login", id=self.conn.id, peer=self.conn.peer_ip, outcome=exc.reason,
                  level=logging.WARNING)  # fmt: skip
        why = "Too many failed logins" if exc.reason == THROTTLED else "Too many logins at once"
        # RFC 3206 §4: SYS/TEMP, a temporary condition not tied to these credentials
        self.send(err(f"{why}, try again later", pop3.SYS_TEMP))

    def login_failed(self, user: str | None, reason: str) -> None:
        """A failure the gate has counted (and waited the delay for)."""
        log_event(
            "pop3.login", id=self.conn.id, peer=self.conn.peer_ip, user=user, outcome=reason,
            level=logging.WARNING,
        )  # fmt: skip
        self.send(err("Authentication failed", pop3.AUTH))

    async def login(self, user: str) -> None:
        """Credentials are good: lock the maildrop and enter TRANSACTION (RFC 1939 §4)."""
        user = self.server.canonical_user(user)
        try:
            maildrop = await asyncio.to_thread(Maildrop.open, self.server.mail, user)
        except MaildropInUse:
            log_event("pop3.login", id=self.conn.id, peer=self.conn.peer_ip, user=user,
                      outcome="in-use")  # fmt: skip
            self.send(err("Maildrop is locked by another POP3 session", pop3.IN_USE))
            return
        self.maildrop = maildrop
        self.state = TRANSACTION
        self.conn.set_deadline(None)  # logged in: the autologout timer alone from now on
        self.conn.user = user
        log_event("pop3.login", id=self.conn.id, peer=self.conn.peer_ip, user=user, outcome="ok")
        count, size = maildrop.stat()
        self.send(ok(f"Logged in, {count} messages ({size} octets)"))
        if maildrop.local_files:  # a database read would block the loop: not inline
            self.conn.answer_inline(self.retr_inline, self.server.max_line,
                                    self.server.idle_timeout)  # fmt: skip

    # ---- TRANSACTION

    def _drop(self) -> Maildrop:
        assert self.maildrop is not None
        return self.maildrop

    async def _entry_or_err(self, number: int) -> bool:
        try:
            self._drop().get(number)
        except NoSuchMessage as exc:
            self.send(err(str(exc)))
            return False
        return True

    async def do_stat(self, cmd: Command) -> None:
        self.send(pop3.format_stat(*self._drop().stat()))

    async def do_noop(self, cmd: Command) -> None:
        self.send(ok())

    async def do_rset(self, cmd: Command) -> None:
        drop = self._drop()
        drop.rset()
        count, size = drop.stat()
        self.send(ok(f"maildrop has {count} messages ({size} octets)"))

    async def do_dele(self, cmd: Command) -> None:
        number = int(cmd.args[0])
        if await self._entry_or_err(number):
            self._drop().dele(number)
            self.send(ok(f"message {number} deleted"))

    async def do_list(self, cmd: Command) -> None:
        drop = self._drop()
        if cmd.number is not None:
            if await self._entry_or_err(cmd.number):
                entry = drop.get(cmd.number)
                self.send(ok(pop3.format_scan_listing(entry.number, entry.size)))
            return
        count, size = drop.stat()
        lines = (pop3.format_scan_listing(e.number, e.size) for e in drop.live())
        await self.send_listing(ok(f"{count} messages ({size} octets)"), lines)

    async def do_uidl(self, cmd: Command) -> None:
        drop = self._drop()
        if cmd.number is not None:
            if await self._entry_or_err(cmd.number):
                entry = drop.get(cmd.number)
                self.send(ok(pop3.format_uid_listing(entry.number, entry.uidl)))
            return
        lines = (pop3.format_uid_listing(e.number, e.uidl) for e in drop.live())
        await self.send_listing(ok(), lines)

    async def send_listing(self, first: Response, lines: Iterable[str]) -> None:
        """A multi-line listing (LIST, UIDL) written a piece of about
        :data:`LISTING_PIECE` octets at a time, each drained before the next is built:
        a maildrop of a million messages never makes a 30 MB answer in memory."""
        encoder = MultilineEncoder()

        def piece(batch: list[str]) -> bytes:
            return encoder.feed("".join(f"{x}\r\n" for x in batch).encode())

        self.conn.write(first.format())
        batch: list[str] = []
        size = 0
        for line in lines:
            batch.append(line)
            size += len(line) + 2
            if size >= LISTING_PIECE:
                self.conn.write(piece(batch))
                batch, size = [], 0
                await self.conn.drain()
        self.conn.write(piece(batch) + encoder.end())

    def retr_inline(self, line: bytes) -> bool:
        """``RETR n`` of a small Maildir message, answered from the connection's input
        callback (:meth:`Connection.answer_inline`): as :meth:`_send_message` does, minus
        the task wake-up and the dispatch. Anything else (other commands, big files,
        errors, a missing message) returns False for the ordinary path to answer."""
        drop = self.maildrop
        if self.state != TRANSACTION or drop is None or not line.startswith(b"RETR "):
            return False
        try:
            cmd = pop3.parse_command(line)
            entry = drop.get(int(cmd.args[0]))
            data = drop.read_whole(entry, CHUNK_SIZE)
        except Exception:  # whatever it is, the ordinary path answers it properly
            return False
        if data is None:
            return False
        self.conn.write(stuff_whole(data, entry.size, b"+OK %d octets\r\n" % entry.size))
        drop.retrieved.add(entry.uid)
        return True

    async def do_retr(self, cmd: Command) -> None:
        await self._send_message(int(cmd.args[0]), None)

    async def do_top(self, cmd: Command) -> None:
        await self._send_message(int(cmd.args[0]), int(cmd.args[1]))

    async def _send_message(self, number: int, body_lines: int | None) -> None:
        """RETR / TOP: stream the file, byte-stuffed, draining after every chunk.

        Opening a file is a few microseconds, so it happens on the loop. A message file
        shorter than a chunk (the usual case) is one open(2), read(2) and close(2) with
        no file object (:meth:`Maildrop.read_whole`) and, with its status line and
        terminator, one write: few Python calls, since per-command overhead, not the
        bytes, was most of the server's CPU time for a RETR (bench_pop3)."""
        drop = self._drop()
        try:
            entry = drop.get(number)
            if body_lines is None:  # a small file: one read, one write, no file object
                data = drop.read_whole(entry, CHUNK_SIZE)
                if data is not None:
                    head = b"+OK %d octets\r\n" % entry.size
                    self.conn.write(stuff_whole(data, entry.size, head))
                    drop.retrieved.add(entry.uid)
                    return
            if drop.local_files:
                fh = drop.open_message(number)
            else:
                fh = await asyncio.to_thread(drop.open_message, number)
        except NoSuchMessage as exc:
            self.send(err(str(exc)))
            return
        head = b"+OK %d octets\r\n" % entry.size
        with fh:
            if body_lines is None and entry.size >= SENDFILE_MIN and self.conn.can_send_file:
                size = await asyncio.to_thread(sendable_as_is, fh, entry.size)
                if size:
                    await self._send_file(fh.fileno(), size, head)
                    drop.retrieved.add(entry.uid)
                    return
            first, whole = b"", False
            if body_lines is None:
                first, whole = await self._off_loop(drop, read_start, fh)
            if whole:
                self.conn.write(stuff_whole(first, entry.size, head))
            else:
                batch = [head]
                chunks = stuffed_chunks(fh, body_lines, first=first)
                while (piece := await self._off_loop(drop, next, chunks, None)) is not None:
                    batch.append(piece)
                    if sum(map(len, batch)) >= CHUNK_SIZE:
                        self.answering = True  # a store failure from here on cannot be -ERR
                        self.conn.write(b"".join(batch))
                        batch = []
                        await self.conn.drain()
                if batch:
                    self.conn.write(b"".join(batch))
        if body_lines is None:
            drop.retrieved.add(entry.uid)

    @staticmethod
    async def _off_loop(drop: Maildrop, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)``: at once for a Maildir file, in a thread when reading asks the
        database (:attr:`Maildrop.local_files`)."""
        if drop.local_files:
            return fn(*args)
        return await asyncio.to_thread(fn, *args)

    async def _send_file(self, fd: int, size: int, head: bytes) -> None:
        """A message that needs no stuffing: sendfile(2) a chunk at a time; a chunk
        the socket does not take at once goes through the ordinary write path."""
        self.conn.write(head)
        offset = 0
        while offset < size:
            count = min(CHUNK_SIZE, size - offset)
            sent = self.conn.send_file(fd, offset, count)
            self.answering = True  # a store failure from here on cannot be -ERR
            if not sent:
                data = os.pread(fd, count, offset)
                if not data:  # the file shrank under us: hanging up is all that is safe
                    raise _Close
                self.conn.write(data)
                sent = len(data)
            offset += sent
            await self.conn.drain()
        self.conn.write(b".\r\n")  # RFC 1939 §3: the file ends with CRLF
