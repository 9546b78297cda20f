"""DMARC (RFC 7489): policy discovery, identifier alignment and the disposition.

Policy discovery (§6.6.3): ``_dmarc.<From domain>``, and when that has no
record, ``_dmarc.<organizational domain>``, whose ``sp=`` then applies.

Organizational domain (§3.2): the public suffix plus one label. We do not ship
the whole Public Suffix List (250 kB that goes stale); :data:`MULTI_LABEL_SUFFIXES`
holds the common two-label registry suffixes (``co.uk``, ``com.au``...) and
everything else is treated as a one-label suffix (``com``, ``de``, ``test``).
That is exact for ``*.test`` and the usual gTLDs and ccTLDs, and errs on the
safe side elsewhere: a missing suffix makes relaxed alignment *stricter*, never
lets a different registrant align. docs/authentication.md says so.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from mailtool.dns import DNSTemporaryError, Resolver
from mailtool.protocol.authrecords import parse_tags

from .dkim_verify import DkimResult
from mailtool.policy.spf import SpfResult

#: registry suffixes of two labels under which people register names (PSL excerpt)
MULTI_LABEL_SUFFIXES = frozenset(
    f"{second}.{tld}"
    for tld, seconds in {
        "uk": ("co", "org", "me", "ltd", "plc", "net", "ac", "gov", "sch", "nhs", "police"),
        "au": ("com", "net", "org", "edu", "gov", "asn", "id"),
        "nz": ("co", "org", "net", "ac", "govt", "geek", "school"),
        "jp": ("co", "ne", "or", "ac", "go", "ad", "ed", "gr", "lg"),
        "br": ("com", "net", "org", "gov", "edu", "art", "blog"),
        "za": ("co", "org", "net", "gov", "ac", "web"),
        "in": ("co", "net", "org", "firm", "gen", "ind", "ac", "edu", "gov", "res"),
        "cn": ("com", "net", "org", "gov", "edu", "ac"),
        "kr": ("co", "or", "ne", "go", "ac", "re"),
        "mx": ("com", "org", "net", "gob", "edu"),
        "ar": ("com", "org", "net", "gob", "edu"),
        "tr": ("com", "org", "net", "gov", "edu", "gen"),
        "il": ("co", "org", "net", "ac", "gov"),
        "sg": ("com", "org", "net", "gov", "edu"),
        "hk": ("com", "org", "net", "gov", "edu", "idv"),
        "tw": ("com", "org", "net", "gov", "edu", "idv"),
        "ru": ("com", "org", "net", "msk", "spb"),
        "ua": ("com", "org", "net", "kiev", "gov"),
        "pl": ("com", "org", "net", "waw", "gov"),
        "es": ("com", "org", "nom", "gob", "edu"),
        "fr": ("asso", "com", "gouv", "nom", "tm"),
        "it": ("gov", "edu"),
        "eu": ("co",),
    }.items()
    for second in seconds
)


def organizational_domain(domain: str) -> str:
    """RFC 7489 §3.2 with the suffix rule of this module's docstring."""
    labels = domain.lower().rstrip(".").split(".")
    suffix_len = 2 if ".".join(labels[-2:]) in MULTI_LABEL_SUFFIXES else 1
    if len(labels) <= suffix_len:
        return ".".join(labels)
    return ".".join(labels[-(suffix_len + 1) :])


def aligned(a: str, b: str, mode: str) -> bool:
    """Identifier alignment (RFC 7489 §3.1): strict = same name, relaxed = same
    organizational domain."""
    a, b = a.lower().rstrip("."), b.lower().rstrip(".")
    if mode == "s":
        return a == b
    return organizational_domain(a) == organizational_domain(b)


@dataclass(frozen=True)
class DmarcRecord:
    domain: str  #: where it was found (the From domain or the organizational domain)
    tags: dict[str, str]

    def policy_for(self, from_domain: str) -> str:
        """p=, or sp= for a subdomain found through the organizational domain (§6.3)."""
        p = self.tags.get("p", "").lower()
        if from_domain.lower() != self.domain:
            p = self.tags.get("sp", p).lower() or p
        return p if p in ("none", "quarantine", "reject") else "none"


@dataclass(frozen=True)
class DmarcResult:
    """``result`` is pass, fail, none, temperror or permerror (RFC 8601 §2.7.6);
    ``policy`` is the policy to apply: none, quarantine or reject."""

    result: str
    from_domain: str = ""
    policy: str = "none"
    reason: str = ""


async def find_record(resolver: Resolver, from_domain: str) -> DmarcRecord | None:
    """RFC 7489 §6.6.3 policy discovery; DNSTemporaryError propagates."""
    org = organizational_domain(from_domain)
    for domain in dict.fromkeys((from_domain.lower(), org)):
        texts = await resolver.txt(f"_dmarc.{domain}")
        records = [t for t in texts if t.replace(" ", "").lower().startswith("v=dmarc1")]
        # §6.6.3: several records, or one without a valid p=, count as none here
        if len(records) == 1:
            tags = parse_tags(records[0])
            if tags.get("p", "").lower() in ("none", "quarantine", "reject"):
                return DmarcRecord(domain, tags)
            if domain == org and "p" not in tags and "rua" in tags:
                return DmarcRecord(domain, {**tags, "p": "none"})  # §6.6.3 step 6
    return None


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
        record = await find_record(resolver, from_domain)
    except DNSTemporaryError as exc:
        return DmarcResult("temperror", from_domain, reason=str(exc)[:200])
    if record is None:
        return DmarcResult("none", from_domain)
    aspf = record.tags.get("aspf", "r").lower()
    adkim = record.tags.get("adkim", "r").lower()
    spf_ok = spf.result == "pass" and aligned(spf.domain, from_domain, aspf)
    dkim_ok = any(d.result == "pass" and aligned(d.domain, from_domain, adkim) for d in dkim)
    if spf_ok or dkim_ok:
        return DmarcResult("pass", from_domain, "none")
    policy = record.policy_for(from_domain)
    pct = record.tags.get("pct", "100")
    draw = random.random() if sample is None else sample
    # RFC 7489 §6.3: pct is 1*3DIGIT; int() refuses some of what str.isdigit() accepts ("²")
    if policy != "none" and pct.isascii() and pct.isdigit() and draw * 100 >= int(pct):
        # RFC 7489 §6.6.4: outside the sample, apply the next weaker policy
        policy = "quarantine" if policy == "reject" else "none"
    why = f"p={policy}; neither SPF ({spf.result} for {spf.domain or '-'}) nor DKIM aligned"
    return DmarcResult("fail", from_domain, policy, why)
