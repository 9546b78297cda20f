"""Bare LF -> CRLF over a stream of chunks, as :func:`mailtool.protocol.mime.to_crlf`
does over a whole message (RFC 9051 §2.2: IMAP sends and counts CRLF lines).

A message file read in chunks for FETCH, or an APPEND literal spooled as it
arrives, is never whole in memory; a CR ending one chunk and the LF starting
the next are one line end, not a CR and a bare LF.
"""

from __future__ import annotations

import re

_BARE_LF = re.compile(rb"(?<!\r)\n")


class CrlfStream:
    """Feed chunks, get them back with bare LFs made CRLF; ``nul`` replaces NUL
    bytes with 0x80 as BODY[] does (RFC 9051 §4.3: a literal is CHAR8)."""

    def __init__(self, *, nul: bool = False) -> None:
        self.nul = nul
        self._after_cr = False
        #: bytes returned so far
        self.size = 0
        #: whether a NUL went through (BINARY[] then needs a literal8, RFC 3516 §4.2)
        self.had_nul = False

    def feed(self, chunk: bytes) -> bytes:
        if not chunk:
            return b""
        if b"\x00" in chunk:
            self.had_nul = True
            if self.nul:
                chunk = chunk.replace(b"\x00", b"\x80")
        if self._after_cr and chunk[:1] == b"\n":
            out = b"\n" + _convert(chunk[1:])
        else:
            out = _convert(chunk)
        self._after_cr = chunk[-1:] == b"\r"
        self.size += len(out)
        return out


def _convert(chunk: bytes) -> bytes:
    # two C scans decide whether the regex pass is needed at all
    if chunk.count(b"\n") == chunk.count(b"\r\n"):
        return chunk
    return _BARE_LF.sub(b"\r\n", chunk)


__all__ = ["CrlfStream"]
