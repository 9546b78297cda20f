"""The human report (issue 19 point 6): a "Problems and fixes" section at the
end, worst first, each problem with its own fix and rule; reproduce commands
printed whole, on one line, however narrow the console or when piped."""

from __future__ import annotations

import io

from rich.console import Console

from mailtool.diagnose.findings import CATALOGUE, Check, Status
from mailtool.diagnose.report import Report
from mailtool.diagnose.runner import reconcile


def check(*args: str) -> Check:
    """A Check for this test only: the catalogue (docs/diagnose.md) stays as it was."""
    saved = dict(CATALOGUE)
    made = Check(*args)
    CATALOGUE.clear()
    CATALOGUE.update(saved)
    return made


RECORD = check(
    "policy.test.record",
    "A test record",
    "Why it matters.",
    "RFC 7489 §6.3",
    "A generic fix for the whole check.",
)
LONG = (
    "swaks --server 127.0.0.11:25 --to relay-test@example.net --quit-after RCPT "
    "--from postmaster@a-rather-long-domain-name.example.org --tls"
)


def render(report: Report, width: int) -> str:
    out = io.StringIO()
    report.print(Console(file=out, width=width, force_terminal=False, color_system=None))
    return out.getvalue()


def sample() -> Report:
    report = Report("example.org", ("policy",))
    report.findings = [
        RECORD(Status.PASS, "fine", subject="ok.example.org"),
        RECORD(
            Status.WARN,
            "rua= missing",
            "rua=mailto:...",
            subject="_dmarc.a-rather-long-subdomain-name.example.org:465",
            fix="Add rua=mailto:dmarc-reports@example.org.",
        ),
        RECORD(
            Status.FAIL,
            "p=rejet",
            "p=none, quarantine or reject",
            subject="_dmarc.example.org",
            reproduce=LONG,
            fix="p must be none, quarantine or reject.",
        ),
    ]
    return report


def test_problems_and_fixes_come_last_worst_first_with_their_own_fix():
    text = render(sample(), 200)
    section = text[text.index("Problems and fixes (2)") :]
    assert section.index("p=rejet") < section.index("rua= missing")  # fail before warn
    assert "fix: p must be none, quarantine or reject." in section
    assert "A generic fix for the whole check." not in section  # the finding's own fix
    assert "rule: RFC 7489 §6.3" in section
    assert section.rstrip().splitlines()[-1].startswith("example.org: 1 pass")


def test_commands_are_never_cut_or_wrapped_on_a_narrow_console():
    for width in (40, 80):
        lines = render(sample(), width).splitlines()
        assert f"    $ {LONG}" in lines, width
        assert not any("…" in line for line in lines)  # nothing cut short, tables included


def test_rich_rendering_still_holds_the_whole_report():
    out = io.StringIO()
    Console(file=out, width=120).print(sample())
    assert "Problems and fixes (2)" in out.getvalue()


def test_null_mx_makes_receiving_warnings_moot_and_leaves_failures():
    dkim = check("policy.dkim.domainkey", "t", "w")
    rua = check("policy.dmarc.rua", "t", "w")
    spf = check("policy.spf.all", "t", "w")
    findings = [dkim(Status.WARN, "NXDOMAIN"), rua(Status.WARN, "none"), spf(Status.FAIL, "+all")]
    moot = reconcile(findings, null_mx=True)
    assert [f.status for f in moot] == [Status.SKIP, Status.SKIP, Status.FAIL]
    assert reconcile(findings, null_mx=False) == findings
