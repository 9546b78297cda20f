"""Routing: where mail for the domain goes (RFC 5321 §5.1, RFC 7505), and
whether each MX host name and address is sound (RFC 2181 §10.3, forward-
confirmed reverse DNS)."""

from __future__ import annotations

import asyncio

from mailtool.dns import DNSError, NXDomain

from .context import Context, is_public
from .findings import Check, Finding, Status, dig, is_ip

MX_PRESENT = Check(
    "routing.mx.present",
    "The domain publishes MX records",
    "Senders look up MX records to find where to deliver; without them they fall back to the "
    "domain's own address (implicit MX), which is fragile and often not a mail server.",
    "RFC 5321 §5.1",
    "Publish at least one MX record: `DOMAIN. IN MX 10 mx.DOMAIN.`",
)
MX_NULL = Check(
    "routing.mx.null",
    "Null MX (the domain accepts no mail)",
    "`MX 0 .` tells senders the domain never receives mail, so they bounce at once instead "
    "of retrying for days.",
    "RFC 7505 §3",
    "Publish the null MX alone; remove it if the domain should receive mail.",
)
MX_TARGET = Check(
    "routing.mx.target",
    "MX targets are host names, not addresses or aliases",
    "An MX must name a host with A/AAAA records; an IP literal is not a name and a CNAME "
    "target is forbidden, and many senders refuse both.",
    "RFC 5321 §5.1, RFC 2181 §10.3",
    "Point the MX at a host name that has A/AAAA records directly (no CNAME).",
)
MX_ADDRESS = Check(
    "routing.mx.address",
    "Every MX host has an address",
    "An MX host without A/AAAA records cannot be reached; senders skip it or defer.",
    "RFC 5321 §5.1",
    "Add A (and AAAA) records for the MX host, or remove the MX.",
)
MX_PUBLIC = Check(
    "routing.mx.public",
    "MX addresses are public",
    "Private, loopback or reserved addresses cannot be reached from the Internet.",
    "RFC 6890",
    "Publish the public address of the mail server (use split DNS for internal addresses).",
)
PTR = Check(
    "routing.ptr",
    "Each MX address has a reverse (PTR) name",
    "Many receivers distrust mail from addresses without reverse DNS; the PTR also tells "
    "people which host an address is.",
    "RFC 1912 §2.1",
    "Ask whoever holds the address block (hosting provider) to set a PTR to the MX name.",
)
FCRDNS = Check(
    "routing.fcrdns",
    "Reverse DNS is forward-confirmed",
    "The PTR name must resolve back to the same address (FCrDNS), or the PTR proves nothing "
    "and receivers treat it as missing.",
    "RFC 8601 §3 (iprev)",
    "Make the PTR name's A/AAAA records include the address.",
)


async def run(ctx: Context) -> list[Finding]:
    ns = ctx.nameservers
    mx = await ctx.mx()
    repro = dig(ctx.domain, "MX", ns)
    if isinstance(mx, NXDomain):
        return [
            MX_PRESENT(
                Status.FAIL,
                "the domain does not exist (NXDOMAIN)",
                "MX records",
                subject=ctx.domain,
                reproduce=repro,
            )
        ]
    if isinstance(mx, DNSError):
        status = Status.ERROR if mx.temporary else Status.FAIL
        return [MX_PRESENT(status, str(mx), "MX records", subject=ctx.domain, reproduce=repro)]
    if mx.null:
        return [
            MX_NULL(
                Status.INFO,
                "MX 0 . — the domain says it accepts no mail",
                subject=ctx.domain,
                reproduce=repro,
            )
        ]
    out: list[Finding] = []
    if mx.implicit:
        out.append(
            MX_PRESENT(
                Status.WARN,
                "no MX record; the domain's own address is used",
                "MX records",
                subject=ctx.domain,
                reproduce=repro,
            )
        )
    else:
        listed = ", ".join(
            f"{r.preference} {r.host}"
            for r in sorted(mx.records, key=lambda r: (r.preference, r.host))
        )
        out.append(MX_PRESENT(Status.PASS, listed, subject=ctx.domain, reproduce=repro))
        if any(r.host == "." for r in mx.records):
            out.append(
                MX_NULL(
                    Status.FAIL,
                    "null MX published together with other MX records",
                    "a null MX alone, or no null MX",
                    subject=ctx.domain,
                    reproduce=repro,
                )
            )
    out += await asyncio.gather(*(_host(ctx, h.host) for h in mx.hosts))
    return [f for group in out for f in (group if isinstance(group, list) else [group])]


