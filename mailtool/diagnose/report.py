"""The result of a diagnosis: findings grouped by check family, a summary,
the exit code, and its two renderings (``__rich__`` for people, ``to_json``
for scripts; the JSON schema is documented in docs/diagnose.md)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .findings import STYLE, Finding, Status

SCHEMA = "mailtool.diagnose/1"

#: exit codes (docs/diagnose.md, `mailtool diagnose --help`)
EXIT_OK = 0
EXIT_WARN = 1  # only with --strict
EXIT_FAIL = 2
EXIT_INCONCLUSIVE = 3


@dataclass
class Report:
    domain: str
    groups: tuple[str, ...]
    findings: list[Finding] = field(default_factory=list)
    started: str = ""  # ISO 8601, UTC
    duration: float = 0.0
    nameservers: tuple[str, ...] = ()

    def counts(self) -> Counter[str]:
        return Counter(f.status.value for f in self.findings)

    def exit_code(self, strict: bool = False) -> int:
        """2 on any failure; else 3 when something could not be tested; else 1
        for warnings under ``--strict``; else 0."""
        counts = self.counts()
        if counts[Status.FAIL]:
            return EXIT_FAIL
        if counts[Status.ERROR]:
            return EXIT_INCONCLUSIVE
        if strict and counts[Status.WARN]:
            return EXIT_WARN
        return EXIT_OK

    def by_group(self) -> dict[str, list[Finding]]:
        out: dict[str, list[Finding]] = {g: [] for g in self.groups}
        for f in self.findings:
            out.setdefault(f.family, []).append(f)
        return out

    def find(self, check_id: str) -> list[Finding]:
        return [f for f in self.findings if f.id == check_id]

    def summary(self) -> str:
        counts = self.counts()
        parts = ", ".join(f"{counts[s.value]} {s.value}" for s in Status)
        return f"{self.domain}: {parts} in {self.duration:.1f} s"

    def to_json(self, strict: bool = False) -> dict[str, Any]:
        counts = self.counts()
        return {
            "schema": SCHEMA,
            "domain": self.domain,
            "started": self.started,
            "duration": round(self.duration, 3),
            "nameservers": list(self.nameservers),
            "groups": list(self.groups),
            "summary": {s.value: counts[s.value] for s in Status},
            "exit_code": self.exit_code(strict),
            "findings": [f.to_json() for f in self.findings],
        }

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        parts: list[Any] = []
        for group, findings in self.by_group().items():
            table = Table(
                title=group, title_justify="left", title_style="bold", show_lines=False, expand=True
            )
            table.add_column("status", no_wrap=True)
            table.add_column("check", no_wrap=True)
            table.add_column("subject")
            table.add_column("observed")
            for f in findings:
                detail = Text(f.observed)
                if f.status in (Status.WARN, Status.FAIL, Status.ERROR):
                    if f.expected:
                        detail.append(f"\nexpected: {f.expected}", style="dim")
                    if f.fix:
                        detail.append(f"\nfix: {f.fix}", style="italic")
                    if f.check.rfc:
                        detail.append(f"\nsee {f.check.rfc}", style="dim")
                    if f.reproduce:
                        detail.append(f"\n$ {f.reproduce}", style="dim")
                table.add_row(Text(f.status.value, style=STYLE[f.status]), f.id, f.subject, detail)
            if not findings:
                table.add_row(Text("skip", style="dim"), f"{group}", "", "no checks ran")
            parts.append(table)
        code = self.exit_code()
        style = "bold red" if code == EXIT_FAIL else "yellow" if code else "bold green"
        parts.append(Text(self.summary(), style=style))
        return Group(*parts)
