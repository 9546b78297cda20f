"""``[tls] acme = true`` at serve time: which names, when to (re)issue, backoff, the files.

The certificate lives in ``DATA_DIR/tls/acme/`` (``cert.pem`` = full chain, ``key.pem``,
``account.key``; all 0600). Until the first issuance ``cert.pem`` is a self-signed
placeholder, so serve starts at once, and every listener uses these two paths from
the start: an issuance replaces the files and reloads the one live ``SSLContext``
(:class:`mailtool.net.tls.CertStore`), so new connections get the new certificate
without a restart; SMTP worker processes get SIGHUP and reload the same files.

Names: the mail host name, ``[tls] acme_names``, and ``mta-sts.DOMAIN`` and
``autoconfig.DOMAIN`` for every hosted domain. A name whose validation fails (its DNS
does not point here yet) is left out for :data:`DROPPED_RETRY` so the others still get
a certificate; the host name is never left out.

Renewal: :data:`RENEW_BEFORE` before expiry (Let's Encrypt's advice: a third of a
90-day life). Failures back off from :data:`BACKOFF_MIN` doubling to :data:`BACKOFF_MAX`,
each with one ``acme.failed`` log line saying why and when the next try is.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mailtool.acme.client import (
    AcmeError,
    Issued,
    issue,
    load_or_create_account_key,
    write_private,
)
from mailtool.net.log import log_event
from mailtool.store.paths import DataDir

if TYPE_CHECKING:
    from mailtool.server import ServerContext

RENEW_BEFORE = dt.timedelta(days=30)
#: seconds between checks when nothing is due (names may change: a domain added)
CHECK_INTERVAL = 3600.0
BACKOFF_MIN = 60.0
BACKOFF_MAX = 24 * 3600.0
#: seconds a name whose validation failed stays out of the order
DROPPED_RETRY = 24 * 3600.0


def acme_dir(data_dir: Path) -> Path:
    return DataDir(data_dir).acme


def cert_paths(data_dir: Path) -> tuple[Path, Path]:
    """(cert.pem, key.pem) of the ACME certificate, the pair every listener loads."""
    base = acme_dir(data_dir)
    return base / "cert.pem", base / "key.pem"


def ensure_placeholder(data_dir: Path, hostname: str) -> tuple[str, str]:
    """The ACME pair's paths, with a self-signed placeholder written there if there is
    no certificate yet (serve starts before the CA has answered)."""
    from mailtool.net.tls import generate_self_signed

    cert, key = cert_paths(data_dir)
    if not (cert.exists() and key.exists()):
        cert.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        generate_self_signed(hostname, cert, key)
    return str(cert), str(key)


def wanted_names(hostname: str, extra: tuple[str, ...], domains: list[str]) -> list[str]:
    """The certificate's names, the host name first (the subject), no duplicates."""
    out: list[str] = []
    for name in [
        hostname,
        *extra,
        *(f"{p}.{d}" for d in domains for p in ("mta-sts", "autoconfig")),
    ]:
        name = name.strip().rstrip(".").lower()
        if name and name not in out:
            out.append(name)
    return out


def renewal_reason(cert_pem: bytes | None, names: list[str], now: dt.datetime) -> str | None:
    """Why a new certificate is needed now, or None if the one we have will do."""
    from cryptography import x509

    if not cert_pem:
        return "no certificate yet"
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        return "the certificate file cannot be read"
    if cert.issuer == cert.subject:
        return "the self-signed placeholder is in use"
    try:
        have = set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
                   .value.get_values_for_type(x509.DNSName))  # fmt: skip
    except x509.ExtensionNotFound:
        have = set()
    missing = [n for n in names if n not in have]
    if missing:
        return f"names not in the certificate: {', '.join(missing)}"
    if cert.not_valid_after_utc - now <= RENEW_BEFORE:
        return f"it expires {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
    return None


def panel_note(cert_path: Path) -> str:
    """What serve's start-up panel says after the certificate's path."""
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return " (ACME)"
    if cert.issuer == cert.subject:
        return " (ACME: a self-signed placeholder until the CA issues one; see acme.* in the log)"
    return f" (ACME: until {cert.not_valid_after_utc:%Y-%m-%d}, renewed 30 days before)"


def renewal_due(cert_pem: bytes) -> dt.datetime:
    from cryptography import x509

    return x509.load_pem_x509_certificate(cert_pem).not_valid_after_utc - RENEW_BEFORE


