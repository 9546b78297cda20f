"""The composer: headers, body (in-app editor or $EDITOR), attachments, send.

Sending goes through :func:`mailtool.client.sendpath.send`: the draft is in
Drafts before SMTP starts, "Sending..." shows while it runs, and on failure
the screen stays open with the error and the draft stays in Drafts. Every
IMAP step (save, replace, file in Sent) is an action of the account's
:class:`MailSession`, queued like the main screen's; SMTP runs outside them.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from textual import work
from textual.app import ComposeResult, SuspendNotSupported
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.suggester import Suggester
from textual.widgets import Footer, Input, Label, Static, TextArea

from mailtool.client.account import Account
from mailtool.client.addressbook import AddressBook, address_book
from mailtool.client.cache import EnvelopeCache
from mailtool.client.compose import Draft, build
from mailtool.client.sendpath import (
    IMAP_DOWN,
    ImapRunner,
    SendFailed,
    SendResult,
    remove_draft,
    save_draft,
    send,
)
from mailtool.client.session import MailSession
from mailtool.errors import MailtoolError
from mailtool.tui.actions import bindings
from mailtool.tui.screens.prompt import PromptScreen
from mailtool.tui.widgets.crypto_status import PgpToggles

FIELDS = (("from_", "From"), ("to", "To"), ("cc", "Cc"), ("bcc", "Bcc"), ("subject", "Subject"))


class AddressSuggester(Suggester):
    """Completes the address being typed (after the last comma) from the address book
    (``[tui] address_book`` / ``address_command``), then from seen addresses."""

    def __init__(self, cache: EnvelopeCache | None, book: AddressBook | None = None) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.addresses = cache
        self.book = book

    async def get_suggestion(self, value: str) -> str | None:
        head, sep, last = value.rpartition(",")
        last = last.lstrip()
        if len(last) < 2:
            return None
        found = await asyncio.to_thread(self.book.complete, last, 1) if self.book else []
        if not found and self.addresses is not None:
            found = self.addresses.complete_address(last, 1)
        if not found:
            return None
        return (head + sep + (" " if sep else "") + found[0]) if found else None


class ComposeScreen(Screen[SendResult | None]):
    def __init__(self, draft: Draft, account: Account, session: MailSession | None,
                 cache: EnvelopeCache | None, remap: dict[str, str]) -> None:
        super().__init__()
        self.draft = draft
        self.account = account
        self.session = session
        self.cache = cache
        self._saved: tuple[str, int | None] | None = None
        self.pgp = PgpToggles()  # issue 21 point 20: applied at send time
        self._bindings_remap = remap
        for b in bindings("compose", remap):
            self._bindings.bind(b.key, b.action, b.description, show=b.show,
                                priority=b.priority)
        # Tab as a priority binding: it moves the focus before the next key is handed
        # to a field. As an ordinary binding it ran only once the Tab had bubbled up
        # from the field, so in a fast burst the keys after it went to the old field
        for key, action in (("tab", "app.focus_next"), ("shift+tab", "app.focus_previous")):
            self._bindings.bind(key, action, show=False, priority=True)

    def compose(self) -> ComposeResult:
        with Vertical(id="compose-headers"):
            for name, label in FIELDS:
                with Horizontal(classes="field"):
                    yield Label(f"{label}:", classes="field-label")
                    suggester = AddressSuggester(self.cache, address_book(self.app)) \
                        if name in ("to", "cc", "bcc") else None
                    yield Input(getattr(self.draft, name), id=f"field-{name}",
                                suggester=suggester)
        yield TextArea(self.draft.body, id="body", soft_wrap=True, show_line_numbers=False)
        yield Static(self._attachments_text(), id="attachments")
        yield Static("", id="compose-status")
        yield Footer()

    def on_mount(self) -> None:
        #: what the composer opened with: leaving it untouched saves nothing
        self._untouched = self._snapshot()
        target = "#field-to" if not self.draft.to else "#body"
        # pushed by a key typed after quit (``qe``), it mounts empty while the app closes
        for widget in self.query(target):
            widget.focus()

    def _attachments_text(self) -> str:
        names = [p.name for p in self.draft.attachments]
        names += [f"forwarded message {i + 1}" for i in range(len(self.draft.attached_messages))]
        return ("Attachments: " + ", ".join(names)) if names else ""

    def collect(self) -> Draft:
        for name, _label in FIELDS:
            setattr(self.draft, name, self.query_one(f"#field-{name}", Input).value)
        self.draft.body = self.query_one("#body", TextArea).text
        return self.draft

    def set_status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#compose-status", Static)
        status.update(text)
        status.set_class(error, "error")

    @property
    def status_text(self) -> str:
        return str(self.query_one("#compose-status", Static).render())

    # -- actions -----------------------------------------------------------------------

    def action_send(self) -> None:
        self.collect()
        if not self.draft.recipients():
            self.set_status("No recipient.", error=True)
            return
        self._send()

    def action_pgp_sign(self) -> None:
        self.pgp.sign = not self.pgp.sign
        self.set_status(self.pgp.label)

    def action_pgp_encrypt(self) -> None:
        self.pgp.encrypt = not self.pgp.encrypt
        self.set_status(self.pgp.label)

    def action_save_draft(self) -> None:
        self.collect()
        self._save(close=False)

    def _snapshot(self) -> tuple[object, ...]:
        return (*(i.value for i in self.query(Input) if i.id and i.id.startswith("field-")),
                *(t.text for t in self.query("#body").results(TextArea)),
                len(self.draft.attachments))

    def action_cancel(self) -> None:
        """Escape: keep what was written as a draft; an untouched reply or forward (its
        quoted text is not the user's writing) or an empty message is simply closed."""
        untouched = self._snapshot() == getattr(self, "_untouched", None)
        self.collect()
        if not untouched and (self.draft.body.strip() or self.draft.subject.strip()):
            self._save(close=True)
        else:
            self.dismiss(None)

    def action_attach(self) -> None:
        def done(path: str | None) -> None:
            if not path:
                return
            p = Path(path).expanduser()
            if not p.is_file():
                self.set_status(f"No such file: {p}", error=True)
                return
            self.draft.attachments.append(p)
            self.query_one("#attachments", Static).update(self._attachments_text())

        self.app.push_screen(PromptScreen("Attach file:"), done)

    def action_editor(self) -> None:
        self.collect()
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        with tempfile.NamedTemporaryFile("w+", suffix=".eml", delete=False) as fh:
            fh.write(self.draft.body)
            path = fh.name
        def run() -> None:
            subprocess.run([*shlex.split(editor), path], check=False)

        try:
            try:
                with self.app.suspend():
                    run()
            except SuspendNotSupported:  # headless (tests, pipes): no terminal to hand over
                run()
            self.query_one("#body", TextArea).text = Path(path).read_text()
        finally:
            os.unlink(path)

    # -- workers -----------------------------------------------------------------------

    @property
    def imap(self) -> ImapRunner | None:
        """The session's one-action-at-a-time runner: saving a draft or filing in
        Sent waits for a running refresh instead of slipping between its SELECT
        and its use of what it selected (and the session reconnects if needed)."""
        return self.session.call if self.session is not None else None

    async def _replace_saved(self) -> None:
        if self._saved is not None:
            location, uid = self._saved
            self._saved = None
            try:
                await remove_draft(self.imap, location, uid, self.draft.message_id)
            except IMAP_DOWN:
                pass

    @work(exclusive=True, group="compose", exit_on_error=False)
    async def _save(self, close: bool) -> None:
        await self._replace_saved()
        msg = build(self.draft)
        self._saved = await save_draft(self.imap, msg)
        self.notify(f"Draft saved in {self._saved[0]}")
        if close:
            self.dismiss(None)

    @work(exclusive=True, group="compose", exit_on_error=False)
    async def _send(self) -> None:
        self.set_status("Saving draft...")
        await self._replace_saved()
        msg = build(self.draft)
        password = self.session.password if self.session else \
            await self.account.password()
        try:
            msg = await self.pgp.apply(msg, self.account, self.draft.recipients())
            result = await send(self.account, msg, call=self.imap, password=password,
                                progress=self.set_status)
        except SendFailed as exc:
            self._saved = (exc.draft_location, None)
            self.set_status(f"NOT SENT: {exc}", error=True)
            self.notify(str(exc), title="Not sent", severity="error", timeout=10)
            return
        except MailtoolError as exc:
            self.set_status(f"NOT SENT: {exc}", error=True)
            self.notify(str(exc), title="Not sent", severity="error", timeout=10)
            return
        if result.warning:
            self.notify(result.warning, severity="warning")
        self.notify(f"Sent: {self.draft.subject or '(no subject)'}")
        self.dismiss(result)
