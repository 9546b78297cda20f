"""One SMTP client session to another domain's MX (or the smart host), with aiosmtplib.

:func:`deliver` takes a :class:`~mailtool.mta.routing.Route` and every
recipient of one domain, and returns one :class:`RcptResult` per recipient:
one connection carries them all (RFC 5321 §3.3 allows many RCPTs per
transaction; a server that answers ``452 4.5.3`` to some just defers those).

The hosts of the route are tried in order (RFC 5321 §5.1). A host is skipped
for the next one when it cannot be reached, does not greet with ``220``,
refuses EHLO/HELO, cannot give TLS that the route requires, or answers MAIL
with a 4xx. Once recipients have been given to a host, its answers are final
for this attempt: 2xx delivered, 4xx deferred, 5xx failed (bounced).

TLS (RFC 3207): with an "opportunistic" route STARTTLS is used when offered,
without checking the certificate (RFC 7435: better than plaintext, and what
MX hosts with self-signed certificates need); a failed handshake is retried
once in plaintext on the same host. "required" refuses to send without TLS;
the smart host (``[relay]``) can verify certificates and AUTH.
"""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import aiosmtplib

from mailtool.net.log import log_event
from mailtool.net.tls import client_context
from mailtool.protocol.smtp import codes

from .routing import Hop, Route

Outcome = Literal["delivered", "deferred", "failed"]
_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True)
class RcptResult:
    """The answer for one recipient: code, enhanced code and text as the host gave them."""

    address: str
    code: int
    enhanced: str
    text: str
    #: the host that answered ("" when none was reached), for the DSN's Remote-MTA
    remote: str = ""

    @property
    def outcome(self) -> Outcome:
        if 200 <= self.code < 300:
            return "delivered"
        return "failed" if self.code >= 500 else "deferred"

    @property
    def diagnostic(self) -> str:
        """``550 5.1.1 no such user``: what the queue keeps and the DSN reports."""
        text = self.text
        if text.startswith(self.enhanced):
            text = text[len(self.enhanced) :].lstrip()
        return f"{self.code} {self.enhanced} {text}".strip()


@dataclass(frozen=True)
class Settings:
    """The ``[outbound]`` knobs one session needs."""

    helo: str
    source_address: str = ""
    connect_timeout: float = 30.0
    timeout: float = 300.0


