"""Inbound transport, on every address of every MX: greeting, EHLO, STARTTLS
and the handshake, TLS version, certificate chain, expiry and name, relay
refused, postmaster@ accepted.

Certificate problems are judged by the policy in force (RFC 8461 §4.2, RFC
7672 §2.2): under opportunistic TLS senders deliver anyway (info); under
MTA-STS testing they report (warn); under MTA-STS enforce or DANE they refuse
to deliver (fail).
"""

from __future__ import annotations

import asyncio
import dataclasses

from mailtool.client.probe import Stage

from . import dane, mtasts
from .context import Context
from .findings import Check, Finding, Status, openssl, swaks

CONNECT = Check(
    "transport.smtp.connect",
    "The MX accepts TCP connections on port 25",
    "Senders must reach the MX on port 25; an unreachable MX delays all mail to it.",
    "RFC 5321 §4.5.4.1",
    "Check the firewall and that the SMTP server listens on the public address.",
)
GREETING = Check(
    "transport.smtp.greeting",
    "The MX greets with 220",
    "Senders wait for the 220 greeting (at least 5 minutes per the RFC, often much less in "
    "practice); any other code means it refuses mail.",
    "RFC 5321 §4.2, §4.5.3.2.1",
    "Make the server send '220 HOSTNAME ESMTP' promptly.",
)
EHLO = Check(
    "transport.smtp.ehlo",
    "EHLO and its extensions",
    "EHLO announces what the server supports: STARTTLS, SIZE, 8BITMIME, SMTPUTF8, PIPELINING.",
    "RFC 5321 §4.1.1.1",
    "Enable EHLO (ESMTP) on the server.",
)
STARTTLS = Check(
    "transport.tls.starttls",
    "STARTTLS offered and the handshake succeeds",
    "Without STARTTLS, mail travels in clear text; a failing handshake makes senders fall "
    "back to clear text, or, under MTA-STS or DANE, not deliver at all.",
    "RFC 3207, RFC 8461 §4.2, RFC 7672 §2.2",
    "Configure a certificate and enable STARTTLS on port 25.",
)
VERSION = Check(
    "transport.tls.version",
    "TLS 1.2 or newer",
    "TLS 1.0 and 1.1 are deprecated and refused by up-to-date senders.",
    "RFC 8996",
    "Allow TLS 1.2 and 1.3 only.",
)
CHAIN = Check(
    "transport.tls.chain",
    "The certificate chain verifies",
    "MTA-STS senders require a chain to a trusted CA; a self-signed or incomplete chain makes "
    "them refuse delivery.",
    "RFC 8461 §4.2",
    "Use a certificate from a public CA and serve the intermediate certificates too.",
)
EXPIRY = Check(
    "transport.tls.expiry",
    "The certificate is valid for a while yet",
    "An expired certificate fails every MTA-STS and PKIX check; renew well before expiry.",
    "RFC 5280 §4.1.2.5",
    "Renew the certificate (automate with ACME) and reload the server.",
)
NAME = Check(
    "transport.tls.name",
    "The certificate names the MX host",
    "MTA-STS senders check that the certificate carries the MX host name.",
    "RFC 8461 §4.2, RFC 6125 §6",
    "Issue the certificate for the MX host name (subjectAltName).",
)
RELAY = Check(
    "transport.relay",
    "Relaying to other domains is refused",
    "An MX that accepts mail for any domain from anyone is an open relay: it will be abused "
    "for spam and blocklisted. The test sends MAIL FROM the domain's postmaster (then from "
    "an address of the external domain, then the null sender) and RCPT TO an external "
    "domain that resolves, and never DATA; only a refusal of that RCPT counts as refused: "
    "a refused sender (4.1.8, any 4xx) leaves the question open.",
    "RFC 5321 §3.6.2, RFC 2505 §2.2",
    "Accept only recipients in your own domains unless the client is authenticated "
    "(Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, "
    "reject_unauth_destination).",
)
POSTMASTER = Check(
    "transport.postmaster",
    "postmaster@ is accepted",
    "Every domain that receives mail must accept mail for postmaster (problem reports).",
    "RFC 5321 §4.5.1",
    "Create a postmaster alias that reaches a person.",
)
EXPIRY_WARN_DAYS = 14

