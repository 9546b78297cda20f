"""Local delivery: one queued message into one local mailbox, through Sieve.

The MTA resolved aliases at RCPT time, so ``recipient`` here is a mailbox the
account store knows. Delivery adds the two headers a final delivery owes the
reader (RFC 5321 §4.4: ``Return-Path`` with the envelope sender; Postfix and
Dovecot's ``Delivered-To`` with the mailbox, which also breaks forwarding
loops), then writes through the store — Maildir file tmp -> fsync -> rename
into ``new/`` -> fsync the directory, and the index entry — so IMAP and POP3
see it.

With ``scripts`` (the server's SieveScripts) the global and the user's
Sieve scripts decide the folders (:func:`~mailtool.mda.filtering.deliver_filtered`);
a Sieve ``reject`` is a PermanentFailure ``550 5.7.1`` (the queue bounces it,
RFC 5429 §2.1), and redirects and vacation replies come back in
:class:`Delivered` for the queue to send.

Failures are classified for the queue: anything that may go away (disk full,
quota, a locked index) is :class:`~mailtool.errors.TemporaryFailure` and the
message stays queued for a retry; a mailbox that no longer exists is
:class:`~mailtool.errors.PermanentFailure` (a bounce, later).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Any, Protocol

from mailtool.errors import (
    NotFound,
    PermanentFailure,
    QuotaExceeded,
    StoreError,
    StoreUnavailable,
    TemporaryFailure,
)
from mailtool.mda.filtering import Filed, deliver_filtered
from mailtool.mda.sieve import Limits, Vacation

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
    uid: int  #: of the first copy filed (0: none, e.g. a discard or redirect only)
    placed: tuple[tuple[str, int], ...] = ()  #: (folder, uid) of every copy filed
    redirects: tuple[str, ...] = ()  #: queue :func:`redirect_copy` to each, same sender
    vacations: tuple[Vacation, ...] = ()  #: queue each from its own (null) sender
    #: (target, message) for redirects of a message Sieve's editheader changed: send that
    redirect_messages: tuple[tuple[str, bytes], ...] = ()


def _clean(value: str) -> str:
    return "".join(c for c in value if c.isprintable() and c not in "<>")


def trace_headers(sender: str, recipient: str) -> bytes:
    """``Return-Path`` (RFC 5321 §4.4, ``<>`` for bounces) and ``Delivered-To``."""
    return (f"Return-Path: <{_clean(sender)}>\r\nDelivered-To: {_clean(recipient)}\r\n").encode()


def redirect_copy(message: bytes, recipient: str) -> bytes:
    """What a Sieve redirect sends on: the queued message with ``Delivered-To`` on top,
    so a redirect back to ``recipient`` is recognised as a loop."""
    return f"Delivered-To: {_clean(recipient)}\r\n".encode() + message


def deliver(
    mail: MailDelivery,
    message: bytes,
    *,
    sender: str,
    recipient: str,
    scripts: Any = None,
    limits: Limits | None = None,
) -> Delivered:
    """Deliver ``message`` (as queued, CRLF line ends) to ``recipient``.

    Without ``scripts`` into the INBOX; with them where Sieve files it.
    Raises :class:`TemporaryFailure` (retry later) or :class:`PermanentFailure`.
    """
    data = trace_headers(sender, recipient) + message
    try:
        if scripts is None:
            filed = Filed([(INBOX, mail.user(recipient).deliver(data, INBOX))], [], [], [])
        else:
            filed = deliver_filtered(
                mail, scripts, data, sender=sender, recipient=recipient, limits=limits
            )
    except QuotaExceeded as exc:
        # RFC 3463 X.2.2 mailbox full: transient, the user may make room
        raise TemporaryFailure(f"{recipient}: {exc}", code=452, enhanced="4.2.2") from exc
    except NotFound as exc:
        raise PermanentFailure(f"{recipient}: {exc}", code=550, enhanced="5.1.1") from exc
    except StoreUnavailable:
        raise  # the shared database, not this mailbox: the caller retries in a moment
    except StoreError as exc:
        raise TemporaryFailure(f"{recipient}: {exc}", code=451, enhanced="4.3.0") from exc
    except OSError as exc:
        enhanced = "4.3.1" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "4.3.0"
        raise TemporaryFailure(
            f"{recipient}: {exc.strerror or exc}",
            code=452 if enhanced == "4.3.1" else 451,
            enhanced=enhanced,
        ) from exc
    uid = filed.placed[0][1] if filed.placed else 0
    return Delivered(recipient, len(data), uid, tuple(filed.placed), tuple(filed.redirects),
                     tuple(filed.vacations), tuple(filed.redirect_messages.items()))  # fmt: skip
