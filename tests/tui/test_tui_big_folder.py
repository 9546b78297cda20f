"""The message list is virtual: a big folder costs UIDs plus a screenful of headers.

Two folders: 600 messages on both servers (our own and Dovecot), and 100,000
messages on ours; our server's are written straight into its Maildir ``new/``
(as an MDA or a migration would leave them; the server indexes them at SELECT).
With the server's SORT and THREAD (RFC 5256) opening, scrolling to the end,
sorting by every key and threading fetch only the envelopes of the rows on
screen; an independent imaplib connection confirms each order.
"""

from __future__ import annotations

import imaplib
import os
from collections.abc import Iterable
from pathlib import Path

import pytest

from mailtool.client.imap import ImapClient
from tests.tui.pilot import make_app, message, until
from tests.tui.servers import USER, USERS

N = 600


def fill(server, n: int) -> None:
    """``n`` messages: APPENDed to Dovecot, dropped into our server's Maildir (600
    APPENDs, each fsynced before its OK, cost our server half a minute of test time)."""
    messages = []
    for i in range(n):
        date = f"{1 + i % 28:02d} Jan 2023 {i % 24:02d}:00:00 +0000"
        messages.append(message(f"Bulk {i:05d}", date=f"Mon, {date}", msgid=f"<bulk{i}@x>"))
    if server.kind == "mailtool":
        drop_into_maildir(maildir_of(server), messages)
        return
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port)
    imap.login(USER, USERS[USER])
    for raw in messages:
        imap.append("INBOX", None, None, raw)
    imap.logout()


def maildir_of(server) -> Path:  # type: ignore[no-untyped-def]
    return server.server.data_dir / "mail" / "example.test" / USER.split("@")[0]


def drop_into_maildir(mail_dir: Path, messages: Iterable[bytes]) -> None:
    """Write messages into ``new/`` directly, as an MDA or a migration leaves them:
    seconds for 100,000, not 100,000 APPENDs. Base names sort in the given order,
    so the server's sync gives the i-th message UID i + 1."""
    for sub in ("new", "cur", "tmp"):
        (mail_dir / sub).mkdir(parents=True, exist_ok=True)
    new = mail_dir / "new"
    for i, raw in enumerate(messages):
        fd = os.open(new / f"{1_600_000_000 + i}.M{i}P1.bulk,S={len(raw)}",
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, raw)
        os.close(fd)


async def test_big_folder_opens_with_a_screenful_of_headers(mail_server, account_config):
    fill(mail_server, N)
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        await until(pilot, lambda: len(main.mlist.rows) == N, "all UIDs listed")
        height = main.mlist.scrollable_content_region.height
        await until(pilot, lambda: len(main.mlist.envelopes) >= height, "visible headers")
        assert len(main.mlist.envelopes) < 3 * height, "fetched more than the visible rows"
        assert main.mlist.envelopes[main.mlist.current_uid].subject == f"Bulk {N - 1:05d}"
        await pilot.press("G")  # the oldest message, at the end
        await until(pilot, lambda: main.mlist.rows[-1][0] in main.mlist.envelopes, "end rows")
        assert main.mlist.envelopes[main.mlist.current_uid].subject == "Bulk 00000"
        assert len(main.mlist.envelopes) < 5 * height
        # with the server's SORT no full header download; without it, every header
        await pilot.press("o")
        await until(pilot, lambda: main.sort == "date" and "sort: date" in
                    str(main.mlist.border_title), "sorted by date")
        assert main.mlist.envelopes[main.mlist.current_uid].subject == "Bulk 00000"  # kept
        await pilot.press("g")
        await until(pilot, lambda: main.mlist.current_uid in main.mlist.envelopes, "first row")
        first = main.mlist.envelopes[main.mlist.current_uid]
        assert first.date.day == 28  # newest date first
        client = await main.session.client()
        if client.has("SORT"):
            assert len(main.cache.envelopes("INBOX")) < N // 2
        else:
            assert len(main.cache.envelopes("INBOX")) == N


# -- 100,000 messages -------------------------------------------------------------------

BIG = 100_000
#: messages planted so each order has a known first row (index i has UID i + 1)
SUBJECT_FIRST = 31_337  # "Aardvark"
FROM_FIRST = 777  # "Aaa <aaa@...>"
SIZE_FIRST = 55_555  # the largest body
ROOT = 100  # "Plan", replied to by the last message (the newest date of all)


