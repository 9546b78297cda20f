"""Reputation: each MX address against DNS blocklists (RFC 5782), after
checking that each list works (its test entries answer as the RFC says)."""

from __future__ import annotations

import asyncio
import ipaddress

from mailtool.dns import DNSError

from .context import Context, is_public
from .findings import Check, Finding, Status, dig

HEALTH = Check(
    "reputation.dnsbl.health",
    "The DNSBL answers its test entries",
    "A list must list 127.0.0.2 and must not list 127.0.0.1; a list that does neither (or "
    "lists everything) is dead or blocking your resolver, and its answers mean nothing.",
    "RFC 5782 §5",
    "Use another resolver (public resolvers are often refused by DNSBLs) or drop the list.",
)
LISTED = Check(
    "reputation.dnsbl.listed",
    "MX address not on a DNSBL",
    "Receivers using the list will refuse or junk mail from a listed address; a listed MX "
    "also suggests a compromised or abused host.",
    "RFC 5782 §2.1",
    "Find and stop the cause (open relay, compromised account), then request delisting.",
)


def query_name(address: str, zone: str) -> str:
    """RFC 5782 §2.1 (IPv4) and §2.4 (IPv6, nibbles)."""
    ip = ipaddress.ip_address(address)
    labels = ip.reverse_pointer.rsplit(".", 2)[0]  # drop in-addr.arpa / ip6.arpa
    return f"{labels}.{zone}"


async def _listed(ctx: Context, address: str, zone: str) -> bool:
    found = await ctx.resolver.lookup(query_name(address, zone), "A")
    return any(str(r.address).startswith("127.") for r in found.records)


async def _health(ctx: Context, zone: str) -> Finding:
    try:
        positive, negative = await asyncio.gather(
            _listed(ctx, "127.0.0.2", zone), _listed(ctx, "127.0.0.1", zone)
        )
    except DNSError as exc:
        return HEALTH(Status.ERROR, str(exc), subject=zone)
    if positive and not negative:
        return HEALTH(Status.PASS, "127.0.0.2 listed, 127.0.0.1 not", subject=zone)
    return HEALTH(
        Status.ERROR,
        f"127.0.0.2 {'listed' if positive else 'NOT listed'}, "
        f"127.0.0.1 {'LISTED' if negative else 'not listed'}",
        "127.0.0.2 listed and 127.0.0.1 not",
        subject=zone,
        reproduce=dig(query_name("127.0.0.2", zone), "A", ctx.nameservers),
    )


async def run(ctx: Context) -> list[Finding]:
    zones = ctx.options.dnsbls
    health = await asyncio.gather(*(_health(ctx, z) for z in zones))
    out = list(health)
    working = [z for z, f in zip(zones, health, strict=True) if f.status is Status.PASS]
    for host, address in await ctx.mx_addresses():
        if not (is_public(address) or ctx.options.allow_private):
            out.append(LISTED(Status.SKIP, "not a public address", subject=f"{host} [{address}]"))
            continue
        for zone in working:
            subject = f"{address} @ {zone}"
            repro = dig(query_name(address, zone), "A", ctx.nameservers)
            try:
                listed = await _listed(ctx, address, zone)
            except DNSError as exc:
                out.append(LISTED(Status.ERROR, str(exc), subject=subject))
                continue
            out.append(
                LISTED(
                    Status.FAIL if listed else Status.PASS,
                    "listed" if listed else "not listed",
                    "not listed",
                    subject=subject,
                    reproduce=repro,
                )
            )
    return out
