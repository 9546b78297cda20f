"""The documents the HTTPS side serves, built from the config and nothing else, so
that ``mailtool dns records`` can print exactly what the server will serve.

- the MTA-STS policy (RFC 8461 §3.2) for ``mta-sts.DOMAIN``
- Thunderbird's autoconfig file (clientConfig v1.1) for ``autoconfig.DOMAIN``
- Outlook's autodiscover POX answer (MS-OXDSCLI) for ``autodiscover.DOMAIN``

Only listeners that are enabled are advertised; a port given as 0 (tests) or a
non-standard twin port is advertised as configured, since that is where clients
must connect.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from xml.sax.saxutils import escape

from mailtool.config import SERVICE_PORTS, Config

#: RFC 8461 §3.2: "max_age" at most 31557600 (a year)
MAX_AGE_LIMIT = 31557600
#: MS-OXDSCLI §2.2.4: the response schema Outlook asks for in POX requests
OUTLOOK_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
AUTODISCOVER_NS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
#: an address in an autodiscover request: bounded, no markup (we never XML-parse the body)
_EMAIL_RE = re.compile(rb"<EMailAddress>\s*([^<>\s]{3,320})\s*</EMailAddress>", re.IGNORECASE)


def mta_sts_mx(cfg: Config, hostname: str | None = None) -> list[str]:
    """The ``mx:`` lines: ``[mta_sts] mx``, else the mail host name."""
    return list(cfg.mta_sts.mx) or [hostname or cfg.hostname]


def mta_sts_policy(cfg: Config, hostname: str | None = None) -> str:
    """The policy file (RFC 8461 §3.2), LF-terminated lines."""
    lines = ["version: STSv1", f"mode: {cfg.mta_sts.mode}"]
    lines += [f"mx: {mx}" for mx in mta_sts_mx(cfg, hostname)]
    lines.append(f"max_age: {cfg.mta_sts.max_age}")
    return "\n".join(lines) + "\n"


def advertised(cfg: Config, bound: Mapping[str, tuple[str, int]] | None = None) -> dict[str, int]:
    """Enabled client-facing listener -> the port clients are told: the configured one,
    or for port 0 (ephemeral) the one ``serve`` bound, else the standard one."""
    out: dict[str, int] = {}
    for name, (_host, port) in cfg.listen.enabled().items():
        if name in SERVICE_PORTS and name != "smtp":
            out[name] = port or (bound or {}).get(name, ("", SERVICE_PORTS[name][0]))[1]
    return out


# Thunderbird: https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat
_INCOMING = (("imaps", "imap", "SSL"), ("imap", "imap", "STARTTLS"),
             ("pop3s", "pop3", "SSL"), ("pop3", "pop3", "STARTTLS"))  # fmt: skip
_OUTGOING = (("submissions", "SSL"), ("submission", "STARTTLS"))


def autoconfig_xml(
    cfg: Config, domain: str, bound: Mapping[str, tuple[str, int]] | None = None
) -> str:
    """clientConfig v1.1 for ``domain``: our host, TLS only, the full address as login."""
    ports = advertised(cfg, bound)
    host = escape(cfg.hostname)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<clientConfig version="1.1">',
        f'  <emailProvider id="{escape(domain)}">',
        f"    <domain>{escape(domain)}</domain>",
        f"    <displayName>{escape(domain)}</displayName>",
        f"    <displayShortName>{escape(domain)}</displayShortName>",
    ]

    def server(tag: str, kind: str, port: int, socket: str) -> list[str]:
        return [
            f'    <{tag} type="{kind}">',
            f"      <hostname>{host}</hostname>",
            f"      <port>{port}</port>",
            f"      <socketType>{socket}</socketType>",
            "      <authentication>password-cleartext</authentication>",
            "      <username>%EMAILADDRESS%</username>",
            f"    </{tag}>",
        ]

    for name, kind, socket in _INCOMING:
        if name in ports:
            out += server("incomingServer", kind, ports[name], socket)
    for name, socket in _OUTGOING:
        if name in ports:
            out += server("outgoingServer", "smtp", ports[name], socket)
    out += ["  </emailProvider>", "</clientConfig>"]
    return "\n".join(out) + "\n"


def autodiscover_address(body: bytes) -> str | None:
    """The EMailAddress of a POX autodiscover request (a regex: no XML parser, so no
    entity expansion on what a client sends)."""
    match = _EMAIL_RE.search(body)
    if match is None:
        return None
    address = match.group(1).decode("utf-8", "replace")
    return address if address.count("@") == 1 else None


def autodiscover_xml(
    cfg: Config, address: str, bound: Mapping[str, tuple[str, int]] | None = None
) -> str:
    """The POX answer: IMAP and SMTP over implicit TLS (or STARTTLS when only that is on)."""
    ports = advertised(cfg, bound)
    protocols: list[str] = []
    for kind, tls_name, plain_name in (("IMAP", "imaps", "imap"), ("POP3", "pop3s", "pop3"),
                                       ("SMTP", "submissions", "submission")):  # fmt: skip
        name = tls_name if tls_name in ports else plain_name if plain_name in ports else None
        if name is None:
            continue
        encryption = "SSL" if name == tls_name else "TLS"
        protocols += [
            "      <Protocol>",
            f"        <Type>{kind}</Type>",
            f"        <Server>{escape(cfg.hostname)}</Server>",
            f"        <Port>{ports[name]}</Port>",
            f"        <LoginName>{escape(address)}</LoginName>",
            "        <DomainRequired>off</DomainRequired>",
            "        <SPA>off</SPA>",
            f"        <Encryption>{encryption}</Encryption>",
            "        <AuthRequired>on</AuthRequired>",
            "      </Protocol>",
        ]
    return (
        "\n".join(
            [
                '<?xml version="1.0" encoding="utf-8"?>',
                f'<Autodiscover xmlns="{AUTODISCOVER_NS}">',
                f'  <Response xmlns="{OUTLOOK_SCHEMA}">',
                "    <Account>",
                "      <AccountType>email</AccountType>",
                "      <Action>settings</Action>",
                *protocols,
                "    </Account>",
                "  </Response>",
                "</Autodiscover>",
            ]
        )
        + "\n"
    )
