"""Mailing lists from the main screen: reply to the list, unsubscribe in one key.

A mixin of the main screen (through :class:`~mailtool.tui.screens.acting.Acting`);
the header parsing and the RFC 8058 one-click request are
:mod:`mailtool.client.lists`. Unsubscribing asks once (Enter confirms): a
one-click POST cannot be taken back.
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING

from textual import work
from textual.markup import escape

from mailtool.client.lists import list_reply, one_click, unsubscribe_plan
from mailtool.errors import MailtoolError

if TYPE_CHECKING:
    from mailtool.tui.screens.main import MainScreen as _Base
else:
    _Base = object


class ListActions(_Base):
    def action_reply_list(self) -> None:
        msg = self._current()
        if msg is None:
            return
        try:
            draft = list_reply(msg, self._identity(msg))
        except MailtoolError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        self._open_composer(draft, self.reader.source)

    def action_unsubscribe(self) -> None:
        msg = self._current()
        if msg is None:
            return
        plan = unsubscribe_plan(msg)
        if plan is None:
            self.notify("this message offers no List-Unsubscribe (RFC 2369 §3.2)",
                        severity="warning")
        elif plan.kind == "one-click":
            host = urllib.parse.urlsplit(plan.url).hostname
            self._ask(f"Unsubscribe with one click at {escape(str(host))}? (Enter = yes)", "yes",
                      lambda answer: self.unsubscribe_one_click(plan.url)
                      if answer.strip().lower() in ("y", "yes") else None)
        elif plan.kind == "mailto" and plan.draft is not None:
            plan.draft.from_ = self._identity(msg)
            self._open_composer(plan.draft)
        else:
            self.notify(f"unsubscribe on the web: {plan.url}", title="Unsubscribe", timeout=30,
                        markup=False)

    @work(group="act", exit_on_error=False)
    async def unsubscribe_one_click(self, url: str) -> None:
        self.status("unsubscribing...")
        try:
            # the system's trust: [accounts] cafile vouches for the mail server, not the web
            status = await one_click(url)
        except MailtoolError as exc:
            self.status("")
            self.notify(f"not unsubscribed: {exc}", severity="error", markup=False)
            return
        self.status("")
        host = urllib.parse.urlsplit(url).hostname
        if 200 <= status < 300:
            self.notify(f"unsubscribed ({host} answered {status})")
        else:
            self.notify(f"not unsubscribed: {host} answered HTTP {status}", severity="error")
