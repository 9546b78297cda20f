"""The one place mailtool talks to dnspython: an asyncio resolver with
explicit nameservers, and :class:`Lookup`, an answer that keeps what a caller
needs to tell "no such name" (NXDOMAIN) from "name exists, no such record"
(NODATA) — SPF's void-lookup limit (RFC 7208 §4.6.4) and RFC 8020's
``_domainkey`` test depend on it.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import DNSTemporaryError, NXDomain

if TYPE_CHECKING:
    from mailtool.config import Config

    from .mx import MXResult
    from .records import SRVRecord, TLSARecord

DEFAULT_TIMEOUT = 5.0  # seconds for one whole lookup, retries included


def parse_nameserver(value: str) -> tuple[str, int]:
    """``"HOST[:PORT]"`` or ``"[v6]:PORT"`` (or a bare IPv6 address) -> (host, port)."""
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else 53
    if value.count(":") == 1:
        host, _, port = value.partition(":")
        return host, int(port)
    return value, 53


@dataclass(frozen=True)
class Lookup:
    """The outcome of one query that did not fail temporarily.

    ``records`` are dnspython rdata objects (only modules under mailtool.dns
    look inside them); ``nxdomain`` is True for RCODE 3, and an empty
    ``records`` with ``nxdomain`` False is NODATA. ``authenticated`` is the AD
    bit: the resolver validated the answer with DNSSEC (DANE needs it).
    """

    name: str
    rdtype: str
    records: tuple[Any, ...] = ()
    nxdomain: bool = False
    authenticated: bool = False
    cname: str | None = None  # the canonical name, when the name was an alias

    @property
    def void(self) -> bool:
        """RFC 7208 §4.6.4: a lookup that returned NXDOMAIN or no records."""
        return not self.records


def _env_nameservers() -> list[str]:
    from mailtool.config import ENV_NAMESERVERS

    return [s.strip() for s in os.environ.get(ENV_NAMESERVERS, "").split(",") if s.strip()]


@dataclass
class Resolver:
    """An asyncio stub resolver.

    ``nameservers`` are ``"HOST[:PORT]"`` strings; ``None`` or empty uses
    ``$MAILTOOL_NAMESERVERS``, else the system's (``/etc/resolv.conf``). Every
    query asks for DNSSEC data (DO bit) so that a validating resolver's AD bit
    can be reported.
    """

    nameservers: Sequence[str] | None = None
    timeout: float = DEFAULT_TIMEOUT
    _impl: Any = field(default=None, init=False, repr=False)

    def _resolver(self) -> Any:
        if self._impl is None:
            import dns.asyncresolver
            import dns.flags
            import dns.nameserver

            # $MAILTOOL_NAMESERVERS wins over the system's resolvers for every caller, so
            # a test run (or a user) can keep every query on a loopback resolver
            servers = self.nameservers or _env_nameservers()
            if servers:
                res = dns.asyncresolver.Resolver(configure=False)
                res.nameservers = [
                    dns.nameserver.Do53Nameserver(*parse_nameserver(ns)) for ns in servers
                ]
            else:
                res = dns.asyncresolver.Resolver()
            res.lifetime = self.timeout
            res.timeout = min(2.0, self.timeout)
            res.use_edns(0, dns.flags.DO, 1232)
            res.flags = dns.flags.RD | dns.flags.AD
            res.cache = None
            self._impl = res
        return self._impl

    async def lookup(self, name: str, rdtype: str) -> Lookup:
        """One query. NXDOMAIN and NODATA are answers (a :class:`Lookup`);
        SERVFAIL, REFUSED and timeouts raise :class:`DNSTemporaryError`."""
        import dns.exception
        import dns.flags
        import dns.resolver

        res = self._resolver()
        try:
            answer = await res.resolve(name, rdtype, raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN:
            return Lookup(name, rdtype, nxdomain=True)
        except dns.resolver.NoNameservers as exc:
            raise DNSTemporaryError(
                f"{name} {rdtype}: no nameserver gave an answer (SERVFAIL or REFUSED): {exc}",
                name=name,
                rdtype=rdtype,
            ) from None
        except (dns.exception.Timeout, dns.resolver.LifetimeTimeout):
            raise DNSTemporaryError(
                f"{name} {rdtype}: timed out after {self.timeout:g} s", name=name, rdtype=rdtype
            ) from None
        except dns.exception.DNSException as exc:
            raise DNSTemporaryError(f"{name} {rdtype}: {exc}", name=name, rdtype=rdtype) from None
        records = tuple(answer.rrset) if answer.rrset is not None else ()
        canonical = answer.canonical_name.to_text(omit_final_dot=True)
        return Lookup(
            name,
            rdtype,
            records,
            authenticated=bool(answer.response.flags & dns.flags.AD),
            cname=canonical if canonical.lower() != name.rstrip(".").lower() else None,
        )

    async def lookup_or_raise(self, name: str, rdtype: str) -> Lookup:
        """Like :meth:`lookup`, but NXDOMAIN raises :class:`NXDomain`."""
        found = await self.lookup(name, rdtype)
        if found.nxdomain:
            raise NXDomain(f"{name}: no such domain (NXDOMAIN)", name=name, rdtype=rdtype)
        return found

    # Typed helpers (mailtool.dns.mx / .records), as methods for convenience.

    async def resolve_mx(self, domain: str, **kw: Any) -> MXResult:
        from .mx import resolve_mx

        return await resolve_mx(self, domain, **kw)

    async def resolve_addresses(self, host: str) -> list[str]:
        from .records import resolve_addresses

        return await resolve_addresses(self, host)

    async def txt(self, name: str) -> list[str]:
        from .records import txt

        return await txt(self, name)

    async def ptr(self, ip: str) -> list[str]:
        from .records import ptr

        return await ptr(self, ip)

    async def srv(self, name: str) -> list[SRVRecord]:
        from .records import srv

        return await srv(self, name)

    async def tlsa(self, host: str, port: int = 25, proto: str = "tcp") -> list[TLSARecord]:
        from .records import tlsa

        return await tlsa(self, host, port, proto)


def resolver_from_config(
    cfg: Config | None = None, *, timeout: float = DEFAULT_TIMEOUT
) -> Resolver:
    """The resolver the config asks for (``dns.nameservers``, which
    ``$MAILTOOL_NAMESERVERS`` already overrides in :func:`mailtool.config.load`)."""
    nameservers = list(cfg.dns.nameservers) if cfg is not None else []
    return Resolver(nameservers or None, timeout=timeout)


def reverse_name(ip: str) -> str:
    """``"127.0.0.2"`` -> ``"2.0.0.127.in-addr.arpa"`` (RFC 1035 §3.5, RFC 3596 §2.5)."""
    return ipaddress.ip_address(ip).reverse_pointer