def big_message(i: int) -> bytes:
    subject = {SUBJECT_FIRST: "Aardvark", ROOT: "Plan", BIG - 1: "Re: Plan"}.get(
        i, f"Bulk {i:05d}")
    sender = "Aaa <aaa@example.test>" if i == FROM_FIRST else \
        f"User {i % 50:02d} <user{i % 50:02d}@example.test>"
    minute = i % 60
    date = f"Mon, 02 Jan 2023 {i // 60 % 24:02d}:{minute:02d}:00 +0000" if i < BIG - 1 else \
        "Tue, 01 Jan 2030 00:00:00 +0000"
    extra = f"References: <big{ROOT}@x>\r\n" if i == BIG - 1 else ""
    body = "x" * 5000 if i == SIZE_FIRST else "hello"
    return (f"From: {sender}\r\nTo: {USER}\r\nSubject: {subject}\r\nDate: {date}\r\n"
            f"Message-ID: <big{i}@x>\r\n{extra}\r\n{body}\r\n").encode()


@pytest.mark.timeout(300)  # ~40 s on a quiet 2-core machine; shared ones run slower
@pytest.mark.parametrize("mail_server", ["mailtool"], indirect=True)
async def test_100k_folder_sorts_and_threads_with_a_screenful_of_headers(
        mail_server, account_config, monkeypatch):
    drop_into_maildir(maildir_of(mail_server), (big_message(i) for i in range(BIG)))
    fetched: list[int] = []
    original = ImapClient.fetch_envelopes

    async def counting(self, uids):  # type: ignore[no-untyped-def]
        fetched.extend(uids)
        return await original(self, uids)

    monkeypatch.setattr(ImapClient, "fetch_envelopes", counting)
    monkeypatch.setattr(imaplib, "_MAXLINE", 10_000_000)  # a SORT answer of 100,000 UIDs
    check = mail_server.check()
    check.select("INBOX")

    def imap_order(command: str, *args: str) -> list[bytes]:
        typ, out = check.uid(command, *args)
        assert typ == "OK", out
        return out

    def subject_of(uid: int) -> bytes:
        _typ, out = check.uid("FETCH", str(uid), "(BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])")
        return out[0][1]

    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        mlist = main.mlist
        await until(pilot, lambda: len(mlist.rows) == BIG, "all UIDs listed", patience=120)
        height = mlist.scrollable_content_region.height

        async def screenful(what: str) -> None:
            await until(pilot, lambda: all(u in mlist.envelopes for u, _d in
                                           mlist.rows[mlist.scroll_offset.y:][:height]), what)
            assert len(fetched) < 3 * height, f"{what}: fetched {len(fetched)} envelopes"
            fetched.clear()

        await screenful("first screen")
        assert mlist.current_uid == BIG  # arrival order, newest first
        await pilot.press("G")
        await screenful("last screen")
        assert mlist.envelopes[mlist.current_uid].subject == "Bulk 00000"
        await pilot.press("pagedown", "pageup", "pageup")
        await screenful("paging")

        expected = {"date": (BIG, "REVERSE DATE", b"Re: Plan"),
                    "from": (FROM_FIRST + 1, "DISPLAYFROM", b"Aaa"),
                    "subject": (SUBJECT_FIRST + 1, "SUBJECT", b"Aardvark"),
                    "size": (SIZE_FIRST + 1, "REVERSE SIZE", b"Bulk 55555")}
        for key, (first, criteria, header) in expected.items():
            await pilot.press("o")
            # the cached list may be shown first in the new order's title, then the server's
            await until(pilot, lambda k=key, f=first: f"sort: {k}" in str(mlist.border_title)
                        and mlist.rows[0][0] == f, f"sorted by {key}", patience=120)
            assert len(mlist.rows) == BIG
            await pilot.press("g")
            await screenful(f"sorted by {key}")
            order = imap_order("SORT", f"({criteria})", "UTF-8", "ALL")[0].split()
            assert [int(u) for u in order] == [u for u, _d in mlist.rows], key
            assert header in subject_of(first), key

        await pilot.press("O")
        await until(pilot, lambda: "threads" in str(mlist.border_title), "threads",
                    patience=120)
        assert len(mlist.rows) == BIG
        # the thread with the latest message first: the old root, its reply under it
        assert mlist.rows[:2] == [(ROOT + 1, 0), (BIG, 1)]
        await screenful("thread view")
        assert mlist.envelopes[ROOT + 1].subject == "Plan"
        threads = imap_order("THREAD", "REFERENCES", "UTF-8", "ALL")[0]
        assert f"({ROOT + 1} {BIG})".encode() in threads
        # nobody downloaded the folder's headers
        assert len(main.cache.envelopes("INBOX")) < 40 * height
    check.logout()
