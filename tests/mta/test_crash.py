"""Crash test (DESIGN principle 1): 500 messages while the server is SIGKILLed at random
moments and restarted. Every message that got 250 ends up in the mailbox exactly once, no
message is there twice, and (SQLite + Maildir) the index agrees with the Maildir once the
queue has drained. On both backends (issue 17 point 3): on PostgreSQL the restarted node
takes its previous life's queue claims back and finds what it had delivered already."""

from __future__ import annotations

import random
import re
import smtplib
import threading
import time

import pytest

from mailtool.store.mailstore import MailStore
from tests.mta.maildir_view import mailbox_files, mailbox_messages, server_stores

TOTAL = 500
CLIENTS = 4
RCPT = "crash@local.test"


def body(tag: str) -> bytes:
    return f"Subject: crash {tag}\r\nMessage-ID: <{tag}@crash.test>\r\n\r\n{tag}\r\n".encode()


class Sender(threading.Thread):
    """Sends its share of the messages, reconnecting whenever the server is down."""

    def __init__(self, server, numbers: list[int], up: threading.Event) -> None:
        super().__init__(daemon=True)
        self.server, self.numbers, self.up = server, numbers, up
        self.acked: list[str] = []
        self.unacked: list[str] = []

    def run(self) -> None:
        client: smtplib.SMTP | None = None
        for n in self.numbers:
            attempt = 0
            while True:
                tag = f"m{n}-a{attempt}"
                try:
                    if client is None:
                        self.up.wait(60)
                        client = smtplib.SMTP(*self.server.address("smtp"), timeout=10)
                        client.ehlo("crash.test")
                    client.sendmail("load@other.test", [RCPT], body(tag))
                    self.acked.append(tag)
                    break
                except (OSError, smtplib.SMTPException):
                    # no 250: this attempt may or may not have been queued; retry under
                    # a new tag so a duplicate can never be the client's own doing
                    self.unacked.append(tag)
                    client = None
                    attempt += 1
                    time.sleep(0.05)


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_and_duplicates_nothing(mailtool_server):
    server = mailtool_server(services=["smtp"])
    server.add_user(RCPT, "pw")
    up = threading.Event()
    up.set()
    numbers = list(range(TOTAL))
    senders = [Sender(server, numbers[i::CLIENTS], up) for i in range(CLIENTS)]
    for s in senders:
        s.start()
    rng = random.Random(4)
    kills = 0
    while any(s.is_alive() for s in senders):
        time.sleep(rng.uniform(0.3, 1.2))
        if not any(s.is_alive() for s in senders):
            break
        up.clear()
        server.kill()
        kills += 1
        server.start()
        up.set()
    for s in senders:
        s.join(60)
    assert kills >= 3, "the test must actually crash the server"

    deadline = time.monotonic() + 60
    with server_stores(server) as stores:
        while stores.queue.ids():
            assert time.monotonic() < deadline, "queue did not drain"
            time.sleep(0.1)
    assert server.stop() == 0

    acked = [t for s in senders for t in s.acked]
    unacked = [t for s in senders for t in s.unacked]
    assert len(acked) == TOTAL
    found: dict[str, int] = {}
    for data in mailbox_messages(server, RCPT):
        tag = re.search(rb"Message-ID: <([^@]+)@crash.test>", data).group(1)
        found[tag.decode()] = found.get(tag.decode(), 0) + 1
    assert [t for t, n in found.items() if n > 1] == []  # nothing twice
    assert [t for t in acked if t not in found] == []  # nothing acknowledged is lost
    assert set(found) <= set(acked) | set(unacked)
    if server.store_url:
        return  # PostgreSQL: no Maildir, each delivery is one transaction

    files = mailbox_files(server, RCPT)
    # the index agrees with the Maildir, without a sync first
    store = MailStore(server.data_dir)
    try:
        indexed = {m.path for m in store.user(RCPT).folder("INBOX").messages()}
    finally:
        store.close()
    on_disk = {f"{p.parent.name}/{p.name}" for p in files}
    assert indexed == on_disk
