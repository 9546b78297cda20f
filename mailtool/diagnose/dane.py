"""DANE for SMTP (RFC 7672): TLSA records per MX, DNSSEC-validated, matching
the certificate the MX presents."""

from __future__ import annotations

from dataclasses import dataclass, field

from mailtool.dns import DNSError, TLSARecord, tlsa_name
from mailtool.policy.tlsa import record_matches, record_problems

from .context import Context
from .findings import Check, Finding, Status, dig, is_ip, openssl
from .problems import problem_finding

TLSA = Check(
    "transport.dane.tlsa",
    "DANE TLSA records for the MX",
    "TLSA records at _25._tcp.MX pin the MX's certificate or CA; DNSSEC-validating senders "
    "then require TLS with that certificate (no downgrade, no rogue CA).",
    "RFC 7672 §2.2",
    "Publish '3 1 1 SHA256-OF-SPKI' at _25._tcp.MX (DNSSEC-signed zone required).",
)
DNSSEC = Check(
    "transport.dane.dnssec",
    "TLSA answers are DNSSEC-validated",
    "Senders use TLSA records only when the answer is DNSSEC-secure; unsigned TLSA records "
    "are ignored (and this resolver did not set the AD bit).",
    "RFC 7672 §2.1",
    "Sign the zone with DNSSEC, or ask a validating resolver (--nameserver).",
)
MATCH = Check(
    "transport.dane.match",
    "A TLSA record matches the presented certificate",
    "When no usable TLSA record matches, DANE senders refuse to deliver (after STARTTLS).",
    "RFC 7672 §3.1, RFC 6698 §2.1",
    "Publish the TLSA record of the current key before rolling the certificate (3 1 1).",
)


@dataclass
class DaneState:
    records: list[TLSARecord] = field(default_factory=list)
    authenticated: bool = False
    error: str | None = None


async def load(ctx: Context, host: str) -> DaneState:
    async def fetch() -> DaneState:
        try:
            found = await ctx.resolver.lookup(tlsa_name(host, 25), "TLSA")
        except DNSError as exc:
            return DaneState(error=str(exc))
        records = [TLSARecord(r.usage, r.selector, r.mtype, bytes(r.cert)) for r in found.records]
        return DaneState(records, found.authenticated)

    return await ctx.once(("tlsa", host.lower()), fetch)


async def run(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    mx = await ctx.mx()
    if isinstance(mx, Exception) or mx.null:
        return out
    for h in mx.hosts:
        if is_ip(h.host):  # routing.mx.target reports it; there is no TLSA name
            continue
        state = await load(ctx, h.host)
        name = tlsa_name(h.host, 25)
        repro = dig(name, "TLSA", ctx.nameservers)
        if state.error:
            out.append(TLSA(Status.ERROR, state.error, subject=name, reproduce=repro))
            continue
        if not state.records:
            out.append(
                TLSA(Status.INFO, "no TLSA records (no DANE)", subject=name, reproduce=repro)
            )
            continue
        # RFC 7672 §3.1.3: what senders cannot use
        problems = [p for record in state.records for p in record_problems(record)]
        out += [problem_finding(TLSA, p, name, repro) for p in problems]
        if not problems:
            records = "; ".join(map(str, state.records))
            out.append(TLSA(Status.PASS, records, subject=name, reproduce=repro))
        out.append(
            DNSSEC(
                Status.PASS if state.authenticated else Status.WARN,
                "AD bit set" if state.authenticated else "answer not validated",
                "a DNSSEC-validated answer",
                subject=name,
                reproduce=repro + " +dnssec",
            )
        )
        out += await _match(ctx, h.host, state)
    return out


async def _match(ctx: Context, host: str, state: DaneState) -> list[Finding]:
    out = []
    for mx_host, address in await ctx.mx_addresses():
        if mx_host != host:
            continue
        probe = await ctx.smtp_probe(host, address)
        subject = f"{host} [{address}]"
        cert = probe.tls.cert if probe.tls else None
        if cert is None:
            out.append(
                MATCH(
                    Status.FAIL,
                    "no certificate (STARTTLS failed or not offered)",
                    "a certificate matching a TLSA record",
                    subject=subject,
                    reproduce=openssl(address, ctx.port(25), "smtp", host),
                )
            )
            continue
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        spki = (
            x509.load_der_x509_certificate(cert.der)
            .public_key()
            .public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        ee = [r for r in state.records if r.usage == 3]
        if any(record_matches(r, cert.der, spki) for r in ee):
            out.append(MATCH(Status.PASS, "a DANE-EE (3 x x) record matches", subject=subject))
        elif not ee:
            out.append(
                MATCH(
                    Status.INFO,
                    "only DANE-TA/PKIX records: not checked from the leaf",
                    subject=subject,
                )
            )
        else:
            out.append(
                MATCH(
                    Status.FAIL,
                    f"certificate SPKI sha256 {cert.spki_sha256} matches no 3 x x record",
                    "a matching TLSA record",
                    subject=subject,
                    reproduce=openssl(address, ctx.port(25), "smtp", host),
                )
            )
    return out
