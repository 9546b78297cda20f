"""The checks the port-25 DATA path runs before it answers: SPF for MAIL FROM and
HELO, DKIM, DMARC, ARC -> one :class:`InboundVerdict`.

The session awaits :func:`check_inbound` once the message is read and before
the queue write; then::

    if verdict.reject is not None:      # DMARC p=reject failed: 550 5.7.1
        reply(verdict.reject); return
    message = verdict.apply(message)    # our Authentication-Results first,
                                        # forged ones (our authserv-id) removed

``verdict.junk`` (DMARC p=quarantine failed) adds ``X-Mailtool-Junk: yes`` to
the prepended header; the MDA's global Sieve rule files such mail into Junk
(docs/authentication.md has the rule). A DNS failure never refuses mail here:
the results say ``temperror`` and the message is accepted.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from mailtool.config import AuthConfig, Config
from mailtool.dns import Resolver
from mailtool.net.log import log_event
from mailtool.policy.spf import SpfResult, check_helo, check_mail_from
from mailtool.protocol.smtp import Reply

from . import authresults, headers
from .arc import ArcResult, verify_arc
from .dkim_verify import DkimResult, verify_dkim
from .dmarc import DmarcResult, evaluate

JUNK_HEADER = "X-Mailtool-Junk"
#: RFC 7489 §10.3 / RFC 7372: the reply for a DMARC rejection
DMARC_REJECT_CODE, DMARC_REJECT_STATUS = 550, "5.7.1"


@dataclass(frozen=True)
class InboundVerdict:
    """What the SMTP DATA path does with a message after the checks."""

    header_to_prepend: bytes
    reject: Reply | None = None
    junk: bool = False
    #: incoming Authentication-Results claiming our authserv-id, to remove
    forged: tuple[headers.Field, ...] = ()
    spf: SpfResult | None = None
    dkim: tuple[DkimResult, ...] = ()
    dmarc: DmarcResult | None = None
    arc: ArcResult | None = None
    notes: dict[str, str] = field(default_factory=dict)

    def apply(self, message: bytes) -> bytes:
        """``message`` with the forged fields removed and our header(s) prepended."""
        if self.forged:
            message = headers.remove(message, list(self.forged))
        return self.header_to_prepend + message


def _allowed(config: AuthConfig, from_domain: str, peer_ip: str) -> bool:
    allow = {a.lower().rstrip(".") for a in config.dmarc_allow}
    return from_domain.lower() in allow or peer_ip in allow


async def check_inbound(
    message: bytes,
    *,
    peer_ip: str,
    helo: str,
    mail_from: str,
    resolver: Resolver,
    hostname: str,
    config: AuthConfig,
) -> InboundVerdict:
    """Run every check (in parallel where they are independent) and decide."""
    spf_mail, spf_helo, dkim, arc = await asyncio.gather(
        check_mail_from(resolver, peer_ip, helo, mail_from),
        check_helo(resolver, peer_ip, helo) if mail_from else _none(),
        verify_dkim(resolver, message),
        verify_arc(resolver, message),
    )
    dmarc = await evaluate(resolver, headers.from_domains(message), spf_mail, dkim)
    header = authresults.build(
        hostname,
        spf=spf_mail,
        helo=spf_helo,
        mail_from=mail_from,
        helo_name=helo,
        dkim=dkim,
        dmarc=dmarc,
        arc=arc,
    )
    reject: Reply | None = None
    junk = False
    enforce = config.dmarc_enforce and dmarc.result == "fail"
    if enforce and _allowed(config, dmarc.from_domain, peer_ip):
        log_event("auth.dmarc_allowed", peer=peer_ip, domain=dmarc.from_domain,
                  policy=dmarc.policy)
    elif enforce and dmarc.policy == "reject":
        reject = Reply(
            DMARC_REJECT_CODE,
            (f"message from {dmarc.from_domain} refused by its DMARC policy (p=reject)",),
            DMARC_REJECT_STATUS,
        )
    elif enforce and dmarc.policy == "quarantine":
        junk = True
        header += f"{JUNK_HEADER}: yes (DMARC p=quarantine for {dmarc.from_domain})\r\n".encode()
    log_event(
        "auth.inbound",
        peer=peer_ip,
        spf=spf_mail.result,
        dkim=",".join(d.result for d in dkim) or "none",
        dmarc=dmarc.result,
        arc=arc.result,
        outcome="reject" if reject else "junk" if junk else "accept",
        level=logging.WARNING if reject else logging.INFO,
    )
    return InboundVerdict(
        header,
        reject,
        junk,
        tuple(authresults.forged_fields(message, hostname))
        + tuple(f for f in headers.fields(message) if f.name == JUNK_HEADER.lower()),
        spf_mail,
        tuple(dkim),
        dmarc,
        arc,
    )


async def _none() -> None:
    return None


class InboundChecker:
    """:func:`check_inbound` with the server's config and one resolver, for the session
    environment (``SessionEnv``) to hold: the DATA path then needs one call::

        verdict = await env.inbound_checker.check(message, peer_ip=..., helo=..., mail_from=...)
        if verdict is not None: ...   # None: [auth] check_inbound = false
    """

    def __init__(self, config: Config, resolver: Resolver | None = None) -> None:
        from mailtool.dns import resolver_from_config

        self.config = config
        self.resolver = resolver or resolver_from_config(config)

    async def check(
        self, message: bytes, *, peer_ip: str, helo: str, mail_from: str
    ) -> InboundVerdict | None:
        if not self.config.auth.check_inbound:
            return None
        return await check_inbound(
            message, peer_ip=peer_ip, helo=helo, mail_from=mail_from, resolver=self.resolver,
            hostname=self.config.hostname, config=self.config.auth,
        )
