"""RFC 2047 encoded-word decoding of header values, for display and SEARCH.

IMAP sends header fields undecoded; clients (our TUI) and SEARCH (RFC 9051
§6.4.4: matching is on decoded text) need the text a human reads.  Decoding is
lenient where mail in the wild is broken: a word that does not decode stays as
written, an unknown charset stays as written, a multi-byte character split
across two adjacent words is joined before its charset is applied, and raw
8-bit bytes that are not UTF-8 are read as Latin-1.
"""

from __future__ import annotations

import binascii
import codecs
import re

# RFC 2047 §2 encoded-word = "=?" charset ["*" language] "?" encoding "?" encoded-text "?="
_WORD = re.compile(r"=\?([!#-)+-/0-9A-Z^-~]+)(?:\*[!#-)+-/0-9A-Z^-~]*)?\?([QqBb])\?([!->@-~]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_ONLY_SPACE = re.compile(r"[ \t\r\n]*")
_Q_HEX = re.compile(rb"=([0-9A-Fa-f]{2})")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")


def _raw_text(value: str) -> str:
    """Undo surrogateescape: 8-bit bytes that were not UTF-8 are read as Latin-1."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        data = value.encode("utf-8", "surrogateescape")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("latin-1")
    return value


def _decode_word(encoding: str, text: str) -> bytes | None:
    raw = text.encode("ascii", "surrogateescape")
    if encoding in "Qq":
        # RFC 2047 §4.2: "_" is a space, =XX an octet
        return _Q_HEX.sub(lambda m: bytes([int(m.group(1), 16)]), raw.replace(b"_", b" "))
    if _NOT_BASE64.search(raw.rstrip(b"=")):
        return None
    raw = raw.rstrip(b"=")
    if len(raw) % 4 == 1:
        return None
    try:
        return binascii.a2b_base64(raw + b"=" * (-len(raw) % 4))
    except binascii.Error:
        return None


def _charset_ok(charset: str) -> bool:
    try:
        info = codecs.lookup(charset)
    except LookupError:
        return False
    # "base64", "rot13", "zip": codecs, but not text encodings
    return getattr(info, "_is_text_encoding", True)


def decode_header(value: str) -> str:
    """A raw header value -> the text it shows (RFC 2047, unfolded per RFC 5322 §2.2.3)."""
    value = _FOLD.sub("", _raw_text(value))
    out: list[str] = []
    pending: list[tuple[str, bytes]] = []  # adjacent decoded words not yet charset-decoded
    pos = 0

    def flush() -> None:
        while pending:
            charset = pending[0][0]
            data = b""
            while pending and pending[0][0] == charset:
                data += pending.pop(0)[1]
            out.append(data.decode(charset, "replace"))

    for m in _WORD.finditer(value):
        between = value[pos : m.start()]
        charset, encoding, text = m.group(1).lower(), m.group(2), m.group(3)
        data = _decode_word(encoding, text) if _charset_ok(charset) else None
        if data is None:  # broken or unknown: keep the word as written
            flush()
            out.append(between + m.group())
            pos = m.end()
            continue
        # RFC 2047 §6.2: white space between adjacent encoded words is dropped
        if not (pending and _ONLY_SPACE.fullmatch(between)):
            flush()
            out.append(between)
        pending.append((charset, data))
        pos = m.end()
    flush()
    out.append(value[pos:])
    return "".join(out)
