"""Progress bars for import and export: rich, on stderr, and only for a person watching.

Quiet (no output at all) when stderr is not a terminal or with ``--json``, so
scripts and pipes see the summary alone.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any


class Progress:
    """One bar per folder or file; a no-op when not ``enabled``."""

    def __init__(self, enabled: bool | None = None) -> None:
        self._bar: Any = None
        if enabled is False:
            return
        from rich.console import Console

        console = Console(stderr=True)
        if enabled is None and not console.is_terminal:
            return
        from rich import progress as rp

        self._bar = rp.Progress(
            rp.TextColumn("{task.description}"),
            rp.BarColumn(),
            rp.TaskProgressColumn(),
            rp.TextColumn("{task.fields[unit]}"),
            rp.TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def start(self, label: str, total: int | None, unit: str = "messages") -> None:
        """A new bar (the previous one stays, complete, above it)."""
        if self._bar is not None:
            self._task = self._bar.add_task(label, total=total, unit=unit)

    def advance(self, amount: int = 1) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, amount)

    def finish(self) -> None:
        if self._bar is not None and self._task is not None:
            task = self._bar.tasks[-1]
            if task.total is not None:
                self._bar.update(self._task, completed=task.total)
