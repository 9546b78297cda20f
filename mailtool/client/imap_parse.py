"""Untagged IMAP responses -> client data classes, on the shared sans-I/O cursor.

Each function takes one assembled response (``*`` stripped, literals inline) and
reads it with :class:`mailtool.protocol.imap.tokenizer.Cursor` and the readers
of :mod:`mailtool.protocol.imap` (FETCH items, flags, mailbox names, values),
so the client and the server agree on the grammar.
"""

from __future__ import annotations

import datetime as dt
import email.header
import email.utils
import re
from dataclasses import dataclass, field

from mailtool.protocol.imap.fetch import read_fetch_items, read_flag_list
from mailtool.protocol.imap.mailbox import decode_mailbox
from mailtool.protocol.imap.tokenizer import Cursor, decode
from mailtool.protocol.imap.values import read_value

#: RFC 6154 special-use attributes, in the order the folder tree shows them
SPECIAL_USE = ("\\Inbox", "\\Sent", "\\Drafts", "\\Junk", "\\Trash", "\\Archive")
_CODE = re.compile(rb"\[([A-Z0-9.-]+)(?: ([^\]]*))?\]", re.I)


@dataclass(frozen=True)
class Folder:
    """One LIST response: name (Unicode), hierarchy delimiter, attributes."""

    name: str
    delimiter: str | None
    attributes: frozenset[str] = frozenset()

    @property
    def special(self) -> str | None:
        """``\\Sent``, ``\\Trash`` ... (RFC 6154), ``\\Inbox`` for INBOX, else None."""
        if self.name == "INBOX":
            return "\\Inbox"
        for attr in SPECIAL_USE:
            if attr.lower() in {a.lower() for a in self.attributes}:
                return attr
        return None

    @property
    def selectable(self) -> bool:
        return not {"\\noselect", "\\nonexistent"} & {a.lower() for a in self.attributes}


@dataclass(frozen=True)
class Address:
    name: str
    email: str

    def __str__(self) -> str:
        return email.utils.formataddr((self.name, self.email)) if self.name else self.email


@dataclass
class Envelope:
    """What the message list shows for one message (RFC 9051 §7.5.2 ENVELOPE)."""

    uid: int
    flags: tuple[str, ...] = ()
    date: dt.datetime | None = None
    subject: str = ""
    from_: tuple[Address, ...] = ()
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    message_id: str = ""
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    size: int = 0
    modseq: int = 0

    @property
    def seen(self) -> bool:
        return "\\Seen" in self.flags

    @property
    def flagged(self) -> bool:
        return "\\Flagged" in self.flags


@dataclass
class FetchData:
    """One FETCH response: sequence number and its items by name."""

    seq: int
    items: dict[str, object] = field(default_factory=dict)


@dataclass
class MailboxInfo:
    """What SELECT / EXAMINE / STATUS told us about a mailbox."""

    exists: int = 0
    unseen: int = 0
    uidvalidity: int = 0
    uidnext: int = 0
    highestmodseq: int = 0
    recent: int = 0
    flags: tuple[str, ...] = ()
    read_only: bool = False


def decode_words(value: str | bytes | None) -> str:
    """RFC 2047 encoded-words -> text (never raises: bad charsets fall back)."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (LookupError, ValueError, UnicodeDecodeError):
        return value


def parse_list(line: bytes, *, utf8: bool = False) -> Folder | None:
    """``LIST (\\HasNoChildren \\Sent) "/" Sent`` -> Folder (RFC 9051 §7.3.1)."""
    cur = Cursor(line)
    if not cur.try_take_ci(b"LIST "):
        return None
    attrs = tuple(cur.paren_list(lambda c: c.match(re.compile(rb"\\?[^ ()]+"), "attr").decode()))
    cur.sp()
    delim = read_value(cur)
    cur.sp()
    raw = cur.string() if cur.peek() in (0x22, 0x7B) else cur.astring()
    return Folder(
        decode_mailbox(raw, utf8=utf8), delim if isinstance(delim, str) else None, frozenset(attrs)
    )


def parse_status(line: bytes, *, utf8: bool = False) -> tuple[str, MailboxInfo] | None:
    """``STATUS INBOX (MESSAGES 3 UNSEEN 1 ...)`` (RFC 9051 §7.3.4)."""
    cur = Cursor(line)
    if not cur.try_take_ci(b"STATUS "):
        return None
    raw = cur.string() if cur.peek() in (0x22, 0x7B) else cur.astring()
    cur.sp()
    items = read_value(cur)
    info = MailboxInfo()
    if isinstance(items, list):
        for key, value in zip(items[::2], items[1::2], strict=False):
            attr = {
                "MESSAGES": "exists",
                "UNSEEN": "unseen",
                "UIDNEXT": "uidnext",
                "UIDVALIDITY": "uidvalidity",
                "HIGHESTMODSEQ": "highestmodseq",
                "RECENT": "recent",
            }.get(str(key).upper())
            if attr and isinstance(value, int):
                setattr(info, attr, value)
    return decode_mailbox(raw, utf8=utf8), info


def parse_select(lines: list[bytes], tagged: str) -> MailboxInfo:
    """SELECT's untagged EXISTS / FLAGS / OK [UIDVALIDITY ...] lines (RFC 9051 §6.3.2)."""
    info = MailboxInfo(read_only="[READ-ONLY]" in tagged.upper())
    for line in lines:
        words = line.split(b" ", 2)
        if len(words) >= 2 and words[0].isdigit():
            kind = words[1].upper()
            if kind == b"EXISTS":
                info.exists = int(words[0])
            elif kind == b"RECENT":
                info.recent = int(words[0])
        elif line.upper().startswith(b"FLAGS "):
            info.flags = read_flag_list(Cursor(line, 6))
        for code, value in response_codes(line).items():
            attr = {
                "UIDVALIDITY": "uidvalidity",
                "UIDNEXT": "uidnext",
                "HIGHESTMODSEQ": "highestmodseq",
                "UNSEEN": "unseen",
            }.get(code)
            if attr and value.isdigit():
                setattr(info, attr, int(value))
    return info


