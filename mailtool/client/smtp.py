"""Message submission (RFC 6409) with aiosmtplib.

One function, :func:`submit`: connect with the account's TLS mode, log in
when the server offers AUTH, send, and return the server's final reply.
Failures become :class:`~mailtool.errors.TemporaryFailure` (4xx, network) or
:class:`~mailtool.errors.PermanentFailure` (5xx) carrying the server's code,
so the send path can say exactly what went wrong.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

import aiosmtplib

from mailtool.client.account import Endpoint
from mailtool.errors import AuthError, PermanentFailure, TemporaryFailure
from mailtool.net.tls import client_context


def _failure(code: int, text: str) -> TemporaryFailure | PermanentFailure:
    cls = PermanentFailure if 500 <= code < 600 else TemporaryFailure
    return cls(f"{code} {text}".strip(), code=code, enhanced=text[:5] if text[:1] in "45" else
               ("5.0.0" if code >= 500 else "4.0.0"))


@dataclass(frozen=True)
class Submitted:
    """What the server took: its final reply, and the recipients it refused at RCPT
    (``address -> "code text"``) while it accepted the message for the others."""

    reply: str
    refused: dict[str, str] = field(default_factory=dict)


async def submit(endpoint: Endpoint, message: bytes, sender: str, recipients: list[str], *,
                 username: str | None = None, password: str | None = None,
                 cafile: str | None = None, timeout: float = 60.0) -> Submitted:
    """Send ``message`` to ``recipients``. A message some recipients refused went to
    the others: that is a send (RFC 5321 §3.3), reported in :attr:`Submitted.refused`,
    never an error the user would "fix" by sending again."""
    if not recipients:
        raise PermanentFailure("no recipients", code=554, enhanced="5.5.1")
    tls_ctx: ssl.SSLContext | None = None
    if endpoint.tls != "none":
        tls_ctx = client_context(verify=endpoint.verify, cafile=cafile or endpoint.cafile or None)
    smtp = aiosmtplib.SMTP(
        hostname=endpoint.host, port=endpoint.port, timeout=timeout,
        use_tls=endpoint.tls == "tls", start_tls=endpoint.tls == "starttls",
        validate_certs=endpoint.verify, tls_context=tls_ctx,
    )
    try:
        await smtp.connect()
        if smtp.last_ehlo_response is None:  # connect() greets only when it did STARTTLS
            await smtp.ehlo()
        # RFC 4954: authenticate only when the server offers it
        if username and password is not None and smtp.supports_extension("auth"):
            try:
                await smtp.login(username, password)
            except aiosmtplib.SMTPAuthenticationError as exc:
                raise AuthError(f"SMTP login as {username} failed: {exc.code} {exc.message}") \
                    from None
        errors, reply = await smtp.sendmail(sender, recipients, message)
        return Submitted(reply, {r: f"{c.code} {c.message}" for r, c in errors.items()})
    except aiosmtplib.SMTPRecipientsRefused as exc:
        bad = ", ".join(f"{e.recipient} ({e.code} {e.message})" for e in exc.recipients)
        first = exc.recipients[0] if exc.recipients else None
        raise _failure(first.code if first else 550, f"all recipients refused: {bad}") from None
    except aiosmtplib.SMTPResponseException as exc:
        raise _failure(exc.code, exc.message) from None
    except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise TemporaryFailure(f"cannot send via {endpoint.host}:{endpoint.port}: {exc}") \
            from None
    finally:
        if smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()
