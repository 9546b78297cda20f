"""Parse one complete server response (literals inline) - the client side.

Returns the dataclasses of :mod:`.responses`; raises
:class:`~.errors.ResponseParseError` (or a limit error) and nothing else.
Mailbox names that are not valid modified UTF-7 are kept as sent (decoded as
UTF-8) rather than rejected: a client should still show a server's odd names.
"""

from __future__ import annotations

from collections.abc import Callable

from mailtool.protocol.imap import responses as r
from mailtool.protocol.imap.errors import ImapError, ParseError, ResponseParseError
from mailtool.protocol.imap.fetch import read_fetch_items, read_flag_list
from mailtool.protocol.imap.limits import DEFAULT_LIMITS, Limits
from mailtool.protocol.imap.mailbox import decode_mailbox
from mailtool.protocol.imap.sequence import read_sequence_set, read_uid_set
from mailtool.protocol.imap.sort import read_thread
from mailtool.protocol.imap.status import STATUSES, ResponseCode, StatusResponse
from mailtool.protocol.imap.tokenizer import Cursor, decode
from mailtool.protocol.imap.values import read_value


def parse_response(
    data: bytes, *, limits: Limits = DEFAULT_LIMITS, utf8: bool = False
) -> r.Response:
    """Parse ``+ ...``, ``* ...`` or ``tag ...`` (final CRLF optional)."""
    cur = Cursor(data, 0, limits)
    try:
        if cur.try_take(b"+"):
            cur.try_take(b" ")
            resp: r.Response = r.ContinuationRequest(decode(cur.rest_of_line()))
        elif cur.try_take(b"* "):
            resp = _untagged(cur, utf8)
        else:
            tag = cur.tag()
            cur.sp()
            status = cur.atom_upper()
            if status not in ("OK", "NO", "BAD"):
                cur.error(f"bad tagged status {status}")
            resp = _status_rest(cur, tag, status)
        cur.end()
        return resp
    except ParseError as exc:
        raise ResponseParseError(exc.text) from None
    except ImapError:
        raise


def _mailbox(cur: Cursor, utf8: bool) -> str:
    raw = cur.astring()
    try:
        return decode_mailbox(raw, utf8=utf8)
    except ParseError:
        return decode(raw)


def _status_rest(cur: Cursor, tag: str | None, status: str) -> StatusResponse:
    """resp-text = ["[" resp-text-code "]" SP] text."""
    code = None
    if cur.try_take(b" ") and cur.try_take(b"["):
        code = read_response_code(cur)
        cur.expect(b"]")
        cur.try_take(b" ")
    return StatusResponse(tag, status, decode(cur.rest_of_line()), code)


def read_response_code(cur: Cursor) -> ResponseCode:
    name = cur.atom_upper()
    if not cur.try_take(b" "):
        return ResponseCode(name)
    if name in r.INT_CODES:
        return ResponseCode(name, cur.number())
    if name in r.LIST_CODES:
        if name == "BADCHARSET":
            return ResponseCode(name, tuple(cur.paren_list(Cursor.astring_str)))
        return ResponseCode(name, read_flag_list(cur))
    if name == "CAPABILITY":
        caps = [cur.atom().decode("ascii")]
        while cur.try_take(b" "):
            caps.append(cur.atom().decode("ascii"))
            cur.count()
        return ResponseCode(name, tuple(caps))
    if name in ("APPENDUID", "COPYUID"):  # RFC 4315 §3
        uidvalidity = cur.nz_number()
        cur.sp()
        first = read_uid_set(cur)
        if name == "APPENDUID":
            return ResponseCode(name, (uidvalidity, first))
        cur.sp()
        return ResponseCode(name, (uidvalidity, first, read_uid_set(cur)))
    if name == "MODIFIED":
        return ResponseCode(name, read_sequence_set(cur, allow_saved=False))
    # RFC 9051 §9: atom [SP 1*<any TEXT-CHAR except "]">]
    start = cur.pos
    end = cur.buf.find(b"]", start)
    line_end = cur.buf.find(b"\r", start)
    if end < 0 or (0 <= line_end < end):
        cur.error("unterminated response code")
    cur.pos = end
    return ResponseCode(name, decode(cur.buf[start:end]))


