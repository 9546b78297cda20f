"""Who may send mail to whom through us: the no-open-relay rule, in one place.

The decision for one ``RCPT TO`` is a pure function of the parsed path (from
:mod:`mailtool.protocol.smtp`, which never interprets ``%``, ``!`` or a quoted
``@``), whether the client authenticated, and the account store. Keeping it
here, away from the session, lets the classic relay tricks be tested as a
table and not only over the wire.

Rules (DESIGN principle 3, "no open relay"):

* a local part holding ``%``, ``!`` or ``@`` (``user%other@local``,
  ``"user@other"@local``, ``other!user@local``) is refused for every client:
  those are old source-routing conventions and an MTA that honours one, or
  forwards the address to one that does, is an open relay;
* a source route (``<@local:user@other>``) has already been dropped by the
  parser (RFC 5321 §4.1.1.3 / Appendix C), so the real recipient is judged;
* domains are compared case-insensitively (RFC 5321 §2.4); a trailing dot is
  not valid path syntax and never reaches this module;
* a local domain: the store resolves aliases, catch-alls and ``+tag`` to the
  mailboxes; nothing found is ``550 5.1.1``;
* any other domain, or an address literal: relayed (queued for delivery out)
  only for an authenticated client, otherwise ``554 5.7.1``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from mailtool.errors import NotFound, QuotaExceeded, StoreError
from mailtool.protocol.smtp import Address, Reply, codes


class AccountLookup(Protocol):
    """The part of the account store the policy needs."""

    def resolve(self, address: str) -> list[str] | None:
        """Local mailbox addresses for ``address``; ``[]`` unknown local; None non-local."""
        ...


@dataclass(frozen=True)
class RcptDecision:
    """What to answer one RCPT, and where the message goes if it is accepted."""

    reply: Reply
    #: local mailboxes the recipient resolved to (aliases expanded, at RCPT time)
    mailboxes: tuple[str, ...] = ()
    #: the recipient as a remote address to relay to (authenticated clients only)
    remote: str | None = None
    #: short reason for the transaction log line
    reason: str = field(default="", compare=False)

    @property
    def accepted(self) -> bool:
        return self.reply.is_positive


RCPT_OK = Reply(codes.C250_OK, ("recipient ok",), codes.ES_RECIPIENT_OK)


def relay_denied(why: str = "relay access denied") -> Reply:
    # RFC 3463 §3.8 X.7.1: delivery not authorized, message refused
    return Reply(codes.C554_TRANSACTION_FAILED, (why,), codes.ES_RELAY_DENIED)


UNKNOWN_USER = Reply(
    codes.C550_MAILBOX_UNAVAILABLE, ("no such user here",), codes.ES_UNKNOWN_USER
)


def lookup_key(address: Address) -> str:
    """The text the account store resolves: unquoted local part, lower-case domain."""
    return f"{address.unquoted_local_part}@{address.domain.lower()}"


def decide_recipient(
    address: Address,
    *,
    authenticated: bool,
    accounts: AccountLookup,
    postmaster: str | tuple[str, ...],
) -> RcptDecision:
    """Judge one forward-path. ``postmaster``: the address(es) ``<Postmaster>`` (no
    domain, RFC 5321 §4.1.1.3) stands for, tried in order."""
    if address.has_route_chars:
        # never interpret %, ! or a quoted @ (see the module docstring)
        return RcptDecision(
            relay_denied("relay access denied: %, ! and @ are not allowed in a local part"),
            reason="route characters",
        )
    if not address.domain:  # <Postmaster>, which every SMTP server must accept
        candidates = (postmaster,) if isinstance(postmaster, str) else postmaster
        found = next((f for c in candidates if (f := accounts.resolve(c))), None)
        if not found:
            return RcptDecision(UNKNOWN_USER, reason="no postmaster")
        return RcptDecision(RCPT_OK, mailboxes=tuple(found), reason="postmaster")
    # we are never the destination of [1.2.3.4]: an address literal is relayed or denied
    found = None if address.is_domain_literal else accounts.resolve(lookup_key(address))
    if found is None:
        if authenticated:
            return RcptDecision(RCPT_OK, remote=str(address), reason="relay (authenticated)")
        return RcptDecision(relay_denied(), reason="relay denied")
    if not found:
        return RcptDecision(UNKNOWN_USER, reason="unknown user")
    return RcptDecision(RCPT_OK, mailboxes=tuple(dict.fromkeys(found)), reason="local")


class AddressBook(Protocol):
    """The part of the account store the submission sender check needs."""

    def addresses_of(self, user: str) -> list[str]:
        """Every address (own and aliases) that ``user`` may send as."""
        ...


def sender_allowed(sender: Address | None, user: str, accounts: AddressBook) -> bool:
    """Submission: MAIL FROM must be one of the authenticated user's own addresses.

    RFC 6409 §6.1 lets a submission server check the sender; we must (DESIGN
    principle 3), else any user could forge any other's address. The null
    sender is refused too: users do not send bounces.
    """
    if sender is None or sender.has_route_chars or sender.is_domain_literal:
        return False
    wanted = lookup_key(sender).lower()
    return any(a.lower() == wanted for a in accounts.addresses_of(user))


def over_quota(mailboxes: Iterable[str], accounts: Any, mail: Any, size: int = 0) -> Reply | None:
    """``552 5.2.2`` when every mailbox of one RCPT is full (RFC 3463 §3.3 X.2.2).

    Cheap for the common case: a user without a quota costs one account
    lookup and no mail store access. ``size`` is the client's SIZE= (RFC 1870),
    0 when not declared, so a mailbox is refused only once it is full. A
    mailbox that fills up later, or one member of a list, is the queue's
    (kept and retried, bounced after the queue's lifetime).
    """
    full: list[str] = []
    boxes = list(mailboxes)
    for box in boxes:
        try:
            quota = accounts.get_user(box).quota
            if quota.messages is None and quota.storage_bytes is None:
                return None
            mail.user(box).check_quota(1, size)
        except QuotaExceeded:
            full.append(box)
            continue
        except (NotFound, StoreError, AttributeError):
            return None  # no quota to judge by (e.g. no Maildir yet): the queue decides
        return None
    if not full:
        return None
    text = f"{full[0]}: mailbox full" if len(full) == 1 else "mailboxes full"
    return Reply(codes.C552_STORAGE_EXCEEDED, (text,), "5.2.2")
