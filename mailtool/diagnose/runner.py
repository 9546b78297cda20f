"""Run the check families concurrently and collect one :class:`Report`.

Groups (``--only`` / ``--skip``) map to check-family modules; each module
has ``async def run(ctx) -> list[Finding]``. A family that crashes yields
one ``error`` finding instead of sinking the whole diagnosis.

The findings are then reconciled with what the families cannot see alone: a
domain with a null MX (RFC 7505 §3) receives no mail, so warnings that only
matter to a domain that receives or signs mail (DKIM keys, report addresses,
MTA-STS, TLS-RPT) are moot there and become ``skip``. A resolver that never
answered is one fault: one ``diagnose.resolver`` error, and the checks it
stopped are ``skip``. One fault seen by two checks on one subject fails once:
the consequence (:data:`SAME_FAULT`) becomes ``info`` naming the cause.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import importlib
import time
from collections.abc import Callable, Iterable

from mailtool.dns import Resolver

from .context import Context, GuardedResolver, Options
from .findings import Check, Finding, Status, dig
from .report import Report

#: group -> the family modules it runs, in report order
GROUPS: dict[str, tuple[str, ...]] = {
    "routing": ("routing",),
    "policy": ("spf", "dmarc", "dkim"),
    "transport": ("transport", "mtasts", "dane"),
    "client": ("client_access",),
    "reputation": ("reputation",),
    "cross": ("crosscheck",),
}

RESOLVER = Check(
    "diagnose.resolver",
    "The resolver answers",
    "Every check starts from DNS; a resolver that answers nothing leaves all of them "
    "untested (the domain itself may be fine).",
    "RFC 1035 §7",
    "Check --nameserver (or MAILTOOL_NAMESERVERS / dns.nameservers) and that UDP and TCP "
    "port 53 to it are open.",
)
CRASHED = Check(
    "diagnose.internal",
    "A check family could not run",
    "A bug or an unexpected answer stopped this family; its checks are unknown.",
    fix="Report the error with the command line that produced it.",
)


def select_groups(only: Iterable[str] = (), skip: Iterable[str] = ()) -> tuple[str, ...]:
    only, skip = set(only), set(skip)
    unknown = (only | skip) - set(GROUPS)
    if unknown:
        raise ValueError(f"unknown group(s): {', '.join(sorted(unknown))}")
    return tuple(g for g in GROUPS if (not only or g in only) and g not in skip)


#: check-id prefixes whose warnings are moot for a null-MX domain (it takes no mail,
#: so it gets no DMARC/TLS reports to read and signs nothing it receives)
NULL_MX_MOOT = (
    "policy.dkim.",
    "policy.dmarc.rua",
    "transport.tlsrpt",
    "transport.mtasts.",
)


def dead_resolver(findings: list[Finding], resolver: object, domain: str) -> list[Finding]:
    """One finding for a resolver that never answered; what it stopped is skipped."""
    if not isinstance(resolver, GuardedResolver) or resolver.dead is None:
        return findings
    servers = ", ".join(resolver.nameservers or ()) or "the system resolver"
    stopped = [f for f in findings if f.status is Status.ERROR and "timed out" in f.observed]
    one = RESOLVER(
        Status.ERROR,
        f"{servers} answered no query ({resolver.dead})",
        "answers",
        subject=servers,
        reproduce=dig(domain, "SOA", list(resolver.nameservers or ())),
        fix=RESOLVER.fix,
    )
    return [one] + [
        dataclasses.replace(f, status=Status.SKIP, observed=f"not tested: {f.observed}")
        if f in stopped
        else f
        for f in findings
    ]


#: consequence -> cause: when both fail on one subject, it is one fault. A certificate
#: without the MX name cannot match an MTA-STS mx: pattern either (RFC 8461 §4.1); a
#: service without TLS offers its login in clear whenever it offers one (RFC 8314 §3)
SAME_FAULT = {
    "cross.mtasts_cert": "transport.tls.name",
    "client.plaintext_login": "client.tls",
}


def one_fault_one_failure(findings: list[Finding]) -> list[Finding]:
    failed = {(f.id, f.subject) for f in findings if f.status is Status.FAIL}
    return [
        dataclasses.replace(
            f, status=Status.INFO, observed=f"{f.observed} (the same fault as {SAME_FAULT[f.id]})"
        )
        if f.status is Status.FAIL and (SAME_FAULT.get(f.id), f.subject) in failed
        else f
        for f in findings
    ]


def reconcile(findings: list[Finding], *, null_mx: bool) -> list[Finding]:
    """Findings as the whole report should show them (see the module docstring)."""
    findings = one_fault_one_failure(findings)
    if not null_mx:
        return findings
    return [
        dataclasses.replace(f, status=Status.SKIP, observed=f"{f.observed} (moot: null MX)")
        if f.status is Status.WARN and f.id.startswith(NULL_MX_MOOT)
        else f
        for f in findings
    ]


async def _family(ctx: Context, name: str) -> list[Finding]:
    module = importlib.import_module(f"mailtool.diagnose.{name}")
    try:
        return list(await module.run(ctx))
    except Exception as exc:  # one family's bug must not hide the others' results
        return [CRASHED(Status.ERROR, f"{name}: {type(exc).__name__}: {exc}", subject=name)]


async def diagnose(
    domain: str,
    resolver: Resolver,
    options: Options | None = None,
    *,
    only: Iterable[str] = (),
    skip: Iterable[str] = (),
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Diagnose ``domain``'s mail set-up; never raises for what the domain does."""
    groups = select_groups(only, skip)
    domain = domain.strip().rstrip(".").lower()
    ctx = Context(domain, resolver, options or Options(), progress or (lambda _m: None))
    report = Report(
        domain,
        groups,
        started=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        nameservers=tuple(ctx.nameservers),
    )
    t0 = time.monotonic()
    families = [f for g in groups for f in GROUPS[g]]
    done = 0

    async def one(name: str) -> list[Finding]:
        nonlocal done
        result = await _family(ctx, name)
        done += 1
        ctx.progress(f"{done}/{len(families)} check families done ({name})")
        return result

    results = await asyncio.gather(*(one(f) for f in families))
    findings = [f for family in results for f in family]
    findings = dead_resolver(findings, ctx.resolver, domain)
    report.findings = reconcile(findings, null_mx=await ctx.null_mx())
    report.duration = time.monotonic() - t0
    return report
