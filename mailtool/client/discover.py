"""Finding an address's mail servers: RFC 6186 SRV, Thunderbird autoconfig, MX guesses.

:func:`candidates` lists where the IMAP and submission servers may be, best
first; :func:`probe` connects to one and reports what it offers (TLS works,
which AUTH mechanisms it advertises); :func:`discover` returns the first IMAP
and SMTP candidates that answer. ``mailtool tui --setup`` writes the result
as an ``[accounts.NAME]`` table.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mailtool.client.account import Endpoint
from mailtool.client.imap_transport import ImapClientError, Transport
from mailtool.dns.resolver import Resolver

#: RFC 6186 §3 (and RFC 8314 §5.1 for submissions): service -> (protocol, TLS mode)
SRV_SERVICES = (
    ("_imaps._tcp", "imap", "tls"),
    ("_imap._tcp", "imap", "starttls"),
    ("_submissions._tcp", "smtp", "tls"),
    ("_submission._tcp", "smtp", "starttls"),
)
GUESS_PORTS = (("imap", 993, "tls"), ("imap", 143, "starttls"),
               ("smtp", 465, "tls"), ("smtp", 587, "starttls"))
_SOCKET_TYPES = {"SSL": "tls", "STARTTLS": "starttls", "plain": "none"}

Fetch = Callable[[str], Awaitable[bytes | None]]


@dataclass(frozen=True)
class Candidate:
    proto: str  # "imap" or "smtp"
    host: str
    port: int
    tls: str
    source: str  # "srv", "autoconfig", "mx", "guess"

    @property
    def hostport(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass
class Probe:
    candidate: Candidate
    ok: bool
    mechanisms: list[str] = field(default_factory=list)
    error: str = ""


async def _http_get(url: str) -> bytes | None:
    def get() -> bytes | None:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.read(256 * 1024)
        except (OSError, ValueError):
            return None

    return await asyncio.to_thread(get)


def parse_autoconfig(xml: bytes, address: str) -> list[Candidate]:
    """Thunderbird's config-v1.1.xml -> candidates (IMAP and SMTP only)."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return []
    domain = address.rpartition("@")[2]
    out = []
    for tag, proto in (("incomingServer", "imap"), ("outgoingServer", "smtp")):
        for server in root.iter(tag):
            if server.get("type") != proto:
                continue
            host = (server.findtext("hostname") or "").replace("%EMAILDOMAIN%", domain)
            port = server.findtext("port") or ""
            tls = _SOCKET_TYPES.get(server.findtext("socketType") or "", "")
            if host and port.isdigit() and tls:
                out.append(Candidate(proto, host, int(port), tls, "autoconfig"))
    return out


async def candidates(address: str, resolver: Resolver, *, fetch: Fetch = _http_get,
                     autoconfig_urls: list[str] | None = None) -> list[Candidate]:
    """Where ``address``'s servers may be, in the order worth trying."""
    domain = address.rpartition("@")[2].lower()
    out: list[Candidate] = []
    for service, proto, tls in SRV_SERVICES:  # RFC 6186 §4: "." target = not offered
        try:
            records = await resolver.srv(f"{service}.{domain}")
        except Exception:  # a DNS failure only means "no SRV here"
            records = []
        for rec in sorted(records, key=lambda r: (r.priority, -r.weight)):
            target = rec.target.rstrip(".")
            if target:
                out.append(Candidate(proto, target, rec.port, tls, "srv"))
    quoted = urllib.parse.quote(address)
    urls = autoconfig_urls or [
        f"https://autoconfig.{domain}/mail/config-v1.1.xml?emailaddress={quoted}",
        f"https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml",
        f"http://autoconfig.{domain}/mail/config-v1.1.xml?emailaddress={quoted}",
    ]
    for url in urls:
        body = await fetch(url)
        if body:
            found = parse_autoconfig(body, address)
            if found:
                out += found
                break
    hosts: list[tuple[str, str]] = []
    try:
        mx = await resolver.resolve_mx(domain)
        for h in mx.hosts:
            name = h.host.rstrip(".")
            hosts.append((name, "mx"))
            parent = name.split(".", 1)[1] if name.count(".") >= 2 else name
            hosts += [(f"imap.{parent}", "mx"), (f"smtp.{parent}", "mx"),
                      (f"mail.{parent}", "mx")]
    except Exception:  # no MX: guesses only
        pass
    hosts += [(f"imap.{domain}", "guess"), (f"smtp.{domain}", "guess"),
              (f"mail.{domain}", "guess"), (domain, "guess")]
    seen = {(c.proto, c.host, c.port) for c in out}
    for host, source in hosts:
        for proto, port, tls in GUESS_PORTS:
            if (proto == "imap" and host.startswith("smtp.")) or \
                    (proto == "smtp" and host.startswith("imap.")):
                continue
            if (proto, host, port) not in seen:
                seen.add((proto, host, port))
                out.append(Candidate(proto, host, port, tls, source))
    return out


