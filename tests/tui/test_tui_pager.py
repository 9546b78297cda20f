"""Issue 21 points 14 and 15: the key help, and reading as in a pager."""

from __future__ import annotations

from tests.tui.pilot import make_app, message, until
from tests.tui.test_tui_acting import ready


async def test_question_mark_shows_every_key_as_remapped(mail_server, account_config):
    account_config.write_text(account_config.read_text() + '\n[tui]\nkeys = ["delete=x"]\n')
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.screen.folder_names, "connected")
        await pilot.press("question_mark")
        await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen", "help")
        text = "\n".join(line.text for line in app.screen.query_one("#keys").render_lines(
            app.screen.query_one("#keys").region.reset_offset))
        assert "Search all folders" in text
        delete = next(line for line in text.splitlines() if "Delete (to Trash)" in line)
        assert delete.split()[0] == "x", delete  # as remapped, not the default d
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "MainScreen", "closed")


async def test_space_pages_the_message_then_opens_the_next_unread(mail_server, account_config):
    long = "".join(f"line {i}\n" for i in range(200))
    mail_server.deliver(message("Second", "the next one\n",
                                date="Mon, 02 Jan 2023 09:00:00 +0000"))
    mail_server.deliver(message("First", long, date="Mon, 02 Jan 2023 10:00:00 +0000"))
    app = make_app(account_config)
    async with app.run_test(size=(100, 30)) as pilot:
        main = await ready(pilot, app, 2)
        main.mlist.go(0)  # newest first: "First"
        await pilot.press("space")
        await until(pilot, lambda: "line 0" in main.reader.body_text, "opened by space")
        pages = 0
        while main.reader.message["Subject"] == "First":
            await pilot.press("space")
            await pilot.pause(0.05)
            pages += 1
            assert pages < 60, "never reached the next message"
        assert pages > 2, "it paged through the long message first"
        await until(pilot, lambda: "the next one" in main.reader.body_text, "the next unread")


async def test_full_screen_reading_sidebar_and_unread_navigation(mail_server, account_config):
    for day, s in enumerate(("Old", "Read", "New"), start=2):
        mail_server.deliver(message(s, "".join(f"{s} {i}\n" for i in range(120)),
                                    date=f"Mon, {day:02d} Jan 2023 10:00:00 +0000"))
    imap = mail_server.check()
    imap.select("INBOX")
    _t, data = imap.uid("SEARCH", "SUBJECT", "Read")
    imap.uid("STORE", data[0].split()[0], "+FLAGS", "(\\Seen)")
    imap.logout()
    app = make_app(account_config)
    async with app.run_test(size=(80, 24)) as pilot:
        main = await ready(pilot, app, 3)
        await until(pilot, lambda: sum(not e.seen for e in main.mlist.envelopes.values()) == 2,
                    "flags known")
        main.mlist.go(0)  # "New"
        await pilot.press("n")  # the next unread skips "Read"
        await until(pilot, lambda: main.reader.message is not None
                    and main.reader.message["Subject"] == "Old", "next unread")
        await pilot.press("left_square_bracket")
        await until(pilot, lambda: main.reader.message["Subject"] == "New", "previous unread")
        await pilot.press("v")
        assert not main.folder_tree.display or not main.folder_tree.region.width
        assert main.focused is main.reader and main.mlist.region.height == 0
        before = main.reader.scroll_y
        await pilot.press("j", "j", "j")
        assert main.reader.scroll_y > before  # j scrolls the text, not the list
        await pilot.press("v")
        assert main.focused is main.mlist and main.mlist.region.height > 0
        await pilot.press("B")
        await pilot.pause(0.1)
        assert main.folder_tree.region.width == 0
        await pilot.press("B")
        await pilot.pause(0.1)
        assert main.folder_tree.region.width > 0
