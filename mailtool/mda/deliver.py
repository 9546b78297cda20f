"""Local delivery: one queued message into one local mailbox's INBOX.

The MTA resolved aliases at RCPT time, so ``recipient`` here is a mailbox the
account store knows. Delivery adds the two headers a final delivery owes the
reader (RFC 5321 §4.4: ``Return-Path`` with the envelope sender; Postfix and
Dovecot's ``Delivered-To`` with the mailbox, which also breaks forwarding
loops), then writes through the store — Maildir file tmp -> fsync -> rename
into ``new/`` -> fsync the directory, and the index entry — so IMAP and POP3
see it.

Failures are classified for the queue: anything that may go away (disk full,
quota, a locked index) is :class:`~mailtool.errors.TemporaryFailure` and the
message stays queued for a retry; a mailbox that no longer exists is
:class:`~mailtool.errors.PermanentFailure` (a bounce, later).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Protocol

from mailtool.errors import NotFound, PermanentFailure, QuotaExceeded, StoreError, TemporaryFailure

INBOX = "INBOX"


class UserMailbox(Protocol):
    def deliver(self, message: bytes, folder: str = INBOX) -> int:
        """File ``message`` durably (Maildir + index); returns its UID."""
        ...


class MailDelivery(Protocol):
    """The part of :class:`mailtool.store.mailstore.MailStore` the MDA writes through."""

    def user(self, address: str) -> UserMailbox: ...


@dataclass(frozen=True)
class Delivered:
    recipient: str
    size: int
    uid: int


def _clean(value: str) -> str:
    return "".join(c for c in value if c.isprintable() and c not in "<>")


def trace_headers(sender: str, recipient: str) -> bytes:
    """``Return-Path`` (RFC 5321 §4.4, ``<>`` for bounces) and ``Delivered-To``."""
    return (f"Return-Path: <{_clean(sender)}>\r\nDelivered-To: {_clean(recipient)}\r\n").encode()


def deliver(mail: MailDelivery, message: bytes, *, sender: str, recipient: str) -> Delivered:
    """Deliver ``message`` (as queued, CRLF line ends) to ``recipient``'s INBOX.

    Raises :class:`TemporaryFailure` (retry later) or :class:`PermanentFailure`.
    """
    data = trace_headers(sender, recipient) + message
    try:
        uid = mail.user(recipient).deliver(data, INBOX)
    except QuotaExceeded as exc:
        # RFC 3463 X.2.2 mailbox full: transient, the user may make room
        raise TemporaryFailure(f"{recipient}: {exc}", code=452, enhanced="4.2.2") from exc
    except NotFound as exc:
        raise PermanentFailure(f"{recipient}: {exc}", code=550, enhanced="5.1.1") from exc
    except StoreError as exc:
        raise TemporaryFailure(f"{recipient}: {exc}", code=451, enhanced="4.3.0") from exc
    except OSError as exc:
        enhanced = "4.3.1" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "4.3.0"
        raise TemporaryFailure(
            f"{recipient}: {exc.strerror or exc}",
            code=452 if enhanced == "4.3.1" else 451,
            enhanced=enhanced,
        ) from exc
    return Delivered(recipient, len(data), uid)
