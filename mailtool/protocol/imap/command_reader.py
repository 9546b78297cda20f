"""Sans-I/O reader of client commands for the server (h11 style).

The I/O layer feeds bytes with :meth:`CommandReader.receive_data` and pulls
events with :meth:`CommandReader.next_event` until it gets :data:`NEED_DATA`:

* a :class:`~.commands.Command` - a complete, parsed command;
* :class:`NeedContinuation` - the client sent a synchronizing literal header
  ``{n}``; send ``+ Ready`` (``responses.ContinuationRequest``) before it will
  send the literal (RFC 9051 §7.5);
* :class:`ContinuationLine` - after :meth:`CommandReader.expect_line`, the raw
  next line: a SASL response during AUTHENTICATE, or ``DONE`` ending IDLE.

``next_event`` raises :class:`~.errors.ImapError`: ``err.reply`` is the response
to send; when ``err.fatal`` it is an untagged BYE and the connection must be
closed (the reader keeps raising it).  A recoverable error (a tagged BAD, a
``NO [TOOBIG]`` for a synchronizing literal that is refused without reading it)
leaves the reader ready for the next command.

Pull events until NEED_DATA before reading more from the socket: the reader
buffers at most one line beyond what it has parsed plus one literal
(``Limits.max_line``, ``Limits.max_literal``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from mailtool.protocol.imap.command_parser import parse_command
from mailtool.protocol.imap.commands import Command
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


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = _NeedData()

Event = Command | NeedContinuation | ContinuationLine | _NeedData

_HEAD = re.compile(rb"([^ \r\n]+) (?:UID )?([A-Za-z]+)", re.IGNORECASE)
_LITERAL_AT_END = re.compile(rb"(~?)\{([0-9]{1,20})(\+?)\}$")


class CommandReader:
    """Assembles commands (lines plus literals) from a byte stream and parses them."""

    def __init__(self, limits: Limits = DEFAULT_LIMITS, *, utf8: bool = False) -> None:
        self.limits = limits
        #: set once the client enabled UTF8=ACCEPT (mailbox names are UTF-8)
        self.utf8 = utf8
        self._buf = bytearray()
        self._scan = 0
        self._fatal: ImapError | None = None
        self._want_line = False
        self._reset()

    def _reset(self) -> None:
        self._parts: list[bytes] = []
        self._line_bytes = 0
        self._literal_bytes = 0
        self._literals = 0
        self._remaining: int | None = None
        self._tag: str | None = None
        self._big_literals = False

    # -- public -------------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        self._buf += data

    def expect_line(self) -> None:
        """Deliver the next line raw, as :class:`ContinuationLine` (AUTHENTICATE, IDLE)."""
        self._want_line = True

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
            self._reset()
            return parse_command(data, limits=self.limits, utf8=self.utf8)

    def _take_line(self) -> bytes | None:
        lf = self._buf.find(b"\n", self._scan)
        if lf < 0:
            self._scan = len(self._buf)
            if self._line_bytes + len(self._buf) > self.limits.max_line:
                raise LineTooLong("command line too long", limit="max_line", tag=self._tag)
            return None
        line = bytes(self._buf[:lf])
        del self._buf[: lf + 1]
        self._scan = 0
        self._line_bytes += len(line) + 1
        if self._line_bytes > self.limits.max_line:
            raise LineTooLong("command line too long", limit="max_line", tag=self._tag)
        return line[:-1] if line.endswith(b"\r") else line

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
        return None if nonsync else NeedContinuation(tag, size)

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


__all__ = ["NEED_DATA", "CommandReader", "ContinuationLine", "Event", "NeedContinuation"]
