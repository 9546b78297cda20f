"""Pilot drives the real app against a real server; imaplib checks every action."""

from __future__ import annotations

import email

from tests.tui.pilot import make_app, message, open_composer, open_only_message, prompt_ready, until
from tests.tui.servers import OTHER, USER


def flags_of(server, subject: str, folder: str = "INBOX") -> str:
    imap = server.check()
    imap.select(folder)
    _t, data = imap.uid("SEARCH", "SUBJECT", f'"{subject}"')
    uid = data[0].split()[0]
    _t, fetched = imap.uid("FETCH", uid, "(FLAGS)")
    imap.logout()
    return fetched[0].decode()


async def test_open_folder_read_and_see_seen(mail_server, account_config):
    for i in range(3):
        mail_server.deliver(message(f"Hello {i}", f"body {i}\n\n> quoted\n"))
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        await until(pilot, lambda: len(main.mlist.rows) == 3, "3 rows")
        await until(pilot, lambda: len(main.mlist.envelopes) == 3, "envelopes")
        assert "INBOX" in main.folder_tree.names()
        # newest first: the cursor is on "Hello 2"
        assert main.mlist.envelopes[main.mlist.current_uid].subject == "Hello 2"
        await pilot.press("j", "enter")
        await until(pilot, lambda: "body 1" in main.reader.body_text, "message body")
        assert "\\Seen" in flags_of(mail_server, "Hello 1")
        assert "\\Seen" not in flags_of(mail_server, "Hello 0")
        await pilot.press("h")  # all headers
        assert main.reader.all_headers
        await pilot.press("ctrl+u")  # raw source
        assert "Message-ID:" in main.reader.body_text


async def test_reply_sends_and_it_arrives(mail_server, account_config):
    mail_server.deliver(message("Lunch?", "Shall we?\n", msgid="<lunch@example.test>"))
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = await open_only_message(pilot, "Shall we?")
        await pilot.press("r")
        await until(pilot, lambda: type(app.screen).__name__ == "ComposeScreen", "composer")
        composer = app.screen
        draft = composer.collect()
        assert draft.to == "Bob <bob@example.test>"
        assert draft.subject == "Re: Lunch?"
        assert "> Shall we?" in draft.body
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is main, "composer closed after sending")
    found = mail_server.wait_for(OTHER, 'SUBJECT "Re: Lunch?"')
    assert found, "the reply did not arrive"
    bob = mail_server.check(OTHER)
    bob.select("INBOX")
    _t, fetched = bob.uid("FETCH", found[0], "(BODY.PEEK[])")
    reply = email.message_from_bytes(fetched[0][1])
    assert reply["In-Reply-To"] == "<lunch@example.test>"
    assert "<lunch@example.test>" in reply["References"]
    assert reply["From"] == f"Alice <{USER}>"
    assert mail_server.uids("Sent"), "no copy in Sent"
    assert mail_server.uids("Drafts") == [], "the draft was not removed after 250"


async def test_failed_send_keeps_the_draft_and_says_so(mail_server, account_config):
    rcpt = mail_server.failing_recipient()
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        composer = await open_composer(pilot)
        composer.query_one("#field-to").value = rcpt
        composer.query_one("#field-subject").value = "Precious"
        composer.query_one("#body").text = "Irreplaceable words.\n"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "NOT SENT" in composer.status_text, "error shown")
        assert "55" in composer.status_text  # the server's 5xx code is shown
        assert app.screen is composer  # still open, text still there
    drafts = mail_server.check()
    drafts.select("Drafts")
    _t, data = drafts.uid("SEARCH", "SUBJECT", '"Precious"')
    assert len(data[0].split()) == 1
    _t, fetched = drafts.uid("FETCH", data[0].split()[0], "(BODY.PEEK[])")
    assert b"Irreplaceable words." in fetched[0][1]


async def test_editor_and_attach_in_the_composer(mail_server, account_config, tmp_path,
                                                 monkeypatch):
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\necho "written in the editor" >> "$1"\n')
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    attachment = tmp_path / "notes.txt"
    attachment.write_text("some notes\n")
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        await until(pilot, lambda: main.folder_names, "connected")
        await pilot.press("c")
        await until(pilot, lambda: type(app.screen).__name__ == "ComposeScreen", "composer")
        composer = app.screen
        composer.query_one("#field-to").value = OTHER
        composer.query_one("#field-subject").value = "With notes"
        composer.query_one("#body").focus()
        await pilot.press("ctrl+e")
        await until(pilot, lambda: "written in the editor" in composer.query_one("#body").text,
                    "editor result")
        await pilot.press("ctrl+a")
        await prompt_ready(pilot, app, "path prompt")
        app.screen.query_one("#answer").value = str(attachment)
        await pilot.press("enter")
        await until(pilot, lambda: composer.draft.attachments, "attached")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is main, "sent")
    found = mail_server.wait_for(OTHER, 'SUBJECT "With notes"')
    bob = mail_server.check(OTHER)
    bob.select("INBOX")
    raw = bob.uid("FETCH", found[0], "(BODY.PEEK[])")[1][0][1]
    msg = email.message_from_bytes(raw)
    assert "written in the editor" in msg.get_payload()[0].get_payload()
    assert msg.get_payload()[1].get_filename() == "notes.txt"


async def test_save_an_attachment_from_the_part_list(mail_server, account_config, tmp_path,
                                                     monkeypatch):
    from mailtool.client.compose import Draft, build

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF-1.4 pretend\n")
    msg = build(Draft(from_="bob@example.test", to=USER, subject="Report", body="See attached.",
                      attachments=[report]))
    mail_server.deliver(msg.as_bytes())
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = await open_only_message(pilot, "See attached.")
        assert "Attachments: report.pdf" in str(main.reader.query_one("#headers").render())
        await pilot.press("p")
        await until(pilot, lambda: type(app.screen).__name__ == "PickerScreen", "parts")
        picker = app.screen
        await until(pilot, lambda: picker.query("#choices"), "parts listed")
        index = next(i for i, (label, _v) in enumerate(picker.choices) if "report.pdf" in label)
        picker.query_one("#choices").highlighted = index
        await pilot.press("enter")
        saved = tmp_path / "home" / "Downloads" / "report.pdf"
        await until(pilot, saved.exists, "file saved")
        assert saved.read_bytes() == b"%PDF-1.4 pretend\n"
