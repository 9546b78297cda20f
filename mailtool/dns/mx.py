"""MX resolution for delivery (RFC 5321 §5.1) with null MX (RFC 7505).

- MX records are tried in order of preference; equal preferences are shuffled
  so that load spreads (RFC 5321 §5.1: "the SMTP client SHOULD randomize").
- No MX record at all (NODATA) means the domain itself is the single, implicit
  MX of preference 0, provided it has an address.
- ``MX 0 .`` is a null MX: the domain accepts no mail; a sender bounces with
  ``556 5.1.10`` (:class:`~mailtool.dns.errors.NullMX`).
- NXDOMAIN is permanent (bounce), SERVFAIL and timeouts are temporary (defer).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import DNSPermanentError, NullMX, NXDomain
from .records import _name, resolve_addresses

if TYPE_CHECKING:
    from .resolver import Resolver


@dataclass(frozen=True)
class MXHost:
    preference: int
    host: str

    def to_json(self) -> dict[str, object]:
        return {"preference": self.preference, "host": self.host}


@dataclass(frozen=True)
class MXResult:
    """Where mail for ``domain`` goes.

    ``hosts`` is the delivery order. ``implicit`` is True when there was no MX
    and the domain itself is used; ``null`` when the domain publishes a null
    MX (``hosts`` is then empty). ``records`` are the MX records as published
    (before sorting/shuffling), for diagnostics.
    """

    domain: str
    hosts: tuple[MXHost, ...] = ()
    implicit: bool = False
    null: bool = False
    records: tuple[MXHost, ...] = field(default=())

    def raise_for_null(self) -> None:
        """Raise :class:`NullMX` when the domain accepts no mail (a relay bounces)."""
        if self.null:
            raise NullMX(
                f"{self.domain} publishes a null MX: it accepts no mail (RFC 7505)",
                name=self.domain,
                rdtype="MX",
            )

    def to_json(self) -> dict[str, object]:
        return {
            "domain": self.domain,
            "hosts": [h.to_json() for h in self.hosts],
            "implicit": self.implicit,
            "null": self.null,
            "records": [h.to_json() for h in self.records],
        }


def order_by_preference(hosts: list[MXHost], rng: random.Random | None = None) -> list[MXHost]:
    """Sort by preference, random order among equal preferences (RFC 5321 §5.1)."""
    rng = rng or random.Random()
    keyed = [(h.preference, rng.random(), h) for h in hosts]
    return [h for _, _, h in sorted(keyed, key=lambda k: (k[0], k[1]))]


def is_null_mx(records: list[MXHost]) -> bool:
    """RFC 7505 §3: a single MX with preference 0 and an empty (root) exchange.
    We also treat a ``.`` exchange among other records as null when every
    record is ``.``: any other mix is a misconfiguration the real MXes win."""
    return bool(records) and all(r.host in ("", ".") for r in records)


async def resolve_mx(
    resolver: Resolver, domain: str, *, rng: random.Random | None = None
) -> MXResult:
    """Where to deliver mail for ``domain``.

    Raises :class:`NXDomain` (permanent) when the domain does not exist,
    :class:`DNSPermanentError` when it has neither MX nor address, and
    :class:`DNSTemporaryError` when the answer is not known now. A null MX is
    *returned* (``result.null``); call :meth:`MXResult.raise_for_null` to bounce.
    """
    domain = domain.rstrip(".")
    found = await resolver.lookup(domain, "MX")
    if found.nxdomain:
        raise NXDomain(f"{domain}: no such domain (NXDOMAIN)", name=domain, rdtype="MX")
    records = [MXHost(r.preference, _name(r.exchange) or ".") for r in found.records]
    if records:
        if is_null_mx(records):
            return MXResult(domain, (), null=True, records=tuple(records))
        usable = [r for r in records if r.host not in ("", ".")]
        return MXResult(domain, tuple(order_by_preference(usable, rng)), records=tuple(records))
    # RFC 5321 §5.1: no MX -> the domain is its own MX (implicit MX), if it has an address
    if await resolve_addresses(resolver, domain):
        return MXResult(domain, (MXHost(0, domain),), implicit=True)
    raise DNSPermanentError(
        f"{domain}: no MX record and no address record (RFC 5321 §5.1)", name=domain, rdtype="MX"
    )
