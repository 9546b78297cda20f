"""Structured one-line logs: ``event key=value ...``.

One line per connection and per transaction (connection id, peer, user,
outcome). Callers never pass secrets; values are quoted when they contain
spaces so a line stays machine-splittable.
"""

from __future__ import annotations

import logging
import sys

LOGGER_NAME = "mailtool"


def _fmt(value: object) -> str:
    text = str(value)
    if not text or any(c in text for c in ' "='):
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def log_event(event: str, *, level: int = logging.INFO, **fields: object) -> None:
    """Log ``event`` with ``fields`` (None values are left out)."""
    parts = [event] + [f"{k}={_fmt(v)}" for k, v in fields.items() if v is not None]
    logging.getLogger(LOGGER_NAME).log(level, " ".join(parts))


def setup_logging(level: int = logging.INFO) -> None:
    """Log to stderr as ``2026-11-27T20:44:59 INFO event k=v``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    logger = logging.getLogger(LOGGER_NAME)
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
