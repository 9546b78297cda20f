"""SMTP TLS reporting (RFC 8460): record how our outbound TLS went, and mail each
domain that asks (``_smtp._tls.DOMAIN TXT "v=TLSRPTv1; rua=mailto:..."``) one
gzip'd JSON report per UTC day.

The relay calls :meth:`TlsReportLog.record` once per connection attempt; the
results are appended as JSON lines to ``DATA_DIR/tlsrpt/YYYY-MM-DD.jsonl`` (on
PostgreSQL to a table every node shares, :mod:`mailtool.store.pg.caches`).
:func:`send_reports` (run once a day for the day before) turns one day's file
into reports and hands each to ``enqueue`` — our own queue, so reports are
delivered, retried and bounced like any other mail. ``https:`` report URIs
are not supported (optional in RFC 8460 §3); they are logged and skipped.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Protocol

from mailtool.dns import DNSError, Resolver
from mailtool.net.log import log_event
from mailtool.policy.tlsrpt import discover as discover_tlsrpt
from mailtool.store.caches import ReportFiles
from mailtool.store.paths import DataDir

#: RFC 8460 §4.3 result types we produce
FAILURE_TYPES = (
    "starttls-not-supported",
    "certificate-host-mismatch",
    "certificate-expired",
    "certificate-not-trusted",
    "validation-failure",
    "sts-policy-invalid",
    "sts-webpki-invalid",
)


@dataclass(frozen=True)
class TlsAttempt:
    """One outbound connection's TLS outcome."""

    domain: str
    mx_host: str
    policy_type: str  # "sts", "tlsa" or "no-policy-found"
    policy_strings: tuple[str, ...]
    success: bool
    failure_type: str = ""
    receiving_ip: str = ""
    sending_ip: str = ""


def day_of(when: float) -> str:
    return dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%d")


class ReportStore(Protocol):
    """Where attempts are kept (:class:`~mailtool.store.caches.ReportFiles`, PgReportLog)."""

    def append(self, day: str, record: dict[str, Any]) -> None: ...
    def records(self, day: str) -> list[dict[str, Any]]: ...
    def days(self) -> list[str]: ...
    def sent(self, day: str) -> bool: ...
    def mark_sent(self, day: str) -> None: ...


class TlsReportLog:
    """The attempts of each day: files under ``DATA_DIR/tlsrpt``, or the store given
    instead of a data dir (on PostgreSQL ``Stores.tlsrpt_log``)."""

    def __init__(self, data_dir: str | os.PathLike[str] | ReportStore) -> None:
        self.dir: Path | None = None
        if isinstance(data_dir, str | os.PathLike):
            self.dir = DataDir(data_dir).tlsrpt
            self.store: ReportStore = ReportFiles(self.dir)
        else:  # a store every node shares
            self.store = data_dir

    def record(self, attempt: TlsAttempt, when: float) -> None:
        """Append one attempt."""
        self.store.append(day_of(when), asdict(attempt))

    def attempts(self, day: str) -> list[TlsAttempt]:
        out = []
        for data in self.store.records(day):
            try:
                data["policy_strings"] = tuple(data["policy_strings"])
                out.append(TlsAttempt(**data))
            except (ValueError, TypeError, KeyError):
                continue  # written by another version
        return out


def build_report(
    day: str, domain: str, attempts: list[TlsAttempt], *, organization: str, contact: str
) -> dict[str, Any]:
    """The RFC 8460 §4.4 JSON report for one policy domain and one UTC day."""
    start = f"{day}T00:00:00Z"
    end_day = dt.date.fromisoformat(day) + dt.timedelta(days=1)
    policies: dict[tuple[str, tuple[str, ...]], list[TlsAttempt]] = {}
    for a in attempts:
        policies.setdefault((a.policy_type, a.policy_strings), []).append(a)
    out_policies = []
    for (ptype, strings), group in sorted(policies.items()):
        failures: dict[tuple[str, str, str], int] = {}
        for a in group:
            if not a.success:
                key = (a.failure_type or "validation-failure", a.receiving_ip, a.mx_host)
                failures[key] = failures.get(key, 0) + 1
        policy: dict[str, Any] = {"policy-type": ptype, "policy-domain": domain}
        if strings:
            policy["policy-string"] = list(strings)
        if ptype == "sts":
            policy["mx-host"] = sorted({m for s in strings if s.startswith("mx:")
                                        for m in [s[3:].strip()]})
        out_policies.append(
            {
                "policy": policy,
                "summary": {
                    "total-successful-session-count": sum(a.success for a in group),
                    "total-failure-session-count": sum(not a.success for a in group),
                },
                "failure-details": [
                    {
                        "result-type": rtype,
                        "receiving-ip": ip,
                        "receiving-mx-hostname": mx,
                        "failed-session-count": n,
                    }
                    for (rtype, ip, mx), n in sorted(failures.items())
                ],
            }
        )
    return {
        "organization-name": organization,
        "date-range": {"start-datetime": start, "end-datetime": f"{end_day}T00:00:00Z"},
        "contact-info": contact,
        "report-id": f"{day}_{domain}_{secrets.token_hex(6)}@{organization}",
        "policies": out_policies,
    }


