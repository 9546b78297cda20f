"""Threads (server THREAD when offered, JWZ otherwise) and search across folders."""

from __future__ import annotations

from tests.tui.pilot import make_app, message, until


async def test_thread_view(mail_server, account_config):
    mail_server.deliver(message("Plans", msgid="<p@x>", date="Mon, 02 Jan 2023 10:00:00 +0000"))
    mail_server.deliver(message("Other", msgid="<o@x>", date="Mon, 02 Jan 2023 11:00:00 +0000"))
    mail_server.deliver(message("Re: Plans", msgid="<r@x>", extra="In-Reply-To: <p@x>\r\n"
                                "References: <p@x>\r\n",
                                date="Mon, 02 Jan 2023 12:00:00 +0000"))
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        await until(pilot, lambda: len(main.mlist.envelopes) == 3, "3 rows")
        await pilot.press("O")
        await until(pilot, lambda: main.threaded and "threads" in str(main.mlist.border_title),
                    "thread view")
        await until(pilot, lambda: all(u in main.mlist.envelopes for u, _d in main.mlist.rows),
                    "headers")
        shown = [(main.mlist.envelopes[u].subject, d) for u, d in main.mlist.rows]
        assert ("Re: Plans", 1) in shown
        plans = shown.index(("Plans", 0))
        assert shown[plans + 1] == ("Re: Plans", 1)  # the reply sits under its parent


async def test_search_across_folders(mail_server, account_config):
    imap = mail_server.check()
    imap.create("Projects")
    imap.logout()
    mail_server.deliver(message("Invoice March"))
    mail_server.deliver(message("Invoice April"), folder="Projects")
    mail_server.deliver(message("Holiday"), folder="Projects")
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        await until(pilot, lambda: "Projects" in main.folder_names, "folders")
        main.search_all("subject:invoice")
        await until(pilot, lambda: type(app.screen).__name__ == "PickerScreen", "results")
        picker = app.screen
        labels = sorted(label.split("  (")[0] for label, _v in picker.choices)
        assert labels == ["INBOX: Invoice March", "Projects: Invoice April"]
        index = [v[0] for _l, v in picker.choices].index("Projects")
        await until(pilot, lambda: picker.query("#choices"), "results listed")
        picker.query_one("#choices").highlighted = index
        await pilot.press("enter")
        await until(pilot, lambda: main.folder == "Projects" and len(main.mlist.rows) == 2,
                    "opened the folder of the result")