class AcmeManager:
    """The background task ``mailtool serve`` runs (main process only) with ``tls.acme``."""

    def __init__(
        self,
        ctx: ServerContext,
        *,
        publish: Callable[[str, str, str], None],
        withdraw: Callable[[str, str], None],
        reload: Callable[[], None],
    ) -> None:
        self.ctx = ctx
        self.config = ctx.config
        self.cert_path, self.key_path = cert_paths(ctx.config.data_path)
        self.account_path = acme_dir(ctx.config.data_path) / "account.key"
        self.publish, self.withdraw, self.reload = publish, withdraw, reload
        self.dropped: dict[str, float] = {}  # name -> loop time it was left out

    def names(self) -> list[str]:
        domains = list(self.ctx.accounts.domains())
        loop_now = asyncio.get_running_loop().time()
        self.dropped = {n: t for n, t in self.dropped.items() if loop_now - t < DROPPED_RETRY}
        names = wanted_names(self.config.hostname, self.config.tls.acme_names, domains)
        return [n for i, n in enumerate(names) if i == 0 or n not in self.dropped]

    def _current(self) -> bytes | None:
        try:
            return self.cert_path.read_bytes()
        except OSError:
            return None

    async def run(self) -> None:
        backoff = BACKOFF_MIN
        while True:
            names = self.names()
            now = dt.datetime.now(dt.UTC)
            current = self._current()
            reason = renewal_reason(current, names, now)
            if reason is None:
                assert current is not None
                wait = (renewal_due(current) - now).total_seconds()
                await asyncio.sleep(max(1.0, min(CHECK_INTERVAL, wait)))
                continue
            log_event("acme.order", names=",".join(names), reason=reason,
                      directory=self.config.tls.acme_directory)  # fmt: skip
            try:
                issued = await asyncio.to_thread(self._issue, names)
            except AcmeError as exc:
                optional = [n for n in exc.failed_names if n in names[1:]]
                if optional and names[0] not in exc.failed_names:
                    for name in optional:
                        self.dropped[name] = asyncio.get_running_loop().time()
                    log_event(
                        "acme.names_dropped", names=",".join(optional), level=logging.WARNING,
                        note="validation failed (does their DNS point here?): requested "
                        "without them, retried in a day",
                    )  # fmt: skip
                    continue
                log_event("acme.failed", error=str(exc), retry_in=f"{backoff:.0f}s",
                          level=logging.WARNING)  # fmt: skip
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            self._install(issued)
            backoff = BACKOFF_MIN

    def _issue(self, names: list[str]) -> Issued:
        tls = self.config.tls
        return issue(
            tls.acme_directory, names,
            account_key_pem=load_or_create_account_key(self.account_path),
            email=tls.acme_email, publish=self.publish, withdraw=self.withdraw,
            challenge_type=tls.acme_challenge, cafile=tls.acme_cafile,
        )  # fmt: skip

    def _install(self, issued: Issued) -> None:
        """Key, then chain (each tmp -> fsync -> rename), then the live context."""
        from cryptography import x509

        write_private(self.key_path, issued.key_pem)
        write_private(self.cert_path, issued.fullchain_pem.encode())
        self.reload()
        cert = x509.load_pem_x509_certificate(issued.fullchain_pem.encode())
        log_event("acme.issued", subject=cert.subject.rfc4514_string(),
                  not_after=f"{cert.not_valid_after_utc:%Y-%m-%d}",
                  renew_after=f"{cert.not_valid_after_utc - RENEW_BEFORE:%Y-%m-%d}")  # fmt: skip


def serve_task(
    ctx: ServerContext, signal_workers: Callable[[int], None]
) -> Callable[[], Awaitable[None]]:
    """What :class:`mailtool.server.MailServer` runs in the background with ``tls.acme``:
    the manager, publishing challenge answers where the CA looks (http-01: the ``http``
    listener; tls-alpn-01: the live TLS context's SNI callback), and reloading the live
    context (and the SMTP workers', by SIGHUP) after an issuance."""
    publish: Callable[[str, str, str], None]
    withdraw: Callable[[str, str], None]
    if ctx.config.tls.acme_challenge == "tls-alpn-01":
        from mailtool.acme.alpn import AlpnResponder

        responder = AlpnResponder(ctx.certs.context, acme_dir(ctx.config.data_path))
        publish, withdraw = responder.publish, responder.withdraw
    else:
        from mailtool.web.service import http01_answers

        answers = http01_answers(ctx)

        def publish(name: str, token: str, key_authorization: str) -> None:
            answers[token] = key_authorization

        def withdraw(name: str, token: str) -> None:
            answers.pop(token, None)

    def reload() -> None:
        ctx.certs.reload()
        signal_workers(signal.SIGHUP)
        log_event("tls.reload", cert=str(ctx.certs.cert), fingerprint=ctx.certs.fingerprint)

    manager = AcmeManager(ctx, publish=publish, withdraw=withdraw, reload=reload)
    return manager.run