def _untagged(cur: Cursor, utf8: bool) -> r.Response:
    if 0x30 <= cur.peek() <= 0x39:
        number = cur.number(2**32 - 1)
        cur.sp()
        name = cur.atom_upper()
        if name == "FETCH":
            cur.sp()
            return r.FetchData(number, read_fetch_items(cur))
        if name in ("EXISTS", "RECENT", "EXPUNGE"):
            return r.MessageNumber(number, name)
        cur.error(f"unknown message data {name}")
    name = cur.atom_upper()
    if name in STATUSES:
        return _status_rest(cur, None, name)
    parser = _UNTAGGED.get(name)
    if parser is None:
        cur.try_take(b" ")
        return r.UnknownResponse(name, cur.rest_of_line())
    return parser(cur, utf8)


def _atoms_to_end(cur: Cursor) -> tuple[str, ...]:
    out = []
    while cur.try_take(b" "):
        out.append(cur.atom().decode("ascii"))
        cur.count()
    return tuple(out)


def _capability(cur: Cursor, utf8: bool) -> r.Response:
    return r.Capability(_atoms_to_end(cur))


def _enabled(cur: Cursor, utf8: bool) -> r.Response:
    return r.Enabled(_atoms_to_end(cur))


def _delimiter(cur: Cursor) -> str | None:
    if cur.try_take_ci(b"NIL"):
        return None
    quoted = cur.quoted()
    if len(quoted) != 1:
        cur.error("a hierarchy delimiter is one character")
    return decode(quoted)


def _list(cur: Cursor, utf8: bool, lsub: bool = False) -> r.Response:
    cur.sp()
    attributes = read_flag_list(cur)
    cur.sp()
    delimiter = _delimiter(cur)
    cur.sp()
    mailbox = _mailbox(cur, utf8)
    extended: list[tuple[str, object]] = []
    if cur.try_take(b" "):  # RFC 5258 mbox-list-extended

        def item(c: Cursor) -> tuple[str, object]:
            tag = c.astring_str().upper()
            c.sp()
            return tag, read_value(c)

        extended = cur.paren_list(item)
    return r.ListItem(attributes, delimiter, mailbox, tuple(extended), lsub)  # type: ignore[arg-type]


def _lsub(cur: Cursor, utf8: bool) -> r.Response:
    return _list(cur, utf8, lsub=True)


def _status(cur: Cursor, utf8: bool) -> r.Response:
    cur.sp()
    mailbox = _mailbox(cur, utf8)
    cur.sp()
    items: list[tuple[str, int]] = []
    cur.expect(b"(")
    while not cur.try_take(b")"):
        if items:
            cur.sp()
        name = cur.atom_upper()
        cur.sp()
        items.append((name, cur.number()))
        cur.count()
    return r.MailboxStatus(mailbox, tuple(items))


def _search(cur: Cursor, utf8: bool) -> r.Response:
    numbers = []
    modseq = None
    while cur.try_take(b" "):
        if cur.try_take(b"("):  # RFC 7162 §3.1.5
            cur.expect_ci(b"MODSEQ ")
            modseq = cur.number()
            cur.expect(b")")
            break
        numbers.append(cur.nz_number())
        cur.count()
    return r.SearchResult(tuple(numbers), modseq)


def _sort(cur: Cursor, utf8: bool) -> r.Response:
    result = _search(cur, utf8)
    assert isinstance(result, r.SearchResult)
    return r.SortResult(result.numbers, result.modseq)


