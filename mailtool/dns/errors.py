"""DNS errors: temporary (try again later) versus permanent (the name is not there).

The distinction is what a mail relay needs (RFC 5321 §5.1: a temporary DNS
failure defers, an NXDOMAIN bounces), so each error carries the SMTP reply code
and enhanced status code (RFC 3463) a relay would use::

    DNSError                    (MailtoolError)
    ├── DNSTemporaryError       SERVFAIL, timeout, no resolver answered   451 4.4.3
    └── DNSPermanentError       the domain cannot receive mail             550 5.1.2
        ├── NXDomain            the name does not exist
        └── NullMX              the domain says it accepts no mail (RFC 7505)  556 5.1.10
"""

from __future__ import annotations

from mailtool.errors import MailtoolError


class DNSError(MailtoolError):
    """A DNS lookup failed. ``temporary`` says whether asking again later may help."""

    temporary: bool = True
    code: int = 451
    enhanced: str = "4.4.3"  # RFC 3463 §3.5: directory server failure

    def __init__(self, message: str, *, name: str = "", rdtype: str = "") -> None:
        super().__init__(message)
        self.name = name
        self.rdtype = rdtype


class DNSTemporaryError(DNSError):
    """SERVFAIL, REFUSED, a timeout, or no resolver reachable: try again later."""


class DNSPermanentError(DNSError):
    """The answer is definite and means "no": bounce rather than retry."""

    temporary = False
    code = 550
    enhanced = "5.1.2"  # RFC 3463 §3.2: bad destination system address


class NXDomain(DNSPermanentError):
    """The name does not exist (RCODE 3)."""


class NullMX(DNSPermanentError):
    """RFC 7505 §3: ``MX 0 .`` — the domain accepts no mail."""

    code = 556  # RFC 7504 §3
    enhanced = "5.1.10"  # RFC 7505 §4.2