def response_codes(text: str | bytes) -> dict[str, str]:
    """``OK [UIDVALIDITY 7] ...`` -> ``{"UIDVALIDITY": "7"}``."""
    data = text.encode() if isinstance(text, str) else text
    return {
        m.group(1).decode().upper(): (m.group(2) or b"").decode("utf-8", "replace")
        for m in _CODE.finditer(data)
    }


def parse_uid_map(code_value: str) -> dict[int, int]:
    """COPYUID's ``uidvalidity src dst`` -> {src uid: dst uid} (RFC 4315 §3)."""
    parts = code_value.split()
    if len(parts) != 3:
        return {}
    return dict(zip(_expand(parts[1]), _expand(parts[2]), strict=False))


def _expand(text: str) -> list[int]:
    out: list[int] = []
    for piece in text.split(","):
        lo, _, hi = piece.partition(":")
        a, b = int(lo), int(hi or lo)
        out.extend(range(a, b + 1) if a <= b else range(a, b - 1, -1))
    return out


def parse_search(lines: list[bytes]) -> list[int]:
    """``SEARCH 1 2 3`` / ``SORT 3 1 2`` / ``ESEARCH ... ALL 1:3`` -> numbers, in order."""
    out: list[int] = []
    for line in lines:
        word, _, rest = line.partition(b" ")
        word = word.upper()
        if word in (b"SEARCH", b"SORT"):
            out.extend(int(n) for n in rest.split() if n.isdigit())
        elif word == b"ESEARCH":  # RFC 4731 §3.1
            m = re.search(rb"\bALL ([0-9:,]+)", rest, re.I)
            if m:
                out.extend(_expand(m.group(1).decode()))
    return out


def parse_fetch(line: bytes) -> FetchData | None:
    """``12 FETCH (UID 7 FLAGS (\\Seen) ...)`` -> FetchData (RFC 9051 §7.5.2)."""
    m = re.match(rb"([0-9]+) FETCH ", line, re.I)
    if not m:
        return None
    cur = Cursor(line, m.end())
    data = FetchData(int(m.group(1)))
    for key, value in read_fetch_items(cur):
        name = key.name.upper()
        if key.section is not None:
            name += "[" + key.section.to_wire().decode("ascii", "replace").strip("[]") + "]"
        data.items[name] = value
    return data


def _addresses(value: object) -> tuple[Address, ...]:
    if not isinstance(value, list):
        return ()
    out = []
    for item in value:
        if isinstance(item, list) and len(item) == 4 and item[2] is not None:
            name, _adl, mailbox, host = item
            addr = f"{mailbox}@{host}" if host else str(mailbox)
            out.append(Address(decode_words(name), addr))
    return tuple(out)


def _msgids(value: str | None) -> tuple[str, ...]:
    return tuple(re.findall(r"<[^<>\s]+>", value or ""))


def envelope_from_fetch(data: FetchData) -> Envelope:
    """A FETCH of ``UID FLAGS RFC822.SIZE ENVELOPE [BODY[HEADER.FIELDS (References)]]``."""
    env = data.items.get("ENVELOPE")
    out = Envelope(uid=int(data.items.get("UID", 0)))  # type: ignore[call-overload]
    out.flags = tuple(data.items.get("FLAGS", ()))  # type: ignore[arg-type]
    out.size = int(data.items.get("RFC822.SIZE", 0))  # type: ignore[call-overload]
    out.modseq = int(data.items.get("MODSEQ", 0))  # type: ignore[call-overload]
    if isinstance(env, list) and len(env) >= 10:
        date, subject, from_, _sender, reply_to, to, cc, _bcc, in_reply_to, message_id = env[:10]
        if isinstance(date, str):
            try:
                out.date = email.utils.parsedate_to_datetime(date)
            except (TypeError, ValueError):
                out.date = None
        out.subject = decode_words(subject)  # type: ignore[arg-type]
        out.from_, out.to, out.cc = _addresses(from_), _addresses(to), _addresses(cc)
        out.reply_to = _addresses(reply_to)
        out.message_id = (message_id or "").strip()  # type: ignore[union-attr]
        out.in_reply_to = " ".join(_msgids(in_reply_to))  # type: ignore[arg-type]
    for key, value in data.items.items():
        if key.startswith("BODY[HEADER.FIELDS") and isinstance(value, bytes | str):
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            refs = re.search(r"^References:(.*(?:\r?\n[ \t].*)*)", text, re.I | re.M)
            if refs:
                out.references = _msgids(refs.group(1))
    return out


__all__ = [
    "SPECIAL_USE",
    "Address",
    "Envelope",
    "FetchData",
    "Folder",
    "MailboxInfo",
    "decode",
    "decode_words",
    "envelope_from_fetch",
    "parse_fetch",
    "parse_list",
    "parse_search",
    "parse_select",
    "parse_status",
    "parse_uid_map",
    "response_codes",
]
