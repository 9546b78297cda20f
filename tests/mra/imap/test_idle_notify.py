"""IDLE without polling (issue 15 point 7).

Changes committed by another process (a second MailStore, as the CLI or an SMTP
worker process has) reach an idling client through the store's cross-process
notifier, and idling sessions make the server do nothing: no periodic wake-up.
"""

from __future__ import annotations

import os
import re
import smtplib
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.mra.imap.conftest import Imap, message
from tests.mra.imap.test_idle import done, idle, pushed

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="inotify, /proc")

#: IDLE sessions the no-polling test opens
SESSIONS = 8
#: seconds of each measuring window
WINDOW = 2.5


def test_changes_by_another_process_are_pushed(imap: Imap) -> None:
    # imap.mail() is a MailStore in this test process, not the server's: what the CLI
    # or an SMTP worker process does
    a = imap.wire()
    a.cmd("SELECT INBOX")
    tag = idle(a)
    inbox = imap.mail().folder("INBOX")
    inbox.append(message("from elsewhere"))
    assert pushed(a) == b"* 1 EXISTS\r\n"
    assert pushed(a) == b"* 1 RECENT\r\n"  # RFC 3501 §7.3.2: new mail is \Recent for a
    inbox.store([1], ["\\Flagged"])
    assert pushed(a) == b"* 1 FETCH (FLAGS (\\Flagged \\Recent) UID 1)\r\n"
    inbox.store([1], ["\\Deleted"])
    assert pushed(a).startswith(b"* 1 FETCH (FLAGS (")
    inbox.expunge()
    assert pushed(a) == b"* 1 EXPUNGE\r\n"
    done(a, tag)


@pytest.mark.timeout(120)
def test_delivery_by_an_smtp_worker_process_is_pushed(imap_server) -> None:
    imap: Imap = imap_server(config={"limits": {"smtp_workers": 2}})
    a = imap.wire()
    a.cmd("SELECT INBOX")
    tag = idle(a)
    main_prefix = _conn_prefixes(imap.server.log(), "imaps").pop()
    # the kernel spreads connections over the two processes (SO_REUSEPORT): send until
    # one was taken by the worker, each pushed within the deadline
    for n in range(1, 41):
        with smtplib.SMTP("127.0.0.1", imap.server.port("smtp"), timeout=30) as smtp:
            smtp.sendmail("sender@elsewhere.test", [imap.user], message(f"m{n}"))
        assert pushed(a) == b"* %d EXISTS\r\n" % n
        assert pushed(a) == b"* %d RECENT\r\n" % n  # RFC 3501 §7.3.2
        if _conn_prefixes(imap.server.log(), "smtp") - {main_prefix}:
            break
    else:
        raise AssertionError("no SMTP connection reached the worker process")
    done(a, tag)


def test_idling_sessions_wake_nothing(imap_server) -> None:
    """N sessions in IDLE: the server's threads are woken no more often than with the
    same sessions merely connected (the old code polled the index twice a second per
    IDLE session), and use next to no CPU. Other timers of the server count in both
    windows alike."""
    imap: Imap = imap_server(config={"limits": {"max_connections_per_user": 50}})
    with ThreadPoolExecutor(4) as pool:
        sessions = list(pool.map(lambda _: imap.wire(), range(SESSIONS)))
    for w in sessions:
        w.cmd("SELECT INBOX")
    pid = imap.server.proc.pid
    time.sleep(0.5)  # let the logins' worker threads settle
    _, base_wakeups = _usage(pid, WINDOW)
    tags = []
    for w in sessions:  # spread out, so that timers of a polling server could not coincide
        tags.append(idle(w))
        time.sleep(0.5 / SESSIONS)
    idle_cpu, idle_wakeups = _usage(pid, WINDOW)
    # 2 polls/s per session would be 2 * SESSIONS * WINDOW = 40 wakeups more
    assert idle_wakeups <= base_wakeups + 10, (base_wakeups, idle_wakeups)
    assert idle_cpu < 0.1, idle_cpu  # seconds of CPU over the window: a correctness bound
    # and they are still served: a change wakes them all
    imap.mail().deliver(message("wake up"))
    for w, tag in zip(sessions, tags, strict=True):
        assert pushed(w) == b"* 1 EXISTS\r\n"
        done(w, tag)


def _usage(pid: int, seconds: float) -> tuple[float, int]:
    """CPU seconds (utime + stime) and voluntary context switches of every thread of
    ``pid`` during the next ``seconds``: each wake-up from sleep is one switch."""
    first = _counters(pid)
    time.sleep(seconds)
    last = _counters(pid)
    return last[0] - first[0], last[1] - first[1]


def _counters(pid: int) -> tuple[float, int]:
    ticks = os.sysconf("SC_CLK_TCK")
    cpu, switches = 0, 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rpartition(")")[2].split()
            status = (task / "status").read_text()
        except OSError:
            continue  # a thread that just ended
        cpu += int(fields[11]) + int(fields[12])
        found = re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M)
        switches += int(found.group(1)) if found else 0
    return cpu / ticks, switches


def _conn_prefixes(log: str, service: str) -> set[str]:
    """The per-process prefixes of the connection ids the log shows for ``service``."""
    return set(re.findall(rf"conn\.open id=(\w+)-\d+ service={service}\b", log))
