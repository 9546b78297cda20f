"""The one-line structured log: format, quoting, filtered levels cost nothing."""

from __future__ import annotations

import io
import logging
import re

import pytest

from mailtool.net import log


@pytest.fixture
def stream(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(log.sys, "stderr", out)
    logger = logging.getLogger(log.LOGGER_NAME)
    saved = logger.handlers[:], logger.level, logger.propagate
    flags = logging.logProcesses, logging.logThreads, logging.logMultiprocessing
    log.setup_logging()
    yield out
    logger.handlers[:], logger.level, logger.propagate = saved
    logging.logProcesses, logging.logThreads, logging.logMultiprocessing = flags


def test_line_format_and_quoting(stream):
    log.log_event("smtp.message", id="c1", user=None, rcpts=2, reason='say "hi"', k="a=b")
    log.log_event("conn.close", level=logging.WARNING, outcome="")
    first, second = stream.getvalue().splitlines()
    assert re.fullmatch(
        r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d INFO smtp\.message id=c1 rcpts=2 '
        r'reason="say \\"hi\\"" k="a=b"', first
    )
    assert second.endswith(' WARNING conn.close outcome=""')


def test_filtered_level_formats_nothing(stream):
    class Loud:
        def __str__(self) -> str:
            raise AssertionError("formatted although filtered")

    log.log_event("debug.thing", level=logging.DEBUG, value=Loud())
    assert stream.getvalue() == ""
