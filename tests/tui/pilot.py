"""Helpers for driving the TUI with Pilot against a real server."""

from __future__ import annotations

import contextlib
import email.utils
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from mailtool.client.account import load_accounts
from mailtool.config import load
from mailtool.tui.app import MailApp

#: an upper bound for "eventually", never a timing assertion
PATIENCE = 20.0


def make_app(config: Path) -> MailApp:
    cfg = load(config)
    return MailApp(load_accounts(cfg), tui=cfg.tui)


@contextlib.asynccontextmanager
async def offline(config: Path, imap_port: int) -> AsyncIterator:
    """The app's Pilot once it says "offline": the account's IMAP server is out of
    reach (the config now points at a closed port)."""
    config.write_text(config.read_text().replace(f":{imap_port}", ":1"))
    app = make_app(config)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: "offline" in app.screen.query_one("#connection").text,
                    "offline")
        yield pilot


async def until(pilot, condition: Callable[[], object], what: str = "condition",
                patience: float = PATIENCE) -> None:
    """Let the app run until ``condition()`` is true; fail after ``patience`` seconds."""
    waited = 0.0
    while not condition():
        if waited > patience:
            raise AssertionError(f"gave up waiting for {what}")
        await pilot.pause(0.05)
        waited += 0.05


async def prompt_ready(pilot, app, what: str = "prompt"):
    """The PromptScreen once its answer field is mounted and focused.

    The screen becomes current before its children are composed; a test that looked
    for ``#answer`` or typed as soon as the screen changed raced the mount."""
    def ready() -> bool:
        screen = app.screen
        if type(screen).__name__ != "PromptScreen":
            return False
        fields = screen.query("#answer")
        return bool(fields) and screen.focused is fields.first()
    await until(pilot, ready, what)
    return app.screen


async def answer_prompt(pilot, app, text: str, what: str = "prompt") -> None:
    """Type ``text`` into the next prompt and submit it; return once it is gone, so the
    next prompt a test waits for cannot be this one."""
    prompt = await prompt_ready(pilot, app, what)
    prompt.query_one("#answer").value = text
    await pilot.press("enter")
    await until(pilot, lambda: app.screen is not prompt, f"{what} answered")


def message(subject: str, body: str = "hello\n", *, sender: str = "Bob <bob@example.test>",
            to: str = "alice@example.test", msgid: str | None = None,
            date: str = "Mon, 02 Jan 2023 10:00:00 +0000", extra: str = "") -> bytes:
    msgid = msgid or email.utils.make_msgid(domain="example.test")
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n"
            f"Message-ID: {msgid}\r\n{extra}MIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}").encode()


async def open_only_message(pilot, text: str):
    """Wait for the folder's single message, open it, wait for ``text`` in the reader."""
    main = pilot.app.screen
    await until(pilot, lambda: len(main.mlist.rows) == 1, "1 row")
    await pilot.press("enter")
    await until(pilot, lambda: text in main.reader.body_text, "message body")
    return main


async def open_composer(pilot):
    """Wait until the app is connected, press ``c``, return the composer screen."""
    app = pilot.app
    main = app.screen
    await until(pilot, lambda: main.session is not None and main.folder_tree.names(),
                "connected")
    await pilot.press("c")
    await until(pilot, lambda: type(app.screen).__name__ == "ComposeScreen", "composer")
    return app.screen
