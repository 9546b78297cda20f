"""SPF (RFC 7208): one record, valid terms, a meaningful ``all``, the limits
of 10 DNS-querying terms and 2 void lookups (§4.6.4), include/redirect targets
that exist, and no include loops.

Everything comes from :func:`mailtool.policy.spf.walk`, the evaluation the
server itself makes (``check_host``), so a record diagnose passes is a record
the server accepts, and every problem names its RFC rule."""

from __future__ import annotations

import contextlib

from mailtool.dns import DNSError
from mailtool.policy.spf import PermError, Step, parse_term, walk
from mailtool.protocol.authrecords import spf_records

from .context import Context
from .findings import Check, Finding, Status, dig
from .problems import problem_finding

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

#: which check reports a policy problem, by its code (mailtool.policy.problems.Problem.code)
BY_CODE = {"lookups": LOOKUPS, "void": VOID, "include": INCLUDES, "records": INCLUDES, "loop": LOOP}


async def run(ctx: Context) -> list[Finding]:
    """Report the evaluation a receiver makes (:func:`mailtool.policy.spf.walk`)."""
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
    try:
        result = await walk(ctx.resolver, d)
    except DNSError as exc:
        return [RECORD(Status.ERROR, str(exc), subject=d, reproduce=repro)]
    out = [RECORD(Status.PASS, records[0], subject=d, reproduce=repro)]
    reported: set[Check] = set()
    for where, problem in result.problems:
        check = BY_CODE.get(problem.code, SYNTAX)
        reported.add(check)
        subject = d if where == d else f"{where} (from {d})"
        out.append(problem_finding(check, problem, subject, dig(where, "TXT", ns)))
    if SYNTAX not in reported:
        out.append(SYNTAX(Status.PASS, "every term valid", subject=d))
    out.append(_all(records[0], result.result, d))
    if LOOKUPS not in reported:
        out.append(LOOKUPS(Status.PASS, _lookups(result.trace, result.lookups, d), subject=d))
    if VOID not in reported:
        out.append(VOID(Status.PASS, f"{result.voids} void lookups", subject=d))
    if INCLUDES not in reported:
        out.append(INCLUDES(Status.PASS, "every target has SPF", subject=d))
    if LOOP not in reported:
        out.append(LOOP(Status.PASS, "no loop", subject=d))
    return out


def _all(record: str, result: str, d: str) -> Finding:
    """What the record does with a client nothing else matched (RFC 7208 §5.1, §6.1)."""
    qualifier = None
    for text in record.split()[1:]:
        with contextlib.suppress(PermError):
            term = parse_term(text)
            if term.name == "all" and not term.modifier:
                qualifier = term.qualifier or "+"
                break
    if qualifier is None and "redirect=" in record.lower() and result != "permerror":
        qualifier = {"pass": "+", "fail": "-", "softfail": "~"}.get(result, "?")
    if qualifier in ("-", "~"):
        return ALL(Status.PASS, f"{qualifier}all", subject=d)
    if qualifier == "+":
        return ALL(
            Status.FAIL, "+all: every host may send as this domain", "-all or ~all", subject=d
        )
    observed = "?all" if qualifier else "no all mechanism (neutral by default)"
    return ALL(Status.WARN, observed, "-all or ~all", subject=d)


def _lookups(trace: tuple[Step, ...], total: int, d: str) -> str:
    """The terms that cost a lookup, in the order a receiver evaluates them."""
    seen, terms = 0, []
    for step in trace:
        if step.lookups > seen:
            terms.append(step.term if step.domain == d else f"{step.term} (in {step.domain})")
            seen = step.lookups
    return f"{total} DNS-querying terms" + (": " + ", ".join(terms) if terms else "")
