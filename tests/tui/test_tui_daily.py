"""Issue 21's bugs, each reproduced as its report describes (a test that failed before the fix)."""

from __future__ import annotations

import asyncio
import contextlib

from tests.tui.pilot import (
    answer_prompt,
    make_app,
    message,
    open_composer,
    open_only_message,
    until,
)
from tests.tui.servers import USER
from tests.tui.test_tui_acting import cursor_on, flags, ready, subjects


def _subject_at_cursor(main) -> str:
    return main.mlist.envelopes[main.mlist.current_uid].subject


async def test_delete_moves_the_cursor_to_the_next_message_not_the_first(mail_server,
                                                                       account_config):
    # newest first: Four, Three, Two, One (dates ascending in delivery order)
    for day, s in enumerate(("One", "Two", "Three", "Four"), start=2):
        mail_server.deliver(message(s, date=f"Mon, {day:02d} Jan 2023 10:00:00 +0000"))
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = await ready(pilot, app, 4)
        order = [main.mlist.envelopes[uid].subject for uid, _d in main.mlist.rows]
        cursor_on(main, order[1])
        await pilot.press("d")
        await until(pilot, lambda: len(main.mlist.rows) == 3, "row removed")
        # mutt's rule: the cursor goes to the message that followed the deleted one
        assert _subject_at_cursor(main) == order[2]
        await pilot.press("d")
        await until(pilot, lambda: len(main.mlist.rows) == 2, "second row removed")
        await until(pilot, lambda: sorted(subjects(mail_server, "INBOX")) ==
                    sorted([order[0], order[3]]), "the two deleted are the ones under the cursor")
        assert _subject_at_cursor(main) == order[3]


async def test_a_partly_refused_send_is_a_send_filed_in_sent(mail_server, account_config):
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        composer = await open_composer(pilot)
        composer.query_one("#field-to").value = "bob@example.test"
        composer.query_one("#field-cc").value = "ccc"
        composer.query_one("#field-subject").value = "Half way"
        composer.query_one("#body").text = "To Bob; ccc is a typo.\n"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is main, "the composer closes: it was sent")
        texts = [str(n.message) for n in app._notifications]
        assert any("sent to bob@example.test" in t and "refused: ccc (5" in t
                   for t in texts), texts
        assert not any("NOT SENT" in t for t in texts), texts
    assert mail_server.wait_for("bob@example.test", 'SUBJECT "Half way"')
    assert mail_server.uids("Sent"), "what went out is filed in Sent"
    assert mail_server.uids("Drafts") == []


async def test_the_command_palette_shows_each_actions_key(mail_server, account_config):
    from textual.command import CommandList
    from textual.content import Content

    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.screen.folder_names, "connected")
        await pilot.press("ctrl+p")
        await until(pilot, lambda: type(app.screen).__name__ == "CommandPalette", "palette")
        palette = app.screen
        await until(pilot, lambda: palette.query(CommandList)
                    and palette.query_one(CommandList).option_count > 5, "entries listed")

        def shown() -> list[str]:
            # a str prompt is displayed as markup, exactly as Textual renders it
            return [(Content.from_markup(p).plain if isinstance(p, str) else p.plain)
                    .split("\n")[0]  # the action id (help) is on a second line
                    for p in (o.prompt for o in palette.query_one(CommandList).options)]

        assert "Reply  [r]" in shown()
        await pilot.press(*"reply")
        await until(pilot, lambda: any(s.startswith("Reply") for s in shown()), "searched")
        assert "Reply  [r]" in shown()


async def test_replying_marks_the_original_answered(mail_server, account_config):
    mail_server.deliver(message("Question", "Can you?\n"))
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = await open_only_message(pilot, "Can you?")
        await pilot.press("r")
        await until(pilot, lambda: type(app.screen).__name__ == "ComposeScreen", "composer")
        app.screen.query_one("#body").text = "Yes.\n"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is main, "sent")
        await until(pilot, lambda: "\\Answered" in flags(mail_server, "Question"),
                    "\\Answered set on the server")
        await until(pilot, lambda: "\\Answered" in main.mlist.envelopes[
            main.mlist.current_uid].flags, "and shown in the list")


