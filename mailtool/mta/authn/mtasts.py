"""MTA-STS (RFC 8461) for outbound delivery: discover, fetch, cache, enforce.

:meth:`MtaStsCache.policy_for` gives the policy in force for a recipient
domain, or None (deliver as before: opportunistic TLS):

1. ``_mta-sts.DOMAIN`` TXT (``v=STSv1; id=...``) says a policy exists (§3.1);
2. the policy comes from ``https://mta-sts.DOMAIN/.well-known/mta-sts.txt``
   over HTTPS with a valid certificate for that name, no redirects (§3.3);
3. it is cached (``DATA_DIR/mta-sts/DOMAIN.json``; on PostgreSQL a table every
   node shares, :mod:`mailtool.store.pg.caches`) for ``max_age``, and
   refetched only when the TXT id changes (§5.1). A failed refresh keeps the
   cached policy until it expires: an attacker who blocks the fetch or the TXT
   lookup cannot downgrade us (§10.2).

:func:`check_mx` and :func:`enforce_on_route` apply it: in ``enforce`` mode
only MX hosts matching an ``mx:`` pattern are tried, and only over TLS with a
certificate that is valid for the MX name (§4.1, §4.2); anything else defers
the message (it is never sent in plaintext instead).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mailtool.client.probe_tls import name_matches
from mailtool.dns import DNSError, Resolver
from mailtool.errors import TemporaryFailure
from mailtool.net.log import log_event
from mailtool.policy import mtasts as sts
from mailtool.store.caches import PolicyFiles
from mailtool.store.paths import DataDir

if TYPE_CHECKING:
    from mailtool.mta.routing import Route

POLICY_PATH = sts.POLICY_PATH
FETCH_TIMEOUT = 10.0  # RFC 8461 §3.3: senders may limit the fetch time


@dataclass(frozen=True)
class MtaStsPolicy:
    """One domain's policy, as fetched (RFC 8461 §3.2)."""

    domain: str
    id: str
    mode: str  # enforce, testing, none
    mx: tuple[str, ...]
    max_age: int
    fetched: float

    @property
    def expires(self) -> float:
        return self.fetched + self.max_age

    def matches(self, mx_host: str) -> bool:
        """RFC 8461 §4.1: an mx pattern is a name or ``*.`` plus one label's worth."""
        return any(name_matches(pattern, mx_host) for pattern in self.mx)

    @property
    def policy_strings(self) -> list[str]:
        """The policy as lines, as TLS-RPT reports it (RFC 8460 §4.4)."""
        return ["version: STSv1", f"mode: {self.mode}", *(f"mx: {m}" for m in self.mx),
                f"max_age: {self.max_age}"]


def check_mx(policy: MtaStsPolicy | None, mx_host: str, tls_ok: bool, cert_ok: bool) -> bool:
    """May we deliver to ``mx_host`` with this TLS outcome? (RFC 8461 §4.1, §4.2, §5)

    Without a policy, or in ``testing``/``none`` mode, yes (testing only reports,
    through TLS-RPT). In ``enforce`` mode only over TLS with a valid certificate, to
    an MX that matches the policy."""
    if policy is None or policy.mode != "enforce":
        return True
    return policy.matches(mx_host) and tls_ok and cert_ok


def enforce_on_route(route: Route, policy: MtaStsPolicy | None) -> Route:
    """The route the relay should use under ``policy`` (unchanged without enforcement).

    Hops whose MX name the policy does not list are dropped; the rest require
    STARTTLS with certificate and name verification (outbound checks the
    certificate against the hop's name, which is the MX name). No hop left:
    :class:`TemporaryFailure` ``451 4.7.5`` (the message waits; RFC 8461 §5.1)."""
    if policy is None or policy.mode != "enforce" or route.smart_host:
        return route
    hops = tuple(h for h in route.hops if policy.matches(h.name))
    if not hops:
        raise TemporaryFailure(
            f"{route.domain}: no MX host matches its MTA-STS policy "
            f"(mx: {', '.join(policy.mx)})",
            code=451,
            enhanced="4.7.5",  # RFC 3463: cryptographic failure (policy-wise)
        )
    return dataclasses.replace(route, hops=hops, tls="required", verify_tls=True)


