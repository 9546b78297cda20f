"""IMAP server responses as frozen dataclasses, and their formatter (server side).

Status responses (tagged and untagged OK/NO/BAD/PREAUTH/BYE) are
:class:`~.status.StatusResponse` with an optional :class:`~.status.ResponseCode`;
every untagged data response has its own class below.  :func:`format_response`
writes any of them; :func:`~.response_parser.parse_response` reads them back.
Mailbox names are Unicode: modified UTF-7 on the wire unless ``utf8``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mailtool.protocol.imap.fetch import FetchAttr, write_fetch_attr, write_fetch_item_value
from mailtool.protocol.imap.fetch import write_flag_list as _write_flags
from mailtool.protocol.imap.mailbox import write_mailbox
from mailtool.protocol.imap.sequence import SequenceSet
from mailtool.protocol.imap.sort import ThreadNode, write_thread
from mailtool.protocol.imap.status import STATUSES, ResponseCode, StatusResponse
from mailtool.protocol.imap.values import Value, Writer

#: response codes whose value is an int (RFC 9051 §7.1, RFC 7162, RFC 7889)
INT_CODES = frozenset(("UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ", "APPENDLIMIT"))
#: response codes whose value is a tuple of atoms / flags
LIST_CODES = frozenset(("PERMANENTFLAGS", "BADCHARSET"))


@dataclass(frozen=True)
class ContinuationRequest:
    """``+ text`` (RFC 9051 §7.5); SASL challenges are their base64 text."""

    text: str = "Ready"


@dataclass(frozen=True)
class Capability:
    capabilities: tuple[str, ...]


@dataclass(frozen=True)
class Enabled:
    """RFC 5161 §3.2."""

    capabilities: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListItem:
    """``* LIST (\\HasNoChildren) "/" INBOX`` (or LSUB); ``extended`` holds LIST-EXTENDED
    items such as ``("CHILDINFO", ["SUBSCRIBED"])`` or ``("OLDNAME", ["old"])``."""

    attributes: tuple[str, ...]
    delimiter: str | None
    mailbox: str
    extended: tuple[tuple[str, Value], ...] = ()
    lsub: bool = False


@dataclass(frozen=True)
class MailboxStatus:
    """``* STATUS mailbox (MESSAGES 2 UIDNEXT 5)``."""

    mailbox: str
    items: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class SearchResult:
    """``* SEARCH 2 3 6`` with the CONDSTORE ``(MODSEQ n)`` (RFC 7162 §3.1.5)."""

    numbers: tuple[int, ...] = ()
    modseq: int | None = None


@dataclass(frozen=True)
class SortResult:
    """``* SORT 5 3 4`` (RFC 5256 §4), the CONDSTORE ``(MODSEQ n)`` (RFC 7162 §3.1.5)."""

    numbers: tuple[int, ...] = ()
    modseq: int | None = None


@dataclass(frozen=True)
class ThreadResult:
    """``* THREAD (2)(3 6 (4 23)(44 7 96))`` (RFC 5256 §4)."""

    threads: tuple[ThreadNode, ...] = ()


@dataclass(frozen=True)
class ESearch:
    """``* ESEARCH (TAG "a") UID MIN 2 COUNT 3 ALL 2:4`` (RFC 4731 §3.1).

    ``items`` values: ``SequenceSet`` for ALL, ``int`` for MIN, MAX, COUNT, MODSEQ.
    """

    tag: str | None = None
    uid: bool = False
    items: tuple[tuple[str, object], ...] = ()

    def get(self, name: str, default: object = None) -> object:
        return next((v for k, v in self.items if k == name), default)


@dataclass(frozen=True)
class Flags:
    flags: tuple[str, ...]


@dataclass(frozen=True)
class MessageNumber:
    """``* 23 EXISTS``, ``* 1 RECENT``, ``* 8 EXPUNGE``."""

    number: int
    name: str  # EXISTS, RECENT, EXPUNGE


@dataclass(frozen=True)
class Vanished:
    """``* VANISHED (EARLIER) 41,43:116`` (RFC 7162 §3.2.10)."""

    uids: SequenceSet
    earlier: bool = False


@dataclass(frozen=True)
class FetchData:
    """``* 12 FETCH (FLAGS (\\Seen) UID 4 ...)``; values are typed by key:

    FLAGS -> tuple[str]; UID, RFC822.SIZE, BINARY.SIZE[..], MODSEQ -> int;
    INTERNALDATE -> aware datetime; ENVELOPE, BODY, BODYSTRUCTURE -> nested values
    (:mod:`.values`); BODY[...], BINARY[...], RFC822[.HEADER/.TEXT] -> bytes or None.
    """

    seq: int
    items: tuple[tuple[FetchAttr, object], ...]

    def get(self, key: str | FetchAttr, default: object = None) -> object:
        """Value by key: a ``FetchAttr`` or its wire name (``"UID"``, ``"BODY[TEXT]"``)."""
        for k, v in self.items:
            if k == key or (isinstance(key, str) and str(k) == key.upper()):
                return v
        return default


#: a namespace: (prefix, delimiter or None)
NamespaceDesc = tuple[str, str | None]


@dataclass(frozen=True)
class Namespace:
    """RFC 2342: personal, other users', shared namespaces; ``None`` is NIL."""

    personal: tuple[NamespaceDesc, ...] | None = None
    other: tuple[NamespaceDesc, ...] | None = None
    shared: tuple[NamespaceDesc, ...] | None = None


