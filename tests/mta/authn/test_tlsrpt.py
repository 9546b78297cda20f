"""TLS-RPT: one day's outbound TLS attempts become one RFC 8460 report per domain that
publishes a mailto: rua, mailed as multipart/report with the gzip'd JSON. The attempts
are kept in the data dir or, on PostgreSQL, in a table every node shares (both here)."""

from __future__ import annotations

import asyncio
import email
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from mailtool.dns import Resolver
from mailtool.mta.authn.tlsrpt import TlsAttempt, TlsReportLog, send_reports
from tests.mta.authn.conftest import txt

WHEN = 1795780800.0  # 2026-11-27 08:00 UTC
STS = ("version: STSv1", "mode: enforce", "mx: mx.b.test", "max_age: 86400")


@pytest.fixture(params=["sqlite", "postgresql"])
def attempts(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Where a node keeps its attempts: the data dir, or the cluster's database."""
    if request.param == "sqlite":
        return tmp_path
    from mailtool.store.pg.caches import PgReportLog

    return PgReportLog(request.getfixturevalue("pg_database"))


def test_daily_report(dns_server, tmp_path: Path) -> None:
    dns = dns_server([txt("_smtp._tls.b.test", "v=TLSRPTv1; rua=mailto:tls@b.test,https://x.test/r")])
    log = TlsReportLog(tmp_path)
    log.record(TlsAttempt("b.test", "mx.b.test", "sts", STS, True, receiving_ip="127.0.0.1"), WHEN)
    for _ in range(2):
        log.record(TlsAttempt("b.test", "mx.b.test", "sts", STS, False,
                              "certificate-host-mismatch", "127.0.0.1"), WHEN)
    log.record(TlsAttempt("c.test", "mx.c.test", "no-policy-found", (), True), WHEN)
    sent: list[tuple[str, list[str], bytes]] = []

    async def enqueue(sender: str, to: list[str], message: bytes) -> None:
        sent.append((sender, to, message))

    domains = asyncio.run(send_reports(log, "2026-11-27", Resolver([dns.address], timeout=3),
                                       enqueue, organization="mail.a.test",
                                       sender="tlsrpt@mail.a.test"))
    assert domains == ["b.test"]  # c.test publishes no TLS-RPT record
    sender, to, raw = sent[0]
    assert (sender, to) == ("tlsrpt@mail.a.test", ["tls@b.test"])
    msg = email.message_from_bytes(raw)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "tlsrpt"
    assert msg["TLS-Report-Domain"] == "b.test"
    part = next(p for p in msg.walk() if p.get_content_type() == "application/tlsrpt+gzip")
    report = json.loads(gzip.decompress(part.get_payload(decode=True)))
    assert report["date-range"] == {"start-datetime": "2026-11-27T00:00:00Z",
                                    "end-datetime": "2026-11-28T00:00:00Z"}
    (policy,) = report["policies"]
    assert policy["policy"] == {"policy-type": "sts", "policy-domain": "b.test",
                                "policy-string": list(STS), "mx-host": ["mx.b.test"]}
    assert policy["summary"] == {"total-successful-session-count": 1,
                                 "total-failure-session-count": 2}
    assert policy["failure-details"] == [{
        "result-type": "certificate-host-mismatch", "receiving-ip": "127.0.0.1",
        "receiving-mx-hostname": "mx.b.test", "failed-session-count": 2}]


def test_finished_days_are_reported_once(dns_server, attempts: Any) -> None:
    from mailtool.mta.authn.tlsrpt import send_due_reports

    dns = dns_server([txt("_smtp._tls.b.test", "v=TLSRPTv1; rua=mailto:tls@b.test")])
    log = TlsReportLog(attempts)
    log.record(TlsAttempt("b.test", "mx.b.test", "sts", STS, True), WHEN)
    log.record(TlsAttempt("b.test", "mx.b.test", "sts", STS, True), WHEN + 86400)  # "today"
    queued: list[tuple[str, list[str]]] = []

    async def enqueue(sender: str, to: list[str], message: bytes) -> None:
        queued.append((sender, to))

    def run(node: TlsReportLog = log) -> list[str]:
        return asyncio.run(send_due_reports(
            node, Resolver([dns.address]), enqueue, organization="mail.a.test",
            sender="postmaster@mail.a.test", now=WHEN + 86400,
        ))

    assert [a.mx_host for a in TlsReportLog(attempts).attempts("2026-11-27")] == ["mx.b.test"]
    assert run() == ["2026-11-27"]  # yesterday; today is not finished
    assert queued == [("postmaster@mail.a.test", ["tls@b.test"])]
    assert run() == [] and len(queued) == 1  # never twice
    assert run(TlsReportLog(attempts)) == [] and len(queued) == 1  # nor by another node
