"""Typed lookups on top of :class:`~mailtool.dns.resolver.Resolver`: addresses,
TXT, PTR, SRV and TLSA, as plain frozen dataclasses (no dnspython types leak).

Each returns an empty list for NXDOMAIN and NODATA and raises
:class:`~mailtool.dns.errors.DNSTemporaryError` when the answer is unknown.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import DNSTemporaryError
from .resolver import reverse_name

if TYPE_CHECKING:
    from .resolver import Resolver


@dataclass(frozen=True)
class SRVRecord:
    """RFC 2782: ``_service._proto.name. TTL IN SRV priority weight port target``."""

    priority: int
    weight: int
    port: int
    target: str

    @property
    def is_null(self) -> bool:
        """RFC 6186 §4: target ``.`` means "this service is not offered"."""
        return self.target in ("", ".")

    def to_json(self) -> dict[str, object]:
        return {
            "priority": self.priority,
            "weight": self.weight,
            "port": self.port,
            "target": self.target,
        }


@dataclass(frozen=True)
class TLSARecord:
    """RFC 6698 §2.1: certificate usage, selector, matching type, data."""

    usage: int
    selector: int
    mtype: int
    data: bytes

    def __str__(self) -> str:
        return f"{self.usage} {self.selector} {self.mtype} {self.data.hex()}"

    def to_json(self) -> dict[str, object]:
        return {
            "usage": self.usage,
            "selector": self.selector,
            "mtype": self.mtype,
            "data": self.data.hex(),
        }


def _name(rdata_name: object) -> str:
    return (
        rdata_name.to_text(omit_final_dot=True)
        if hasattr(rdata_name, "to_text")
        else str(rdata_name)
    )


async def resolve_addresses(resolver: Resolver, host: str) -> list[str]:
    """IPv6 then IPv4 addresses of ``host`` (AAAA and A asked in parallel).

    Raises :class:`DNSTemporaryError` only when *both* lookups failed
    temporarily: one working family is enough to deliver.
    """
    results = await asyncio.gather(
        resolver.lookup(host, "AAAA"), resolver.lookup(host, "A"), return_exceptions=True
    )
    addresses: list[str] = []
    errors = []
    for result in results:
        if isinstance(result, DNSTemporaryError):
            errors.append(result)
        elif isinstance(result, BaseException):
            raise result
        else:
            addresses += [r.address for r in result.records]
    if len(errors) == len(results):
        raise errors[0]
    return addresses


async def txt(resolver: Resolver, name: str) -> list[str]:
    """Each TXT record as one string (its character-strings concatenated, RFC 7208 §3.3)."""
    found = await resolver.lookup(name, "TXT")
    return [b"".join(r.strings).decode("utf-8", "replace") for r in found.records]


async def ptr(resolver: Resolver, ip: str) -> list[str]:
    """The names a reverse lookup of ``ip`` gives (RFC 1035 §3.5)."""
    found = await resolver.lookup(reverse_name(ip), "PTR")
    return [_name(r.target) for r in found.records]


async def srv(resolver: Resolver, name: str) -> list[SRVRecord]:
    """SRV records sorted by priority, then by descending weight (RFC 2782)."""
    found = await resolver.lookup(name, "SRV")
    out = [SRVRecord(r.priority, r.weight, r.port, _name(r.target)) for r in found.records]
    return sorted(out, key=lambda s: (s.priority, -s.weight, s.target))


def tlsa_name(host: str, port: int = 25, proto: str = "tcp") -> str:
    """RFC 6698 §3: ``_25._tcp.mx.example.``."""
    return f"_{port}._{proto}.{host.rstrip('.')}"


async def tlsa(
    resolver: Resolver, host: str, port: int = 25, proto: str = "tcp"
) -> list[TLSARecord]:
    """The TLSA records of a service; check ``resolver.lookup`` for the AD bit."""
    found = await resolver.lookup(tlsa_name(host, port, proto), "TLSA")
    return [TLSARecord(r.usage, r.selector, r.mtype, bytes(r.cert)) for r in found.records]
