"""Client access: how mail programs find and reach the domain's submission,
IMAP and POP3 services (RFC 6186 SRV, autoconfig), and whether each service
protects passwords (TLS before login, RFC 8314) with a certificate that
names the host.

A service that an SRV record advertises is the domain's word: what is wrong
with it fails. A service no SRV record advertises is probed on a *guessed*
host (mail.DOMAIN, imap.DOMAIN, else the first MX): it may not be what any
client uses, so what is wrong with it at most warns, and one problem seen on
several guessed services of one host is one finding (an MX behind a CNAME is
routing's failure, not six certificate failures here). All DNS lookups run
concurrently."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from mailtool.client.probe import ProbeOptions, Stage
from mailtool.dns import DNSError

from .context import Context
from .findings import Check, Finding, Status, dig, openssl

SRV = Check(
    "client.srv",
    "SRV records for mail clients",
    "_submission(s)._tcp, _imap(s)._tcp and _pop3(s)._tcp let mail programs configure "
    "themselves from the address alone.",
    "RFC 6186 §3, RFC 8314 §5.1",
    "Publish e.g. '_submissions._tcp.DOMAIN. SRV 0 1 465 mail.DOMAIN.'",
)
AUTOCONFIG = Check(
    "client.autoconfig",
    "Autoconfig / autodiscover host names",
    "Thunderbird (autoconfig.DOMAIN) and Outlook (autodiscover.DOMAIN) look these up to "
    "configure accounts.",
    "draft-bucksch-autoconfig",
)
SERVICE = Check(
    "client.service",
    "Client service reachable",
    "Mail programs need submission (465/587) to send and IMAP (993/143) or POP3 (995/110) "
    "to read; a service advertised by SRV must answer.",
    "RFC 8314 §3, RFC 6409",
    "Start the service or remove its SRV record.",
)
TLS = Check(
    "client.tls",
    "TLS on the client service",
    "Passwords and mail cross the network here; implicit TLS (465/993/995) or STARTTLS/STLS "
    "must work.",
    "RFC 8314 §3",
    "Enable TLS with a valid certificate on the service.",
)
PLAINTEXT = Check(
    "client.plaintext_login",
    "No password login before TLS",
    "A server that offers login in clear text (AUTH before STARTTLS, IMAP without "
    "LOGINDISABLED, POP3 USER before STLS) invites clients to send passwords unencrypted.",
    "RFC 8314 §3, RFC 3207 §4, RFC 9051 §6.2.3, RFC 2595 §4",
    "Offer authentication only after TLS (e.g. Postfix smtpd_tls_auth_only=yes, Dovecot "
    "disable_plaintext_auth=yes).",
)
CERT = Check(
    "client.cert",
    "Certificate valid for the service host",
    "Mail programs verify the certificate chain and host name and refuse (or nag) otherwise.",
    "RFC 8314 §4.1, RFC 6125",
    "Issue a certificate for the host name clients use, from a public CA.",
)

#: service -> (SRV label, port, probe kind, tls mode)
SERVICES = {
    "submissions": ("_submissions._tcp", 465, "smtp", "tls"),
    "submission": ("_submission._tcp", 587, "smtp", "starttls"),
    "imaps": ("_imaps._tcp", 993, "imap", "tls"),
    "imap": ("_imap._tcp", 143, "imap", "starttls"),
    "pop3s": ("_pop3s._tcp", 995, "pop3", "tls"),
    "pop3": ("_pop3._tcp", 110, "pop3", "starttls"),
}


async def _srv_lookup(ctx: Context, name: str) -> Any:
    try:
        return await ctx.resolver.srv(name)
    except DNSError as exc:
        return exc


async def _srv(ctx: Context) -> tuple[list[Finding], dict[str, tuple[str, int] | None]]:
    """SRV findings, and service -> (target, port), or None for a "." target."""
    out, targets = [], {}
    names = [f"{label}.{ctx.domain}" for label, _p, _k, _t in SERVICES.values()]
    answers = await asyncio.gather(*(_srv_lookup(ctx, name) for name in names))
    for service, name, records in zip(SERVICES, names, answers, strict=True):
        if isinstance(records, DNSError):
            out.append(SRV(Status.ERROR, str(records), subject=name))
            continue
        if records and not records[0].is_null:
            targets[service] = (records[0].target, records[0].port)
            out.append(SRV(Status.PASS, f"{records[0].target}:{records[0].port}", subject=name))
        elif records:
            targets[service] = None
            out.append(SRV(Status.INFO, "'.' target: service not offered", subject=name))
    if not out:
        out.append(
            SRV(
                Status.INFO,
                "no SRV records",
                subject=ctx.domain,
                reproduce=dig(f"_submissions._tcp.{ctx.domain}", "SRV", ctx.nameservers),
            )
        )
    return out, targets


async def _default_host(ctx: Context) -> str | None:
    """The host guessed for services no SRV record names (asked concurrently)."""
    candidates = (f"mail.{ctx.domain}", f"imap.{ctx.domain}")
    found, mx = await asyncio.gather(
        asyncio.gather(*(ctx.addresses(c) for c in candidates)), ctx.mx()
    )
    for candidate, addresses in zip(candidates, found, strict=True):
        if isinstance(addresses, list) and addresses:
            return candidate
    return None if isinstance(mx, Exception) or not mx.hosts else mx.hosts[0].host


async def run(ctx: Context) -> list[Finding]:
    autoconf = (f"autoconfig.{ctx.domain}", f"autodiscover.{ctx.domain}")
    (out, targets), default, found = await asyncio.gather(
        _srv(ctx), _default_host(ctx), asyncio.gather(*(ctx.addresses(n) for n in autoconf))
    )
    for name, addresses in zip(autoconf, found, strict=True):
        present = isinstance(addresses, list) and bool(addresses)
        out.append(AUTOCONFIG(Status.INFO, "present" if present else "absent", subject=name))
    jobs, advertised = [], []
    for service, (_label, port, kind, tls) in SERVICES.items():
        if service in targets and targets[service] is None:
            continue  # RFC 6186 §4: the domain says it does not offer it
        host, real_port = targets.get(service) or (default, port)
        if host:
            jobs.append(_service(ctx, service, kind, tls, host, real_port, service in targets))
            advertised.append(service in targets)
    said, guessed = [], []
    for findings, by_srv in zip(await asyncio.gather(*jobs), advertised, strict=True):
        (said if by_srv else guessed).extend(findings)
    return out + said + merge_guesses(guessed)


def merge_guesses(findings: list[Finding]) -> list[Finding]:
    """One warning per problem: guessed services of one host that show the same
    problem (the same certificate on 465, 587, 993, ...) become one finding
    whose subject lists them all."""
    out: list[Finding] = []
    seen: dict[tuple[str, str, str], int] = {}
    for f in findings:
        key = (f.id, f.observed, f.expected)
        if f.status is not Status.WARN:
            out.append(f)
        elif key in seen:
            first = out[seen[key]]
            out[seen[key]] = dataclasses.replace(first, subject=f"{first.subject}, {f.subject}")
        else:
            seen[key] = len(out)
            out.append(f)
    return out


def _as_guess(findings: list[Finding]) -> list[Finding]:
    """A guessed service's failures are warnings: nothing says clients use it."""
    return [
        dataclasses.replace(f, status=Status.WARN, observed=f"{f.observed} (guessed: no SRV)")
        if f.status is Status.FAIL
        else f
        for f in findings
    ]


