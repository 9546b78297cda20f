"""The result of a diagnosis: findings grouped by check family, a summary,
the exit code, and its two renderings (``__rich__`` / :meth:`Report.print`
for people, ``to_json`` for scripts; the JSON schema is documented in
docs/diagnose.md).

For people, the tables say what was seen; then "Problems and fixes" lists
every failure, inconclusive check and warning once, worst first, each with
its own fix, the rule it breaks and the command that shows it. Commands are
printed whole on one line (never wrapped or cut, also when piped) so that
they can be copied."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .findings import STYLE, Finding, Status

SCHEMA = "mailtool.diagnose/1"
#: the statuses listed under "Problems and fixes", worst first
PROBLEMS = (Status.FAIL, Status.ERROR, Status.WARN)

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

        problems = (text for text, _ in self.problems())
        return Group(*self.tables(), *problems, self.summary_text())

    def tables(self) -> list[Any]:
        """One table per group: what each check saw."""
        from rich.table import Table
        from rich.text import Text

        parts: list[Any] = []
        for group, findings in self.by_group().items():
            table = Table(
                title=group, title_justify="left", title_style="bold", show_lines=False, expand=True
            )
            table.add_column("status", no_wrap=True)
            table.add_column("check", no_wrap=True)
            # fold, never "…": a host name or a port cut short is a wrong one
            table.add_column("subject", overflow="fold")
            table.add_column("observed", overflow="fold")
            for f in findings:
                detail = Text(f.observed)
                if f.status in PROBLEMS and f.expected:
                    detail.append(f"\nexpected: {f.expected}", style="dim")
                table.add_row(Text(f.status.value, style=STYLE[f.status]), f.id, f.subject, detail)
            if not findings:
                table.add_row(Text("skip", style="dim"), f"{group}", "", "no checks ran")
            parts.append(table)
        return parts

    def problems(self) -> list[tuple[Any, bool]]:
        """The "Problems and fixes" section as (renderable, is a command) pairs:
        a command must be printed with ``soft_wrap`` (whole, on one line)."""
        from rich.padding import Padding
        from rich.text import Text

        found = sorted(
            (f for f in self.findings if f.status in PROBLEMS),
            key=lambda f: PROBLEMS.index(f.status),
        )
        if not found:
            return []
        out: list[tuple[Any, bool]] = [
            (Text(f"\nProblems and fixes ({len(found)})", style="bold"), False)
        ]
        for n, f in enumerate(found, 1):
            head = Text(f"{n:>2}. ")
            head.append(f.status.value, style=STYLE[f.status])
            head.append(f" {f.id}" + (f" — {f.subject}" if f.subject else ""), style="bold")
            lines = [f.observed or f.check.title]
            if f.expected:
                lines.append(f"expected: {f.expected}")
            if f.status is Status.ERROR and f.fix_override is None:
                lines.append("could not be tested; run again, or run the command below")
            elif f.fix:
                lines.append(f"fix: {f.fix}")
            if f.check.rfc:
                lines.append(f"rule: {f.check.rfc}")
            out.append((head, False))
            out.append((Padding(Text("\n".join(lines)), (0, 0, 0, 4), expand=False), False))
            if f.reproduce:
                out.append((Text(f"    $ {f.reproduce}", style="dim"), True))
        return out

    def summary_text(self) -> Any:
        from rich.text import Text

        code = self.exit_code()
        style = "bold red" if code == EXIT_FAIL else "yellow" if code else "bold green"
        return Text(self.summary(), style=style)

    def print(self, console: Any) -> None:
        """Tables, problems and fixes, summary; commands never wrapped or cut."""
        from rich.console import Group

        console.print(Group(*self.tables()))
        for renderable, command in self.problems():
            console.print(renderable, soft_wrap=command, crop=not command)
        console.print(self.summary_text())