@dataclass(frozen=True)
class IdData:
    """RFC 2971 ``* ID (...)`` or ``* ID NIL``."""

    params: tuple[tuple[str, str | None], ...] | None = None


@dataclass(frozen=True)
class Quota:
    """RFC 9208 §5.1: ``* QUOTA "" (STORAGE 10 512)``: (resource, usage, limit)."""

    root: str
    resources: tuple[tuple[str, int, int], ...] = ()


@dataclass(frozen=True)
class QuotaRoot:
    """RFC 9208 §5.2: ``* QUOTAROOT INBOX ""``."""

    mailbox: str
    roots: tuple[str, ...] = ()


@dataclass(frozen=True)
class UnknownResponse:
    """An untagged response we do not model (client side); ``data`` is after ``* name``."""

    name: str
    data: bytes = b""


Response = (
    StatusResponse | ContinuationRequest | Capability | Enabled | ListItem | MailboxStatus
    | SearchResult | SortResult | ThreadResult | ESearch | Flags | MessageNumber | Vanished
    | FetchData | Namespace | IdData | Quota | QuotaRoot | UnknownResponse
)  # fmt: skip


# -- formatting ------------------------------------------------------------------


def format_response(resp: Response, *, utf8: bool = False) -> bytes:
    """One response as wire bytes, CRLF included."""
    w = Writer(utf8=utf8)
    if isinstance(resp, StatusResponse):
        _status(w, resp)
    elif isinstance(resp, ContinuationRequest):
        w.raw(b"+ ").text(_one_line(resp.text))
    else:
        w.raw(b"* ")
        _WRITERS[type(resp)](w, resp)
    return w.raw(b"\r\n").getvalue()


def _status(w: Writer, r: StatusResponse) -> None:
    if r.status not in STATUSES:
        raise ValueError(f"not a status: {r.status}")
    w.text(r.tag if r.tag is not None else "*").raw(b" ").text(r.status)
    if r.code is not None:
        w.raw(b" [")
        write_response_code(w, r.code)
        w.raw(b"]")
    if r.text:
        w.raw(b" ").text(_one_line(r.text))


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


def write_response_code(w: Writer, code: ResponseCode) -> None:
    name, v = code.name.upper(), code.value
    w.text(name)
    if v is None:
        return
    w.raw(b" ")
    if name in INT_CODES:
        w.raw(b"%d" % v)  # type: ignore[str-format]
    elif name in LIST_CODES:
        _write_flags(w, v)  # type: ignore[arg-type]
    elif name == "CAPABILITY":
        w.text(" ".join(v))  # type: ignore[arg-type]
    elif name in ("APPENDUID", "COPYUID"):  # RFC 4315 §3
        w.text(" ".join(str(x) for x in v))  # type: ignore[union-attr]
    elif name == "MODIFIED":  # RFC 7162 §3.1.3
        w.raw(v.to_wire())  # type: ignore[union-attr]
    else:
        w.text(_one_line(str(v)).replace("]", ""))


def _capability(w: Writer, r: Capability) -> None:
    w.raw(b"CAPABILITY ").text(" ".join(r.capabilities))


def _enabled(w: Writer, r: Enabled) -> None:
    w.raw(b"ENABLED").text("".join(" " + c for c in r.capabilities))


def _list_item(w: Writer, r: ListItem) -> None:
    w.raw(b"LSUB (" if r.lsub else b"LIST (").text(" ".join(r.attributes)).raw(b") ")
    if r.delimiter is None:
        w.raw(b"NIL")
    else:
        w.quoted(r.delimiter.encode())
    w.raw(b" ")
    write_mailbox(w, r.mailbox)
    if r.extended:
        w.raw(b" (")
        for i, (tag, value) in enumerate(r.extended):
            w.raw(b" " if i else b"").text(tag).raw(b" ").value(value)
        w.raw(b")")


