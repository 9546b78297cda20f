"""SORT and UID SORT (RFC 5256 §BASE.6.4.SORT, RFC 5957 DISPLAYFROM / DISPLAYTO),
and the per-message sort keys THREAD (:mod:`.thread`) shares.

The keys (sent date, first From/To/Cc mailbox, display names, base subject,
Message-ID, References) live in the index's ``sort_fields`` table, so sorting
or threading 100,000 messages is one index query and a Python sort: no message
file is opened. A message without a row yet (files dropped into ``new/`` by
another program, or appended since the last SORT) has its header block read
once, here, and its row written: each file is opened at most once for sorting,
ever (Dovecot's cache file works the same way).
"""

from __future__ import annotations

import asyncio
import email.utils
import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from mailtool.mra.imap import search as search_cmd
from mailtool.mra.imap.id_enable import enable_condstore
from mailtool.mra.imap.selected import SelectedMailbox
from mailtool.mra.imap.session import SELECTED, Done, Session, command, no, ok
from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap.responses import SortResult
from mailtool.protocol.imap.search import SearchKey
from mailtool.protocol.imap.sort import SortCriterion, ascii_casemap, base_subject
from mailtool.protocol.mime.address import parse_addresses
from mailtool.protocol.mime.encoded_words import decode_header

#: RFC 5256 §BASE.6.4.SORT: US-ASCII and UTF-8 must be accepted
CHARSETS = ("US-ASCII", "UTF-8")


class SortKeys(NamedTuple):
    """What SORT and THREAD compare, for one message (RFC 5256 §2)."""

    uid: int
    size: int
    arrival: float  # INTERNALDATE
    sent: float  # Date: in UTC seconds, INTERNALDATE when missing or unparsable (§2.2)
    from_mailbox: str
    to_mailbox: str
    cc_mailbox: str
    from_display: str
    to_display: str
    subject: str  # base subject (§2.1), not yet case-mapped
    reply: bool  # the subject said Re:/Fwd: (THREAD REFERENCES step 6)
    message_id: str
    refs: tuple[str, ...]  # References, else In-Reply-To (THREAD REFERENCES step 1)


# -- header block -> stored fields ------------------------------------------------

#: one of the fields sort keys need, with its continuation lines (RFC 5322 §2.2.3)
_FIELD = re.compile(
    rb"^(date|from|to|cc|subject|message-id|references|in-reply-to)[ \t]*:"
    rb"([^\n]*(?:\n[ \t][^\n]*)*)",
    re.M | re.I,
)
_MSG_ID = re.compile(r"<([^<>\s]+)>")
_FOLD = re.compile(rb"\r?\n[ \t]")


def _decoded(text: str) -> str:
    """RFC 2047 encoded words decoded; whatever a broken charset left that is not
    text (lone surrogates) replaced, so the index can store it."""
    return decode_header(text).encode("utf-8", "replace").decode("utf-8")


def _fields(header: bytes) -> dict[bytes, str]:
    """First occurrence of each wanted field, unfolded."""
    out: dict[bytes, str] = {}
    for m in _FIELD.finditer(header):
        name = m.group(1).lower()
        if name in out:
            continue
        raw = m.group(2)
        if b"\n" in raw:  # folded
            raw = _FOLD.sub(b" ", raw)
        # raw 8-bit bytes that are not UTF-8 (RFC 6532 allows only UTF-8) become
        # U+FFFD: the index stores valid text only
        out[name] = raw.strip().decode("utf-8", "replace")
    return out


#: the usual shapes, ``Name <local@domain>`` and ``local@domain``, parsed without
#: the stdlib's general (and ~20x slower) address parser; anything else goes to it
_NAME_ADDR = re.compile(
    r"\s*([^\"<>,;:@()\\\[\]]*?)\s*"  # a display name without quotes or comments
    r"<([^<>()\s,;:\"@\\]+)@[^<>()\s,;:\"\\]+>\s*(?:,|$)"
)
_ADDR_SPEC = re.compile(r"\s*(([^\"<>,;:@()\\\[\]\s]+)@[^\"<>,;:@()\\\[\]\s]+)\s*(?:,|$)")


