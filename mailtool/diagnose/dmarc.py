"""DMARC (RFC 7489 and its successor, DMARCbis): the policy record found by
walking up the tree, its policy, alignment and reporting addresses."""

from __future__ import annotations

from mailtool.dns import DNSError
from mailtool.protocol.authrecords import parse_tags

from .context import Context
from .findings import Check, Finding, Status, dig

RECORD = Check(
    "policy.dmarc.record",
    "A DMARC record applies to the domain",
    "DMARC tells receivers what to do with mail that fails SPF and DKIM alignment and where "
    "to send reports; without it forged From: addresses are judged by local guesswork.",
    "RFC 7489 §6.6.3",
    'Publish TXT at _dmarc.DOMAIN: "v=DMARC1; p=none; rua=mailto:dmarc@DOMAIN", then tighten.',
)
POLICY = Check(
    "policy.dmarc.policy",
    "DMARC policy quarantines or rejects",
    "p=none only monitors: forged mail is still delivered. pct below 100 applies the policy "
    "to a sample only.",
    "RFC 7489 §6.3",
    "Once reports show your own mail aligns, move to p=quarantine, then p=reject (pct=100).",
)
ALIGNMENT = Check(
    "policy.dmarc.alignment",
    "DMARC alignment modes",
    "adkim/aspf=s (strict) require the exact domain; r (relaxed, the default) accepts "
    "subdomains of the organisational domain.",
    "RFC 7489 §3.1",
)
RUA = Check(
    "policy.dmarc.rua",
    "DMARC aggregate reports are requested",
    "rua= is how you learn who sends as your domain; a report address in another domain must "
    "be authorised by that domain or receivers will not send to it.",
    "RFC 7489 §6.2, §7.1",
    "Add rua=mailto:ADDRESS; for an external address publish "
    '"DOMAIN._report._dmarc.EXTERNAL. TXT v=DMARC1" in the external domain.',
)

MAX_WALK = 8  # DMARCbis tree walk: at most 8 lookups


async def find_record(ctx: Context, domain: str) -> tuple[str, list[str]]:
    """(name, records) of the first _dmarc name up the tree that has any."""
    labels = domain.split(".")
    for i in range(min(len(labels) - 1, MAX_WALK)):
        name = "_dmarc." + ".".join(labels[i:])
        records = [t for t in await ctx.resolver.txt(name) if t.lower().startswith("v=dmarc1")]
        if records:
            return name, records
    return "_dmarc." + domain, []


async def run(ctx: Context) -> list[Finding]:
    d, ns = ctx.domain, ctx.nameservers
    try:
        name, records = await find_record(ctx, d)
    except DNSError as exc:
        return [RECORD(Status.ERROR, str(exc), subject=d)]
    repro = dig(name, "TXT", ns)
    if not records:
        return [
            RECORD(
                Status.WARN,
                "no DMARC record up the tree",
                "v=DMARC1; p=...",
                subject=d,
                reproduce=repro,
            )
        ]
    if len(records) > 1:
        return [
            RECORD(
                Status.FAIL,
                f"{len(records)} DMARC records at {name}",
                "exactly one",
                subject=name,
                reproduce=repro,
            )
        ]
    tags = parse_tags(records[0])
    where = name if name == f"_dmarc.{d}" else f"{name} (inherited)"
    out = [RECORD(Status.PASS, records[0], subject=where, reproduce=repro)]
    p = tags.get("p", "").lower()
    sp = tags.get("sp", p).lower() if name != f"_dmarc.{d}" else p
    policy = sp or p
    pct = tags.get("pct", "100")
    if policy not in ("none", "quarantine", "reject"):
        out.append(
            POLICY(
                Status.FAIL,
                f"p={p or '(missing)'}",
                "p=none|quarantine|reject",
                subject=where,
                reproduce=repro,
            )
        )
    elif policy == "none":
        out.append(
            POLICY(
                Status.WARN, "p=none (monitoring only)", "p=quarantine or p=reject", subject=where
            )
        )
    elif pct.isascii() and pct.isdigit() and int(pct) < 100:  # "²".isdigit() is True
        out.append(POLICY(Status.WARN, f"p={policy} on {pct}% of mail", "pct=100", subject=where))
    else:
        out.append(POLICY(Status.PASS, f"p={policy}", subject=where))
    out.append(
        ALIGNMENT(
            Status.INFO,
            f"adkim={tags.get('adkim', 'r')} aspf={tags.get('aspf', 'r')}",
            subject=where,
        )
    )
    out.append(await _rua(ctx, d, tags.get("rua", ""), where))
    return out


async def _rua(ctx: Context, domain: str, rua: str, where: str) -> Finding:
    if not rua:
        return RUA(Status.WARN, "no rua= address", "rua=mailto:...", subject=where)
    org = domain.split(".", 1)[-1] if domain.count(".") > 1 else domain
    unauthorised = []
    for uri in (u.strip() for u in rua.split(",")):
        address = uri.removeprefix("mailto:").split("!")[0]
        target = address.rpartition("@")[2].lower()
        if target and not (target in (domain, org) or target.endswith("." + org)):
            auth = f"{domain}._report._dmarc.{target}"
            try:
                ok = any(t.lower().startswith("v=dmarc1") for t in await ctx.resolver.txt(auth))
            except DNSError:
                ok = True  # cannot tell: do not accuse
            if not ok:
                unauthorised.append(auth)
    if unauthorised:
        return RUA(
            Status.WARN,
            f"{rua}; no authorisation at {', '.join(unauthorised)}",
            "external report domains authorise this domain",
            subject=where,
            reproduce=dig(unauthorised[0], "TXT", ctx.nameservers),
        )
    return RUA(Status.PASS, rua, subject=where)
