"""Sans-I/O reader of server responses for the client.

Feed bytes with :meth:`ResponseReader.receive_data`; :meth:`ResponseReader.next_event`
returns one parsed response (:mod:`.responses`), literals included, or
:data:`NEED_DATA`.  Limits: ``max_line`` per line, ``max_literal`` per literal,
``max_response`` for the whole response; a breach raises a
:class:`~.errors.LimitExceeded` and the client should drop the connection (a
server that sends that much is broken or hostile).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mailtool.protocol.imap.command_reader import NEED_DATA, _NeedData
from mailtool.protocol.imap.errors import ImapError, LimitExceeded, LineTooLong, LiteralTooLarge
from mailtool.protocol.imap.limits import DEFAULT_LIMITS, Limits
from mailtool.protocol.imap.response_parser import parse_response
from mailtool.protocol.imap.responses import Response

_LITERAL_AT_END = re.compile(rb"~?\{([0-9]{1,20})\}$")


class ResponseReader:
    """Assembles server responses (lines plus ``{n}``/``~{n}`` literals) and parses them."""

    def __init__(self, limits: Limits = DEFAULT_LIMITS, *, utf8: bool = False) -> None:
        self.limits = limits
        #: set once UTF8=ACCEPT is enabled (mailbox names are UTF-8)
        self.utf8 = utf8
        self._buf = bytearray()
        self._scan = 0
        self._parts: list[bytes] = []
        self._size = 0
        self._remaining: int | None = None
        self._fatal: ImapError | None = None

    def receive_data(self, data: bytes) -> None:
        self._buf += data

    def events(self) -> Iterator[Response]:
        """Yield events until more data is needed (errors propagate as from next_event)."""
        while (event := self.next_event()) is not NEED_DATA:
            yield event  # type: ignore[misc]

    def next_event(self) -> Response | _NeedData:
        if self._fatal is not None:
            raise self._fatal
        try:
            return self._next()
        except LimitExceeded as exc:
            # the stream cannot be trusted any more; a parse error of one complete
            # response (ResponseParseError) leaves the reader usable
            exc.fatal = True
            self._fatal = exc
            raise

    def _next(self) -> Response | _NeedData:
        while True:
            if self._remaining is not None:
                take = min(self._remaining, len(self._buf))
                self._parts.append(bytes(self._buf[:take]))
                del self._buf[:take]
                self._remaining -= take
                if self._remaining:
                    return NEED_DATA
                self._remaining = None
            lf = self._buf.find(b"\n", self._scan)
            if lf < 0:
                self._scan = len(self._buf)
                if len(self._buf) > self.limits.max_line:
                    raise LineTooLong("response line too long", limit="max_line")
                return NEED_DATA
            if lf + 1 > self.limits.max_line:
                raise LineTooLong("response line too long", limit="max_line")
            line = bytes(self._buf[:lf]).removesuffix(b"\r")
            del self._buf[: lf + 1]
            self._scan = 0
            self._parts.append(line + b"\r\n")
            self._size += lf + 1
            m = _LITERAL_AT_END.search(line)
            if m:
                size = int(m.group(1))
                if size > self.limits.max_literal:
                    raise LiteralTooLarge("literal too large", limit="max_literal")
                self._size += size
                if self._size > self.limits.max_response:
                    raise LiteralTooLarge("response too large", limit="max_response")
                self._remaining = size
                continue
            data = b"".join(self._parts)
            self._parts = []
            self._size = 0
            return parse_response(data, limits=self.limits, utf8=self.utf8)


__all__ = ["NEED_DATA", "ResponseReader"]