async def test_keys_typed_after_quit_do_not_crash(mail_server, account_config):
    """Issue 21 bug 11: ``qe`` typed fast with a message open raised NoMatches: the keys
    after ``q`` are handled while the screen's widgets are being removed."""
    mail_server.deliver(message("Bye", "Leaving.\n"))
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = await open_only_message(pilot, "Leaving.")
        await main.query_one("#panes").remove()  # what exiting does before the queue drains
        for action in ("edit_draft", "reply", "forward", "toggle_headers", "next"):
            await main.run_action(action)
        main.status("still fine")


class LateForwarder:
    """A port that refuses connections until :meth:`open`, then forwards to ``target``:
    a server that is down when the TUI starts and comes back later."""

    def __init__(self, target: int) -> None:
        from tests.peers import free_port

        self.port, self.target = free_port(), target
        self.server: asyncio.base_events.Server | None = None

    async def open(self) -> None:
        async def pipe(reader, writer) -> None:
            with contextlib.suppress(OSError):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            writer.close()

        async def serve(reader, writer) -> None:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target)
            await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))

        self.server = await asyncio.start_server(serve, "127.0.0.1", self.port)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def test_started_while_the_server_is_down_it_connects_once_it_is_back(
        mail_server, account_config):
    """Issue 21 bug 5: started offline, it stayed offline after the server came back."""
    mail_server.deliver(message("Waiting for you", "Back.\n"))
    late = LateForwarder(mail_server.imap_port)
    account_config.write_text(account_config.read_text().replace(
        f":{mail_server.imap_port}", f":{late.port}"))
    app = make_app(account_config)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            main = app.screen
            indicator = main.query_one("#connection")
            await until(pilot, lambda: "offline" in indicator.text, "offline at start")
            await late.open()
            await until(pilot, lambda: len(main.mlist.envelopes) == 1, "the folder, once back",
                        patience=30)
            await until(pilot, lambda: "offline" not in indicator.text, "no longer offline")
    finally:
        late.close()


async def test_a_mistyped_password_is_asked_again(mail_server, account_config):
    """Issue 21 bug 6: a refused password was never asked again."""
    from tests.tui.servers import PASSWORD

    mail_server.deliver(message("Behind the login", "Secret.\n"))
    account_config.write_text("\n".join(line for line in account_config.read_text().splitlines()
                                        if not line.startswith("password_command")) + "\n")
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.main
        await answer_prompt(pilot, app, "not-the-password", "password prompt")
        await until(pilot, lambda: any("Login failed" in str(n.title)
                                       for n in app._notifications), "the refusal is said")
        await answer_prompt(pilot, app, PASSWORD, "password prompt")
        await until(pilot, lambda: len(main.mlist.envelopes) == 1, "logged in, folder shown")


async def test_escape_on_an_untouched_reply_saves_no_draft(mail_server, account_config):
    """Issue 21 bug 13: Escape on a reply nobody typed in saved a draft of the quote."""
    mail_server.deliver(message("Quoted", "Original words.\n"))
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = await open_only_message(pilot, "Original words.")
        await pilot.press("r")
        await until(pilot, lambda: type(app.screen).__name__ == "ComposeScreen", "composer")
        await pilot.pause(0.2)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is main, "closed")
        # typed in, then Escape: that is kept
        await pilot.press("r")
        await until(pilot, lambda: type(app.screen).__name__ == "ComposeScreen", "composer")
        app.screen.query_one("#body").insert("My answer.\n", (0, 0))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is main, "closed again")
    assert len(mail_server.wait_for(USER, "ALL", folder="Drafts")) == 1


