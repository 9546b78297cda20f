"""SVG snapshots of the main screens, against a real server (update: --snapshot-update)."""

from __future__ import annotations

from tests.tui.pilot import make_app, message, until


def seed(server) -> None:
    server.deliver(message("Quarterly numbers", "Numbers attached.\n\n-- \nBob\n",
                           date="Mon, 02 Jan 2023 10:00:00 +0000", msgid="<q@example.test>"))
    server.deliver(message("Re: Lunch plans", "Sushi?\n\n> Pizza?\n> Or pasta?\n> Or soup?\n"
                           "> Or salad?\n", sender="Carol <carol@example.test>",
                           date="Tue, 03 Jan 2023 12:30:00 +0000", msgid="<l@example.test>"))


async def settled(pilot) -> None:
    main = pilot.app.screen
    await until(pilot, lambda: len(main.mlist.envelopes) == 2, "envelopes")
    await until(pilot, lambda: "idle" in main.query_one("#connection").text, "idle")
    await until(pilot, lambda: main.query_one("#status").render().plain.startswith("INBOX"),
                "status")


async def opened(pilot):
    """The list settled and the "Sushi?" message open in the reader; the main screen."""
    await settled(pilot)
    await pilot.press("enter")
    main = pilot.app.screen
    await until(pilot, lambda: "Sushi?" in main.reader.body_text, "reader")
    return main


def test_main_screen_with_a_message_open(mail_server, account_config, snap_compare):
    seed(mail_server)

    async def run_before(pilot) -> None:
        main = await opened(pilot)
        await until(pilot, lambda: main.query_one("#status").render().plain ==
                    "INBOX: 2 messages", "status")

    assert snap_compare(make_app(account_config), terminal_size=(110, 30), run_before=run_before)


def test_compose_screen_reply(mail_server, account_config, snap_compare):
    seed(mail_server)

    async def run_before(pilot) -> None:
        await opened(pilot)
        await pilot.press("r")
        await until(pilot, lambda: type(pilot.app.screen).__name__ == "ComposeScreen", "composer")
        # the date line of the quote depends on the local time zone: pin the body
        composer = pilot.app.screen
        composer.query_one("#body").text = "Yes, sushi.\n\n> Sushi?\n"
        for widget in composer.query("Input, TextArea"):
            widget.cursor_blink = False  # a blinking cursor is a coin toss in a snapshot
        await pilot.pause()

    assert snap_compare(make_app(account_config), terminal_size=(110, 30), run_before=run_before)


SIZES = ((80, 24), (160, 48))


def fresh_cache(monkeypatch, tmp_path, size) -> None:
    """Each snapshot from a first start: a second app in the same cache would show the
    opened body's "cached copy" line for a moment."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / f"cache-{size[0]}x{size[1]}"))


def test_help_screen(mail_server, account_config, snap_compare, monkeypatch, tmp_path):
    """Issue 21 point 21: the key help at 80x24 and 160x48."""
    seed(mail_server)
    for size in SIZES:
        fresh_cache(monkeypatch, tmp_path, size)
        async def run_before(pilot) -> None:
            await settled(pilot)
            await pilot.press("question_mark")
            await until(pilot, lambda: type(pilot.app.screen).__name__ == "HelpScreen", "help")

        assert snap_compare(make_app(account_config), terminal_size=size, run_before=run_before)


def test_full_screen_pager(mail_server, account_config, snap_compare, monkeypatch, tmp_path):
    """Issue 21 point 21: reading full-screen (v) at 80x24 and 160x48."""
    seed(mail_server)
    for size in SIZES:
        fresh_cache(monkeypatch, tmp_path, size)
        async def run_before(pilot) -> None:
            main = await opened(pilot)
            await pilot.press("v")
            await until(pilot, lambda: main.focused is main.reader, "full screen")

        assert snap_compare(make_app(account_config), terminal_size=size, run_before=run_before)
