"""Structured one-line logs: ``event key=value ...``.

One line per connection and per transaction (connection id, peer, user,
outcome). Callers never pass secrets; values are quoted when they contain
spaces so a line stays machine-splittable.

Cheap, because a busy SMTP server logs four lines per message: nothing is
formatted when the level is filtered out, the record is made without the
``logging`` module's caller lookup (a stack walk per line: the file and line
of ``log_event`` say nothing anyway), and the server's formatter turns the
time into text once per second, not once per line.
"""

from __future__ import annotations

import logging
import sys
import time

LOGGER_NAME = "mailtool"
_logger = logging.getLogger(LOGGER_NAME)


def _fmt(value: object) -> str:
    text = str(value)
    if not text or " " in text or '"' in text or "=" in text:
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def log_event(event: str, *, level: int = logging.INFO, **fields: object) -> None:
    """Log ``event`` with ``fields`` (None values are left out)."""
    if not _logger.isEnabledFor(level):
        return
    parts = [event]
    for key, value in fields.items():
        if value is not None:
            parts.append(f"{key}={_fmt(value)}")
    # makeRecord + handle: what Logger.log does, minus findCaller's stack walk
    _logger.handle(_logger.makeRecord(LOGGER_NAME, level, __file__, 0, " ".join(parts), (), None))


class _Formatter(logging.Formatter):
    """``2026-11-27T20:44:59 INFO event k=v``, the time text made once per second."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s")
        self._last = (-1, "")  # (second, its text): one tuple, so threads never mix two

    def formatTime(
        self, record: logging.LogRecord, datefmt: str | None = None
    ) -> str:
        second, stamp = self._last
        if int(record.created) != second:
            second = int(record.created)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(second))
            self._last = (second, stamp)
        return stamp


def setup_logging(level: int = logging.INFO) -> None:
    """Log to stderr as ``2026-11-27T20:44:59 INFO event k=v`` (the server's log).

    Records carry no process, thread or multiprocessing names (the format shows
    none of them; each costs system calls per line).
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    logging.logProcesses = logging.logThreads = logging.logMultiprocessing = False
    _logger.handlers[:] = [handler]
    _logger.setLevel(level)
    _logger.propagate = False
