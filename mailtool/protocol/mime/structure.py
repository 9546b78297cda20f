"""ENVELOPE and BODY/BODYSTRUCTURE of a message (RFC 9051 §7.5.2, RFC 3501 §7.4.2).

Values follow the IMAP value convention of :mod:`mailtool.protocol.imap.values`
(``None`` = NIL, ``int`` = number, ``str`` = string, ``list`` = parenthesized
list) without importing it.  Header-derived strings are the raw, undecoded
header text (RFC 2047 words stay encoded, as IMAP requires); bytes that are not
UTF-8 survive as surrogates (``surrogateescape``), so formatting them back
gives the original octets.

Where the RFCs leave a choice (defaults, broken headers, which of two
``Subject:`` lines counts), we answer like Dovecot: the same message then gives
the same structure on both servers, and tests compare the two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailtool.protocol.mime.address import parse_addresses
from mailtool.protocol.mime.lexer import Lexer, parse_params
from mailtool.protocol.mime.parser import (
    DEFAULT_LIMITS,
    MULTIPART,
    RFC822,
    Message,
    MimeLimits,
    Part,
)

_HUMAN_SPACE = re.compile(rb"[\r\n\t ]+")
_FOLD_BEFORE_TEXT = re.compile(rb"[\r\n](?=[^ \t\r\n])")
_CRLF = re.compile(rb"[\r\n]")
DEFAULT_CHARSET = "us-ascii"  # RFC 2045 §5.2
_FFFD = "\ufffd".encode()  # what a NUL in a header becomes (Dovecot)


def _s(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _nstring(data: bytes | None) -> str | None:
    """A header value as an nstring: unfolded; a NUL becomes U+FFFD (Dovecot)."""
    if data is None:
        return None
    data = _CRLF.sub(b"", _FOLD_BEFORE_TEXT.sub(b" ", data))
    return _s(data.replace(b"\x00", _FFFD))


def _for_humans(data: bytes) -> str:
    """Subject and display names: whitespace runs -> one space, trimmed (Dovecot)."""
    return _s(_HUMAN_SPACE.sub(b" ", data.replace(b"\x00", _FFFD)).strip(b" "))


# -- ENVELOPE ------------------------------------------------------------------

_ADDRESS_FIELDS = (b"from", b"sender", b"reply-to", b"to", b"cc", b"bcc")
_STRING_FIELDS = (b"date", b"subject", b"in-reply-to", b"message-id")


def _addresses(value: bytes) -> list[list[str | None]]:
    return [
        [None if n is None else _for_humans(n), _nstring(r), _nstring(m), _nstring(h)]
        for n, r, m, h in parse_addresses(value)
    ]


def _envelope(part: Part) -> list[object]:
    # RFC 9051 §7.5.2: date, subject, from, sender, reply-to, to, cc, bcc,
    # in-reply-to, message-id.  When a field repeats, the last one counts (Dovecot).
    # in-reply-to, message-id.  A repeated string field: the last one counts; a
    # repeated address field: the lists are joined (both as Dovecot does).
    last: dict[bytes, bytes] = {}
    addrs: dict[bytes, list[list[str | None]]] = {}
    for f in part.fields:
        lname = f.name.lower()
        if lname in _STRING_FIELDS:
            last[lname] = f.value
        elif lname in _ADDRESS_FIELDS:
            addrs.setdefault(lname, []).extend(_addresses(f.value))
    subject = last.get(b"subject")
    frm = addrs.get(b"from") or None
    return [
        _nstring(last.get(b"date")),
        None if subject is None else _for_humans(subject),
        frm,
        addrs.get(b"sender") or frm,  # RFC 9051 §7.5.2: default to From
        addrs.get(b"reply-to") or frm,
        addrs.get(b"to") or None,
        addrs.get(b"cc") or None,
        addrs.get(b"bcc") or None,
        _nstring(last.get(b"in-reply-to")),
        _nstring(last.get(b"message-id")),
    ]


# -- Content-* fields --------------------------------------------------------


@dataclass
class Content:
    """The Content-* fields of one part, parsed the way BODYSTRUCTURE needs them."""

    type: bytes | None = None
    subtype: bytes | None = None
    params: list[tuple[bytes, bytes]] | None = None
    id: bytes | None = None
    description: bytes | None = None
    encoding: bytes | None = None
    md5: bytes | None = None
    disposition: bytes | None = None
    disposition_params: list[tuple[bytes, bytes]] | None = None
    language: list[bytes] | None = None
    location: bytes | None = None


def content(part: Part) -> Content:
    """RFC 2045 §3: Content-* fields count only in MIME entities (the first one wins)."""
    c = Content()
    if not part.is_mime:
        return c
    for f in part.fields:
        lname = f.name.lower()
        if not lname.startswith(b"content-"):
            continue
        name = lname[8:]
        if name == b"type" and c.type is None:
            _content_type(c, f.value)
        elif name == b"transfer-encoding" and c.encoding is None:
            lex = Lexer(f.value)
            lex.skip_lwsp()
            tok = bytearray()
            if lex.mime_token(tok) >= 0 and lex.skip_lwsp() == 0 and tok:
                c.encoding = bytes(tok)
        elif name == b"id" and c.id is None:
            c.id = f.value
        elif name == b"description" and c.description is None:
            c.description = f.value
        elif name == b"md5" and c.md5 is None:
            c.md5 = f.value
        elif name == b"location" and c.location is None:
            c.location = f.value
        elif name == b"language" and c.language is None:
            c.language = _languages(f.value)
        elif name == b"disposition" and not c.disposition_params:
            # RFC 2183; a later field may still supply the parameters (Dovecot)
            lex = Lexer(f.value)
            lex.skip_lwsp()
            tok = bytearray()
            if lex.mime_token(tok) >= 0:
                c.disposition = bytes(tok)
                c.disposition_params = parse_params(lex)
    return c


def _content_type(c: Content, value: bytes) -> None:
    lex = Lexer(value)
    lex.skip_lwsp()
    out = bytearray()
    ret = lex.content_type(out)
    typ, _, sub = bytes(out).partition(b"/")
    c.type, c.subtype = typ, sub
    if ret >= 0:
        c.params = parse_params(lex)


def _languages(value: bytes) -> list[bytes] | None:
    # RFC 3282 Content-Language = 1#Language-tag
    lex = Lexer(value)
    lex.skip_lwsp()
    langs: list[bytes] = []
    while True:
        tok = bytearray()
        if lex.atom(tok) < 0:
            break
        langs.append(bytes(tok))
        if lex.pos >= lex.end or lex.data[lex.pos] != 0x2C:
            break
        lex.pos += 1
        lex.skip_lwsp()
    return langs or None


# -- BODYSTRUCTURE --------------------------------------------------------------


def _params(params: list[tuple[bytes, bytes]] | None, text: bool) -> list[str] | None:
    params = params or []
    if not params and not text:
        return None
    out: list[str] = []
    for k, v in params:
        out += [_s(k), _s(v)]
    if text and not any(k.lower() == b"charset" for k, _ in params):
        out += ["charset", DEFAULT_CHARSET]  # RFC 2045 §5.2 default
    return out


def _extension(c: Content) -> list[object]:
    # RFC 9051 §7.5.2 body-ext: disposition, language, location
    disposition = None
    if c.disposition is not None:
        disposition = [_s(c.disposition), _params(c.disposition_params, False)]
    language = None if c.language is None else [_s(x) for x in c.language]
    return [disposition, language, _nstring(c.location)]


_EMPTY_BODY: list[object] = [
    "text",
    "plain",
    ["charset", DEFAULT_CHARSET],
    None,
    None,
    "7bit",
    0,
    0,
]


def _body(msg: Message, part: Part, extended: bool) -> list[object]:
    c = content(part)
    if part.kind == MULTIPART:
        out: list[object] = [_body(msg, ch, extended) for ch in part.children]
        if not out:  # a multipart without parts: one empty text/plain (Dovecot)
            out = [_EMPTY_BODY + ([None, None, None, None] if extended else [])]
        out.append(_s(c.subtype) if c.subtype is not None else "x-unknown")
        if extended:
            out.append(_params(c.params, False))
            out += _extension(c)
        return out
    if part.kind == RFC822:
        text = False
        out = ["message", "rfc822"]
    elif c.type is None:
        text = True
        out = ["text", "plain"]
    elif part.too_deep and part.media == b"message/rfc822":
        text = False  # not split: an opaque part (a message/rfc822 needs an envelope)
        out = ["application", "octet-stream"]
    else:
        text = c.type.lower() == b"text"
        out = [_s(c.type), _s(c.subtype or b"")]
    out += [
        _params(c.params, text),
        _nstring(c.id),
        _nstring(c.description),
        _s(c.encoding) if c.encoding is not None else "7bit",
        part.body_end - part.body_start,
    ]
    lines = msg.raw.count(b"\n", part.body_start, part.body_end)
    if text:
        out.append(lines)
    elif part.kind == RFC822:
        child = part.children[0]
        out += [_envelope(child), _body(msg, child, extended), lines]
    if extended:
        out.append(_nstring(c.md5))
        out += _extension(c)
    return out


def parse(raw: bytes | Message, limits: MimeLimits = DEFAULT_LIMITS) -> Message:
    """Parse once, then ask for several items: every function here accepts either."""
    return raw if isinstance(raw, Message) else Message(raw, limits)


def envelope(raw: bytes | Message) -> list[object]:
    """RFC 9051 §7.5.2 ENVELOPE of the message, as a list of 10 IMAP values."""
    return _envelope(parse(raw).root)


def bodystructure(raw: bytes | Message, extended: bool = True) -> list[object]:
    """RFC 9051 §7.5.2 BODYSTRUCTURE (``extended=False``: the BODY form)."""
    msg = parse(raw)
    return _body(msg, msg.root, extended)
