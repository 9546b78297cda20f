"""DMARC (RFC 7489): the record policy discovery finds (the server's own,
:func:`mailtool.policy.dmarc.discover`), every tag value checked, the policy,
alignment and reporting addresses."""

from __future__ import annotations

from mailtool.dns import DNSError
from mailtool.policy.dmarc import DmarcRecord, discover, parse_record, report_authorised

from .context import Context
from .findings import Check, Finding, Status, dig
from .problems import problem_finding

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

SYNTAX = Check(
    "policy.dmarc.syntax",
    "DMARC record syntax",
    "Receivers ignore a tag whose value is invalid (and the whole record when v=DMARC1 is not "
    "first or p= is invalid), so the domain gets a weaker policy than it published.",
    "RFC 7489 §6.3, §6.4",
    "Write every tag as RFC 7489 §6.3 defines it; remove unknown tags.",
)
#: which check reports a record problem, by its code
BY_CODE = {"policy": POLICY, "pct": POLICY, "uri": RUA, "alignment": ALIGNMENT}


async def run(ctx: Context) -> list[Finding]:
    d, ns = ctx.domain, ctx.nameservers
    try:
        found = await discover(ctx.resolver, d)
    except DNSError as exc:
        return [RECORD(Status.ERROR, str(exc), subject=d)]
    repro = dig(found.name, "TXT", ns)
    if not found.texts:
        return [
            RECORD(
                Status.WARN,
                f"no DMARC record at _dmarc.{d} or its organisational domain",
                "v=DMARC1; p=...",
                subject=d,
                reproduce=repro,
            )
        ]
    if len(found.texts) > 1:
        return [
            RECORD(
                Status.FAIL,
                f"{len(found.texts)} DMARC records at {found.name}",
                "exactly one",
                subject=found.name,
                reproduce=repro,
            )
        ]
    where = found.name if not found.inherited else f"{found.name} (inherited)"
    record = found.record or parse_record(found.name.removeprefix("_dmarc."), found.texts[0])
    out = [
        RECORD(
            # unusable (an invalid p=): the problem findings below fail, once each
            Status.PASS if found.record else Status.INFO,
            found.texts[0] if found.record else f"{found.texts[0]} (ignored by receivers)",
            "",
            subject=where,
            reproduce=repro,
        )
    ]
    reported: set[Check] = set()
    for problem in record.problems:
        check = BY_CODE.get(problem.code, SYNTAX)
        reported.add(check)
        out.append(problem_finding(check, problem, where, repro))
    if POLICY not in reported:
        out.append(_policy(record, d, where))
    if ALIGNMENT not in reported:
        tags = record.tags
        out.append(
            ALIGNMENT(
                Status.INFO,
                f"adkim={tags.get('adkim', 'r')} aspf={tags.get('aspf', 'r')}",
                subject=where,
            )
        )
    if SYNTAX not in reported:
        out.append(SYNTAX(Status.PASS, "every tag valid", subject=where))
    if RUA not in reported:
        out.append(await _rua(ctx, record, where))
    return out


def _policy(record: DmarcRecord, d: str, where: str) -> Finding:
    policy = record.policy_for(d)
    if policy == "none":
        return POLICY(
            Status.WARN, "p=none (monitoring only)", "p=quarantine or p=reject", subject=where
        )
    if record.pct < 100:
        return POLICY(Status.WARN, f"p={policy} on {record.pct}% of mail", "pct=100", subject=where)
    return POLICY(Status.PASS, f"p={policy}", subject=where)


async def _rua(ctx: Context, record: DmarcRecord, where: str) -> Finding:
    rua = record.tags.get("rua", "")
    if not rua:
        mx = await ctx.mx()
        if not isinstance(mx, Exception) and mx.null:  # RFC 7505: receives no mail at all
            return RUA(Status.INFO, "no rua= address (the domain has a null MX)", subject=where)
        return RUA(Status.WARN, "no rua= address", "rua=mailto:...", subject=where)
    unauthorised = []
    for address in record.report_uris("rua"):
        # RFC 7489 §7.1: outside the organisational domain the target must agree
        if await report_authorised(ctx.resolver, record.domain, address) is False:
            target = address.rpartition("@")[2]
            unauthorised.append(f"{record.domain}._report._dmarc.{target}")
    if unauthorised:
        return RUA(
            Status.WARN,
            f"{rua}; no authorisation at {', '.join(unauthorised)}",
            "external report domains authorise this domain",
            subject=where,
            reproduce=dig(unauthorised[0], "TXT", ctx.nameservers),
        )
    return RUA(Status.PASS, rua, subject=where)