#: enhanced status subjects (RFC 3463 §3.2) that are about the *sender* (x.1.7 bad
#: sender mailbox syntax, x.1.8 bad sender system) or a recipient *domain* that
#: does not take mail (x.1.2, x.1.10 null MX): none of them is a relay refusal
NOT_ABOUT_RELAY = (".1.7", ".1.8", ".1.2", ".1.10")


def relay_verdict(mail: str | None, rcpt: str | None) -> tuple[str, str]:
    """("accepted" | "refused" | "inconclusive", why) for one relay attempt:
    MAIL's and RCPT's replies as "code [x.y.z] text"."""
    if mail is not None and not mail.startswith("2"):
        return "inconclusive", f"sender refused at MAIL: {mail}"
    if rcpt is None:
        return "inconclusive", "RCPT not asked"
    if rcpt.startswith("2"):
        return "accepted", rcpt
    parts = rcpt.split()
    enhanced = parts[1] if len(parts) > 1 and parts[1][:1].isdigit() and "." in parts[1] else ""
    if rcpt.startswith("4"):
        return "inconclusive", f"temporary refusal, not a relay decision: {rcpt}"
    if enhanced.endswith(NOT_ABOUT_RELAY) or "sender address rejected" in rcpt.lower():
        return "inconclusive", f"refused for another reason than relaying: {rcpt}"
    return "refused", rcpt


async def strictness(ctx: Context, host: str) -> tuple[Status, str]:
    """The status a certificate problem deserves on ``host``, and why."""
    d = await dane.load(ctx, host)
    if d.records:
        return Status.FAIL, "DANE TLSA records are published"
    sts = await mtasts.load(ctx)
    if sts.mode == "enforce":
        return Status.FAIL, "MTA-STS mode is enforce"
    if sts.mode == "testing":
        return Status.WARN, "MTA-STS mode is testing"
    return Status.INFO, "opportunistic TLS (no MTA-STS, no DANE)"


async def run(ctx: Context) -> list[Finding]:
    pairs = await ctx.mx_addresses()
    results = await asyncio.gather(*(_one(ctx, host, address) for host, address in pairs))
    return [f for group in results for f in group]


async def _one(ctx: Context, host: str, address: str) -> list[Finding]:
    subject = f"{host} [{address}]"
    port = ctx.port(25)
    probe = await ctx.smtp_probe(host, address)
    ssl_cmd = openssl(address, port, "smtp", host)
    out: list[Finding] = []
    if probe.stage is Stage.CONNECT:
        return [
            CONNECT(
                Status.FAIL,
                probe.error or "",
                "a TCP connection",
                subject=subject,
                reproduce=f"nc -v {address} {port}",
            )
        ]
    out.append(
        CONNECT(
            Status.PASS, f"connected in {probe.timings.get('connect', 0):.2f} s", subject=subject
        )
    )
    if (
        not probe.greeting
        or probe.stage is Stage.GREETING
        or (probe.stage is Stage.CLOSED and not probe.hello_name)
    ):
        out.append(
            GREETING(
                Status.FAIL,
                probe.error or probe.greeting,
                "220 greeting",
                subject=subject,
                reproduce=swaks(address, port, f"postmaster@{ctx.domain}"),
            )
        )
        return out
    out.append(GREETING(Status.PASS, probe.greeting, subject=subject))
    caps = probe.tls_capabilities or probe.capabilities
    if probe.stage is Stage.HELLO:
        out.append(EHLO(Status.FAIL, probe.error or "", "250 to EHLO", subject=subject))
        return out
    out.append(EHLO(Status.INFO, ", ".join(caps) or "(no extensions)", subject=subject))
    strict, why = await strictness(ctx, host)
    out += _tls(probe, subject, strict, why, ssl_cmd, host)
    found = _recipients(ctx, probe, await ctx.relay_checks(), subject, address, port)
    external, resolves = await ctx.relay_domain()
    if not resolves:  # said, so that a refusal "domain not found" can be read for what it is
        note = f" ({external} has no MX host in this resolver's view)"
        found = [
            dataclasses.replace(f, observed=f.observed + note) if f.check is RELAY else f
            for f in found
        ]
    out += found
    return out


