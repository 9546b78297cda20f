"""Trace and submission headers: ``Received:``, the loop count, ``Message-ID``/``Date``.

All of it works on the raw bytes of the message: we never re-serialise a
message through ``email`` (that would change bytes a DKIM signature covers);
headers are only ever *prepended*, or appended at the end of the header
section for the submission fix-ups.
"""

from __future__ import annotations

import re
import secrets
import time
from email.utils import formatdate

#: RFC 5321 §6.3: a loop is detected by counting Received headers; 50 is
#: far above any real path (Postfix's hopcount_limit is 50 as well)
MAX_RECEIVED = 50

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_RECEIVED = re.compile(rb"^received[ \t]*:", re.IGNORECASE | re.MULTILINE)
_MESSAGE_ID = re.compile(rb"^message-id[ \t]*:", re.IGNORECASE | re.MULTILINE)
_DATE = re.compile(rb"^date[ \t]*:", re.IGNORECASE | re.MULTILINE)


def header_section(message: bytes) -> bytes:
    """The header block, up to (without) the empty line; all of it if there is no body."""
    if message.startswith((b"\r\n", b"\n")):
        return b""  # an empty header section
    m = _HEADER_END.search(message)
    return message[: m.start() + 1] if m else message


def count_received(message: bytes) -> int:
    """How many ``Received:`` fields the header section holds."""
    return len(_RECEIVED.findall(header_section(message)))


def protocol_keyword(*, esmtp: bool, tls: bool, authenticated: bool, smtputf8: bool) -> str:
    """The ``with`` keyword, RFC 3848 (ESMTPS, ESMTPSA, ...) and RFC 6531 §3.7.3 (UTF8)."""
    if not esmtp:
        return "SMTP"
    word = ("UTF8SMTP" if smtputf8 else "ESMTP") + ("S" if tls else "") + (
        "A" if authenticated else ""
    )
    return word


def received_header(
    *,
    helo: str,
    peer_ip: str,
    by: str,
    with_: str,
    queue_id: str,
    recipient: str | None = None,
    tls: str | None = None,
    when: float | None = None,
) -> bytes:
    """One ``Received:`` field, folded, CRLF-terminated (RFC 5321 §4.4).

    ``recipient`` goes in ``for`` only when the message has exactly one (a
    list would disclose Bcc recipients); ``tls`` is e.g. ``"TLSv1.3
    TLS_AES_256_GCM_SHA384"`` and goes in a comment.
    """
    helo = _clean(helo) or "unknown"
    literal = f"IPv6:{peer_ip}" if ":" in peer_ip else peer_ip
    lines = [f"Received: from {helo} ([{literal}])", f"\tby {_clean(by)} with {with_}"]
    if tls:
        lines[-1] += f" ({_clean(tls)})"
    lines.append(f"\tid {queue_id}")
    if recipient:
        lines[-1] += f" for <{_clean(recipient)}>"
    lines[-1] += ";"
    lines.append(f"\t{header_date(when)}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


_last_date: tuple[int, str] = (-1, "")


def header_date(when: float | None = None) -> str:
    """RFC 5322 §3.3 date-time in local time; made once per second (one per message
    cost a noticeable share of a busy server's time)."""
    global _last_date
    second = int(time.time() if when is None else when)
    cached, text = _last_date
    if second != cached:
        text = formatdate(second, localtime=True)
        _last_date = (second, text)
    return text


def _clean(text: str) -> str:
    """No CR, LF, parentheses or other controls from a peer's words in our header."""
    return "".join(c for c in text if c.isprintable() and c not in "()\\")[:200]


def add_submission_headers(message: bytes, hostname: str, *, when: float | None = None) -> bytes:
    """Append ``Date`` and ``Message-ID`` at the end of the header section when missing.

    RFC 6409 §8.2 / §8.3: a submission server may add them; RFC 5322 §3.6
    requires Date and recommends Message-ID, and many receivers score mail
    without them as spam.
    """
    head = header_section(message)
    extra = b""
    if not _DATE.search(head):
        extra += b"Date: " + formatdate(when, localtime=True).encode() + b"\r\n"
    if not _MESSAGE_ID.search(head):
        extra += f"Message-ID: <{secrets.token_hex(12)}@{hostname}>\r\n".encode()
    if not extra:
        return message
    if not head:
        return extra + message
    m = _HEADER_END.search(message)
    if m is None:  # headers only, or no headers at all
        if message and not message.endswith(b"\n"):
            return message + b"\r\n" + extra
        return message + extra
    cut = m.start() + (2 if message[m.start() : m.start() + 2] == b"\r\n" else 1)
    return message[:cut] + extra + message[cut:]
