"""What every check family gets: the domain, the resolver, options, and a
memo of shared work (the MX lookup, one SMTP probe per MX address) so that
families running concurrently never repeat a query or a connection."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from mailtool.dns import DNSError, Resolver

#: DNSBLs asked when none are given (their own policies allow low-volume queries)
DEFAULT_DNSBLS = ("zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org")
#: DKIM selectors tried when none is given (common providers and software defaults)
COMMON_SELECTORS = (
    "default",
    "dkim",
    "mail",
    "selector1",
    "selector2",
    "google",
    "k1",
    "s1",
    "s2",
    "mx",
)


@dataclass
class Options:
    selectors: tuple[str, ...] = ()
    dnsbls: tuple[str, ...] = DEFAULT_DNSBLS
    port_map: dict[int, int] = field(default_factory=dict)
    cafile: str | None = None
    allow_private: bool = False  # loopback / private MX addresses are not a failure
    timeout: float = 10.0  # per host, connect and each command
    greeting_timeout: float = 30.0  # RFC 5321 §4.5.3.2.1; at least 20 s (greet-pause)


@dataclass
class Context:
    domain: str
    resolver: Resolver
    options: Options = field(default_factory=Options)
    progress: Callable[[str], None] = lambda _msg: None
    _memo: dict[Any, asyncio.Task[Any]] = field(default_factory=dict)

    @property
    def nameservers(self) -> list[str]:
        return list(self.resolver.nameservers or [])

    def port(self, port: int) -> int:
        """The port to really connect to (``--port-map 25=2525``)."""
        return self.options.port_map.get(port, port)

    def once(self, key: Any, factory: Callable[[], Awaitable[Any]]) -> asyncio.Task[Any]:
        """Run ``factory()`` once per key; every caller awaits the same task."""
        if key not in self._memo:
            self._memo[key] = asyncio.ensure_future(factory())
        return self._memo[key]

    # ------------------------------------------------------------ shared work

    async def mx(self) -> Any:
        """The MXResult, or the DNSError that prevented it."""

        async def lookup() -> Any:
            try:
                return await self.resolver.resolve_mx(self.domain)
            except DNSError as exc:
                return exc

        return await self.once("mx", lookup)

    async def addresses(self, host: str) -> list[str] | DNSError:
        async def lookup() -> Any:
            try:
                return await self.resolver.resolve_addresses(host)
            except DNSError as exc:
                return exc

        return await self.once(("addr", host.lower()), lookup)

    async def mx_addresses(self) -> list[tuple[str, str]]:
        """(MX host, address) for every address of every MX, in MX order."""
        mx = await self.mx()
        if isinstance(mx, Exception) or mx.null:
            return []
        out = []
        for h in mx.hosts:
            found = await self.addresses(h.host)
            if isinstance(found, list):
                out += [(h.host, a) for a in found]
        return out

    async def smtp_probe(self, host: str, address: str) -> Any:
        """One SMTP probe per MX address: greeting, EHLO, STARTTLS, postmaster@
        and an off-domain recipient (never DATA)."""
        from mailtool.client.probe_smtp import SMTPOptions, probe_smtp

        async def run() -> Any:
            self.progress(f"SMTP {host} [{address}]")
            opts = SMTPOptions(
                server_name=host,
                cafile=self.options.cafile,
                helo="diagnose.mailtool.invalid",
                greeting_timeout=self.options.greeting_timeout,
                rcpt_checks=[
                    ("postmaster", "", f"postmaster@{self.domain}"),
                    ("relay", "diagnose@mailtool.invalid", "relay-test@mailtool.invalid"),
                ],
            )
            return await probe_smtp(address, self.port(25), opts)

        return await self.once(("smtp", host, address), run)


def is_public(address: str) -> bool:
    return ipaddress.ip_address(address).is_global