Fetcher = Callable[[str, str], "object"]


class PolicyStore(Protocol):
    """Where policies are kept (:class:`~mailtool.store.caches.PolicyFiles`, PgPolicyCache)."""

    def load(self, domain: str) -> dict[str, Any] | None: ...
    def save(self, domain: str, policy: dict[str, Any]) -> None: ...


class MtaStsCache:
    """Policies by domain, in memory and in ``data_dir``'s ``mta-sts/`` (or the store
    given instead of a data dir: on PostgreSQL ``Stores.mtasts_cache``)."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | PolicyStore,
        resolver: Resolver,
        *,
        https_port: int = 443,
        cafile: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.dir: Path | None = None
        if isinstance(data_dir, str | os.PathLike):
            self.dir = DataDir(data_dir).mta_sts
            self.policies: PolicyStore = PolicyFiles(self.dir)
        else:  # a store every node shares
            self.policies = data_dir
        self.resolver = resolver
        self.https_port = https_port
        self.cafile = cafile
        self.clock = clock
        self._memory: dict[str, MtaStsPolicy] = {}

    # ------------------------------------------------------------------ cache

    def cached(self, domain: str) -> MtaStsPolicy | None:
        """The stored policy, if it has not expired."""
        policy = self._memory.get(domain)
        if policy is None:
            data = self.policies.load(domain)
            with contextlib.suppress(KeyError, ValueError, TypeError):
                data["mx"] = tuple(data["mx"])  # type: ignore[index]
                policy = MtaStsPolicy(**data)  # type: ignore[arg-type]
        if policy is None or policy.expires <= self.clock():
            return None
        self._memory[domain] = policy
        return policy

    def _store(self, policy: MtaStsPolicy) -> None:
        self._memory[policy.domain] = policy
        self.policies.save(policy.domain, dataclasses.asdict(policy))

    # ------------------------------------------------------------------ discovery

    async def _record_id(self, domain: str) -> str | None:
        # RFC 8461 §3.1: none, several, or an invalid one = no policy
        return (await sts.discover(self.resolver, domain)).id or None

    async def fetch(self, domain: str, policy_id: str) -> MtaStsPolicy | None:
        """GET the policy file (verified HTTPS, no redirects); None when it is unusable."""
        from mailtool.client.probe_https import https_get

        host = f"mta-sts.{domain}"
        try:
            addresses = await self.resolver.resolve_addresses(host)
        except DNSError:
            addresses = []
        for address in addresses:
            got = await https_get(address, self.https_port, host, POLICY_PATH,
                                  cafile=self.cafile, timeout=FETCH_TIMEOUT)
            if got.error:
                log_event("mtasts.fetch", domain=domain, address=address, outcome="failed",
                          error=got.error)
                continue
            parsed = sts.judge_response(got.status, got.headers.get("content-type", ""), got.body)
            if not parsed.valid:  # RFC 8461 §3.2, §3.3
                log_event("mtasts.fetch", domain=domain, outcome="invalid",
                          error="; ".join(map(str, parsed.problems)))
                return None
            return MtaStsPolicy(domain, policy_id, parsed.mode, parsed.mx, parsed.max_age,
                                self.clock())
        return None

    async def policy_for(self, domain: str) -> MtaStsPolicy | None:
        """The policy to apply to delivery to ``domain`` now (module docstring)."""
        domain = domain.lower().rstrip(".")
        cached = self.cached(domain)
        try:
            policy_id = await self._record_id(domain)
        except DNSError:
            return cached  # RFC 8461 §5.1: keep using a cached policy
        if policy_id is None:
            return cached
        if cached is not None and cached.id == policy_id:
            return cached
        fresh = await self.fetch(domain, policy_id)
        if fresh is None:
            return cached
        self._store(fresh)
        log_event("mtasts.policy", domain=domain, mode=fresh.mode, mx=",".join(fresh.mx),
                  max_age=fresh.max_age)
        return fresh
