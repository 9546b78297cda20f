"""What every check family gets: the domain, the resolver, options, and a
memo of shared work (the MX lookup, one SMTP probe per MX address) so that
families running concurrently never repeat a query or a connection.

The resolver is wrapped in a :class:`GuardedResolver`: when the resolver has
answered nothing at all, a query times out, and a query for the root times out
too, it is dead, and every later query fails at once with that reason instead
of waiting ``--timeout`` again, so a diagnosis against a dead resolver ends
within two timeouts."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from mailtool.dns import DNSError, DNSTemporaryError, Lookup, Resolver

#: DNSBLs asked when none are given (their own policies allow low-volume queries)
DEFAULT_DNSBLS = ("zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org")
#: DKIM selectors tried when none is given: mailtool's own (`mailtool dkim keygen`:
#: dkim.selector and SELECTOR-ed25519), then common providers' and software defaults
COMMON_SELECTORS = (
    "mailtool",
    "mailtool-ed25519",
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


#: RFC 2606 §3 reserved domains, candidates for the relay test's external recipient;
#: the first that resolves in the resolver's view is used (``Options.relay_domains``)
RELAY_DOMAINS = ("example.net", "example.com", "example.org")
RELAY_LOCAL_PART = "relay-test"


#: seconds the liveness query (the root's NS) may take: any reply, REFUSED included,
#: proves the resolver is there
LIVENESS_TIMEOUT = 2.0


class GuardedResolver(Resolver):
    """A :class:`Resolver` that stops asking a resolver that never answered.

    Only a resolver that has answered no query at all, and then does not answer
    a query for the root either, is declared dead: one slow name (a domain whose
    servers do not answer) on a working resolver must not cut the others."""

    def __init__(self, nameservers: Any = None, timeout: float = 10.0) -> None:
        super().__init__(nameservers, timeout=timeout)
        self.answered = False
        self.dead: DNSError | None = None
        self._liveness: asyncio.Task[bool] | None = None

    async def _silent(self) -> bool:
        """Does the resolver leave even ``. NS`` unanswered? (asked once)"""

        async def ask() -> bool:
            probe = Resolver(self.nameservers, timeout=min(LIVENESS_TIMEOUT, self.timeout))
            try:
                await probe.lookup(".", "NS")
            except DNSTemporaryError as exc:
                return "timed out" in str(exc)
            return False

        if self._liveness is None:
            self._liveness = asyncio.ensure_future(ask())
        silent = await self._liveness
        self.answered = self.answered or not silent
        return silent

    async def lookup(self, name: str, rdtype: str) -> Lookup:
        if self.dead is not None:
            raise DNSTemporaryError(
                f"{name} {rdtype}: not asked, the resolver answers nothing ({self.dead})",
                name=name,
                rdtype=rdtype,
            )
        try:
            found = await super().lookup(name, rdtype)
        except DNSTemporaryError as exc:
            if "timed out" in str(exc) and not self.answered and await self._silent():
                self.dead = self.dead or exc
            raise
        self.answered = True
        return found


def guarded(resolver: Resolver) -> Resolver:
    """``resolver`` as a :class:`GuardedResolver` (a plain one only: a test's
    stand-in is used as given)."""
    if type(resolver) is Resolver:
        return GuardedResolver(resolver.nameservers, resolver.timeout)
    return resolver


@dataclass
class Options:
    selectors: tuple[str, ...] = ()
    dnsbls: tuple[str, ...] = DEFAULT_DNSBLS
    port_map: dict[int, int] = field(default_factory=dict)
    cafile: str | None = None
    allow_private: bool = False  # loopback / private MX addresses are not a failure
    relay_domains: tuple[str, ...] = RELAY_DOMAINS
    timeout: float = 10.0  # per host, connect and each command
    greeting_timeout: float = 30.0  # RFC 5321 §4.5.3.2.1; at least 20 s (greet-pause)


@dataclass
class Context:
    domain: str
    resolver: Resolver
    options: Options = field(default_factory=Options)
    progress: Callable[[str], None] = lambda _msg: None
    _memo: dict[Any, asyncio.Task[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.resolver = guarded(self.resolver)

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

    async def null_mx(self) -> bool:
        """RFC 7505: the domain says it accepts no mail (``MX 0 .``)."""
        mx = await self.mx()
        return not isinstance(mx, Exception) and mx.null

    async def relay_domain(self) -> tuple[str, bool]:
        """The external domain the relay test sends to, and whether it resolves
        here: the first of ``Options.relay_domains`` with an MX host or an
        address, so that a refusal cannot be about a recipient domain that does
        not exist (Postfix reject_unknown_recipient_domain)."""

        async def pick() -> tuple[str, bool]:
            candidates = [d for d in self.options.relay_domains if d != self.domain]
            for domain in candidates:
                try:
                    mx = await self.resolver.resolve_mx(domain)
                except DNSError:
                    continue
                if mx.hosts:
                    return domain, True
            return (candidates or list(RELAY_DOMAINS))[0], False

        return await self.once("relay-domain", pick)

    async def relay_checks(self) -> list[tuple[str, str, str]]:
        """(name, MAIL FROM, RCPT TO) of the relay test (RFC 5321 §3.6.2): senders
        in domains that resolve, so that a server refusing unresolvable senders
        (Postfix reject_unknown_sender_domain, 4.1.8) cannot look like one that
        refuses to relay. "relay": the domain's own postmaster; "relay2": an
        address of the external domain itself, for servers that refuse their own
        domain from outside (anti-spoofing); "relay3": the null sender (RFC 5321
        §4.5.5), which has no domain to check (SPF at MAIL time refuses the other
        two on some servers); relaying a bounce is relaying too."""
        external, _ = await self.relay_domain()
        rcpt = f"{RELAY_LOCAL_PART}@{external}"
        return [
            ("relay", f"postmaster@{self.domain}", rcpt),
            ("relay2", f"{RELAY_LOCAL_PART}-sender@{external}", rcpt),
            ("relay3", "", rcpt),
        ]

    async def smtp_probe(self, host: str, address: str) -> Any:
        """One SMTP probe per MX address: greeting, EHLO, STARTTLS, postmaster@
        and the relay test (never DATA). When STARTTLS fails, the recipient
        checks are made again without TLS, as a sending MTA falls back to clear
        text (RFC 3207 §4.1): the TLS failure is one finding, not three."""
        import dataclasses

        from mailtool.client.probe import Stage
        from mailtool.client.probe_smtp import SMTPOptions, probe_smtp

        async def run() -> Any:
            relay = await self.relay_checks()
            self.progress(f"SMTP {host} [{address}]")
            opts = SMTPOptions(
                server_name=host,
                cafile=self.options.cafile,
                helo="diagnose.mailtool.invalid",
                greeting_timeout=self.options.greeting_timeout,
                rcpt_checks=[("postmaster", "", f"postmaster@{self.domain}"), *relay],
            )
            result = await probe_smtp(address, self.port(25), opts)
            if result.stage in (Stage.TLS, Stage.HELLO_AFTER_TLS) and result.starttls_offered:
                plain = await probe_smtp(
                    address, self.port(25), dataclasses.replace(opts, tls="none")
                )
                result.transcript.note("STARTTLS failed: recipient checks again in clear text")
                result.transcript.lines += plain.transcript.lines
                result.replies.update(plain.replies)
            return result

        return await self.once(("smtp", host, address), run)


def is_public(address: str) -> bool:
    return ipaddress.ip_address(address).is_global
