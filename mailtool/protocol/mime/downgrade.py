"""UTF-8 header text for clients that did not ENABLE UTF8=ACCEPT (issue 16 class 11).

RFC 6855 §6 (RFC 9755 §6): a server must not send UTF-8 in message headers to a
client that has not enabled UTF8=ACCEPT; it may downgrade the message as RFC 6857
describes. What FETCH derives from headers is downgraded here:

- ENVELOPE and BODYSTRUCTURE strings (subject, display names, parameter values...)
  with non-ASCII text become RFC 2047 encoded words (``=?utf-8?b?...?=``, each at
  most 75 characters, RFC 2047 §2);
- header sections (``BODY[HEADER]``, ``HEADER.FIELDS``, ``MIME``, ``RFC822.HEADER``):
  each field holding 8-bit text is rewritten. Address fields keep their addresses,
  with display names as encoded words; an address whose mailbox or domain is not
  ASCII becomes an empty group named by an encoded word (RFC 6857 §3.1.3). Other
  fields become encoded words whole (RFC 6857 §3.1.5 unstructured fields).

A message body (``BODY[]``, ``BODY[TEXT]``) is sent as stored: rewriting it would
break RFC822.SIZE and the BODYSTRUCTURE offsets the client has.

Text that is not valid UTF-8 (legacy 8-bit headers) is labelled ``unknown-8bit``
(RFC 1428), the charset that says so.
"""

from __future__ import annotations

import base64
import re

from mailtool.protocol.mime.address import parse_addresses

#: RFC 2047 §2: an encoded word is at most 75 characters
MAX_WORD = 75
#: address fields rewritten address by address (RFC 5322 §3.6.2-3, §3.6.6)
ADDRESS_FIELDS = frozenset(
    b"from sender reply-to to cc bcc resent-from resent-sender resent-to resent-cc "
    b"resent-bcc".split()
)
_FIELD = re.compile(rb"([^:\r\n]+):[ \t]*(.*?)(\r?\n)?\Z", re.S)
_FOLD = re.compile(rb"\r?\n(?=[ \t])")
_ATOM = re.compile(rb"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ .-]*")


def encode_words(data: bytes) -> str:
    """``data`` as RFC 2047 B encoded words separated by spaces (UTF-8 characters
    never split between two words)."""
    try:
        text = data.decode("utf-8")
        charset = "utf-8"
    except UnicodeDecodeError:
        text, charset = data.decode("latin-1"), "unknown-8bit"
    prefix = f"=?{charset}?b?"
    room = (MAX_WORD - len(prefix) - 2) // 4 * 3  # raw bytes per word
    words: list[str] = []
    chunk = b""
    for ch in text:
        b = ch.encode("utf-8" if charset == "utf-8" else "latin-1")
        if chunk and len(chunk) + len(b) > room:
            words.append(prefix + base64.b64encode(chunk).decode() + "?=")
            chunk = b""
        chunk += b
    if chunk or not words:
        words.append(prefix + base64.b64encode(chunk).decode() + "?=")
    return " ".join(words)


def downgrade_value(value: object) -> object:
    """An ENVELOPE / BODYSTRUCTURE value with every non-ASCII string made encoded words."""
    if isinstance(value, list):
        return [downgrade_value(v) for v in value]
    if isinstance(value, str) and not value.isascii():
        return encode_words(value.encode("utf-8", "surrogateescape"))
    if isinstance(value, bytes) and not value.isascii():
        return encode_words(value)
    return value


def downgrade_header(data: bytes) -> bytes:
    """A header block (or some of its fields) with each 8-bit field rewritten."""
    if data.isascii():
        return data
    out: list[bytes] = []
    for field in _fields(data):
        out.append(field if field.isascii() else _downgrade_field(field))
    return b"".join(out)


def _fields(data: bytes) -> list[bytes]:
    """Split into fields (a field with its continuation lines); a blank line stays."""
    lines = data.splitlines(keepends=True)
    fields: list[bytes] = []
    for line in lines:
        if fields and line[:1] in (b" ", b"\t") and fields[-1].strip():
            fields[-1] += line
        else:
            fields.append(line)
    return fields


def _downgrade_field(field: bytes) -> bytes:
    m = _FIELD.match(field)
    if m is None:  # not a field (a stray line): its text as one encoded word
        return encode_words(field.rstrip(b"\r\n")).encode() + b"\r\n"
    name, value = m.group(1), _FOLD.sub(b"", m.group(2)).rstrip(b"\r\n")
    if name.strip().lower() in ADDRESS_FIELDS:
        text = _addresses(value)
    else:
        text = encode_words(value.strip())
    # RFC 5322 §2.1.1: lines of at most 998 (and should be 78) characters: fold
    # between encoded words (RFC 2047 §2: the folding whitespace between them is not text)
    text = text.replace("?= =?", "?=\r\n =?")
    return name + b": " + text.encode("ascii") + b"\r\n"


def _addresses(value: bytes) -> str:
    """An address list with display names encoded (RFC 6857 §3.1.2-3)."""
    out: list[str] = []
    group: list[str] | None = None
    group_name = ""
    for name, _route, mailbox, host in parse_addresses(value):
        if mailbox is not None and host is None:  # a group starts: (NIL NIL name NIL)
            group, group_name = [], _phrase(mailbox)
            continue
        if mailbox is None and host is None:  # the group ends
            if group is not None:
                out.append(f"{group_name}: {', '.join(group)};")
            group = None
            continue
        addr = (mailbox or b"") + b"@" + (host or b"")
        if not addr.isascii():  # RFC 6857 §3.1.3: an empty group named by the address
            text = f"{encode_words((name + b' ' if name else b'') + b'<' + addr + b'>')}:;"
        elif name:
            text = f"{_phrase(name)} <{addr.decode()}>"
        else:
            text = addr.decode()
        (group if group is not None and addr.isascii() else out).append(text)
    return ", ".join(out)


def _phrase(data: bytes) -> str:
    if not data.isascii():
        return encode_words(data)
    if _ATOM.fullmatch(data):
        return data.decode()
    return '"' + data.decode().replace("\\", "\\\\").replace('"', '\\"') + '"'


__all__ = ["ADDRESS_FIELDS", "downgrade_header", "downgrade_value", "encode_words"]
