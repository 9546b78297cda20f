"""The header fields of a raw message, as bytes, without re-serialising anything
(a DKIM signature covers the exact bytes; :mod:`email` would change them)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import getaddresses

from mailtool.protocol.authrecords import parse_tags

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FIELD_NAME = re.compile(rb"^[!-9;-~]+$")  # RFC 5322 §3.6.8 ftext


@dataclass(frozen=True)
class Field:
    """One header field: lower-case name, the value (unfolded, stripped) and its
    byte span in the message (continuation lines included)."""

    name: str
    value: str
    start: int
    end: int


def header_end(message: bytes) -> int:
    """Offset of the empty line that ends the header section (len when there is none)."""
    if message.startswith((b"\r\n", b"\n")):
        return 0
    m = _HEADER_END.search(message)
    return m.start() + (2 if message[m.start() : m.start() + 2] == b"\r\n" else 1) if m else len(
        message
    )


def fields(message: bytes) -> list[Field]:
    """The header fields in order. Lines that are not ``name:`` fields are skipped."""
    out: list[Field] = []
    end = header_end(message)
    pos = 0
    while pos < end:
        nl = message.find(b"\n", pos, end)
        stop = end if nl < 0 else nl + 1
        while stop < end and message[stop : stop + 1] in (b" ", b"\t"):  # folded
            nl = message.find(b"\n", stop, end)
            stop = end if nl < 0 else nl + 1
        raw = message[pos:stop]
        name, sep, value = raw.partition(b":")
        if sep and _FIELD_NAME.match(name):
            text = value.decode("utf-8", "replace")
            out.append(Field(name.decode("ascii").lower(), " ".join(text.split()), pos, stop))
        pos = stop
    return out


def values(message: bytes, name: str) -> list[str]:
    return [f.value for f in fields(message) if f.name == name]


def from_domains(message: bytes) -> list[str]:
    """The domains of the RFC 5322.From addresses (RFC 7489 §6.6.1: the author domain)."""
    out = []
    for value in values(message, "from"):
        for _name, address in getaddresses([value]):
            domain = address.rpartition("@")[2].strip().lower().rstrip(".")
            if "@" in address and domain:
                out.append(domain)
    return out


def signature_keys(message: bytes, names: tuple[str, ...]) -> set[str]:
    """``s._domainkey.d`` for each signature field named in ``names`` (DKIM-Signature,
    ARC-Seal, ARC-Message-Signature): the key records a verifier will ask for."""
    wanted = set()
    for f in fields(message):
        if f.name in names:
            tags = parse_tags(f.value)
            s, d = tags.get("s", "").replace(" ", ""), tags.get("d", "").replace(" ", "")
            if s and d:
                wanted.add(f"{s}._domainkey.{d}".lower())
    return wanted


def remove(message: bytes, drop: list[Field]) -> bytes:
    """``message`` without the given fields (their continuation lines too)."""
    out, pos = [], 0
    for f in sorted(drop, key=lambda f: f.start):
        out.append(message[pos : f.start])
        pos = f.end
    out.append(message[pos:])
    return b"".join(out)
