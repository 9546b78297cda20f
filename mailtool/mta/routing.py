"""Where mail for a domain goes: its MX hosts, or the configured smart host.

RFC 5321 §5.1: MX records in order of preference, equal preferences in random
order (:func:`mailtool.dns.resolve_mx` does both); no MX record means the
domain's own address is an implicit MX; RFC 7505: a null MX (``MX 0 .``)
means the domain takes no mail, and the message bounces at once with
``5.1.10``. DNS answers that may change (SERVFAIL, timeouts) defer; a domain
that does not exist bounces (``5.1.2``).

A smart host (``[relay] host``) replaces all of this: every domain routes to
that one host, with the TLS mode and AUTH the config gives it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mailtool.config import Config
from mailtool.dns import DNSError, Resolver
from mailtool.errors import ConfigError, PermanentFailure, TemporaryFailure
from mailtool.protocol.smtp import codes

#: "opportunistic": STARTTLS when offered, not verified (RFC 3207 §4.1, RFC 7435);
#: "required": STARTTLS or no delivery; "implicit": TLS from the first byte (RFC 8314);
#: "none": never
TLSPolicy = Literal["opportunistic", "required", "implicit", "none"]


@dataclass(frozen=True)
class Hop:
    """One host to try: ``name`` for EHLO logs and TLS SNI, ``address`` to connect to."""

    name: str
    address: str
    port: int


@dataclass(frozen=True)
class Credentials:
    """AUTH for the smart host. ``repr`` never shows the password (DESIGN principle 3)."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Route:
    """How to deliver to one domain: hosts in the order to try them, and how to talk."""

    domain: str
    hops: tuple[Hop, ...]
    tls: TLSPolicy = "opportunistic"
    verify_tls: bool = False
    credentials: Credentials | None = None
    smart_host: bool = False
    #: the MX host names as resolved (for logs and DSN Remote-MTA), in order
    mx_names: tuple[str, ...] = ()


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def read_password(path: str) -> str:
    """The first line of ``relay.password_file``; the secret itself never reaches a log."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(
            f"cannot read {path}: {exc.strerror}", key="relay.password_file"
        ) from None
    return text.splitlines()[0] if text else ""


def smart_host_route(cfg: Config, domain: str) -> Route:
    """All mail via ``[relay]``: the host name is given to the connection as-is (the
    system resolver, /etc/hosts included), because that is what its certificate names."""
    relay = cfg.relay
    creds = None
    if relay.username:
        password = read_password(relay.password_file) if relay.password_file else ""
        creds = Credentials(relay.username, password)
    tls: TLSPolicy = {"starttls": "required", "tls": "implicit", "none": "none"}[relay.tls]
    return Route(
        domain,
        (Hop(relay.host, relay.host, relay.port),),
        tls=tls,
        verify_tls=relay.verify_tls,
        credentials=creds,
        smart_host=True,
        mx_names=(relay.host,),
    )


def _tls_for(cfg: Config, domain: str) -> TLSPolicy:
    required = {d.lower().rstrip(".") for d in cfg.outbound.require_tls}
    return "required" if domain.lower() in required else "opportunistic"


async def route_for(cfg: Config, resolver: Resolver, domain: str) -> Route:
    """The route for ``domain``, or a failure every recipient there shares.

    Raises :class:`PermanentFailure` (null MX ``556 5.1.10``, no such domain
    ``550 5.1.2``) or :class:`TemporaryFailure` (DNS trouble, ``451 4.4.3``; no
    MX host with an address, ``451 4.4.4``).
    """
    domain = domain.lower().rstrip(".")
    if cfg.relay.host:
        return smart_host_route(cfg, domain)
    port = cfg.outbound.port
    if domain.startswith("[") and domain.endswith("]"):
        # an address literal (RFC 5321 §4.1.3): no DNS, connect to it
        literal = domain[1:-1].removeprefix("IPv6:")
        return Route(domain, (Hop(literal, literal, port),), tls=_tls_for(cfg, domain))
    try:
        mx = await resolver.resolve_mx(domain)
        # RFC 7505 §4.2: a null MX bounces at once with 556 5.1.10 (NullMX's code)
        mx.raise_for_null()
    except DNSError as exc:
        cls = TemporaryFailure if exc.temporary else PermanentFailure
        raise cls(str(exc), code=exc.code, enhanced=exc.enhanced) from None
    hops: list[Hop] = []
    soft_errors: list[str] = []
    for host in mx.hosts:
        if _is_ip(host.host):  # not valid in an MX, but seen in the wild
            hops.append(Hop(host.host, host.host, port))
            continue
        try:
            addresses = await resolver.resolve_addresses(host.host)
        except DNSError as exc:
            soft_errors.append(str(exc))
            continue
        hops += [Hop(host.host, a, port) for a in addresses]
    if not hops:
        # RFC 5321 §5.1: MX hosts without addresses are skipped; none left: try later
        why = "; ".join(soft_errors) or "no MX host has an address"
        raise TemporaryFailure(
            f"{domain}: {why}", code=codes.C451_LOCAL_ERROR, enhanced=codes.ES_NET_UNROUTABLE_TEMP
        )
    return Route(
        domain,
        tuple(hops),
        tls=_tls_for(cfg, domain),
        mx_names=tuple(h.host for h in mx.hosts),
    )