def _first_address(value: str | None) -> tuple[str, str]:
    """(addr-mailbox, display) of the first address: RFC 5256 §BASE.6.4.SORT FROM
    sorts on the mailbox (local part); RFC 5957 DISPLAYFROM on the decoded display
    name, else the addr-spec."""
    if not value:
        return "", ""
    m = _NAME_ADDR.match(value)
    if m:
        name = " ".join(m.group(1).split())
        if not name:
            addr = value[value.index("<") + 1 : value.index(">")].strip()
            return m.group(2), addr
        return m.group(2), (_decoded(name).strip() if "=?" in name else name)
    m = _ADDR_SPEC.match(value)
    if m:
        return m.group(2), m.group(1)
    # RFC 5256 §BASE.6.4.SORT: the addr-mailbox of the first address as ENVELOPE has
    # it; for group syntax (``undisclosed:;``) that is the group's name (Dovecot too)
    first = parse_addresses(value.encode("utf-8", "surrogateescape"))[:1]
    mailbox = (first[0][2] or b"").decode("utf-8", "replace") if first else ""
    if first and first[0][3] is None and mailbox:
        return mailbox, _decoded(mailbox)  # a group: its name is its display (Dovecot)
    try:
        pairs = email.utils.getaddresses([value])
    except Exception:  # a malformed header: no display name
        return mailbox, ""
    for name, addr in pairs:
        if not name and not addr:
            continue
        display = _decoded(name).strip() if name else addr
        return mailbox, display
    return mailbox, ""


def _sent(value: str | None) -> float | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_tz(value)
        return float(email.utils.mktime_tz(parsed)) if parsed else None
    except (TypeError, ValueError, OverflowError):
        return None


def fields_of(header: bytes) -> tuple[Any, ...]:
    """The index's ``sort_fields`` columns (see ``store.index.SORT_FIELDS``) of a header
    block: sent, from/to/cc mailbox, from/to display, base subject, reply, Message-ID,
    references."""
    f = _fields(header)
    from_mailbox, from_display = _first_address(f.get(b"from"))
    to_mailbox, to_display = _first_address(f.get(b"to"))
    cc_mailbox, _ = _first_address(f.get(b"cc"))
    raw_subject = f.get(b"subject", "")
    if "=?" in raw_subject:  # RFC 5256 §2.1 (1): encoded words decoded first
        raw_subject = _decoded(raw_subject)
    subject, reply = base_subject(raw_subject)
    ids = _MSG_ID.findall(f.get(b"message-id", ""))
    refs = _MSG_ID.findall(f.get(b"references", ""))
    if not refs:  # RFC 5256 REFERENCES step 1.B: In-Reply-To when References has none
        refs = _MSG_ID.findall(f.get(b"in-reply-to", ""))[:1]
    return (
        _sent(f.get(b"date")), from_mailbox, to_mailbox, cc_mailbox, from_display, to_display,
        subject, int(reply), ids[0] if ids else "", " ".join(refs),
    )  # fmt: skip


# -- the index, filled on demand -----------------------------------------------------


def _keys(row: Sequence[Any]) -> SortKeys:
    uid, size, arrival, sent, fm, tm, cm, fd, td, subject, reply, mid, refs = row
    return SortKeys(
        uid, size, arrival, arrival if sent is None else sent, fm, tm, cm, fd, td,
        subject, bool(reply), mid, tuple(refs.split()) if refs else (),
    )  # fmt: skip


def load_keys(mail: Any, folder: str) -> dict[int, SortKeys]:
    """UID -> sort keys of every message of ``folder``, from the index; rows missing
    from the index are made from the header block (read once) and stored."""
    store_mail = getattr(mail, "mail", None)  # StoreUserMail -> mailtool.store UserMail
    if store_mail is None or not hasattr(store_mail, "index"):
        return _keys_without_index(mail, folder)
    box = store_mail.folder(folder)
    index = store_mail.index
    rows = index.sort_rows(box.name)
    missing = [r[0] for r in rows if r[9] is None]
    if missing:
        fresh = {}
        # each header block read once, bounded (store.mailbase.MAX_HEADER), on either backend
        for uid, header in box.read_headers(box.messages(missing)):
            if header is not None:
                fresh[uid] = (uid, *fields_of(header))
        if fresh:
            index.put_sort_fields(box.name, list(fresh.values()))
        rows = [r if r[9] is not None or r[0] not in fresh else (*r[:3], *fresh[r[0]][1:])
                for r in rows]  # fmt: skip
    return {r[0]: _keys(r) for r in rows if r[9] is not None}