class HopFailed(Exception):
    """This host will not take the mail now; try the next one. Carries a 4xx reply."""

    def __init__(self, code: int, enhanced: str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.enhanced = enhanced
        self.text = text


class TLSFailed(HopFailed):
    """The STARTTLS handshake failed (opportunistic routes retry in plaintext)."""


def split_enhanced(code: int, text: str) -> tuple[str, str]:
    """(enhanced status code, rest of the text); RFC 3463 codes default to X.0.0."""
    text = " ".join(text.split())
    m = _ENHANCED.match(text)
    if m and int(m.group(1)) == code // 100:
        return m.group(0), text[m.end() :].strip()
    return f"{code // 100}.0.0", text


def _result(address: str, code: int, message: str, remote: str) -> RcptResult:
    enhanced, text = split_enhanced(code, message)
    return RcptResult(address, code, enhanced, text, remote)


def needs_smtputf8(sender: str, recipients: list[str]) -> bool:
    return not all(a.isascii() for a in [sender, *recipients])


def _mail_options(smtp: aiosmtplib.SMTP, message: bytes, utf8: bool) -> list[str]:
    options = []
    if smtp.supports_extension("size"):
        options.append(f"SIZE={len(message)}")  # RFC 1870 §6
    if smtp.supports_extension("8bitmime") and not message.isascii():
        options.append("BODY=8BITMIME")  # RFC 6152 §3
    if utf8:
        options.append("SMTPUTF8")  # RFC 6531 §3.4
    return options


async def _authenticate(smtp: aiosmtplib.SMTP, route: Route) -> None:
    """One AUTH with the best offered mechanism (RFC 4954): trying every mechanism with
    a wrong password only multiplies failures at the smart host."""
    assert route.credentials is not None
    user, password = route.credentials.username, route.credentials.password
    offered = [m.upper() for m in smtp.server_auth_methods]
    for mechanism, method in (
        ("PLAIN", smtp.auth_plain),
        ("LOGIN", smtp.auth_login),
        ("CRAM-MD5", smtp.auth_crammd5),
    ):
        if mechanism in offered:
            await method(user, password)
            return
    raise aiosmtplib.SMTPAuthenticationError(504, "no AUTH mechanism we support is offered")


async def _open(route: Route, hop: Hop, settings: Settings, use_starttls: bool) -> aiosmtplib.SMTP:
    """Connect, EHLO, STARTTLS, AUTH: a session ready for MAIL, or HopFailed."""
    verify = route.verify_tls
    tls_ctx = client_context(verify=verify) if route.tls != "none" else None
    smtp = aiosmtplib.SMTP(
        hostname=hop.address,
        port=hop.port,
        local_hostname=settings.helo,
        source_address=(settings.source_address, 0) if settings.source_address else None,
        timeout=settings.connect_timeout,
        use_tls=route.tls == "implicit",
        start_tls=False,
        validate_certs=verify,
        tls_context=tls_ctx,
    )
    where = f"{hop.name}[{hop.address}]:{hop.port}"
    try:
        await smtp.connect()
    except aiosmtplib.SMTPConnectResponseError as exc:
        raise HopFailed(
            451, codes.ES_NET_NO_ANSWER, f"{where} greeted {exc.code} {exc.message}"
        ) from None
    except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
        why = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
        text = getattr(why, "strerror", None) or str(why) or type(why).__name__
        raise HopFailed(451, codes.ES_NET_NO_ANSWER, f"cannot connect to {where}: {text}") from None
    smtp.timeout = settings.timeout
    try:
        try:
            await smtp.ehlo()
        except aiosmtplib.SMTPHeloError:
            await smtp.helo()  # RFC 5321 §3.2: HELO when EHLO is refused
        offered = smtp.supports_extension("starttls")
        if route.tls in ("opportunistic", "required") and offered and use_starttls:
            try:
                await smtp.starttls(server_hostname=hop.name, tls_context=tls_ctx)
            except (aiosmtplib.SMTPException, ssl.SSLError, OSError) as exc:
                raise TLSFailed(
                    451, codes.ES_TEMP_POLICY, f"STARTTLS with {where}: {exc}"
                ) from None
            await smtp.ehlo()  # RFC 3207 §4.2: forget what was learnt before TLS
        elif route.tls == "required" and not (offered and use_starttls):
            # RFC 3207 §4.1: a client that requires TLS does not send without it
            raise HopFailed(451, "4.7.10", f"{where} does not offer STARTTLS and TLS is required")
        if route.credentials is not None:
            await _authenticate(smtp, route)
    except HopFailed:
        smtp.close()
        raise
    except aiosmtplib.SMTPAuthenticationError as exc:
        smtp.close()
        # a wrong password may be fixed without touching the queue: defer, as Postfix does
        raise HopFailed(454, "4.7.8", f"AUTH at {where} failed: {exc.code} {exc.message}") from None
    except aiosmtplib.SMTPResponseException as exc:
        smtp.close()
        raise HopFailed(
            451, codes.ES_NET_NO_ANSWER, f"{where} refused: {exc.code} {exc.message}"
        ) from None
    except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
        smtp.close()
        raise HopFailed(451, codes.ES_NET_BAD_CONNECTION, f"{where} dropped: {exc}") from None
    return smtp


async def _transaction(
    smtp: aiosmtplib.SMTP, hop: Hop, sender: str, recipients: list[str], message: bytes
) -> list[RcptResult]:
    """MAIL, RCPT for each recipient, DATA: the per-recipient answers (RFC 5321 §3.3)."""
    utf8 = needs_smtputf8(sender, recipients)
    if utf8 and not smtp.supports_extension("smtputf8"):
        # RFC 6531 §3.2: non-ASCII addresses cannot be downgraded; bounce
        text = f"{hop.name} does not support SMTPUTF8"
        return [
            _result(r, 553, f"{codes.ES_NON_ASCII_ADDRESS} {text}", hop.name) for r in recipients
        ]
    encoding = "utf-8" if utf8 else "ascii"
    try:
        await smtp.mail(sender, options=_mail_options(smtp, message, utf8), encoding=encoding)
    except aiosmtplib.SMTPResponseException as exc:
        if exc.code < 500:
            raise HopFailed(
                exc.code,
                split_enhanced(exc.code, exc.message)[0],
                f"{hop.name} said to MAIL: {exc.code} {exc.message}",
            ) from None
        return [_result(r, exc.code, exc.message, hop.name) for r in recipients]
    results: dict[str, RcptResult] = {}
    accepted: list[str] = []
    for rcpt in recipients:
        try:
            reply = await smtp.rcpt(rcpt, encoding=encoding)
        except aiosmtplib.SMTPResponseException as exc:
            results[rcpt] = _result(rcpt, exc.code, exc.message, hop.name)
            continue
        accepted.append(rcpt)
        results[rcpt] = _result(rcpt, reply.code, reply.message, hop.name)
    if accepted:
        if not message.endswith(b"\r\n"):
            message += b"\r\n"
        try:
            reply = await smtp.data(message)
            code, text = reply.code, reply.message
        except aiosmtplib.SMTPResponseException as exc:
            code, text = exc.code, exc.message
        except (aiosmtplib.SMTPException, OSError) as exc:
            # RFC 5321 §6.1: without the final reply we must assume it was not delivered
            code, text = 451, f"{codes.ES_NET_BAD_CONNECTION} connection lost in DATA: {exc}"
        for rcpt in accepted:
            results[rcpt] = _result(rcpt, code, text, hop.name)
    return [results[r] for r in recipients]


async def _close(smtp: aiosmtplib.SMTP) -> None:
    if smtp.is_connected:
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            smtp.close()


#: ``on_tls(hop, ok, failure_type)``: one call per TLS outcome, for TLS-RPT (RFC 8460 §4.3)
TlsObserver = Callable[[Hop, bool, str], None]


def tls_failure_type(text: str) -> str:
    """The RFC 8460 §4.3 result type of a failed STARTTLS, from the error text."""
    if "Hostname mismatch" in text or "doesn't match" in text:
        return "certificate-host-mismatch"
    if "expired" in text:
        return "certificate-expired"
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "certificate-not-trusted"
    return "validation-failure"


async def deliver(
    route: Route,
    sender: str,
    recipients: list[str],
    message: bytes,
    settings: Settings,
    on_tls: TlsObserver | None = None,
) -> list[RcptResult]:
    """Try the route's hosts in order; one result per recipient, in their order."""
    last = HopFailed(451, codes.ES_NET_UNROUTABLE_TEMP, f"{route.domain}: no host to try")
    for hop in route.hops:
        where = {"domain": route.domain, "host": hop.name, "address": hop.address, "port": hop.port}
        tries = (True, False) if route.tls == "opportunistic" else (True,)
        for use_starttls in tries:
            try:
                smtp = await _open(route, hop, settings, use_starttls)
            except TLSFailed as exc:
                last = exc
                if on_tls:
                    on_tls(hop, False, tls_failure_type(exc.text))
                continue  # opportunistic: the same host once more, in plaintext
            except HopFailed as exc:
                last = exc
                if on_tls and exc.enhanced == "4.7.10":
                    on_tls(hop, False, "starttls-not-supported")
                break
            try:
                results = await _transaction(smtp, hop, sender, recipients, message)
            except HopFailed as exc:
                last = exc
                await _close(smtp)
                break
            tls = smtp.is_connected and smtp.get_transport_info("sslcontext") is not None
            await _close(smtp)
            if on_tls and tls:
                on_tls(hop, True, "")
            log_event(
                "relay.session",
                **where,
                tls=tls,
                recipients=len(recipients),
                delivered=sum(r.outcome == "delivered" for r in results),
            )
            return results
        log_event("relay.hop_failed", **where, error=last.text, level=logging.WARNING)
    return [RcptResult(r, last.code, last.enhanced, last.text) for r in recipients]
