"""Sans-I/O reader of client commands for the server (h11 style).

The I/O layer feeds bytes with :meth:`CommandReader.receive_data` and pulls
events with :meth:`CommandReader.next_event` until it gets :data:`NEED_DATA`:

* a :class:`~.commands.Command` - a complete, parsed command;
* :class:`NeedContinuation` - the client sent a synchronizing literal header
  ``{n}``; send ``+ Ready`` (``responses.ContinuationRequest``) before it will
  send the literal (RFC 9051 §7.5);
* :class:`ContinuationLine` - after :meth:`CommandReader.expect_line`, the raw
  next line: a SASL response during AUTHENTICATE, or ``DONE`` ending IDLE;
* :class:`LiteralData` - with ``spool_above``, the bytes of an APPEND literal
  larger than that, as they arrive, instead of buffered: the caller writes them
  to a file; the :class:`~.commands.Append` that follows has ``message=b""``
  and ``spooled`` = the literal's size. A command ending otherwise (an error)
  means the spooled bytes are to be thrown away.

``next_event`` raises :class:`~.errors.ImapError`: ``err.reply`` is the response
to send; when ``err.fatal`` it is an untagged BYE and the connection must be
closed (the reader keeps raising it).  A recoverable error (a tagged BAD, a
``NO [TOOBIG]`` for a synchronizing literal that is refused without reading it)
leaves the reader ready for the next command.

Pull events until NEED_DATA before reading more from the socket: the reader
buffers at most one line beyond what it has parsed plus one literal
(``Limits.max_line``, ``Limits.max_literal``; with ``spool_above``, at most that
much of a literal, plus what one ``receive_data`` brought).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass

from mailtool.protocol.imap.command_parser import parse_command
from mailtool.protocol.imap.commands import Append, Command
from mailtool.protocol.imap.errors import ImapError, LineTooLong, LiteralTooLarge, TooManyItems
from mailtool.protocol.imap.limits import DEFAULT_LIMITS, Limits


@dataclass(frozen=True)
class NeedContinuation:
    """Send a continuation request now: the client waits for it before the literal."""

    tag: str | None
    size: int


@dataclass(frozen=True)
class ContinuationLine:
    """A raw line (CRLF stripped) requested with :meth:`CommandReader.expect_line`."""

    data: bytes


@dataclass(frozen=True)
class LiteralData:
    """Bytes ``[offset, offset + len(data))`` of a literal of ``size`` bytes handed
    out as they arrive (``offset == 0``: the first; ``offset + len(data) == size``:
    the last)."""

    tag: str | None
    data: bytes
    offset: int
    size: int

    @property
    def last(self) -> bool:
        return self.offset + len(self.data) == self.size


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = _NeedData()

Event = Command | NeedContinuation | ContinuationLine | LiteralData | _NeedData

_HEAD = re.compile(rb"([^ \r\n]+) (?:UID )?([A-Za-z]+)", re.IGNORECASE)
_LITERAL_AT_END = re.compile(rb"(~?)\{([0-9]{1,20})(\+?)\}$")
_TAG = re.compile(rb"([^ \r\n]{1,64}) ")
#: bytes of a too-long line kept while skipping it (enough to see a literal at its end)
_TAIL = 32


class CommandReader:
    """Assembles commands (lines plus literals) from a byte stream and parses them."""

    def __init__(
        self, limits: Limits = DEFAULT_LIMITS, *, utf8: bool = False, spool_above: int | None = None
    ) -> None:
        self.limits = limits
        #: set once the client enabled UTF8=ACCEPT (mailbox names are UTF-8)
        self.utf8 = utf8
        #: APPEND literals larger than this come out as LiteralData events
        self.spool_above = spool_above
        self._buf = bytearray()
        self._scan = 0
        self._fatal: ImapError | None = None
        self._want_line = False
        #: the last bytes of a too-long line being skipped (None: not skipping)
        self._skipping: bytes | None = None
        self._reset()

    def _reset(self) -> None:
        self._parts: list[bytes] = []
        self._line_bytes = 0
        self._literal_bytes = 0
        self._literals = 0
        self._remaining: int | None = None
        self._tag: str | None = None
        self._big_literals = False
        self._streaming: int | None = None  # size of the literal being handed out
        self._streamed: int | None = None  # size of the command's handed-out literal
        self._offset = 0

    # -- public -------------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        self._buf += data

    def expect_line(self) -> None:
        """Deliver the next line raw, as :class:`ContinuationLine` (AUTHENTICATE, IDLE)."""
        self._want_line = True

    def refuse_literal(self) -> None:
        """After :class:`NeedContinuation`: the literal will not be read, and the command
        is over (the caller sends its tagged answer instead of ``+``; the client, which
        waits for ``+``, does not send the literal, RFC 9051 §7.5)."""
        self._reset()

    @property
    def in_command(self) -> bool:
        """Whether a command has been started but not finished (e.g. awaiting a literal)."""
        return bool(self._parts) or self._remaining is not None

    @property
    def pending(self) -> bool:
        """Whether bytes of a next command are already here (received, not yet consumed)."""
        return bool(self._buf) or self.in_command

    def events(self) -> Iterator[Event]:
        """Yield events until more data is needed (errors propagate as from next_event)."""
        while (event := self.next_event()) is not NEED_DATA:
            yield event  # type: ignore[misc]

    def next_event(self) -> Event:
        if self._fatal is not None:
            raise self._fatal
        try:
            return self._next()
        except ImapError as exc:
            if exc.fatal:
                self._fatal = exc
            raise

    # -- internals ------------------------------------------------------------
    def _next(self) -> Event:
        while True:
            if self._streaming is not None:
                return self._stream_literal()
            if self._remaining is not None:
                if not self._take_literal():
                    return NEED_DATA
                continue
            line = self._take_line()
            if line is None:
                return NEED_DATA
            if self._want_line and not self._parts:
                self._want_line = False
                return ContinuationLine(line)
            if not line and not self._parts:
                continue  # tolerate empty lines between commands
            if not self._parts:
                self._start_command(line)
            self._parts.append(line + b"\r\n")
            m = _LITERAL_AT_END.search(line)
            if m:
                event = self._start_literal(m)
                if event is not None:
                    return event
                continue
            data = b"".join(self._parts)
            streamed = self._streamed
            self._reset()
            cmd = parse_command(data, limits=self.limits, utf8=self.utf8)
            if streamed is not None and isinstance(cmd, Append):
                cmd = dataclasses.replace(cmd, spooled=streamed)
            return cmd

    def _take_line(self) -> bytes | None:
        if self._skipping is not None:
            return self._skip_long_line()
        lf = self._buf.find(b"\n", self._scan)
        if lf < 0:
            self._scan = len(self._buf)
            if self._line_bytes + len(self._buf) > self.limits.max_line:
                return self._skip_long_line()
            return None
        if self._line_bytes + lf + 1 > self.limits.max_line:
            return self._skip_long_line()
        line = bytes(self._buf[:lf])
        del self._buf[: lf + 1]
        self._scan = 0
        self._line_bytes += len(line) + 1
        return line[:-1] if line.endswith(b"\r") else line

    def _skip_long_line(self) -> None:
        """Drop a line over ``max_line`` up to its LF, without buffering it, then answer
        BAD and go on with the next command (RFC 9051 §7.1.5; Dovecot does the same past
        imap_max_line_length). Literals do not count (RFC 9051 §4.3). Only a line ending
        in a non-synchronizing literal is fatal: its bytes are already on the way and
        could not be told from commands (RFC 7888 §4)."""
        if self._skipping is None:
            self._skipping = b""
            if not self._parts:  # the command's first line: its tag is at the start
                m = _TAG.match(self._buf)
                self._tag = m.group(1).decode("ascii", "replace") if m else None
        lf = self._buf.find(b"\n", self._scan)
        end = len(self._buf) if lf < 0 else lf
        self._skipping = (self._skipping + bytes(self._buf[max(0, end - _TAIL) : end]))[-_TAIL:]
        del self._buf[: len(self._buf) if lf < 0 else lf + 1]
        self._scan = 0
        if lf < 0:
            return None
        m = _LITERAL_AT_END.search(self._skipping.rstrip(b"\r"))
        # a SASL response or IDLE's DONE has no tag of its own to answer: BYE
        fatal = bool(m and m.group(3)) or self._want_line
        tag, self._skipping = self._tag, None
        self._reset()
        raise LineTooLong("command line too long", limit="max_line", tag=tag, fatal=fatal)

    def _start_command(self, line: bytes) -> None:
        m = _HEAD.match(line)
        self._tag = m.group(1).decode("ascii", "replace") if m else None
        # RFC 7889: only APPEND carries a message; other literals stay small
        self._big_literals = bool(m) and m.group(2).upper() == b"APPEND"

    def _start_literal(self, m: re.Match[bytes]) -> NeedContinuation | None:
        size = int(m.group(2))
        nonsync = bool(m.group(3))
        self._literals += 1
        if self._big_literals:
            allowed, limit = self.limits.max_literal, "max_literal"
        else:
            allowed = self.limits.max_small_literal - self._literal_bytes
            limit = "max_small_literal"
        tag = self._tag
        error: ImapError | None = None
        if self._literals > self.limits.max_literals:
            error = TooManyItems("too many literals", limit="max_literals", tag=tag)
        elif size > allowed:
            error = LiteralTooLarge("literal too large", limit=limit, tag=tag)
        if error is not None:
            if nonsync:
                # RFC 7888 §4: the bytes are already coming; we will not read them
                error.fatal = True
                error.with_tag(tag)
            self._reset()
            raise error
        self._literal_bytes += size
        self._remaining = size
        if (
            self._big_literals
            and self.spool_above is not None
            and size > self.spool_above
            and self._streamed is None
        ):
            # the parser gets an empty literal in its place: `{0}`, `~{0}`, `{0+}`
            line = self._parts[-1]
            head = m.start(2) - 1  # the "{"
            self._parts[-1] = line[:head] + b"{0" + m.group(3) + b"}\r\n"
            self._streaming = self._streamed = size
            self._offset = 0
        return None if nonsync else NeedContinuation(tag, size)

    def _stream_literal(self) -> LiteralData | _NeedData:
        assert self._streaming is not None and self._remaining is not None
        take = min(self._remaining, len(self._buf))
        if not take:
            return NEED_DATA
        data = bytes(self._buf[:take])
        del self._buf[:take]
        event = LiteralData(self._tag, data, self._offset, self._streaming)
        self._offset += take
        self._remaining -= take
        if not self._remaining:
            self._remaining = self._streaming = None
            self._line_bytes = 0  # the line after a literal is a new line (RFC 9051 §4.3)
        return event

    def _take_literal(self) -> bool:
        assert self._remaining is not None
        take = min(self._remaining, len(self._buf))
        if take:
            self._parts.append(bytes(self._buf[:take]))
            del self._buf[:take]
            self._remaining -= take
        if self._remaining:
            return False
        self._remaining = None
        self._line_bytes = 0  # the line after a literal is a new line (RFC 9051 §4.3)
        return True


__all__ = [
    "NEED_DATA",
    "CommandReader",
    "ContinuationLine",
    "Event",
    "LiteralData",
    "NeedContinuation",
]