def report_message(report: dict[str, Any], *, domain: str, sender: str, to: list[str]) -> bytes:
    """The report as mail (RFC 8460 §5.3): multipart/report, report-type=tlsrpt, the JSON
    gzip'd as application/tlsrpt+gzip, and the TLS-Report-* headers."""
    org = report["organization-name"]
    day = report["date-range"]["start-datetime"][:10]
    filename = f"{org}!{domain}!{day}!{report['report-id'][:20]}.json.gz".replace("/", "_")
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = f"Report Domain: {domain} Submitter: {org} Report-ID: <{report['report-id']}>"
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=org)
    msg["TLS-Report-Domain"] = domain
    msg["TLS-Report-Submitter"] = org
    msg.set_content(f"TLS report for {domain} on {day}, from {org} (RFC 8460).\n")
    msg.add_attachment(
        gzip.compress(json.dumps(report, indent=1).encode()),
        maintype="application",
        subtype="tlsrpt+gzip",
        filename=filename,
    )
    msg.replace_header("Content-Type", msg.get_content_type())
    msg.set_param("report-type", "tlsrpt")
    msg.set_type("multipart/report")
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


async def report_addresses(resolver: Resolver, domain: str) -> list[str]:
    """The mailto: addresses of the domain's TLS-RPT record (RFC 8460 §3)."""
    try:
        record = await discover_tlsrpt(resolver, domain)
    except DNSError:
        return []
    for uri in record.rua:
        if not uri.lower().startswith("mailto:"):
            log_event("tlsrpt.skip", domain=domain, uri=uri[:100], reason="only mailto: is sent")
    return record.mailto


Enqueue = Callable[[str, list[str], bytes], Awaitable[Any]]


async def send_reports(
    log: TlsReportLog,
    day: str,
    resolver: Resolver,
    enqueue: Enqueue,
    *,
    organization: str,
    sender: str,
) -> list[str]:
    """Report ``day``'s attempts to every domain that asks; the domains reported to."""
    by_domain: dict[str, list[TlsAttempt]] = {}
    for attempt in log.attempts(day):
        by_domain.setdefault(attempt.domain, []).append(attempt)
    sent = []
    for domain, attempts in sorted(by_domain.items()):
        to = await report_addresses(resolver, domain)
        if not to:
            continue
        report = build_report(day, domain, attempts, organization=organization, contact=sender)
        await enqueue(sender, to, report_message(report, domain=domain, sender=sender, to=to))
        log_event("tlsrpt.sent", domain=domain, day=day, to=",".join(to))
        sent.append(domain)
    return sent


async def send_due_reports(
    log: TlsReportLog,
    resolver: Resolver,
    enqueue: Enqueue,
    *,
    organization: str,
    sender: str,
    now: float,
) -> list[str]:
    """Report every finished UTC day not reported yet; the store records it (a ``DAY.sent``
    marker file, or a row).

    The mark is written after the reports are queued: a crash in between (or two nodes
    looking at the same moment) sends that day's reports once more, which RFC 8460
    receivers de-duplicate by report-id.
    """
    today = day_of(now)
    done: list[str] = []
    for day in log.store.days():
        if day >= today or log.store.sent(day):
            continue
        await send_reports(log, day, resolver, enqueue, organization=organization, sender=sender)
        log.store.mark_sent(day)
        done.append(day)
    return done


async def report_daily(
    log: TlsReportLog,
    resolver: Resolver,
    enqueue: Enqueue,
    *,
    organization: str,
    sender: str,
    every: float = 3600.0,
) -> None:
    """The server's background task: look for a finished day every ``every`` seconds."""
    import asyncio
    import time

    while True:
        try:
            await send_due_reports(
                log, resolver, enqueue, organization=organization, sender=sender, now=time.time()
            )
        except Exception as exc:  # reports are best effort; mail delivery is not
            log_event("tlsrpt.error", error=str(exc))
        await asyncio.sleep(every)
