"""Delivery status notifications: the bounce and the delay notice (RFC 3464).

A DSN is a ``multipart/report; report-type=delivery-status`` message (RFC
6522) with three parts: a human explanation, the machine-readable
``message/delivery-status`` (one per-message block, one block per
recipient), and the original message's header (``text/rfc822-headers``), so
the sender can tell which message it was without us echoing a whole body back.

Rules (RFC 5321 §4.5.5, §6.1; RFC 3464 §2): the DSN goes to the envelope
sender with a null reverse-path (``MAIL FROM:<>``) so that it can never
cause another bounce, and a message that itself had a null sender is never
bounced (:func:`should_notify`). It is delivered through our own queue like
any other message.
"""

from __future__ import annotations

import secrets
import textwrap
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Literal

Action = Literal["failed", "delayed"]
#: bytes of the original header block copied into the report, at most
MAX_HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class RecipientReport:
    """One recipient's block in ``message/delivery-status`` (RFC 3464 §2.3)."""

    recipient: str
    status: str  #: enhanced status code, e.g. "5.1.1" (RFC 3464 §2.3.4)
    diagnostic: str = ""  #: the remote reply, "550 5.1.1 no such user"
    remote_mta: str = ""  #: the host that answered, if any
    last_attempt: float | None = None


def should_notify(sender: str) -> bool:
    """RFC 5321 §6.1 / RFC 3464 §2: never send a DSN about a message with a null sender."""
    return bool(sender) and sender != "<>"


def original_headers(message: bytes) -> bytes:
    """The header block of ``message`` (without the blank line), bounded in size."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        end = message.find(sep)
        if end != -1:
            head = message[:end]
            break
    else:
        head = message
    head = head[:MAX_HEADER_BYTES]
    # one line ending convention: CRLF everywhere (RFC 5322 §2.1)
    return b"\r\n".join(head.replace(b"\r\n", b"\n").split(b"\n")) + b"\r\n"


def _header_value(message: bytes, name: str) -> str:
    prefix = name.lower().encode() + b":"
    for line in original_headers(message).split(b"\r\n"):
        if line.lower().startswith(prefix):
            return line[len(prefix) :].decode("utf-8", "replace").strip()
    return ""


def _field(name: str, value: str) -> str:
    """A ``Name: value`` line, folded (RFC 5322 §2.2.3) so no line exceeds 78 octets."""
    value = " ".join(value.split())
    lines = textwrap.wrap(
        f"{name}: {value}",
        76,
        break_long_words=False,
        break_on_hyphens=False,
        subsequent_indent=" ",
    )
    return "\r\n".join(lines or [f"{name}:"])


def _date(when: float) -> str:
    return format_datetime(datetime.fromtimestamp(when, UTC))  # RFC 5322 §3.3, +0000


def _human(
    action: Action,
    reporting_mta: str,
    reports: list[RecipientReport],
    subject: str,
    retry_until: float | None,
) -> str:
    if action == "failed":
        lead = (
            f"This is the mail system at {reporting_mta}.\n\n"
            "Your message could not be delivered to one or more recipients.\n"
            "It has been given up on for them; the reasons are below."
        )
    else:
        until = _date(retry_until) if retry_until else "later"
        lead = (
            f"This is the mail system at {reporting_mta}.\n\n"
            "Your message has not been delivered yet to the recipients below.\n"
            f"There is nothing you need to do: it will be tried again until {until}."
        )
    lines = [lead, ""]
    if subject:
        lines += [f"Subject of your message: {subject}", ""]
    for r in reports:
        lines.append(f"<{r.recipient}>: {r.diagnostic or r.status}")
        if r.remote_mta:
            lines.append(f"    (answered by {r.remote_mta})")
    return "\n".join(lines).replace("\n", "\r\n") + "\r\n"


def _status_part(
    reporting_mta: str,
    queue_id: str,
    arrival: float,
    action: Action,
    reports: list[RecipientReport],
    retry_until: float | None,
) -> str:
    # RFC 3464 §2.2: per-message fields, then one block per recipient (§2.3)
    blocks = [
        "\r\n".join(
            [
                _field("Reporting-MTA", f"dns; {reporting_mta}"),
                _field("X-Mailtool-Queue-ID", queue_id),
                _field("Arrival-Date", _date(arrival)),
            ]
        )
    ]
    for r in reports:
        fields = [
            _field("Final-Recipient", f"rfc822; {r.recipient}"),
            _field("Action", action),
            _field("Status", r.status),
        ]
        if r.remote_mta:
            fields.append(_field("Remote-MTA", f"dns; {r.remote_mta}"))
        if r.diagnostic:
            fields.append(_field("Diagnostic-Code", f"smtp; {r.diagnostic}"))
        if r.last_attempt:
            fields.append(_field("Last-Attempt-Date", _date(r.last_attempt)))
        if action == "delayed" and retry_until:
            fields.append(_field("Will-Retry-Until", _date(retry_until)))
        blocks.append("\r\n".join(fields))
    return "\r\n\r\n".join(blocks) + "\r\n"


def build_dsn(
    *,
    reporting_mta: str,
    queue_id: str,
    sender: str,
    original: bytes,
    arrival: float,
    reports: list[RecipientReport],
    action: Action = "failed",
    retry_until: float | None = None,
    now: float | None = None,
    trace_id: str = "",
) -> bytes:
    """The DSN to ``sender`` about ``reports`` for the queued message ``original``.

    ``trace_id`` goes in a ``Received: ... id`` line, the mark the queue runner
    looks for after a crash so that a local copy is not delivered twice.
    """
    now = time.time() if now is None else now
    boundary = f"{queue_id}/{secrets.token_hex(8)}"
    subject = _header_value(original, "Subject")
    title = (
        "Undelivered Mail Returned to Sender"
        if action == "failed"
        else "Delayed Mail (still being retried)"
    )
    trace = [f"Received: by {reporting_mta} (mailtool DSN)", f"\tid {trace_id};", f"\t{_date(now)}"]
    head = "\r\n".join(
        (trace if trace_id else [])
        + [
            f"From: Mail Delivery System <MAILER-DAEMON@{reporting_mta}>",
            f"To: <{sender}>",
            f"Subject: {title}",
            f"Date: {_date(now)}",
            f"Message-ID: <{queue_id}.{action}.{int(now)}@{reporting_mta}>",
            "Auto-Submitted: auto-replied",  # RFC 3834 §5: no auto-reply to this
            "MIME-Version: 1.0",
            "Content-Type: multipart/report; report-type=delivery-status;",
            f'\tboundary="{boundary}"',
            "",
            "This is a MIME-encapsulated delivery status notification.",
        ]
    )
    parts = [
        (
            "text/plain; charset=utf-8",
            "8bit",
            _human(action, reporting_mta, reports, subject, retry_until).encode(),
        ),
        (
            "message/delivery-status",
            "7bit",
            _status_part(reporting_mta, queue_id, arrival, action, reports, retry_until).encode(),
        ),
        ("text/rfc822-headers", "8bit", original_headers(original)),
    ]
    out = [head.encode() + b"\r\n"]
    for ctype, cte, body in parts:
        out.append(
            f"--{boundary}\r\nContent-Type: {ctype}\r\n"
            f"Content-Transfer-Encoding: {cte}\r\n\r\n".encode()
            + body
        )
    out.append(f"--{boundary}--\r\n".encode())
    return b"\r\n".join(out)
