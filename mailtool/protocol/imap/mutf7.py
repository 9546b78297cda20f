"""Modified UTF-7 mailbox names (RFC 3501 §5.1.3), both ways.

Printable US-ASCII except ``&`` stands for itself; ``&`` is ``&-``; other
characters are UTF-16BE encoded in modified BASE64 (``,`` instead of ``/``, no
padding) between ``&`` and ``-``.  Under UTF8=ACCEPT (RFC 6855 §3) names go as
plain UTF-8 instead and these functions are not used.
"""

from __future__ import annotations

import base64
import re

from mailtool.protocol.imap.errors import ParseError

_RUN = re.compile(r"[^\x20-\x7e]+")
_ENCODE = re.compile(r"&|[^\x20-\x7e]+")
_DECODE = re.compile(r"&([A-Za-z0-9+,]*)-")


def encode_mutf7(name: str) -> str:
    """Unicode mailbox name -> modified UTF-7."""

    def run(m: re.Match[str]) -> str:
        if m.group(0) == "&":
            return "&-"
        utf16 = m.group(0).encode("utf-16-be", "surrogatepass")
        return "&" + base64.b64encode(utf16).decode("ascii").rstrip("=").replace("/", ",") + "-"

    return _ENCODE.sub(run, name)


def decode_mutf7(name: str | bytes) -> str:
    """Modified UTF-7 -> Unicode; raises :class:`ParseError` (BAD) on invalid input."""
    if isinstance(name, bytes):
        try:
            name = name.decode("ascii")
        except UnicodeDecodeError:
            raise ParseError("8-bit mailbox name without UTF8=ACCEPT") from None
    if _RUN.search(name):
        raise ParseError("mailbox name has characters modified UTF-7 does not allow")
    out: list[str] = []
    pos = 0
    while True:
        amp = name.find("&", pos)
        if amp < 0:
            out.append(name[pos:])
            return "".join(out)
        out.append(name[pos:amp])
        m = _DECODE.match(name, amp)
        if not m:
            raise ParseError("unterminated modified UTF-7 run in mailbox name")
        out.append(_decode_run(m.group(1)))
        pos = m.end()


def _decode_run(b64: str) -> str:
    if not b64:
        return "&"
    if len(b64) % 4 == 1:
        raise ParseError("bad modified UTF-7 length")
    raw = base64.b64decode(b64.replace(",", "/") + "=" * (-len(b64) % 4))
    if len(raw) % 2:
        raise ParseError("odd UTF-16 length in modified UTF-7")
    try:
        text = raw.decode("utf-16-be")
    except UnicodeDecodeError:
        raise ParseError("bad UTF-16 in modified UTF-7") from None
    # RFC 3501 §5.1.3: printable ASCII must not be encoded (keeps names canonical)
    if any(0x20 <= ord(c) <= 0x7E for c in text):
        raise ParseError("modified UTF-7 encodes printable ASCII")
    return text


__all__ = ["decode_mutf7", "encode_mutf7"]