async def _service(
    ctx: Context, service: str, kind: str, tls: str, host: str, port: int, advertised: bool
) -> list[Finding]:
    findings = await _probe_service(ctx, service, kind, tls, host, port, advertised)
    return findings if advertised else _as_guess(findings)


async def _probe_service(
    ctx: Context, service: str, kind: str, tls: str, host: str, port: int, advertised: bool
) -> list[Finding]:
    from mailtool.client.probe_imap import probe_imap
    from mailtool.client.probe_pop3 import probe_pop3
    from mailtool.client.probe_smtp import SMTPOptions, probe_smtp

    addresses = await ctx.addresses(host)
    if not isinstance(addresses, list) or not addresses:
        return [
            SERVICE(
                Status.FAIL if advertised else Status.SKIP,
                f"{host} has no address",
                subject=f"{service} {host}",
            )
        ]
    address, real = addresses[0], ctx.port(port)
    subject = f"{service} {host}:{port}"
    ctx.progress(f"{service} {host}")
    # "auto" rather than "starttls": a server without STARTTLS is still probed
    # (capabilities, plaintext login) and judged by client.tls below
    common = {
        "tls": "tls" if tls == "tls" else "auto",
        "server_name": host,
        "cafile": ctx.options.cafile,
        "greeting_timeout": ctx.options.greeting_timeout,
    }
    if kind == "smtp":
        probe = await probe_smtp(
            address, real, SMTPOptions(**common, helo="diagnose.mailtool.invalid"), service=service
        )
    elif kind == "imap":
        probe = await probe_imap(address, real, ProbeOptions(**common))
    else:
        probe = await probe_pop3(address, real, ProbeOptions(**common))
    starttls = {"smtp": "smtp", "imap": "imap", "pop3": "pop3"}[kind] if tls == "starttls" else None
    repro = openssl(address, real, starttls, host)
    if probe.stage is Stage.CONNECT:
        return [
            SERVICE(
                Status.FAIL if advertised else Status.INFO,
                "not reachable" + (" (advertised by SRV)" if advertised else ""),
                subject=subject,
                reproduce=f"nc -v {address} {real}",
            )
        ]
    caps = probe.tls_capabilities or probe.capabilities
    out = [
        SERVICE(
            Status.PASS if probe.ok else Status.FAIL,
            (probe.greeting[:80] + "; " + ", ".join(caps)) if probe.ok else probe.error or "",
            subject=subject,
        )
    ]
    if tls == "starttls":
        out.append(
            PLAINTEXT(
                Status.FAIL if probe.plaintext_login_before_tls else Status.PASS,
                "login offered before TLS"
                if probe.plaintext_login_before_tls
                else "no login before TLS",
                "login only after STARTTLS",
                subject=subject,
            )
        )
    if probe.tls is None:
        out.append(
            TLS(Status.FAIL, probe.error or "no TLS", "TLS", subject=subject, reproduce=repro)
        )
        return out
    out.append(TLS(Status.PASS, f"{probe.tls.version} {probe.tls.cipher}", subject=subject))
    cert = probe.tls.cert
    good = probe.tls.verified and cert is not None and cert.matches(host)
    problem = probe.tls.verify_error or (f"names {', '.join(cert.names)}" if cert else "none")
    out.append(
        CERT(
            Status.PASS if good else Status.FAIL,
            ", ".join(cert.names) if good and cert else problem,
            f"a trusted certificate for {host}",
            subject=subject,
            reproduce=repro,
        )
    )
    return out