def _thread(cur: Cursor, utf8: bool) -> r.Response:
    threads = []
    if cur.try_take(b" "):
        while cur.peek() == 0x28:
            threads.append(read_thread(cur))
            cur.count()
    return r.ThreadResult(tuple(threads))


def _esearch(cur: Cursor, utf8: bool) -> r.Response:
    tag = None
    uid = False
    items: list[tuple[str, object]] = []
    if cur.try_take(b" ("):
        cur.expect_ci(b"TAG ")
        tag = cur.astring_str()
        cur.expect(b")")
    while cur.try_take(b" "):
        name = cur.atom_upper()
        if name == "UID" and not items:
            uid = True
            continue
        cur.sp()
        if name == "ALL":
            items.append((name, read_sequence_set(cur, allow_saved=False)))
        else:
            items.append((name, cur.number()))
        cur.count()
    return r.ESearch(tag, uid, tuple(items))


def _flags(cur: Cursor, utf8: bool) -> r.Response:
    cur.sp()
    return r.Flags(read_flag_list(cur))


def _vanished(cur: Cursor, utf8: bool) -> r.Response:
    cur.sp()
    earlier = cur.try_take_ci(b"(EARLIER) ")
    return r.Vanished(read_uid_set(cur), earlier)


def _namespace(cur: Cursor, utf8: bool) -> r.Response:
    def desc(c: Cursor) -> tuple[str, str | None]:
        c.expect(b"(")
        prefix = _mailbox(c, utf8)
        c.sp()
        delim = _delimiter(c)
        while c.try_take(b" "):  # Namespace-Response-Extension: skipped
            c.string()
            c.sp()
            c.paren_list(Cursor.string)
        c.expect(b")")
        return prefix, delim

    parts: list[tuple[tuple[str, str | None], ...] | None] = []
    for _ in range(3):
        cur.sp()
        if cur.try_take_ci(b"NIL"):
            parts.append(None)
        else:
            parts.append(tuple(cur.paren_list(desc, allow_empty=False)))
    return r.Namespace(*parts)


def _id(cur: Cursor, utf8: bool) -> r.Response:
    cur.sp()
    if cur.try_take_ci(b"NIL"):
        return r.IdData(None)
    value = read_value(cur)
    if (
        not isinstance(value, list)
        or len(value) % 2
        or not all(isinstance(v, str) or (v is None and i % 2) for i, v in enumerate(value))
    ):
        cur.error("bad ID parameter list")
    pairs = tuple((value[i], value[i + 1]) for i in range(0, len(value), 2))
    return r.IdData(pairs)  # type: ignore[arg-type]


def _quota(cur: Cursor, utf8: bool) -> r.Response:
    cur.sp()
    root = cur.astring_str()
    cur.sp()

    def resource(c: Cursor) -> tuple[str, int, int]:
        name = c.atom_upper()
        c.sp()
        usage = c.number()
        c.sp()
        return name, usage, c.number()

    return r.Quota(root, tuple(cur.paren_list(resource)))


def _quotaroot(cur: Cursor, utf8: bool) -> r.Response:
    cur.sp()
    mailbox = _mailbox(cur, utf8)
    roots = []
    while cur.try_take(b" "):
        roots.append(cur.astring_str())
        cur.count()
    return r.QuotaRoot(mailbox, tuple(roots))


_UNTAGGED: dict[str, Callable[[Cursor, bool], r.Response]] = {
    "CAPABILITY": _capability,
    "ENABLED": _enabled,
    "LIST": _list,
    "LSUB": _lsub,
    "STATUS": _status,
    "SEARCH": _search,
    "SORT": _sort,
    "THREAD": _thread,
    "ESEARCH": _esearch,
    "FLAGS": _flags,
    "VANISHED": _vanished,
    "NAMESPACE": _namespace,
    "ID": _id,
    "QUOTA": _quota,
    "QUOTAROOT": _quotaroot,
}

__all__ = ["parse_response", "read_response_code"]
