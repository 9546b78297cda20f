"""The message list is virtual: a big folder costs UIDs plus a screenful of headers."""

from __future__ import annotations

import imaplib

from tests.tui.pilot import make_app, message, until
from tests.tui.servers import USER, USERS

N = 600


def fill(server, n: int) -> None:
    imap = imaplib.IMAP4("127.0.0.1", server.imap_port)
    imap.login(USER, USERS[USER])
    for i in range(n):
        date = f"{1 + i % 28:02d} Jan 2023 {i % 24:02d}:00:00 +0000"
        imap.append("INBOX", None, None,
                    message(f"Bulk {i:05d}", date=f"Mon, {date}", msgid=f"<bulk{i}@x>"))
    imap.logout()


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
