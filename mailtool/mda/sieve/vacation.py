"""Vacation auto-replies (RFC 5230, with RFC 3834's rules for automatic responses).

:func:`respond` decides whether a ``vacation`` request is answered and builds
the reply. It never answers the null sender, mailing lists, bulk or
auto-submitted mail, list-management addresses, or mail that was not sent to
the user by name (RFC 5230 §4.5-§4.6); and it answers one sender at most once
per ``:days`` for the same handle (§4.2), remembered by a
:class:`VacationMemory` kept under the user's data.
"""

from __future__ import annotations

import hashlib
import re
from email.message import EmailMessage
from email.parser import Parser
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from typing import Protocol

from mailtool.mda.sieve.actions import Vacation, VacationRequest
from mailtool.mda.sieve.message import MessageView

#: RFC 5230 §4.6 / RFC 3834 §2: senders that are list or robot addresses
_ROBOT_LOCALPARTS = re.compile(
    r"^(owner-.*|.*-request|.*-owner|.*-bounces?|mailer-daemon|listserv|majordomo|"
    r"postmaster|noreply|no-reply|do-not-reply|donotreply)$",
    re.IGNORECASE,
)
#: RFC 2369 / RFC 2919: any of these says "a list sent this"
LIST_HEADERS = (
    "List-Id", "List-Help", "List-Unsubscribe", "List-Subscribe", "List-Post",
    "List-Owner", "List-Archive",
)  # fmt: skip
#: headers in which the user's own address must appear (RFC 5230 §4.5)
RECIPIENT_HEADERS = ("To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc")


class VacationMemory(Protocol):
    """Who was answered when: ``should_reply`` records the reply when it says yes."""

    def should_reply(self, sender: str, handle: str, days: int, now: float) -> bool: ...


def is_bulk(message: MessageView) -> bool:
    """List, bulk or junk precedence, or an auto-submitted message (RFC 3834 §2)."""
    if any(message.has_header(h) for h in LIST_HEADERS):
        return True
    precedence = " ".join(message.headers("Precedence")).strip().lower()
    if precedence in ("bulk", "list", "junk"):
        return True
    auto = " ".join(message.headers("Auto-Submitted")).strip().lower()
    return bool(auto) and not auto.startswith("no")


def default_handle(request: VacationRequest) -> str:
    """RFC 5230 §4.2: without :handle, the reason, subject, from and :mime identify it."""
    key = "\0".join([request.reason, request.subject or "", request.from_ or "",
                     str(request.mime)])  # fmt: skip
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def respond(
    request: VacationRequest,
    *,
    sender: str,
    recipient: str,
    message: MessageView,
    user_addresses: list[str],
    memory: VacationMemory | None,
    now: float,
) -> Vacation | None:
    """The reply to queue, or None when RFC 5230 says not to answer."""
    if not sender or "@" not in sender:
        return None  # §4.6: never answer the null sender (bounces)
    if _ROBOT_LOCALPARTS.match(sender.rpartition("@")[0]):
        return None
    if is_bulk(message):
        return None
    mine = {a.lower() for a in (recipient, *user_addresses, *request.addresses) if a}
    if sender.lower() in mine:
        return None  # never answer ourselves
    named = {a.lower() for h in RECIPIENT_HEADERS for a in message.addresses(h)}
    if not named & mine:
        return None  # §4.5: only mail sent to the user by name
    handle = request.handle or default_handle(request)
    if memory is not None and not memory.should_reply(sender.lower(), handle, request.days, now):
        return None
    return Vacation(
        recipient=sender, message=build_reply(request, sender, recipient, message, now),
        sender="", handle=handle, fcc=request.fcc,
    )  # fmt: skip


def build_reply(
    request: VacationRequest, sender: str, recipient: str, original: MessageView, now: float
) -> bytes:
    """RFC 5230 §5: the reply message, CRLF line ends, ready to queue from ``<>``."""
    reply = EmailMessage(policy=SMTP)
    subject = request.subject
    if subject is None:
        original_subject = " ".join(original.headers("Subject")).strip()
        subject = f"Auto: {original_subject}" if original_subject else "Auto: (no subject)"
    reply["From"] = request.from_ or recipient
    reply["To"] = sender
    reply["Subject"] = subject
    reply["Date"] = formatdate(now, localtime=False)
    reply["Message-ID"] = make_msgid(domain=recipient.rpartition("@")[2] or None)
    msgid = " ".join(original.raw_headers("Message-ID")).strip()
    if msgid:
        # §5.8: In-Reply-To and References point at the message answered
        reply["In-Reply-To"] = msgid
        refs = " ".join(original.raw_headers("References")).split()
        reply["References"] = " ".join([*refs[-10:], msgid])
    reply["Auto-Submitted"] = "auto-replied (vacation)"  # RFC 3834 §5, RFC 5230 §5.6
    if not request.mime:
        reply.set_content(request.reason.replace("\r\n", "\n"))
        return reply.as_bytes()
    # :mime — the reason is a MIME entity: its headers and body follow ours
    entity = Parser(policy=SMTP).parsestr(request.reason.replace("\r\n", "\n"))
    reply["MIME-Version"] = "1.0"
    for name, value in entity.items():
        reply[name] = value
    reply.set_payload(entity.get_payload())
    return reply.as_bytes()