async def _address(host: str, port: int, resolver: Resolver | None) -> str:
    """The address to connect to: from our resolver (mailtool.dns, so ``dns.nameservers``
    and ``$MAILTOOL_NAMESERVERS`` are obeyed), the system's only without one."""
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    if resolver is None:
        await asyncio.get_running_loop().getaddrinfo(host, port)
        return host
    addrs = await resolver.resolve_addresses(host)
    if not addrs:
        raise OSError(f"{host} has no address records")
    return addrs[0]


async def probe(c: Candidate, *, verify: bool = True, timeout: float = 8.0,
                cafile: str | None = None, resolver: Resolver | None = None) -> Probe:
    """Connect (with the candidate's TLS), and list the AUTH mechanisms advertised."""
    try:
        host = await _address(c.host, c.port, resolver)
        if c.proto == "imap":
            t = Transport(c.host, c.port, c.tls, verify=verify, cafile=cafile, timeout=timeout,
                          address=host)
            await asyncio.wait_for(t.connect(), timeout)
            caps = t.capabilities
            await t.close()
            mechs = sorted(x.split("=", 1)[1] for x in caps if x.startswith("AUTH="))
            if "LOGINDISABLED" not in caps:
                mechs.insert(0, "LOGIN")
            return Probe(c, True, mechs)
        import aiosmtplib

        from mailtool.net.tls import client_context

        ctx = client_context(verify=verify, cafile=cafile) if c.tls != "none" else None
        # connected here to the address our resolver gave; TLS still checks the name
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (host, c.port)), timeout)
        except BaseException:
            sock.close()
            raise
        smtp = aiosmtplib.SMTP(hostname=c.host, sock=sock,
                               use_tls=c.tls == "tls", start_tls=c.tls == "starttls",
                               validate_certs=verify, tls_context=ctx, timeout=timeout)
        await smtp.connect()
        if smtp.last_ehlo_response is None:
            await smtp.ehlo()
        mechs = smtp.esmtp_extensions.get("auth", "").upper().split()
        await smtp.quit()
        return Probe(c, True, mechs)
    except (TimeoutError, ImapClientError, OSError, ssl.SSLError, Exception) as exc:
        return Probe(c, False, error=str(exc) or type(exc).__name__)


#: the TLS a well-known port means (RFC 8314 §3.3: 465/993 implicit TLS)
PORT_TLS = {993: "tls", 143: "starttls", 465: "tls", 587: "starttls", 25: "starttls"}


def given(proto: str, hostport: str) -> Candidate:
    """A server named by the user (``--imap HOST[:PORT]``): tried as is, no guessing.
    Without a port: 993 for IMAP, 587 for SMTP."""
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        host, port = hostport, "993" if proto == "imap" else "587"
    number = int(port)
    return Candidate(proto, host.strip("[]"), number, PORT_TLS.get(number, "starttls"), "given")


async def discover(address: str, resolver: Resolver, *, verify: bool = True,
                   fetch: Fetch = _http_get, autoconfig_urls: list[str] | None = None,
                   progress: Callable[[str], None] = lambda _s: None,
                   imap: Candidate | None = None, smtp: Candidate | None = None,
                   ) -> tuple[Probe | None, Probe | None]:
    """The first IMAP and SMTP candidates that answer (with their mechanisms); a
    server given as ``imap``/``smtp`` is the only one tried for its protocol."""
    found: dict[str, Probe | None] = {"imap": None, "smtp": None}
    chosen = {c.proto: c for c in (imap, smtp) if c is not None}
    guessed = [] if len(chosen) == 2 else await candidates(
        address, resolver, fetch=fetch, autoconfig_urls=autoconfig_urls)
    for c in [*chosen.values(), *(g for g in guessed if g.proto not in chosen)]:
        if found[c.proto] is not None:
            continue
        progress(f"trying {c.proto} {c.hostport} ({c.tls}, from {c.source})")
        result = await probe(c, verify=verify, resolver=resolver)
        if result.ok:
            found[c.proto] = result
        if all(found.values()):
            break
    return found["imap"], found["smtp"]


def account_toml(name: str, address: str, imap: Candidate, smtp: Candidate) -> str:
    return (f"\n[accounts.{name}]\nemail = \"{address}\"\n"
            f"imap = \"{imap.hostport}\"\nimap_tls = \"{imap.tls}\"\n"
            f"smtp = \"{smtp.hostport}\"\nsmtp_tls = \"{smtp.tls}\"\n")


__all__ = ["Candidate", "Endpoint", "Probe", "account_toml", "candidates", "discover",
           "parse_autoconfig", "probe"]
