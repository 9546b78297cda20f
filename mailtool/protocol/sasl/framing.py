"""Base64 framing of SASL messages, the same in SMTP AUTH (RFC 4954 §4), IMAP
AUTHENTICATE (RFC 9051 §6.2.2, RFC 4959 SASL-IR) and POP3 AUTH (RFC 5034 §4).

* an initial response of ``=`` is an empty response (not an absent one);
* a response line of ``*`` cancels the exchange;
* anything that is not strict base64 is an error, never silently repaired.
"""

from __future__ import annotations

import base64
import binascii

from .base import SaslCancelled, SaslMalformed

#: RFC 4954 §4: a SASL line (base64) is at most 12288 octets
MAX_SASL_LINE = 12288


def _b64decode(text: bytes) -> bytes:
    if len(text) > MAX_SASL_LINE:
        raise SaslMalformed(f"SASL line longer than {MAX_SASL_LINE} octets")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SaslMalformed("invalid base64") from None


def _as_bytes(text: str | bytes) -> bytes:
    if isinstance(text, str):
        if not text.isascii():
            raise SaslMalformed("invalid base64")
        return text.encode("ascii")
    return text


def decode_initial_response(text: str | bytes | None) -> bytes | None:
    """The initial response argument of AUTH: None when absent, b"" for ``=``."""
    if text is None:
        return None
    raw = _as_bytes(text).strip(b" ")
    if raw == b"=":
        return b""
    if raw == b"*":  # RFC 4954 has no cancel here, but it cannot be base64 either
        raise SaslCancelled("authentication cancelled")
    if not raw:
        raise SaslMalformed("empty initial response (use '=')")
    return _b64decode(raw)


def decode_response(line: str | bytes) -> bytes:
    """A client's response line to a challenge: ``*`` cancels, empty is b""."""
    raw = _as_bytes(line).removesuffix(b"\n").removesuffix(b"\r")
    if raw == b"*":
        raise SaslCancelled("authentication cancelled")
    return _b64decode(raw)


def encode_challenge(data: bytes) -> bytes:
    """A server challenge as it goes after ``334 `` / ``+ ``: base64, empty for b""."""
    return base64.b64encode(data)


def encode_response(data: bytes, *, initial: bool = False) -> bytes:
    """Client side: a response for the wire; an empty *initial* response is ``=``."""
    if initial and not data:
        return b"="
    return base64.b64encode(data)


def decode_challenge(text: str | bytes) -> bytes:
    """Client side: a server challenge from the wire."""
    return _b64decode(_as_bytes(text).strip())


CANCEL = b"*"
