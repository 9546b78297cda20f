"""The status-response data types (OK/NO/BAD/PREAUTH/BYE with a response code).

They live in their own dependency-free module because both :mod:`.errors` (an
error carries the response to send) and :mod:`.responses` (formatting and
parsing) need them.
"""

from __future__ import annotations

from dataclasses import dataclass

#: RFC 9051 §7.1 status responses
STATUSES = ("OK", "NO", "BAD", "PREAUTH", "BYE")


@dataclass(frozen=True)
class ResponseCode:
    """A ``[NAME value]`` response code (RFC 9051 §7.1).

    ``value`` is typed per code: ``int`` for UIDNEXT, UIDVALIDITY, UNSEEN,
    HIGHESTMODSEQ; a tuple of ``str`` for CAPABILITY, PERMANENTFLAGS,
    BADCHARSET; ``(uidvalidity, SequenceSet)`` for APPENDUID;
    ``(uidvalidity, SequenceSet, SequenceSet)`` for COPYUID; a
    ``SequenceSet`` for MODIFIED; ``None`` for codes without arguments; the raw
    argument text (``str``) for codes we do not know.
    """

    name: str
    value: object = None


@dataclass(frozen=True)
class StatusResponse:
    """A tagged or untagged (``tag is None``) status response."""

    tag: str | None
    status: str
    text: str = ""
    code: ResponseCode | None = None
