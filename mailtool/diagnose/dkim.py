"""DKIM keys (RFC 6376 §3.6.1) and BIMI presence.

Selectors cannot be listed, so a domain without a known selector is
*unknown*, never "missing" — except when ``_domainkey.DOMAIN`` is NXDOMAIN,
which by RFC 8020 means no name below it (no key at all) exists.
"""

from __future__ import annotations

from mailtool.dns import DNSError
from mailtool.policy.dkim_key import describe_key, parse_key_record

from .context import COMMON_SELECTORS, Context
from .findings import Check, Finding, Status, dig
from .problems import problem_finding

DOMAINKEY = Check(
    "policy.dkim.domainkey",
    "The _domainkey subtree exists",
    "An NXDOMAIN for _domainkey.DOMAIN proves there are no DKIM keys at all (RFC 8020), so "
    "nothing the domain sends can carry a valid DKIM signature of its own.",
    "RFC 8020 §2, RFC 6376 §3.6.2.1",
    "Sign outgoing mail and publish the key at SELECTOR._domainkey.DOMAIN.",
)
KEY = Check(
    "policy.dkim.key",
    "DKIM key type and size",
    "RSA keys under 1024 bits must not be used; 2048 is the recommended size. A key with an "
    "empty p= is revoked.",
    "RFC 8301 §3.2, RFC 8463",
    "Publish an RSA 2048 (or Ed25519 next to RSA) key and sign with it; rotate old keys.",
)
SELECTORS = Check(
    "policy.dkim.selectors",
    "DKIM selectors known",
    "DKIM keys live under a selector chosen by the signer; without one (from a received "
    "message's DKIM-Signature s= tag) keys cannot be found, so their absence is unknown.",
    "RFC 6376 §3.1",
    "Pass --selector NAME (see s= in a DKIM-Signature header of a message from the domain).",
)
BIMI = Check(
    "policy.bimi",
    "BIMI record",
    "BIMI lets some mailbox providers show the brand logo next to authenticated mail; it "
    "needs DMARC at quarantine or reject.",
    "draft-brand-indicators-for-message-identification",
)


#: the problem codes that are about the key itself (the KEY finding's own status)
KEY_CODES = ("key", "size")


def key_description(p: str, k: str) -> tuple[Status, str]:
    """The status and description of a p= key (RFC 6376 §3.6.1, RFC 8301 §3.2)."""
    description, problem = describe_key(p, k)
    if problem is None:
        return (Status.INFO if description.startswith("revoked") else Status.PASS), description
    return (Status.FAIL if problem.is_error else Status.WARN), description


async def run(ctx: Context) -> list[Finding]:
    d, ns = ctx.domain, ctx.nameservers
    out: list[Finding] = []
    try:
        subtree = await ctx.resolver.lookup(f"_domainkey.{d}", "TXT")
    except DNSError as exc:
        return [DOMAINKEY(Status.ERROR, str(exc), subject=d)]
    if subtree.nxdomain:
        out.append(
            DOMAINKEY(
                Status.WARN,
                f"_domainkey.{d} does not exist (NXDOMAIN)",
                "keys at SELECTOR._domainkey",
                subject=d,
                reproduce=dig(f"_domainkey.{d}", "TXT", ns),
            )
        )
    given = ctx.options.selectors
    found_any = False
    for selector in given or COMMON_SELECTORS:
        name = f"{selector}._domainkey.{d}"
        try:
            texts = await ctx.resolver.txt(name)
        except DNSError as exc:
            out.append(KEY(Status.ERROR, str(exc), subject=name))
            continue
        records = [t for t in texts if "p=" in t]
        if not records:
            if given:
                out.append(
                    KEY(
                        Status.FAIL,
                        "no DKIM key record",
                        "v=DKIM1; k=rsa; p=...",
                        subject=name,
                        reproduce=dig(name, "TXT", ns),
                    )
                )
            continue
        found_any = True
        record = parse_key_record(records[0])
        status, desc = key_description(record.tags.get("p", ""), record.key_type)
        repro = dig(name, "TXT", ns)
        # the other tags (v, k, h, s, t): each fault its own finding, and then the key
        # itself is not reported as passing (no pass next to a fail of the same record)
        others = [p for p in record.problems if p.code not in KEY_CODES]
        if status is Status.PASS and any(p.is_error for p in others):
            status = Status.INFO
        out.append(KEY(status, desc, "RSA ≥ 2048 bits or Ed25519", subject=name, reproduce=repro))
        out += [problem_finding(KEY, p, name, repro) for p in others]
    if not given and not found_any:
        out.append(
            SELECTORS(Status.INFO, "unknown: no selector given and no common one found", subject=d)
        )
    out.append(await _bimi(ctx))
    return out


async def _bimi(ctx: Context) -> Finding:
    name = f"default._bimi.{ctx.domain}"
    try:
        texts = [t for t in await ctx.resolver.txt(name) if t.lower().startswith("v=bimi1")]
    except DNSError as exc:
        return BIMI(Status.ERROR, str(exc), subject=name)
    if texts:
        return BIMI(Status.INFO, texts[0], subject=name)
    return BIMI(
        Status.INFO, "no BIMI record", subject=name, reproduce=dig(name, "TXT", ctx.nameservers)
    )
