"""Acting on messages from the TUI; each result checked with imaplib."""

from __future__ import annotations

from tests.tui.pilot import make_app, message, prompt_ready, until


def subjects(server, folder: str) -> list[str]:
    imap = server.check()
    if imap.select(f'"{folder}"')[0] != "OK":
        return []
    _t, data = imap.uid("SEARCH", "ALL")
    out = []
    for uid in data[0].split():
        _t, fetched = imap.uid("FETCH", uid, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        out.append(fetched[0][1].decode().split(":", 1)[1].strip())
    imap.logout()
    return sorted(out)


def flags(server, subject: str) -> str:
    imap = server.check()
    imap.select("INBOX")
    _t, data = imap.uid("SEARCH", "SUBJECT", f'"{subject}"')
    _t, fetched = imap.uid("FETCH", data[0].split()[0], "(FLAGS)")
    return fetched[0].decode()


async def ready(pilot, app, rows: int):
    main = app.screen
    await until(pilot, lambda: len(main.mlist.rows) == rows and
                len(main.mlist.envelopes) >= rows, f"{rows} rows")
    return main


def cursor_on(main, subject: str) -> None:
    for i, (uid, _d) in enumerate(main.mlist.rows):
        if main.mlist.envelopes[uid].subject == subject:
            main.mlist.go(i)
            return
    raise AssertionError(subject)


async def test_flag_read_unread(mail_server, account_config):
    mail_server.deliver(message("Flag me"))
    async with make_app(account_config).run_test(size=(120, 40)) as pilot:
        main = await ready(pilot, pilot.app, 1)
        await pilot.press("F")
        await until(pilot, lambda: "\\Flagged" in flags(mail_server, "Flag me"), "flagged")
        await pilot.press("F")
        await until(pilot, lambda: "\\Flagged" not in flags(mail_server, "Flag me"), "unflagged")
        await pilot.press("N")
        await until(pilot, lambda: "\\Seen" in flags(mail_server, "Flag me"), "read")
        await pilot.press("N")
        await until(pilot, lambda: "\\Seen" not in flags(mail_server, "Flag me"), "unread")
        await until(pilot, lambda: main.mlist.envelopes[main.mlist.current_uid].flags == (),
                    "the list shows it unread")


async def test_move_delete_archive_and_undo(mail_server, account_config):
    imap = mail_server.check()
    for folder in ("Projects", "Archive"):
        imap.create(folder)
    imap.logout()
    for s in ("One", "Two", "Three"):
        mail_server.deliver(message(s))
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = await ready(pilot, app, 3)
        cursor_on(main, "One")
        await pilot.press("s")
        await until(pilot, lambda: type(app.screen).__name__ == "PickerScreen", "folder picker")
        picker = app.screen
        index = [label for label, _v in picker.choices].index("Projects")
        await until(pilot, lambda: picker.query("#choices"), "folders listed")
        picker.query_one("#choices").highlighted = index
        await pilot.press("enter")
        await until(pilot, lambda: subjects(mail_server, "Projects") == ["One"], "moved")
        assert subjects(mail_server, "INBOX") == ["Three", "Two"]
        await until(pilot, lambda: len(main.mlist.rows) == 2, "row removed")

        cursor_on(main, "Two")
        await pilot.press("d")
        await until(pilot, lambda: subjects(mail_server, "Trash") == ["Two"], "in Trash")
        await until(pilot, lambda: len(main.undo_stack) == 2, "delete recorded for undo")
        await pilot.press("u")
        await until(pilot, lambda: subjects(mail_server, "INBOX") == ["Three", "Two"], "undone")
        assert subjects(mail_server, "Trash") == []

        await until(pilot, lambda: len(main.mlist.envelopes) >= 2 and len(main.mlist.rows) == 2,
                    "list refreshed")
        cursor_on(main, "Three")
        await pilot.press("a")
        await until(pilot, lambda: subjects(mail_server, "Archive") == ["Three"], "archived")


async def test_multi_select_delete(mail_server, account_config):
    for s in ("A", "B", "C", "D"):
        mail_server.deliver(message(s))
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = await ready(pilot, app, 4)
        # newest first: D C B A; mark D, then range to B
        await pilot.press("t")  # marks D, moves to C
        await pilot.press("j", "T")  # range D..B
        assert len(main.mlist.marked) == 3
        await pilot.press("d")
        await until(pilot, lambda: subjects(mail_server, "INBOX") == ["A"], "three deleted")
        assert subjects(mail_server, "Trash") == ["B", "C", "D"]


async def test_search_in_folder(mail_server, account_config):
    mail_server.deliver(message("Lunch plans", "pizza\n"))
    mail_server.deliver(message("Quarterly report", "numbers\n"))
    mail_server.deliver(message("Re: lunch plans", "sushi\n", sender="Carol <c@example.test>"))
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = await ready(pilot, app, 3)
        await pilot.press("slash")
        await prompt_ready(pilot, app, "query line")
        await pilot.press(*"subject:lunch", "enter")
        await until(pilot, lambda: len(main.mlist.rows) == 2, "2 results")
        await pilot.press("escape")
        await until(pilot, lambda: len(main.mlist.rows) == 3, "search cleared")
        await pilot.press("slash")
        await prompt_ready(pilot, app, "query line")
        await pilot.press(*"from:carol", "enter")
        await until(pilot, lambda: len(main.mlist.rows) == 1, "1 result")


async def test_create_rename_delete_folder(mail_server, account_config):
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        await until(pilot, lambda: "INBOX" in main.folder_names, "folders")
        main.folder_op("create", "Receipts")
        await until(pilot, lambda: "Receipts" in main.folder_names, "created")
        main.folder_op("rename", "Receipts", "Bills")
        await until(pilot, lambda: "Bills" in main.folder_names, "renamed")
        imap = mail_server.check()
        names = b" ".join(imap.list()[1])
        assert b"Bills" in names and b"Receipts" not in names
        main.folder_op("delete", "Bills")
        await until(pilot, lambda: "Bills" not in main.folder_names, "deleted")
        assert b"Bills" not in b" ".join(mail_server.check().list()[1])
