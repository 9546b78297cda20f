"""The ``[accounts.NAME]`` table a user pastes into their client config to reach this server.

``serve``'s start-up panel and ``mailtool user add`` print it: the same facts as the
Thunderbird autoconfig file (:mod:`mailtool.web.content`), in our own client's words.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

from mailtool.config import Config
from mailtool.store.paths import DataDir
from mailtool.web.content import advertised

# implicit TLS first (RFC 8314 §3.3), then STARTTLS
_IMAP = (("imaps", "tls"), ("imap", "starttls"))
_SMTP = (("submissions", "tls"), ("submission", "starttls"))


def _pick(ports: Mapping[str, int], choices: tuple[tuple[str, str], ...]) -> tuple[int, str] | None:
    for service, tls in choices:
        if service in ports:
            return ports[service], tls
    return None


def _loopback_only(cfg: Config, bound: Mapping[str, tuple[str, int]] | None) -> bool:
    """Every client listener is on loopback (a developer's ``make serve``): the host name
    may not lead there, "localhost" does (and the self-signed certificate names it)."""
    hosts = [host for name, (host, _port) in {**cfg.listen.enabled(), **(bound or {})}.items()
             if name in dict(_IMAP + _SMTP)]
    return bool(hosts) and all(_is_loopback(h) for h in hosts)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def account_table(cfg: Config, address: str, *, bound: Mapping[str, tuple[str, int]] | None = None,
                  host: str | None = None) -> str:
    """TOML for ``address`` on this server; empty when no IMAP or submission listener is on.

    With the self-signed certificate (no ``[tls] cert``, no ACME) the table trusts that
    certificate file (``cafile``) instead of turning verification off.
    """
    ports = advertised(cfg, bound)
    imap, smtp = _pick(ports, _IMAP), _pick(ports, _SMTP)
    if imap is None or smtp is None:
        return ""
    name = re.sub(r"[^a-z0-9_-]", "-", address.partition("@")[0].lower()) or "me"
    server = host or ("localhost" if _loopback_only(cfg, bound) else cfg.hostname)
    lines = [
        f"[accounts.{name}]",
        f'email = "{address}"',
        f'imap = "{server}:{imap[0]}"',
        f'imap_tls = "{imap[1]}"',
        f'smtp = "{server}:{smtp[0]}"',
        f'smtp_tls = "{smtp[1]}"',
    ]
    if not cfg.tls.cert and not cfg.tls.acme:
        cert = DataDir(cfg.data_dir).self_signed_cert
        lines.append(f'cafile = "{cert}"  # the self-signed certificate: trusted, still verified')
    return "\n".join(lines) + "\n"