def _mailbox_status(w: Writer, r: MailboxStatus) -> None:
    w.raw(b"STATUS ")
    write_mailbox(w, r.mailbox)
    w.raw(b" (").text(" ".join(f"{k} {v}" for k, v in r.items)).raw(b")")


def _search(w: Writer, r: SearchResult) -> None:
    w.raw(b"SEARCH").text("".join(f" {n}" for n in r.numbers))
    if r.modseq is not None:
        w.raw(b" (MODSEQ %d)" % r.modseq)


def _sort(w: Writer, r: SortResult) -> None:
    w.raw(b"SORT").text("".join(f" {n}" for n in r.numbers))
    if r.modseq is not None:
        w.raw(b" (MODSEQ %d)" % r.modseq)


def _thread(w: Writer, r: ThreadResult) -> None:
    w.raw(b"THREAD")
    if r.threads:
        w.raw(b" ")
    for node in r.threads:
        write_thread(w, node)


def _esearch(w: Writer, r: ESearch) -> None:
    w.raw(b"ESEARCH")
    if r.tag is not None:
        w.raw(b" (TAG ").string(r.tag).raw(b")")
    if r.uid:
        w.raw(b" UID")
    for name, value in r.items:
        w.raw(b" ").text(name).raw(b" ")
        w.raw(value.to_wire() if isinstance(value, SequenceSet) else b"%d" % value)  # type: ignore[str-format]


def _flags(w: Writer, r: Flags) -> None:
    w.raw(b"FLAGS ")
    _write_flags(w, r.flags)


def _message_number(w: Writer, r: MessageNumber) -> None:
    w.raw(b"%d " % r.number).text(r.name)


def _vanished(w: Writer, r: Vanished) -> None:
    w.raw(b"VANISHED (EARLIER) " if r.earlier else b"VANISHED ").raw(r.uids.to_wire())


def _fetch(w: Writer, r: FetchData) -> None:
    w.raw(b"%d FETCH (" % r.seq)
    for i, (key, value) in enumerate(r.items):
        w.raw(b" " if i else b"")
        write_fetch_attr(w, key)
        w.raw(b" ")
        write_fetch_item_value(w, key, value)
    w.raw(b")")


def _namespace(w: Writer, r: Namespace) -> None:
    w.raw(b"NAMESPACE")
    for part in (r.personal, r.other, r.shared):
        if part is None:
            w.raw(b" NIL")
            continue
        w.raw(b" (")
        for prefix, delim in part:
            w.raw(b"(")
            write_mailbox(w, prefix)
            w.raw(b" ")
            if delim is None:
                w.raw(b"NIL")
            else:
                w.quoted(delim.encode())
            w.raw(b")")
        w.raw(b")")


def _id(w: Writer, r: IdData) -> None:
    if r.params is None:
        w.raw(b"ID NIL")
        return
    w.raw(b"ID (")
    for i, (k, v) in enumerate(r.params):
        w.raw(b" " if i else b"").string(k).raw(b" ").nstring(v)
    w.raw(b")")


def _quota(w: Writer, r: Quota) -> None:
    w.raw(b"QUOTA ").astring(r.root).raw(b" (")
    w.text(" ".join(f"{n} {u} {lim}" for n, u, lim in r.resources)).raw(b")")


def _quotaroot(w: Writer, r: QuotaRoot) -> None:
    w.raw(b"QUOTAROOT ")
    write_mailbox(w, r.mailbox)
    for root in r.roots:
        w.raw(b" ").astring(root)


def _unknown(w: Writer, r: UnknownResponse) -> None:
    w.text(r.name)
    if r.data:
        w.raw(b" ").raw(r.data)


_WRITERS: dict[type, Callable[[Writer, object], None]] = {
    Capability: _capability,
    Enabled: _enabled,
    ListItem: _list_item,
    MailboxStatus: _mailbox_status,
    SearchResult: _search,
    SortResult: _sort,
    ThreadResult: _thread,
    ESearch: _esearch,
    Flags: _flags,
    MessageNumber: _message_number,
    Vanished: _vanished,
    FetchData: _fetch,
    Namespace: _namespace,
    IdData: _id,
    Quota: _quota,
    QuotaRoot: _quotaroot,
    UnknownResponse: _unknown,
}  # type: ignore[dict-item]

__all__ = [
    "Capability",
    "ContinuationRequest",
    "ESearch",
    "Enabled",
    "FetchData",
    "Flags",
    "IdData",
    "ListItem",
    "MailboxStatus",
    "MessageNumber",
    "Namespace",
    "NamespaceDesc",
    "Quota",
    "QuotaRoot",
    "Response",
    "ResponseCode",
    "SearchResult",
    "SortResult",
    "StatusResponse",
    "ThreadResult",
    "UnknownResponse",
    "Vanished",
    "format_response",
    "write_response_code",
]
