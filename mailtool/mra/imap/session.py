"""One IMAP connection: the state machine, the read loop and command dispatch.

RFC 9051 §3: not authenticated -> authenticated -> selected -> logout. The
session reads bytes into the sans-I/O :class:`CommandReader`, executes one
command at a time through :data:`COMMANDS` (one module per command family
registers its handlers there), and answers with the tagged status. Errors
carry their response (:class:`~mailtool.protocol.imap.errors.ImapError`) and
are caught once, here, at the command boundary; BAD answers are counted and
too many end the connection (DESIGN principle 2).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mailtool.errors import AlreadyExists, NotFound, QuotaExceeded, StoreError, StoreUnavailable
from mailtool.mra.imap import wire
from mailtool.mra.imap.selected import InvalidSequence
from mailtool.mra.imap.spool import Spool
from mailtool.net.connection import Connection, DeadlineExceeded, WriteTimeout
from mailtool.net.limits import is_loopback
from mailtool.net.log import log_event
from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap.command_reader import (
    NEED_DATA,
    CommandReader,
    ContinuationLine,
    LiteralData,
    NeedContinuation,
)
from mailtool.protocol.imap.errors import ImapError
from mailtool.protocol.imap.responses import Response, format_response
from mailtool.protocol.imap.search import uses_key
from mailtool.protocol.imap.status import ResponseCode

if TYPE_CHECKING:
    from mailtool.mra.imap.backend import UserMail
    from mailtool.mra.imap.notify import NotifyState
    from mailtool.mra.imap.selected import SelectedMailbox
    from mailtool.mra.imap.service import ImapServer

#: bytes read from the socket at once
READ_SIZE = 64 * 1024
#: output is flushed (and the peer awaited) once this fraction of ``[limits]
#: output_buffer`` is pending, so a session never holds much more than the limit
FLUSH_FRACTION = 4
#: big literals are handed to the connection in pieces of this size
WRITE_CHUNK = 64 * 1024


class State(enum.Enum):
    NOT_AUTHENTICATED = "not authenticated"
    AUTHENTICATED = "authenticated"
    SELECTED = "selected"
    LOGOUT = "logout"


ANY = frozenset(State)
NOT_AUTH = frozenset({State.NOT_AUTHENTICATED})
AUTH = frozenset({State.AUTHENTICATED, State.SELECTED})
SELECTED = frozenset({State.SELECTED})

#: capabilities every state advertises (RFC 9051 §7.2.2 and the extensions' RFCs)
BASE_CAPABILITIES = (
    "IMAP4rev1", "IMAP4rev2", "SASL-IR", "ID", "ENABLE", "LITERAL+", "IDLE", "NAMESPACE",
    "UNSELECT", "UIDPLUS", "MOVE", "CHILDREN", "SPECIAL-USE", "CREATE-SPECIAL-USE",
    "LIST-EXTENDED", "LIST-STATUS", "ESEARCH", "SEARCHRES", "CONDSTORE", "QRESYNC",
    "QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE", "BINARY", "STATUS=SIZE",
    "UTF8=ACCEPT",
    "SORT", "SORT=DISPLAY", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES",
)  # fmt: skip
#: capabilities of commands valid only once logged in (RFC 4978, RFC 5465, RFC 5464),
#: advertised from then on, as Dovecot does; METADATA includes the server entries of
#: METADATA-SERVER (RFC 5464 §1), which is for servers without mailbox entries
LOGGED_IN_CAPABILITIES = ("COMPRESS=DEFLATE", "NOTIFY", "METADATA")
AUTH_MECHANISMS = ("PLAIN", "SCRAM-SHA-256")


def no(text: str, code: str | None = None, value: object = None) -> ImapError:
    """A tagged NO to raise from a handler (the dispatcher fills in the tag)."""
    return ImapError(text, status="NO", code=ResponseCode(code, value) if code else None)


def bad(text: str, code: str | None = None) -> ImapError:
    return ImapError(text, status="BAD", code=ResponseCode(code) if code else None)


@dataclass(frozen=True)
class Done:
    """What a handler returns: the text (and code) of the tagged OK."""

    text: str
    code: ResponseCode | None = None


def ok(text: str, code: str | None = None, value: object = None) -> Done:
    return Done(text, ResponseCode(code, value) if code else None)


#: returned by a handler that already sent its tagged response (STARTTLS)
ANSWERED = Done("")


Handler = Callable[["Session", Any], Awaitable[Done | None]]


@dataclass(frozen=True)
class Registration:
    handler: Handler
    states: frozenset[State]
    #: whether EXPUNGE responses may be sent after it (RFC 9051 §7.5.1: not
    #: after FETCH, STORE, SEARCH, which address messages by sequence number)
    expunge_ok: bool = True


#: command name -> registration; filled by the command family modules
COMMANDS: dict[str, Registration] = {}


def command(
    *names: str, states: frozenset[State], expunge_ok: bool = True
) -> Callable[[Handler], Handler]:
    """Register ``handler`` for ``names`` in ``states``."""

    def register(handler: Handler) -> Handler:
        for name in names:
            COMMANDS[name] = Registration(handler, states, expunge_ok)
        return handler

    return register


class Closing(Exception):
    """End the connection after flushing what was written (BYE already queued)."""


class Session:
    """The state of one connection and the loop that serves it."""

    def __init__(self, server: ImapServer, conn: Connection) -> None:
        self.server = server
        self.conn = conn
        self.config = server.config
        self.state = State.NOT_AUTHENTICATED
        self.reader = self.new_reader()
        #: the big APPEND literal arriving now (or arrived, for the APPEND to take)
        self.spool: Spool | None = None
        self.user: str | None = None
        self.counted_user: str | None = None  # counted against the per-user limit
        self.mail: UserMail | None = None
        self.selected: SelectedMailbox | None = None
        self.enabled: set[str] = set()
        #: RFC 5465 NOTIFY SET in force (mailtool.mra.imap.notify), None after NONE
        self.notify: NotifyState | None = None
        self.bad_commands = 0
        self.pipelined = 0
        self._out: list[bytes] = []
        self._pending = 0  # bytes in _out
        self._flush_at = max(self.config.limits.output_buffer // FLUSH_FRACTION, WRITE_CHUNK)
        #: RFC 9051 §5.4: the autologout counts from the end of the last command,
        #: not from the last byte (a trickle cannot keep a session alive)
        self.last_command = time.monotonic()
        self._read_task: asyncio.Task[bytes] | None = None
        self._unwatch: Callable[[], None] | None = None
        self.changed = asyncio.Event()
        self.shutting_down = False
        self._loop = asyncio.get_running_loop()

    # ------------------------------------------------------------------ output
    def send(self, data: Response | bytes) -> None:
        """Queue a response (formatted here, once) or raw bytes; small output only:
        what may grow with the mailbox or the message goes through :meth:`write`."""
        if not isinstance(data, bytes):
            data = format_response(data, utf8=self.utf8)
        self._out.append(data)
        self._pending += len(data)

    async def write(self, data: Response | bytes | memoryview) -> None:
        """:meth:`send`, then :meth:`flush` once a quarter of the output limit is
        pending: the peer's reading paces us (DESIGN principle 6)."""
        if isinstance(data, memoryview):
            data = bytes(data)
        self.send(data)
        if self._pending >= self._flush_at:
            await self.flush()
            await asyncio.sleep(0)  # a long response must not starve other sessions

    async def write_literal(self, data: bytes) -> None:
        """Literal data, in pieces of :data:`WRITE_CHUNK` (no copy of the whole)."""
        if len(data) <= WRITE_CHUNK:
            await self.write(data)
            return
        view = memoryview(data)
        for start in range(0, len(data), WRITE_CHUNK):
            await self.write(view[start : start + WRITE_CHUNK])

    async def flush(self) -> None:
        """Hand the pending output to the connection and wait while the peer has more
        than ``[limits] output_buffer`` unread; a peer that reads nothing for
        ``[limits] write_timeout`` is disconnected (WriteTimeout, a ConnectionError)."""
        if self._out:
            out = self._out[0] if len(self._out) == 1 else b"".join(self._out)
            self._out.clear()
            self._pending = 0
            self.conn.write(out)
            await self.conn.drain()

    # ------------------------------------------------------------- properties
    @property
    def plaintext_ok(self) -> bool:
        """Whether passwords may cross this connection (TLS, or loopback when allowed)."""
        if self.conn.tls:
            return True
        return self.config.security.plaintext_auth_on_loopback and is_loopback(self.conn.peer_ip)

    @property
    def condstore(self) -> bool:
        return "CONDSTORE" in self.enabled

    @property
    def qresync(self) -> bool:
        return "QRESYNC" in self.enabled

    @property
    def utf8(self) -> bool:
        """Mailbox names travel as UTF-8, not modified UTF-7: after ENABLE UTF8=ACCEPT
        (RFC 6855 §3), or IMAP4rev2, which includes it (RFC 9051 §5.1, RFC 9755 §1)."""
        return "UTF8=ACCEPT" in self.enabled or "IMAP4REV2" in self.enabled

    @property
    def rev2(self) -> bool:
        return "IMAP4REV2" in self.enabled

    def capabilities(self) -> list[str]:
        caps = list(BASE_CAPABILITIES)
        # RFC 7889 §3.1: one limit for every mailbox, the one APPEND enforces (TOOBIG)
        caps.append(f"APPENDLIMIT={self.config.limits.max_message_size}")
        if self.state is State.NOT_AUTHENTICATED:
            if not self.conn.tls and self.server.tls_available:
                caps.append("STARTTLS")
            if self.plaintext_ok:
                caps += [f"AUTH={m}" for m in AUTH_MECHANISMS]
            else:
                # RFC 9051 §6.2.3: LOGIN is refused until TLS is in place
                caps.append("LOGINDISABLED")
        else:
            caps += LOGGED_IN_CAPABILITIES
        return caps

    # ------------------------------------------------------------------- loop
    async def run(self) -> None:
        # a deadline, not an idle timer: bytes trickling in do not extend it
        self.conn.set_deadline(self.config.limits.login_timeout)
        caps = " ".join(self.capabilities())
        self.send(f"* OK [CAPABILITY {caps}] mailtool IMAP ready\r\n".encode())
        try:
            await self.flush()
            while self.state is not State.LOGOUT:
                event = await self._next_event()
                if isinstance(event, NeedContinuation):
                    if self.state is State.NOT_AUTHENTICATED and (
                        event.size > self.server.limits.max_small_literal
                    ):
                        # a message (APPEND) before login: not worth receiving
                        self.reader.refuse_literal()
                        self.send(wire.status(event.tag, "BAD", "Log in first"))
                        self.count_bad()
                    else:
                        self.send(b"+ Ready for literal data\r\n")
                    await self.flush()
                    # the client sends the literal, then its CRLF as a second small write
                    # that its Nagle holds until our ACK: ACK the literal at once (set
                    # after the "+" left: sending re-arms the kernel's delayed ACK)
                    self.conn.quickack()
                elif isinstance(event, c.Command):
                    self.last_command = time.monotonic()  # IDLE counts from here
                    await self.execute(event)
                    self.last_command = time.monotonic()  # idle from our answer on
                    # decided before our answer leaves: input already here cannot be a
                    # reaction to it, so the client did not wait for us
                    if not (self.reader.pending or self.conn.input_pending()):
                        self.pipelined = 0
                    await self.flush()
        except Closing:
            with contextlib.suppress(Exception):
                await self.flush()
            if self.shutting_down:
                # do not wait for a TLS close_notify the client may never send
                self.conn.abort()
        except WriteTimeout:  # it stopped reading our answers
            self.conn.outcome = "write-timeout"
        except ConnectionError:  # EOF, reset: nobody to answer
            pass
        finally:
            self.discard_spool()
            self.close_mailbox()
            self.unwatch()
            if self._read_task is not None:
                self._read_task.cancel()
            self.server.release_user(self)

    async def read_more(self, timeout: float | None = None) -> bytes:
        """Bytes from the socket; raises :class:`Closing` on EOF, on the login
        deadline, or on autologout (counted from the last complete command)."""
        if self._read_task is None:
            self._read_task = self._start_read()
        if timeout is None:
            timeout = self.last_command + self.config.limits.imap_idle_timeout - time.monotonic()
        if self.notify is not None and not self.reader.pending:
            # RFC 5465: pushed between commands, never into one the client is sending
            done = await self.notify.wait(self, self._read_task, timeout)
        else:
            done, _ = await asyncio.wait({self._read_task}, timeout=max(timeout, 0))
        if not done:
            # RFC 9051 §5.4: autologout after at least 30 minutes of inactivity
            self.send(wire.status(None, "BYE", "Autologout; idle for too long"))
            log_event("imap.autologout", id=self.conn.id, user=self.user)
            self.conn.outcome = "idle-timeout"
            raise Closing
        return self._take_read()

    async def read_or_wake(self, timeout: float) -> bytes | None:
        """Bytes from the socket, or None when a store change (or ``timeout``) came
        first; used by IDLE, which must listen to both."""
        if self._read_task is None:
            self._read_task = self._start_read()
        waiter = asyncio.ensure_future(self.changed.wait())
        try:
            done, _ = await asyncio.wait(
                {self._read_task, waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
        if self._read_task not in done:
            if self.shutting_down:
                self._read_task.cancel()
                return self._take_read()
            return None
        return self._take_read()

    def _start_read(self) -> asyncio.Task[bytes]:
        return asyncio.ensure_future(self.conn.read(READ_SIZE))

    def _take_read(self) -> bytes:
        """The read task's bytes; ConnectionClosed (a ConnectionError) at EOF."""
        task, self._read_task = self._read_task, None
        assert task is not None
        if self.shutting_down or task.cancelled():
            self.send(wire.status(None, "BYE", "Server shutting down"))
            raise Closing
        try:
            return task.result()
        except DeadlineExceeded:
            # RFC 9051 §7.1.5: BYE before closing
            self.send(wire.status(None, "BYE", "Too slow to log in"))
            log_event("imap.login_timeout", id=self.conn.id, peer=self.conn.peer_ip)
            self.conn.outcome = "login-timeout"
            raise Closing from None

    def shutdown(self) -> None:
        """Server stop: end the session at its next wait for input (a command in
        progress finishes first)."""
        self.shutting_down = True
        self.changed.set()
        if self._read_task is not None:
            self._read_task.cancel()

    def new_reader(self) -> CommandReader:
        """A command reader; APPEND literals over ``[limits] spool_threshold`` come
        out of it in chunks, which :meth:`_next_event` writes to a :class:`Spool`."""
        return CommandReader(self.server.limits, spool_above=self.config.limits.spool_threshold)

    async def _next_event(self) -> object:
        while True:
            try:
                event = self.reader.next_event()
            except ImapError as err:
                self.discard_spool()
                await self._protocol_error(err)
                continue
            if isinstance(event, LiteralData):
                self._spool(event)
                continue
            if event is not NEED_DATA:
                return event
            await self.flush()
            self.reader.receive_data(await self.read_more())

    def _spool(self, event: LiteralData) -> None:
        if event.offset == 0:
            self.discard_spool()
            # before login nothing is kept: the APPEND will be refused
            self.spool = Spool(self.mail.spool_path() if self.mail is not None else None)
        assert self.spool is not None
        self.spool.write(event.data)

    def take_spool(self) -> Spool | None:
        """The spooled literal of the command being executed (APPEND takes it)."""
        spool, self.spool = self.spool, None
        return spool

    def discard_spool(self) -> None:
        if self.spool is not None:
            self.spool.discard()
            self.spool = None

    async def _protocol_error(self, err: ImapError) -> None:
        self.send(err.response)
        if err.fatal:
            log_event("imap.bye", id=self.conn.id, user=self.user, reason=err.text)
            raise Closing
        if err.status == "BAD":
            self.count_bad()

    def count_bad(self) -> None:
        self.bad_commands += 1
        if self.bad_commands >= self.config.limits.max_bad_commands:
            self.send(wire.status(None, "BYE", "Too many invalid commands"))
            log_event("imap.bye", id=self.conn.id, user=self.user, reason="bad commands")
            raise Closing

    async def read_continuation(self) -> bytes:
        """The next raw line (SASL response, IDLE's DONE)."""
        self.reader.expect_line()
        while True:
            event = await self._next_event()
            if isinstance(event, ContinuationLine):
                return event.data

    # --------------------------------------------------------------- dispatch
    async def _count_first(self, box: SelectedMailbox, cmd: c.Command) -> None:
        """Sizes and dates the store has not counted yet (files another program dropped
        into new/), counted before a command that shows them: one batch, in a thread."""
        sizes = _needs_sizes(cmd)
        if not sizes and not _needs_dates(cmd):
            return
        asked = box.uncounted(sizes=sizes)
        if asked:
            assert self.mail is not None
            found = await asyncio.to_thread(self.mail.count, box.name, asked, sizes=sizes)
            box.counted(asked, found)

    async def execute(self, cmd: c.Command) -> None:
        name = cmd.name
        reg = COMMANDS.get(name)
        self.pipelined += 1
        try:
            if self.pipelined > self.server.max_pipelined:
                raise no("Too many pipelined commands; read the responses", "LIMIT")
            if reg is None:
                raise bad(f"{name} is not supported")
            if self.state not in reg.states:
                raise bad(f"{name} is not allowed in the {self.state.value} state")
            box = self.selected
            if box is not None and (box.unsized or box.undated):
                await self._count_first(box, cmd)
            result = await reg.handler(self, cmd)
            self.send_updates(expunge_ok=reg.expunge_ok and not _uses_msn(cmd))
            if result is not ANSWERED:
                done = result or ok(f"{name} completed")
                self.send(wire.status(cmd.tag, "OK", done.text, done.code))
        except ImapError as err:
            err.with_tag(cmd.tag)
            if not err.fatal:
                with contextlib.suppress(ImapError, StoreError):
                    self.send_updates(expunge_ok=False)
            self.send(err.response)
            if err.fatal:
                raise Closing from None
            if err.status == "BAD":
                self.count_bad()
        except (Closing, ConnectionError):  # ConnectionError: the peer is gone or not reading
            raise
        except InvalidSequence:
            self.send(wire.status(cmd.tag, "BAD", "Invalid message sequence number"))
            self.count_bad()
        except StoreError as exc:
            self.send(wire.status(cmd.tag, "NO", _store_text(exc), _store_code(exc)))
        except Exception as exc:  # a bug: log it, keep the client's state sane
            logging.getLogger("mailtool").exception(
                "imap.crash id=%s command=%s: %s", self.conn.id, name, type(exc).__name__
            )
            self.send(
                wire.status(cmd.tag, "NO", "Internal server error", ResponseCode("SERVERBUG"))
            )
        finally:
            self.discard_spool()  # a spooled literal its command did not take

    # ------------------------------------------------------ mailbox updates
    def send_updates(self, *, expunge_ok: bool) -> None:
        """Pending EXISTS / EXPUNGE / FETCH FLAGS for the selected mailbox."""
        if self.selected is not None:
            try:
                self.selected.poll()
            except NotFound:
                # another session deleted it; Dovecot disconnects too
                self.close_mailbox()
                self.send(wire.status(None, "BYE", "Selected mailbox was deleted"))
                raise Closing from None
            for resp in self.selected.updates(
                expunge_ok=expunge_ok, qresync=self.qresync, condstore=self.condstore
            ):
                self.send(resp)
        if self.notify is not None:  # RFC 5465: other mailboxes' events
            for resp in self.notify.pending(self):
                self.send(resp)

    def on_change(self, folder: str) -> None:
        """Store notification (any thread): wake IDLE (and NOTIFY)."""
        if self.notify is not None:
            self.notify.mark(folder)
        self._loop.call_soon_threadsafe(self.changed.set)

    def login(self, user: str, mail: UserMail) -> None:
        self.conn.set_deadline(None)  # the login deadline is met
        self.user = user
        self.conn.user = user
        self.mail = mail
        self.state = State.AUTHENTICATED
        self._unwatch = mail.watch(self.on_change)

    def close_mailbox(self) -> None:
        self.selected = None
        if self.state is State.SELECTED:
            self.state = State.AUTHENTICATED

    def unwatch(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None


def _store_code(exc: StoreError) -> ResponseCode:
    """RFC 5530 response codes for the store's errors."""
    if isinstance(exc, NotFound):
        return ResponseCode("NONEXISTENT")
    if isinstance(exc, AlreadyExists):
        return ResponseCode("ALREADYEXISTS")
    if isinstance(exc, QuotaExceeded):
        return ResponseCode("OVERQUOTA")
    if type(exc).__name__ == "InvalidFolderName":
        return ResponseCode("CANNOT")
    if isinstance(exc, StoreUnavailable):  # RFC 5530 §3: a temporary failure, try again
        return ResponseCode("UNAVAILABLE")
    return ResponseCode("SERVERBUG")


def _store_text(exc: StoreError) -> str:
    code = _store_code(exc).name
    if code == "SERVERBUG":
        log_event("imap.store_error", error=str(exc), level=logging.ERROR)
        return "Internal server error"
    if code == "UNAVAILABLE":  # the database is away (its address stays in the log)
        log_event("imap.store_unavailable", error=str(exc), level=logging.WARNING)
        return "Mail store temporarily unavailable, try again later"
    return str(exc) or code.lower()


#: FETCH items answered without a message's size (the rest may need it: RFC822.SIZE,
#: and the body sections, whose streaming is planned on it)
_SIZE_FREE = frozenset({"FLAGS", "UID", "MODSEQ", "INTERNALDATE"})
#: FETCH items answered without a message's internal date either
_DATE_FREE = _SIZE_FREE - {"INTERNALDATE"}


#: SEARCH keys that may read a message's size (LARGER, SMALLER) or its whole file
_SIZED_KEYS = frozenset({"LARGER", "SMALLER", "BODY", "TEXT"})
#: SEARCH keys that read a message's internal date (RFC 9051 §6.4.4, RFC 5032)
_DATED_KEYS = frozenset({"BEFORE", "ON", "SINCE", "OLDER", "YOUNGER"})


def _needs_sizes(cmd: c.Command) -> bool:
    """Commands that may read the selected messages' sizes (RFC822.SIZE, LARGER,
    SMALLER, SORT SIZE, body sections): a first SELECT after many files arrived in
    new/ counts none, the first of these counts them all (mailtool.store.index.UNSIZED).
    A SEARCH of headers does not: it reads each file's header block once, and counting
    first would read every file twice."""
    if isinstance(cmd, c.Fetch):
        return any(a.name.upper() not in _SIZE_FREE for a in cmd.attributes)
    if isinstance(cmd, c.Sort) and any(s.key == "SIZE" for s in cmd.criteria):
        return True
    if isinstance(cmd, c.Search | c.Sort | c.Thread):
        return uses_key(cmd.keys, _SIZED_KEYS)
    return False


def _needs_dates(cmd: c.Command) -> bool:
    """Commands that read the selected messages' internal dates from the session's view
    (INTERNALDATE, BEFORE/ON/SINCE, OLDER/YOUNGER): the first SELECT after many files
    arrived in new/ stats none (mailtool.store.index.UNDATED); the first of these
    stats them all. SORT and THREAD take theirs from the index, which reads them."""
    if isinstance(cmd, c.Fetch):
        return any(a.name.upper() not in _DATE_FREE for a in cmd.attributes)
    if isinstance(cmd, c.Search | c.Sort | c.Thread):
        return uses_key(cmd.keys, _DATED_KEYS)
    return False


def _uses_msn(cmd: c.Command) -> bool:
    """FETCH / STORE / SEARCH / COPY by sequence number must not see EXPUNGEs."""
    return isinstance(cmd, c.Fetch | c.Store | c.Search | c.Copy) and not cmd.uid


__all__ = [
    "ANSWERED",
    "ANY",
    "AUTH",
    "COMMANDS",
    "NOT_AUTH",
    "SELECTED",
    "Closing",
    "Done",
    "Session",
    "State",
    "bad",
    "command",
    "no",
    "ok",
]
