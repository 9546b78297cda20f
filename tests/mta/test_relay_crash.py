"""Acceptance (issue 7, point 3): SIGKILL while relaying loses nothing and sends nothing
twice, except what SMTP itself allows: a crash between the remote 250 and our note of
it may resend that one session's message once (RFC 5321 §6.1)."""

from __future__ import annotations

import re
import smtplib
import time

import pytest

from mailtool.mta.queue_runner import DELIVERY_CONCURRENCY
from tests.e2e.two_domains import BASE_RECORDS, alice_and_bob, insecure
from tests.mta.maildir_view import mailbox_files

pytestmark = pytest.mark.peer
COUNT = 40


def message_ids(server, user):
    ids = []
    for path in mailbox_files(server, user):
        m = re.search(rb"^Message-ID: <(\d+)@crash>", path.read_bytes(), re.M)
        assert m, path.read_bytes()[:500]
        ids.append(int(m.group(1)))
    return ids


def test_sigkill_while_relaying(tmp_path, dns_server):
    with alice_and_bob(tmp_path, dns_server(BASE_RECORDS)) as (a, b):
        with smtplib.SMTP(*a.address("submission"), timeout=30) as c:
            c.starttls(context=insecure())
            c.login("alice@a.test", "alice-pw")
            for n in range(COUNT):
                c.sendmail(
                    "alice@a.test",
                    ["bob@b.test"],
                    f"From: alice@a.test\r\nTo: bob@b.test\r\nMessage-ID: <{n}@crash>\r\n"
                    f"Subject: {n}\r\n\r\nmessage {n}\r\n".encode(),
                )
        deadline = time.monotonic() + 60
        while len(mailbox_files(b, "bob@b.test")) < COUNT // 4:
            assert time.monotonic() < deadline, a.log()
            time.sleep(0.01)
        a.kill()  # in the middle of relaying (some delivered, some not)
        a.start()
        deadline = time.monotonic() + 60
        while a.cli("queue", "list", "--json").stdout.strip() != "[]":
            assert time.monotonic() < deadline, a.log()
            time.sleep(0.2)
        ids = message_ids(b, "bob@b.test")
        assert set(ids) == set(range(COUNT))  # nothing lost
        resent = len(ids) - COUNT
        # at most the sessions that were between the remote 250 and our bookkeeping
        assert resent <= DELIVERY_CONCURRENCY and max(ids.count(n) for n in set(ids)) <= 2
