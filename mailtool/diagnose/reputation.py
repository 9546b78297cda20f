"""Reputation: each MX address against DNS blocklists (RFC 5782), after
checking that each list works (its test entries answer as the RFC says).

A list that does not work from here — it refuses the resolver (Spamhaus answers
127.255.255.254 to queries through public resolvers), lists everything, lists
nothing, or does not answer — is *unusable*: reported as info about the list
and the resolver, never as an inconclusive result for the domain (exit 3 is
for the domain's own DNS)."""

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


#: answers that are a list's error codes, not listings: Spamhaus's 127.255.255.252
#: (typing error), .254 (query through a public/open resolver), .255 (too many queries)
ERROR_CODES = ipaddress.ip_network("127.255.255.0/24")


class Unusable(Exception):
    """The list answered with an error code instead of a listing."""


async def _listed(ctx: Context, address: str, zone: str) -> bool:
    """RFC 5782 §2.1: listed when the A query answers 127.0.0.0/8; an answer in
    :data:`ERROR_CODES` raises :class:`Unusable`."""
    found = await ctx.resolver.lookup(query_name(address, zone), "A")
    answers = [ipaddress.ip_address(str(r.address)) for r in found.records]
    refused = [str(a) for a in answers if a in ERROR_CODES]
    if refused:
        raise Unusable(f"answers {refused[0]}: the list refuses this resolver or query")
    return any(a in ipaddress.ip_network("127.0.0.0/8") for a in answers)


async def _health(ctx: Context, zone: str) -> Finding:
    repro = dig(query_name("127.0.0.2", zone), "A", ctx.nameservers)
    try:
        positive, negative = await asyncio.gather(
            _listed(ctx, "127.0.0.2", zone), _listed(ctx, "127.0.0.1", zone)
        )
    except (DNSError, Unusable) as exc:
        return HEALTH(Status.INFO, f"unusable from here: {exc}", subject=zone, reproduce=repro)
    if positive and not negative:
        return HEALTH(Status.PASS, "127.0.0.2 listed, 127.0.0.1 not", subject=zone)
    return HEALTH(
        Status.INFO,
        f"unusable from here: 127.0.0.2 {'listed' if positive else 'NOT listed'}, "
        f"127.0.0.1 {'LISTED' if negative else 'not listed'}",
        "127.0.0.2 listed and 127.0.0.1 not",
        subject=zone,
        reproduce=repro,
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
            except (DNSError, Unusable) as exc:  # the list's trouble, not the domain's
                out.append(LISTED(Status.INFO, f"not known: {exc}", subject=subject))
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
