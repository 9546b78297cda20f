"""The server's DATA reader: :class:`~.dotstuff.DotReader` plus the SMTP verdict.

Use from an asyncio loop (the bytes the command reader held past ``DATA`` go
in first)::

    reader = DataReader(max_size=config.max_message_size)
    spool.write(reader.feed(line_reader.take_rest()))
    while not reader.done:
        chunk = await stream.read(65536)
        if not chunk:
            raise ConnectionResetError
        spool.write(reader.feed(chunk))
    line_reader.receive_data(reader.rest)     # pipelined commands after the dot
    reader.finish()                           # raises DataError(reply) -> send it

The reader keeps consuming after the size limit or a bare line end so that the
reply comes after the whole message, in step with the client (RFC 5321
§4.5.3.1.10: a 552 after the end of data).
"""

from __future__ import annotations

from . import codes
from .dotstuff import DotReader
from .reply import DataError, Reply

#: RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including CRLF
TEXT_LINE_LIMIT = 1000
#: the default message size limit (RFC 1870 SIZE); the config overrides it
DEFAULT_MAX_MESSAGE_SIZE = 25 * 1024 * 1024


class DataReader(DotReader):
    """DATA content after the 354, up to and including ``CRLF.CRLF``.

    ``reject_long_lines``: RFC 5321 allows a server to refuse lines over 1000
    octets, but much mail in the wild has them, so by default they are only
    counted (:attr:`long_lines`).
    """

    def __init__(
        self,
        max_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        *,
        max_line: int = TEXT_LINE_LIMIT,
        reject_long_lines: bool = False,
    ) -> None:
        super().__init__(max_size, max_line)
        self.reject_long_lines = reject_long_lines

    def error(self) -> DataError | None:
        """The reply-carrying error for what was seen, None if the message is fine."""
        if self.bare_cr or self.bare_lf:
            # SMTP smuggling defence (2023): refuse any bare CR or LF rather than
            # guess where the message ends; RFC 5321 §2.3.8 only allows CRLF.
            what = "bare <CR>" if self.bare_cr else "bare <LF>"
            return DataError(
                Reply(
                    codes.C550_MAILBOX_UNAVAILABLE,
                    (f"message refused: {what} in content (RFC 5321 §2.3.8)",),
                    codes.ES_SYNTAX,
                )
            )
        if self.too_big:
            return DataError(
                Reply(
                    codes.C552_STORAGE_EXCEEDED,
                    (f"message exceeds the size limit of {self.max_size} octets",),
                    codes.ES_MSG_TOO_BIG,
                )
            )
        if self.reject_long_lines and self.long_lines:
            return DataError(
                Reply(
                    codes.C500_SYNTAX_ERROR,
                    (f"line longer than {self.max_line} octets",),
                    codes.ES_SYNTAX,
                )
            )
        return None

    def finish(self) -> int:
        """The message size; raises the :meth:`error` if there is one. Call once
        :attr:`done` is true."""
        if not self.done:
            raise RuntimeError("DataReader.finish() before the end of data")
        err = self.error()
        if err is not None:
            raise err
        return self.size