def _keys_without_index(mail: Any, folder: str) -> dict[int, SortKeys]:
    """Any other :class:`~.backend.UserMail`: read each header (tests' fakes)."""
    out = {}
    for meta in mail.snapshot(folder).messages:
        header = mail.read_header(folder, meta.uid) or b""
        out[meta.uid] = _keys((meta.uid, meta.size, meta.internal_date, *fields_of(header)))
    return out


def keys_for(box: SelectedMailbox, keys: dict[int, SortKeys], uids: list[int]) -> list[SortKeys]:
    """Keys of ``uids`` in mailbox order; a message the store no longer has (expunged,
    not yet announced) sorts on what the session still knows of it."""
    out = []
    for uid in uids:
        k = keys.get(uid)
        if k is None:
            meta = box.meta[uid]
            d = meta.internal_date
            k = SortKeys(uid, meta.size, d, d, "", "", "", "", "", "", False, "", ())
        out.append(k)
    return out


async def selected_keys(s: Session, charset: str, program: tuple[SearchKey, ...]) -> list[SortKeys]:
    """The sort keys of the messages ``program`` matches, in mailbox order: what both
    SORT and THREAD start from."""
    box = s.selected
    assert box is not None and s.mail is not None
    if charset.upper() not in CHARSETS:
        raise no("Unsupported charset", "BADCHARSET", CHARSETS)
    if program == (SearchKey("ALL"),):
        uids = [u for u in box.uids if not box.expunged(u)]
    else:
        uids = search_cmd.run_search(s, box, program)
    keys = await asyncio.to_thread(load_keys, s.mail, box.name)
    return keys_for(box, keys, uids)


# -- SORT -------------------------------------------------------------------------------

_KEY: dict[str, Callable[[SortKeys], Any]] = {
    "ARRIVAL": lambda k: k.arrival,
    "DATE": lambda k: k.sent,
    "SIZE": lambda k: k.size,
    "FROM": lambda k: ascii_casemap(k.from_mailbox),
    "TO": lambda k: ascii_casemap(k.to_mailbox),
    "CC": lambda k: ascii_casemap(k.cc_mailbox),
    "SUBJECT": lambda k: ascii_casemap(k.subject),
    "DISPLAYFROM": lambda k: ascii_casemap(k.from_display),
    "DISPLAYTO": lambda k: ascii_casemap(k.to_display),
}


def sort_keys(items: list[SortKeys], criteria: Sequence[SortCriterion]) -> list[SortKeys]:
    """Sorted by ``criteria``; exact ties keep mailbox order (RFC 5256 §BASE.6.4.SORT).

    One stable sort per criterion, last first: each REVERSE applies to its own key
    only, and equal messages stay in the order the earlier passes left them."""
    out = list(items)
    for crit in reversed(criteria):
        out.sort(key=_KEY[crit.key], reverse=crit.reverse)
    return out


@command("SORT", states=SELECTED, expunge_ok=False)
async def sort(s: Session, cmd: c.Sort) -> Done:
    box = s.selected
    assert box is not None
    items = sort_keys(await selected_keys(s, cmd.charset, cmd.keys), cmd.criteria)
    numbers = tuple(k.uid for k in items) if cmd.uid else tuple(box.msn(k.uid) for k in items)
    modseq = None
    if search_cmd._uses_modseq(cmd.keys):  # RFC 7162 §3.1.5: SORT answers MODSEQ too
        enable_condstore(s)
        modseq = max((box.meta[k.uid].modseq for k in items), default=None)
    s.send(SortResult(numbers, modseq))
    return ok(f"{'UID ' if cmd.uid else ''}SORT completed")


__all__ = ["CHARSETS", "SortKeys", "fields_of", "load_keys", "selected_keys", "sort", "sort_keys"]
