"""RETR/TOP on PostgreSQL: opening a message and reading its chunks ask the database,
so they run in a thread (a slow or restarting database must not stall every session of
the process); Maildir files are read on the loop (page-cache work, cheaper than a
thread hop). The routing itself is checked here; the RETR tests run both paths."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

import pytest

from mailtool.mra.pop3.session import Session


@pytest.mark.parametrize(("local_files", "same_thread"), [(False, False), (True, True)])
def test_database_reads_leave_the_event_loop(local_files: bool, same_thread: bool) -> None:
    drop = SimpleNamespace(local_files=local_files)

    async def main() -> tuple[int, int]:
        return threading.get_ident(), await Session._off_loop(drop, threading.get_ident)

    loop_thread, read_thread = asyncio.run(main())
    assert (loop_thread == read_thread) is same_thread
