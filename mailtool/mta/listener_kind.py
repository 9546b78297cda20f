"""What differs between the three SMTP listeners, as data.

* ``smtp`` (25, RFC 5321): other MTAs deliver to our domains; STARTTLS offered,
  no AUTH, no relaying at all.
* ``submission`` (587, RFC 6409): users send; STARTTLS, AUTH only after it,
  MAIL/RCPT need AUTH, the sender must be the user's, Date/Message-ID added.
* ``submissions`` (465, RFC 8314): the same over implicit TLS.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ListenerKind:
    name: str
    #: users submit here: AUTH offered and required, sender checked, headers fixed up
    submission: bool
    #: TLS from the first byte (RFC 8314 §3.3)
    implicit_tls: bool

    @property
    def offers_starttls(self) -> bool:
        return not self.implicit_tls


KINDS = {
    "smtp": ListenerKind("smtp", submission=False, implicit_tls=False),
    "submission": ListenerKind("submission", submission=True, implicit_tls=False),
    "submissions": ListenerKind("submissions", submission=True, implicit_tls=True),
}


#: the listeners ``[limits] smtp_workers`` processes serve with the main process:
#: inbound mail, the heavy traffic. No password is checked there (AUTH is offered on
#: submission only), so the login throttle stays whole in the main process.
WORKER_SERVICES = ("smtp",)


def kind_for(name: str) -> ListenerKind:
    """The kind of listener a service name stands for (``mta-test`` style names
    fall back to inbound SMTP, the safest)."""
    return KINDS.get(name, KINDS["smtp"])