async def test_undo_is_not_announced_as_new_mail(mail_server, account_config):
    """Issue 21 bug 13: the messages an undo brings back showed a "New mail" toast."""
    mail_server.deliver(message("Oops", "Deleted by mistake.\n"))
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = await ready(pilot, app, 1)
        await until(pilot, lambda: "idle" in main.query_one("#connection").text, "push on")
        await pilot.press("d")
        await until(pilot, lambda: subjects(mail_server, "Trash") == ["Oops"], "in Trash")
        await pilot.press("u")
        await until(pilot, lambda: subjects(mail_server, "INBOX") == ["Oops"], "undone")
        await until(pilot, lambda: len(main.mlist.rows) == 1 and main.mlist.envelopes,
                    "back in the list")
        await pilot.pause(2.0)  # the push for the returning message has come and gone
        titles = [str(n.title) for n in app._notifications]
        assert not any(t.startswith("New mail") for t in titles), titles


async def test_inbox_cannot_be_renamed_by_accident(mail_server, account_config):
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        await until(pilot, lambda: "INBOX" in main.folder_names, "folders")
        await pilot.press("equals_sign")
        await pilot.pause(0.2)
        assert type(app.screen).__name__ != "PromptScreen"
        assert any("INBOX cannot be renamed" in str(n.message) for n in app._notifications)


async def test_a_big_message_shows_its_first_screen_first_and_the_rest_lazily():
    """Issue 21 bug 13: a 2 MB message took 7.9 s to show and lagged keys for 3 s (the
    body was one widget laid out at once, and splitting it into quote runs was
    quadratic). The first piece is shown at once; the rest is added piece by piece."""
    from textual.app import App

    from mailtool.tui.widgets.reader import CHUNK_LINES, Reader

    n = 35_000
    body = "\n".join(f"line {i} lorem ipsum dolor sit amet" for i in range(n))
    raw = ("From: a@example.test\r\nSubject: big\r\nContent-Type: text/plain; charset=utf-8"
           "\r\n\r\n" + body).encode()
    assert len(raw) > 1_000_000

    class One(App):
        def compose(self):
            yield Reader(id="reader")

    app = One()
    async with app.run_test(size=(80, 24)) as pilot:
        reader = app.query_one(Reader)
        reader.show(raw)
        await pilot.pause(0)
        assert reader.body_text.startswith("line 0 lorem")
        assert "line 34999 " not in reader.body_text  # not all at once
        await until(pilot, lambda: "line 34999 " in reader.body_text, "the rest, piece by piece",
                    patience=120)
        assert len(reader.query("#body > Static")) >= n // CHUNK_LINES


async def test_the_status_line_counts_what_a_delete_left(mail_server, account_config):
    """Issue 21 bug 13: the status line kept "FOLDER: N messages" from before a delete
    (in a folder without push it stayed until the next poll)."""
    imap = mail_server.check()
    imap.create("Projects")
    imap.logout()
    for s in ("P1", "P2", "P3"):
        mail_server.deliver(message(s), folder="Projects")
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        await until(pilot, lambda: "Projects" in main.folder_names, "folders")
        main.open_folder("Projects")
        await until(pilot, lambda: len(main.mlist.rows) == 3 and len(main.mlist.envelopes) == 3,
                    "Projects listed")
        status = main.query_one("#status")
        await until(pilot, lambda: status.render().plain == "Projects: 3 messages", "counted")
        await pilot.press("d")
        await until(pilot, lambda: len(main.mlist.rows) == 2, "deleted")
        await until(pilot, lambda: status.render().plain == "Projects: 2 messages",
                    "the count follows", patience=5)


async def test_a_fast_burst_of_keys_in_the_composer_keeps_its_tabs(mail_server, account_config):
    """Issue 21 bug 13: keys sent in a fast burst lost a Tab: the Tab moved the focus only
    once it had bubbled up from the field, after the keys behind it had gone to that field."""
    from textual import events

    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        composer = await open_composer(pilot)
        await pilot.pause(0.3)
        # as a terminal delivers a burst: every key queued before the first is handled
        for key in ["b", "o", "b", "@", "e", "x", "tab", "H", "i", "tab", "z"]:
            app.post_message(events.Key(key, "\t" if key == "tab" else key))
        await until(pilot, lambda: composer.query_one("#field-bcc").value == "z", "all typed")
        assert composer.query_one("#field-to").value == "bob@ex"
        assert composer.query_one("#field-cc").value == "Hi"
