"""Issue 21 point 17: the folder, order and cursor are where the user left them
after a restart (kept in the account's cache database)."""

from __future__ import annotations

from mailtool.client.cache import EnvelopeCache
from tests.tui.pilot import make_app, message, until


def test_view_state_round_trip(tmp_path):
    cache = EnvelopeCache("a", tmp_path)
    assert cache.view() == {}
    cache.save_view({"folder": "Projects", "sort": "date", "reverse": True, "uid": 7})
    cache.save_view({"uid": 8})
    assert cache.view() == {"folder": "Projects", "sort": "date", "reverse": True, "uid": 8}
    cache.close()


async def test_folder_sort_and_cursor_survive_a_restart(mail_server, account_config):
    imap = mail_server.check()
    imap.create("Projects")
    imap.logout()
    for i, subject in enumerate(("Alpha", "Bravo", "Charlie")):
        mail_server.deliver(message(subject, date=f"Mon, 02 Jan 2023 1{i}:00:00 +0000"),
                            folder="Projects")
    mail_server.deliver(message("Inbox one"))
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        await until(pilot, lambda: "Projects" in main.folder_names, "folders")
        main.open_folder("Projects")
        await until(pilot, lambda: main.mlist.folder == "Projects" and
                    len(main.mlist.envelopes) == 3, "Projects open")
        await pilot.press("o", "o")  # arrival -> date -> from
        await until(pilot, lambda: main.sort == "from" and "sort: from" in
                    str(main.mlist.border_title), "sorted by from")
        await pilot.press("ctrl+o")
        await until(pilot, lambda: main.mlist.reverse, "reversed")
        main.mlist.go(1)
        chosen = main.mlist.current_uid
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        assert (main.folder, main.sort, main.mlist.reverse) == ("Projects", "from", True)
        await until(pilot, lambda: main.mlist.folder == "Projects" and
                    len(main.mlist.rows) == 3 and main.session is not None, "reopened")
        await until(pilot, lambda: main.summary.startswith("Projects"), "loaded from server")
        assert main.mlist.current_uid == chosen
