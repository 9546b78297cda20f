"""IMAP protocol errors: each one knows the response to send back.

::

    ProtocolError (mailtool.errors)
    └── ImapError                 .reply is a StatusResponse; .fatal -> untagged BYE
        ├── ParseError            malformed input: tagged BAD (untagged BAD without a tag)
        ├── LimitExceeded         a named Limits field was breached (.limit)
        │   ├── LineTooLong       server side: tagged BAD, the line is skipped; fatal
        │   │                     (* BYE) where the stream cannot be resynchronised
        │   ├── LiteralTooLarge   sync literal: tagged NO [TOOBIG]; non-sync: * BYE [TOOBIG]
        │   ├── TooDeep           tagged BAD
        │   └── TooManyItems      tagged BAD
        └── ResponseParseError    client side: the server sent something unparsable

The session loop catches :class:`ImapError` once per command, sends
``err.reply`` (formatted with ``responses.format_response``) and closes the
connection when ``err.fatal`` is true.
"""

from __future__ import annotations

from mailtool.errors import ProtocolError
from mailtool.protocol.imap.status import ResponseCode, StatusResponse


class ImapError(ProtocolError):
    """Base of IMAP protocol errors; ``reply`` is the :class:`StatusResponse` to send."""

    status = "BAD"
    code_name: str | None = None
    fatal = False

    def __init__(
        self,
        message: str,
        *,
        tag: str | None = None,
        status: str | None = None,
        code: ResponseCode | None = None,
        fatal: bool | None = None,
    ) -> None:
        if fatal is not None:
            self.fatal = fatal
        if status is not None:
            self.status = status
        if code is None and self.code_name:
            code = ResponseCode(self.code_name)
        self.tag = tag
        self.text = message
        self.code = code
        super().__init__(message, self._build_reply())

    def _build_reply(self) -> StatusResponse:
        if self.fatal:
            # RFC 9051 §7.1.5: BYE is always untagged
            return StatusResponse(None, "BYE", self.text, self.code)
        return StatusResponse(self.tag, self.status, self.text, self.code)

    def with_tag(self, tag: str | None) -> ImapError:
        """Return this error addressed to ``tag`` (parsers raise before they know it)."""
        self.tag = tag
        self.reply = self._build_reply()
        return self

    @property
    def response(self) -> StatusResponse:
        assert isinstance(self.reply, StatusResponse)
        return self.reply

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text!r}, reply={self.reply!r})"


class ParseError(ImapError):
    """The bytes do not follow the RFC 9051 §9 grammar."""


class LimitExceeded(ImapError):
    """A named limit of :class:`~mailtool.protocol.imap.limits.Limits` was breached."""

    def __init__(self, message: str, *, limit: str, **kwargs: object) -> None:
        self.limit = limit
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class LineTooLong(LimitExceeded):
    fatal = True


class LiteralTooLarge(LimitExceeded):
    """RFC 7889 §4 / RFC 9051 §7.1: TOOBIG. A synchronizing literal can be refused
    without reading it (tagged NO); a non-synchronizing one is already on its way,
    so the connection is closed (RFC 7888 §4)."""

    status = "NO"
    code_name = "TOOBIG"


class TooDeep(LimitExceeded):
    pass


class TooManyItems(LimitExceeded):
    pass


class ResponseParseError(ImapError):
    """Client side: a server response does not follow the grammar."""


__all__ = [
    "ImapError",
    "LimitExceeded",
    "LineTooLong",
    "LiteralTooLarge",
    "ParseError",
    "ResponseParseError",
    "TooDeep",
    "TooManyItems",
]
