"""SPF (RFC 7208): one record, valid terms, a meaningful ``all``, the limits
of 10 DNS-querying terms and 2 void lookups (§4.6.4), include/redirect targets
that exist, and no include loops."""

from __future__ import annotations

from dataclasses import dataclass, field

from mailtool.dns import DNSError
from mailtool.protocol.authrecords import SPF_TERM as _TERM
from mailtool.protocol.authrecords import spf_records

from .context import Context
from .findings import Check, Finding, Status, dig

RECORD = Check(
    "policy.spf.record",
    "Exactly one SPF record",
    "Receivers check the envelope sender's domain against SPF; no record lets anyone send "
    "as the domain, and two records are a permanent error, which counts as no SPF at all.",
    "RFC 7208 §4.5",
    'Publish one TXT record starting "v=spf1", e.g. "v=spf1 mx -all".',
)
SYNTAX = Check(
    "policy.spf.syntax",
    "SPF record syntax",
    "An unknown mechanism or a malformed term makes the whole record a permanent error.",
    "RFC 7208 §4.6, §12",
    "Use only all, include, a, mx, ptr, ip4, ip6, exists and modifiers name=value.",
)
ALL = Check(
    "policy.spf.all",
    "SPF ends with -all or ~all",
    "+all authorises every host on the Internet; ?all or no all says nothing, so forged "
    "mail passes as neutral.",
    "RFC 7208 §5.1",
    'End the record with "-all" (or "~all" while testing).',
)
LOOKUPS = Check(
    "policy.spf.lookups",
    "At most 10 DNS-querying terms",
    "include, a, mx, ptr, exists and redirect each cost a lookup; over 10 the result is a "
    "permanent error and SPF fails for every message.",
    "RFC 7208 §4.6.4",
    "Flatten includes into ip4:/ip6: ranges, or drop unused includes.",
)
VOID = Check(
    "policy.spf.void",
    "At most 2 void lookups",
    "Lookups that return no records (NXDOMAIN or no data) beyond two make SPF a permanent error.",
    "RFC 7208 §4.6.4",
    "Remove mechanisms that point at names without records.",
)
INCLUDES = Check(
    "policy.spf.includes",
    "include and redirect targets have SPF records",
    "An include: or redirect= target without an SPF record is a permanent error.",
    "RFC 7208 §5.2, §6.1",
    "Fix the target name or remove the include.",
)
LOOP = Check(
    "policy.spf.loop",
    "No include loops",
    "A record that includes itself (directly or not) never terminates; receivers stop with "
    "a permanent error.",
    "RFC 7208 §4.6.4",
    "Remove the include that leads back to a record already evaluated.",
)

MECHANISMS = {"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"}
LOOKUP_TERMS = {"include", "a", "mx", "ptr", "exists"}


@dataclass
class Walk:
    lookups: int = 0
    voids: int = 0
    bad_terms: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    loops: list[str] = field(default_factory=list)
    all_qualifier: str | None = None  # of the top record
    has_redirect: bool = False


async def _walk(
    ctx: Context, domain: str, record: str, walk: Walk, seen: tuple[str, ...], top: bool
) -> None:
    for term in record.split()[1:]:
        m = _TERM.match(term)
        if not m:
            walk.bad_terms.append(term)
            continue
        qualifier, name, rest = m.group(1), m.group(2).lower(), m.group(3) or ""
        if rest.startswith("="):  # modifier
            if name == "redirect":
                walk.lookups += 1
                walk.has_redirect = walk.has_redirect or top
                await _follow(ctx, rest[1:], walk, seen)
            continue
        if name not in MECHANISMS:
            walk.bad_terms.append(term)
            continue
        if name == "all" and top:
            walk.all_qualifier = qualifier or "+"
        if name not in LOOKUP_TERMS:
            continue
        walk.lookups += 1
        target = rest[1:].split("/")[0] if rest.startswith(":") else domain
        if name == "include":
            await _follow(ctx, target, walk, seen)
        elif name in ("a", "mx") and "%" not in target:
            try:
                found = await ctx.resolver.lookup(target, "MX" if name == "mx" else "A")
                if found.void:
                    walk.voids += 1
            except DNSError:
                pass


async def _follow(ctx: Context, target: str, walk: Walk, seen: tuple[str, ...]) -> None:
    target = target.lower().rstrip(".")
    if "%" in target:  # a macro: known only at evaluation time
        return
    if target in seen:
        walk.loops.append(" -> ".join((*seen, target)))
        return
    if walk.lookups > 20:  # far past the limit: stop walking
        return
    try:
        records = spf_records(await ctx.resolver.txt(target))
    except DNSError:
        return
    if len(records) != 1:
        walk.voids += not records
        walk.missing.append(target)
        return
    await _walk(ctx, target, records[0], walk, (*seen, target), top=False)


async def run(ctx: Context) -> list[Finding]:
    d, ns = ctx.domain, ctx.nameservers
    repro = dig(d, "TXT", ns)
    try:
        records = spf_records(await ctx.resolver.txt(d))
    except DNSError as exc:
        return [RECORD(Status.ERROR, str(exc), subject=d, reproduce=repro)]
    if not records:
        return [
            RECORD(Status.WARN, "no SPF record", '"v=spf1 ... -all"', subject=d, reproduce=repro)
        ]
    if len(records) > 1:
        return [
            RECORD(
                Status.FAIL,
                f"{len(records)} SPF records: " + " | ".join(records),
                "exactly one",
                subject=d,
                reproduce=repro,
            )
        ]
    record = records[0]
    walk = Walk()
    await _walk(ctx, d, record, walk, (d,), top=True)
    out = [RECORD(Status.PASS, record, subject=d, reproduce=repro)]
    out.append(
        SYNTAX(Status.FAIL, "bad terms: " + " ".join(walk.bad_terms), subject=d)
        if walk.bad_terms
        else SYNTAX(Status.PASS, "all terms valid", subject=d)
    )
    q = walk.all_qualifier
    if q in ("-", "~"):
        out.append(ALL(Status.PASS, f"{q}all", subject=d))
    elif q == "+":
        out.append(
            ALL(Status.FAIL, "+all: every host may send as this domain", "-all or ~all", subject=d)
        )
    elif q == "?" or not walk.has_redirect:
        out.append(
            ALL(
                Status.WARN,
                "?all" if q else "no all mechanism (neutral by default)",
                "-all or ~all",
                subject=d,
            )
        )
    else:
        out.append(ALL(Status.PASS, "all is decided by the redirect= target", subject=d))
    out.append(
        LOOKUPS(
            Status.FAIL if walk.lookups > 10 else Status.PASS,
            f"{walk.lookups} DNS-querying terms",
            "at most 10",
            subject=d,
        )
    )
    out.append(
        VOID(
            Status.FAIL if walk.voids > 2 else Status.PASS,
            f"{walk.voids} void lookups",
            "at most 2",
            subject=d,
        )
    )
    out.append(
        INCLUDES(
            Status.FAIL,
            "no single SPF record at: " + ", ".join(walk.missing),
            "an SPF record at each include/redirect target",
            subject=d,
            reproduce=dig(walk.missing[0], "TXT", ns),
        )
        if walk.missing
        else INCLUDES(Status.PASS, "every target has SPF", subject=d)
    )
    out.append(
        LOOP(Status.FAIL, "; ".join(walk.loops), "no record included twice", subject=d)
        if walk.loops
        else LOOP(Status.PASS, "no loop", subject=d)
    )
    return out
