"""Bounce (redirect, mutt's ``b``): send a received message on, unchanged, to others.

RFC 5322 §3.6.6: the original is re-introduced into the transport with a
block of Resent-* fields added at the top (Resent-Date and Resent-From are
required, Resent-To and Resent-Message-ID added here), and nothing else of it
changes: no new From, no quoting, no new body. The envelope sender is the
user's (they are the one resending); the envelope recipients are the new
addresses only, never the original To/Cc.
"""

from __future__ import annotations

import email.utils
import re

from mailtool.client.account import Account
from mailtool.client.smtp import Submitted, submit
from mailtool.errors import PermanentFailure

#: at most this many new recipients in one bounce
MAX_RECIPIENTS = 50


def addresses(text: str) -> list[str]:
    """The addr-specs of a typed "a@x, Name <b@y>" line; an entry without a domain is an error."""
    found = [a for _n, a in email.utils.getaddresses([text]) if a]
    bad = [a for a in found if "@" not in a or a.startswith("@") or a.endswith("@")]
    if not found or bad:
        raise PermanentFailure(f"not an address: {', '.join(bad) or text!r}", code=501,
                               enhanced="5.1.3")
    if len(found) > MAX_RECIPIENTS:
        raise PermanentFailure(f"at most {MAX_RECIPIENTS} recipients", code=452,
                               enhanced="4.5.3")
    return found


def resent(raw: bytes, resent_from: str, to: list[str], *, domain: str | None = None,
           date: str | None = None, message_id: str | None = None) -> bytes:
    """``raw`` with a Resent-* block prepended (RFC 5322 §3.6.6), byte for byte otherwise."""
    eol = b"\r\n" if b"\r\n" in raw[:4096] else b"\n"
    block = [
        f"Resent-From: {resent_from}",
        f"Resent-Date: {date or email.utils.formatdate(localtime=True)}",
        f"Resent-To: {', '.join(to)}",
        f"Resent-Message-ID: {message_id or email.utils.make_msgid(domain=domain)}",
    ]
    # RFC 5322 §2.2: no bare CR/LF inside a field; a typed address cannot add one
    for line in block:
        if re.search(r"[\r\n]", line):
            raise PermanentFailure("a header line may not contain a line break", code=501,
                                   enhanced="5.5.2")
    head = eol.join(line.encode("utf-8") for line in block) + eol
    if raw.startswith(b"From ") and eol in raw:  # an mbox "From " line stays outside
        first, _sep, rest = raw.partition(eol)
        return first + eol + head + rest
    return head + raw


async def bounce(account: Account, raw: bytes, to: str, *, password: str | None,
                 cafile: str | None = None) -> Submitted:
    """Send ``raw`` unchanged (but for the Resent-* block) to the addresses in ``to``
    through the account's submission server (RFC 6409)."""
    recipients = addresses(to)
    domain = account.email.rpartition("@")[2] or None
    message = resent(raw, account.from_header, recipients, domain=domain)
    return await submit(account.smtp, message, account.email, recipients,
                        username=account.username, password=password, cafile=cafile)