async def _host(ctx: Context, host: str) -> list[Finding]:
    ns = ctx.nameservers
    out: list[Finding] = []
    if is_ip(host.strip("[]")):
        return [
            MX_TARGET(
                Status.FAIL,
                f"{host} is an IP address",
                "a host name",
                subject=host,
                reproduce=dig(ctx.domain, "MX", ns),
            )
        ]
    try:
        lookup = await ctx.resolver.lookup(host, "A")
    except DNSError as exc:
        return [MX_ADDRESS(Status.ERROR, str(exc), subject=host, reproduce=dig(host, "A", ns))]
    addresses = await ctx.addresses(host)
    if lookup.cname:
        out.append(
            MX_TARGET(
                Status.FAIL,
                f"{host} is a CNAME for {lookup.cname}",
                "a name with its own A/AAAA records",
                subject=host,
                reproduce=dig(host, "CNAME", ns),
            )
        )
    elif isinstance(addresses, list) and addresses:
        # only a name that has addresses of its own passes: a host without any is one
        # fault, reported once by routing.mx.address, never passed here (issue 19)
        out.append(MX_TARGET(Status.PASS, "host name with its own address records", subject=host))
    if isinstance(addresses, DNSError):
        out.append(MX_ADDRESS(Status.ERROR, str(addresses), subject=host))
        return out
    if not addresses:
        out.append(
            MX_ADDRESS(
                Status.FAIL,
                "no A or AAAA record",
                "at least one address",
                subject=host,
                reproduce=dig(host, "A", ns),
            )
        )
        return out
    out.append(MX_ADDRESS(Status.PASS, ", ".join(addresses), subject=host))
    for address in addresses:
        if is_public(address):
            out.append(MX_PUBLIC(Status.PASS, address, subject=host))
        else:
            status = Status.INFO if ctx.options.allow_private else Status.FAIL
            out.append(
                MX_PUBLIC(
                    status,
                    f"{address} is not a public address",
                    "a globally routable address",
                    subject=host,
                    reproduce=dig(host, "A", ns),
                )
            )
    out += [f for a in addresses for f in await _reverse(ctx, host, a)]
    return out


async def _reverse(ctx: Context, host: str, address: str) -> list[Finding]:
    ns = ctx.nameservers
    subject = f"{host} [{address}]"
    repro = dig(address, "PTR", ns)
    try:
        names = await ctx.resolver.ptr(address)
    except DNSError as exc:
        return [PTR(Status.ERROR, str(exc), subject=subject, reproduce=repro)]
    if not names:
        return [
            PTR(
                Status.WARN,
                "no PTR record",
                f"a PTR such as {host}",
                subject=subject,
                reproduce=repro,
            )
        ]
    out = [PTR(Status.PASS, ", ".join(names), subject=subject, reproduce=repro)]
    confirmed = []
    for name in names:
        back = await ctx.addresses(name)
        if isinstance(back, list) and address in back:
            confirmed.append(name)
    if confirmed:
        out.append(
            FCRDNS(Status.PASS, f"{confirmed[0]} resolves back to {address}", subject=subject)
        )
    else:
        out.append(
            FCRDNS(
                Status.WARN,
                f"{', '.join(names)} does not resolve to {address}",
                f"the PTR name's A/AAAA records include {address}",
                subject=subject,
                reproduce=dig(names[0], "A", ns),
            )
        )
    return out