def _tls(probe, subject: str, strict: Status, why: str, ssl_cmd: str, host: str) -> list[Finding]:
    offered_status = Status.FAIL if strict is Status.FAIL else Status.WARN
    if not probe.starttls_offered:
        return [
            STARTTLS(
                offered_status,
                "STARTTLS not offered",
                f"STARTTLS ({why})",
                subject=subject,
                reproduce=ssl_cmd,
            )
        ]
    if probe.tls is None:
        return [
            STARTTLS(
                offered_status,
                probe.error or "handshake failed",
                f"a TLS handshake ({why})",
                subject=subject,
                reproduce=ssl_cmd,
            )
        ]
    t = probe.tls
    out = [STARTTLS(Status.PASS, f"{t.version} {t.cipher}", subject=subject)]
    old = t.version in ("TLSv1", "TLSv1.1", "SSLv3")
    out.append(
        VERSION(
            Status.FAIL if old else Status.PASS,
            t.version,
            "TLSv1.2 or TLSv1.3",
            subject=subject,
            reproduce=ssl_cmd,
        )
    )
    if t.verified:
        out.append(
            CHAIN(Status.PASS, f"issued by {t.cert.issuer if t.cert else '?'}", subject=subject)
        )
    else:
        out.append(
            CHAIN(
                strict,
                f"{t.verify_error} ({why})",
                "a chain to a trusted CA",
                subject=subject,
                reproduce=ssl_cmd,
            )
        )
    if t.cert is None:
        return out
    days = t.cert.days_left()
    if days < 0:
        out.append(
            EXPIRY(
                strict if strict is not Status.INFO else Status.WARN,
                f"expired {-days:.0f} days ago ({t.cert.not_after:%Y-%m-%d})",
                "a valid certificate",
                subject=subject,
                reproduce=ssl_cmd,
            )
        )
    elif days < EXPIRY_WARN_DAYS:
        out.append(
            EXPIRY(
                Status.WARN,
                f"expires in {days:.0f} days",
                f"more than {EXPIRY_WARN_DAYS} days left",
                subject=subject,
                reproduce=ssl_cmd,
            )
        )
    else:
        out.append(EXPIRY(Status.PASS, f"valid until {t.cert.not_after:%Y-%m-%d}", subject=subject))
    if t.cert.matches(host):
        out.append(NAME(Status.PASS, ", ".join(t.cert.names), subject=subject))
    else:
        out.append(
            NAME(
                strict,
                f"names {', '.join(t.cert.names) or '(none)'} ({why})",
                host,
                subject=subject,
                reproduce=ssl_cmd,
            )
        )
    return out


def _recipients(
    ctx: Context, probe, checks: list[tuple[str, str, str]], subject: str, address: str, port: int
) -> list[Finding]:
    out = []
    pm = probe.replies.get("postmaster")
    tls = probe.tls is not None
    if pm is None:
        out.append(POSTMASTER(Status.ERROR, probe.error or "not tested", subject=subject))
    else:
        out.append(
            POSTMASTER(
                Status.PASS if pm.startswith("2") else Status.FAIL,
                pm,
                "2xx",
                subject=subject,
                reproduce=swaks(address, port, f"postmaster@{ctx.domain}", tls=tls),
            )
        )
    out.append(_relay(probe, checks, subject, address, port))
    return out


def _relay(probe, checks: list[tuple[str, str, str]], subject: str, address: str, port: int):
    """One transport.relay finding from every attempt: open if any RCPT was
    accepted, refused if one was refused for relaying, else inconclusive."""
    tls = probe.tls is not None
    verdicts = []
    for name, frm, rcpt in checks:
        mail_reply, rcpt_reply = probe.replies.get(f"{name}.mail"), probe.replies.get(name)
        if mail_reply is None and rcpt_reply is None:
            continue
        verdict, why = relay_verdict(mail_reply, rcpt_reply)
        verdicts.append((verdict, f"MAIL FROM:<{frm}> RCPT TO:<{rcpt}>: {why}", frm, rcpt))
    expected = "a 5xx refusal of RCPT TO an external domain"
    for wanted, status in (("accepted", Status.FAIL), ("refused", Status.PASS)):
        for verdict, text, frm, rcpt in verdicts:
            if verdict == wanted:
                return RELAY(
                    status,
                    text,
                    expected,
                    subject=subject,
                    reproduce=swaks(address, port, rcpt, frm, tls=tls),
                )
    if not verdicts:
        return RELAY(Status.ERROR, probe.error or "not tested", expected, subject=subject)
    _, _, frm, rcpt = verdicts[0]
    return RELAY(
        Status.ERROR,
        "inconclusive: " + "; ".join(text for _, text, _, _ in verdicts),
        expected,
        subject=subject,
        reproduce=swaks(address, port, rcpt, frm, tls=tls),
    )
