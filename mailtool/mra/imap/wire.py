"""Small helpers over the protocol layer's response formatter.

Everything the session sends is a response object of
:mod:`mailtool.protocol.imap.responses` (RFC 9051 §7) formatted once, in
:meth:`Session.send`; these build the common ones.
"""

from __future__ import annotations

from collections.abc import Iterable

from mailtool.protocol.imap.fetch import FetchAttr
from mailtool.protocol.imap.responses import FetchData, MessageNumber, format_response
from mailtool.protocol.imap.sequence import SequenceSet
from mailtool.protocol.imap.status import ResponseCode, StatusResponse

FLAGS = FetchAttr("FLAGS")
UID = FetchAttr("UID")
MODSEQ = FetchAttr("MODSEQ")


def status(tag: str | None, name: str, text: str, code: ResponseCode | None = None) -> bytes:
    """``tag OK [CODE] text`` / ``* BYE text`` as bytes."""
    return format_response(StatusResponse(tag, name, text, code))


def number(n: int, name: str) -> bytes:
    """``* 3 EXISTS`` / ``* 2 EXPUNGE``."""
    return format_response(MessageNumber(n, name))


def sorted_flags(flags: Iterable[str]) -> tuple[str, ...]:
    """System flags first, then keywords, each alphabetically (stable output)."""
    return tuple(sorted(flags, key=lambda f: (f[:1] != "\\", f)))


def flags_fetch(msn: int, uid: int, flags: Iterable[str], modseq: int | None) -> FetchData:
    """``* n FETCH (FLAGS (...) UID u [MODSEQ (m)])``."""
    items: list[tuple[FetchAttr, object]] = [(FLAGS, sorted_flags(flags)), (UID, uid)]
    if modseq is not None:
        items.append((MODSEQ, modseq))
    return FetchData(msn, tuple(items))


def uid_set(numbers: Iterable[int]) -> SequenceSet:
    return SequenceSet.from_numbers(numbers)


__all__ = ["FLAGS", "MODSEQ", "UID", "flags_fetch", "number", "sorted_flags", "status", "uid_set"]
