"""The sort fields of a header block (RFC 5256 §2, RFC 5957), as the index's
``sort_fields`` table keeps them: sent date, first From/To/Cc mailbox, display
names, base subject, reply flag, Message-ID, References.

Apart from :mod:`.sort` so the header cache's filler (:mod:`.store_adapter`, for
SEARCH) can make these rows from the same header read: the first SEARCH and the
first SORT of never-seen messages read each header block once for both.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from typing import Any

from mailtool.mra.imap.headers import Pairs, split_fields
from mailtool.protocol.imap.sort import base_subject
from mailtool.protocol.mime.address import parse_addresses
from mailtool.protocol.mime.encoded_words import decode_header

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


#: the names :data:`_FIELD` takes
_NAMES = frozenset((b"date", b"from", b"to", b"cc", b"subject", b"message-id", b"references",
                    b"in-reply-to"))  # fmt: skip


def _fields(header: bytes, pairs: Pairs | None = None) -> dict[bytes, str]:
    """First occurrence of each wanted field, unfolded; from ``pairs`` (the block's
    :func:`~.headers.split_fields`) when the block has the usual shape."""
    if pairs is None:
        pairs = split_fields(header)
    if pairs is not None:
        out = {}
        for name, value in pairs:
            if name in _NAMES and name not in out:
                # raw 8-bit bytes that are not UTF-8 become U+FFFD (below)
                out[name] = value.decode("utf-8", "replace")
        return out
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


#: the usual Date: (RFC 5322 §3.3 without obsolete forms and comments), read without
#: the stdlib's general parser: the same seconds as ``mktime_tz(parsedate_tz(value))``
_MONTHS = {m: n for n, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
)}  # fmt: skip
_DATE = re.compile(
    rf"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), ?)?([0-9]{{1,2}}) ({'|'.join(_MONTHS)}) ([0-9]{{4}}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})"
)


def _days(year: int, month: int) -> int:
    """Days from 1970-01-01 to the first of ``month`` (proleptic Gregorian)."""
    return (dt.date(year, month, 1) - _EPOCH).days


_EPOCH = dt.date(1970, 1, 1)


def _sent(value: str | None) -> float | None:
    if not value:
        return None
    m = _DATE.fullmatch(value)
    if m is not None:
        day, mon, year, hh, mm, ss, sign, zh, zm = m.groups()
        # -0000 is local time and a year below 100 a two-digit one to the stdlib (below)
        if (sign == "+" or zh != "00" or zm != "00") and year[:2] != "00":
            zone = int(zh) * 3600 + int(zm) * 60
            days = _days(int(year), _MONTHS[mon]) + int(day) - 1
            seconds = days * 86400 + int(hh) * 3600 + int(mm) * 60 + int(ss)
            return float(seconds - zone if sign == "+" else seconds + zone)
    try:
        parsed = email.utils.parsedate_tz(value)
        return float(email.utils.mktime_tz(parsed)) if parsed else None
    except (TypeError, ValueError, OverflowError):
        return None


def fields_of(header: bytes, pairs: Pairs | None = None) -> tuple[Any, ...]:
    """The index's ``sort_fields`` columns (see ``store.index.SORT_FIELDS``) of a header
    block: sent, from/to/cc mailbox, from/to display, base subject, reply, Message-ID,
    references; ``pairs``: the block's :func:`~.headers.split_fields` if the caller has it."""
    f = _fields(header, pairs)
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
