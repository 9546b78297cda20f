"""DMARC (RFC 7489) applied to a received message: the result and the disposition.

Record parsing, policy discovery (§6.6.3), the organisational domain (Public
Suffix List) and alignment live in :mod:`mailtool.policy.dmarc`, shared with
``mailtool diagnose``; this module combines them with the message's SPF and
DKIM results and the ``pct=`` sample.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from mailtool.dns import DNSTemporaryError, Resolver
from mailtool.policy.dmarc import aligned, discover, suffix_list_for
from mailtool.policy.spf import SpfResult

from .dkim_verify import DkimResult


@dataclass(frozen=True)
class DmarcResult:
    """``result`` is pass, fail, none, temperror or permerror (RFC 8601 §2.7.6);
    ``policy`` is the policy to apply: none, quarantine or reject."""

    result: str
    from_domain: str = ""
    policy: str = "none"
    reason: str = ""


async def evaluate(
    resolver: Resolver,
    from_domains: list[str],
    spf: SpfResult,
    dkim: list[DkimResult],
    *,
    sample: float | None = None,
) -> DmarcResult:
    """The DMARC result for a message (RFC 7489 §6.6.2).

    ``from_domains`` are the From header's domains: none, or several different
    ones, make the message unfit for DMARC (§6.6.1) and give permerror.
    ``sample`` replaces the random draw of ``pct=`` (tests)."""
    unique = sorted(set(from_domains))
    if not unique:
        return DmarcResult("none", reason="no From domain")
    if len(unique) > 1:
        return DmarcResult("permerror", ",".join(unique), reason="several From domains")
    from_domain = unique[0]
    try:
        record = (await discover(resolver, from_domain)).record
    except DNSTemporaryError as exc:
        return DmarcResult("temperror", from_domain, reason=str(exc)[:200])
    if record is None:
        return DmarcResult("none", from_domain)
    await suffix_list_for(spf.domain, *(d.domain for d in dkim))
    aspf = record.tags.get("aspf", "r").lower()
    adkim = record.tags.get("adkim", "r").lower()
    spf_ok = spf.result == "pass" and aligned(spf.domain, from_domain, aspf)
    dkim_ok = any(d.result == "pass" and aligned(d.domain, from_domain, adkim) for d in dkim)
    if spf_ok or dkim_ok:
        return DmarcResult("pass", from_domain, "none")
    policy = record.policy_for(from_domain)
    draw = random.random() if sample is None else sample
    if policy != "none" and draw * 100 >= record.pct:
        # RFC 7489 §6.6.4: outside the sample, apply the next weaker policy
        policy = "quarantine" if policy == "reject" else "none"
    why = f"p={policy}; neither SPF ({spf.result} for {spf.domain or '-'}) nor DKIM aligned"
    return DmarcResult("fail", from_domain, policy, why)
