"""A bounded, sans-I/O line splitter shared by the SMTP and POP3 parsers.

Why not ``StreamReader.readline``: it holds an unbounded line in memory and a
too-long line leaves the stream in an unknown place. Here a line longer than
``max_line`` is *discarded up to its end* and reported once, when that end
arrives, so the session can answer the bad line and keep its place in a
pipelined stream (RFC 2920) — the buffer never holds more than ``max_line``
octets of a line, whatever the peer sends.
"""

from __future__ import annotations

from collections.abc import Callable

from mailtool.errors import ProtocolError


class LineReader:
    """Feed bytes with :meth:`receive_data`; pull lines with :meth:`next_line`.

    Lines are returned without their terminator. CRLF is the terminator the RFCs
    ask for; a bare LF is accepted as one too (commands only — message content
    goes through :class:`~mailtool.protocol.smtp.dotstuff.DotReader`, which is
    strict) and :attr:`last_was_bare_lf` says so for a caller that cares.
    """

    def __init__(self, max_line: int, too_long: Callable[[], ProtocolError]) -> None:
        #: longest accepted line, counting its CRLF (the RFCs count it too)
        self.max_line = max_line
        self._too_long = too_long
        self._buf = bytearray()
        self._discarding = False
        self.last_was_bare_lf = False

    def receive_data(self, data: bytes) -> None:
        """Append bytes read from the peer."""
        self._buf += data
        if self._discarding:
            self._discard()

    def _discard(self) -> None:
        # Drop the over-long line's bytes up to (not including) its LF, so the
        # buffer stays bounded while we wait for the line to end.
        i = self._buf.find(b"\n")
        if i < 0:
            self._buf.clear()
        else:
            del self._buf[:i]

    def next_line(self) -> bytes | None:
        """The next complete line, ``None`` if none is complete yet.

        Raises the ``too_long`` error once for each over-long line, when its
        end has been received; the next call carries on with the next line.
        """
        if self._discarding:
            self._discard()
            if not self._buf:
                return None
            del self._buf[:1]  # the LF ending the over-long line
            self._discarding = False
            raise self._too_long()
        i = self._buf.find(b"\n", 0, self.max_line)
        if i < 0:
            if len(self._buf) >= self.max_line:
                self._discarding = True
                return self.next_line()
            return None
        line = bytes(self._buf[:i])
        del self._buf[: i + 1]
        self.last_was_bare_lf = not line.endswith(b"\r")
        return line if self.last_was_bare_lf else line[:-1]

    def take_rest(self) -> bytes:
        """Hand over what is buffered beyond the last line returned: after
        ``DATA``'s 354, those bytes are message content for the DATA reader."""
        rest = bytes(self._buf)
        self._buf.clear()
        self._discarding = False
        return rest

    @property
    def buffered(self) -> int:
        """Octets held; never more than ``max_line`` plus one receive_data chunk."""
        return len(self._buf)
