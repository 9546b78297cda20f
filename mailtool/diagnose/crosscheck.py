"""Cross-checks: the names a mail host goes by should agree — MX name,
certificate names, EHLO/greeting name, PTR, and MTA-STS mx: patterns."""

from __future__ import annotations

from mailtool.dns import DNSError

from . import mtasts
from .context import Context
from .findings import Check, Finding, Status

EHLO_MX = Check(
    "cross.ehlo_mx",
    "EHLO name matches the MX name or its PTR",
    "The name a server gives in EHLO and its greeting is what it calls itself when it sends "
    "too; receivers compare it with the PTR, and people with the MX.",
    "RFC 5321 §4.1.1.1, §4.3.1",
    "Set the server's host name (Postfix myhostname) to the MX name, and the PTR to match.",
)
PTR_EHLO = Check(
    "cross.ptr_ehlo",
    "PTR name equals the EHLO name",
    "Receivers check that an outgoing server's EHLO name and reverse DNS agree; a mismatch "
    "costs reputation when the MX also sends mail.",
    "RFC 8601 §3 (iprev)",
    "Make PTR, EHLO name and A record one name.",
)
STS_CERT = Check(
    "cross.mtasts_cert",
    "Certificate names match an MTA-STS mx: pattern",
    "MTA-STS senders accept a certificate only if it carries a name the policy's mx: "
    "patterns allow.",
    "RFC 8461 §4.1",
    "Issue the certificate for a name that the mx: lines match.",
)


async def run(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    sts = await mtasts.load(ctx)
    for host, address in await ctx.mx_addresses():
        subject = f"{host} [{address}]"
        probe = await ctx.smtp_probe(host, address)
        if not probe.hello_name:
            continue
        ehlo = probe.hello_name.lower().rstrip(".")
        try:
            ptrs = [p.lower() for p in await ctx.resolver.ptr(address)]
        except DNSError:
            ptrs = []
        greeting_name = probe.greeting.split(" ", 1)[0].lower()
        names = f"EHLO {ehlo}, greeting {greeting_name}, MX {host}, PTR {', '.join(ptrs) or '-'}"
        if ehlo == host.lower() or ehlo in ptrs:
            out.append(EHLO_MX(Status.PASS, names, subject=subject))
        else:
            out.append(EHLO_MX(Status.WARN, names, f"EHLO name {host}", subject=subject))
        if ptrs:
            out.append(
                PTR_EHLO(
                    Status.PASS if ehlo in ptrs else Status.WARN,
                    names,
                    f"PTR {ehlo}",
                    subject=subject,
                )
            )
        cert = probe.tls.cert if probe.tls else None
        if sts.mode in ("enforce", "testing") and cert is not None:
            ok = any(sts.matches(n) for n in cert.names if not n.startswith("*")) or any(
                n.startswith("*.") and any(p.lower() == n.lower() for p in sts.mx)
                for n in cert.names
            )
            status = Status.PASS if ok else (Status.FAIL if sts.mode == "enforce" else Status.WARN)
            out.append(
                STS_CERT(
                    status,
                    f"certificate {', '.join(cert.names)}; mx: {', '.join(sts.mx)}",
                    "a certificate name matched by mx:",
                    subject=subject,
                )
            )
    return out
