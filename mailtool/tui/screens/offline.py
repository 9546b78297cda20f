"""Reading and writing while the server is out of reach (issue 21 point 19).

A mixin of :class:`~mailtool.tui.screens.main.MainScreen`:

* every body the reader fetched is kept in a :class:`BodyCache` (bounded by
  ``[tui] body_cache_mb``, LRU, files 0600); when IMAP cannot be reached the
  reader shows the cached copy and says so;
* the drafts :mod:`mailtool.client.sendpath` saved to local files while IMAP
  was down are offered for sending once the account is connected again: send
  them all (each sent one is removed), or keep them for later.
"""

from __future__ import annotations

import email
import email.policy
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from mailtool.client.bodycache import BodyCache, LocalDraft, local_drafts
from mailtool.client.sendpath import SendFailed, send
from mailtool.errors import MailtoolError
from mailtool.tui import messages as m

if TYPE_CHECKING:
    from mailtool.tui.screens.main import MainScreen as _Base
else:
    _Base = object


class LocalDraftsScreen(ModalScreen[bool]):
    """ "These drafts were saved here while the server was down: send them now?" """

    DEFAULT_CSS = """
    LocalDraftsScreen { align: center middle; }
    LocalDraftsScreen > Vertical { width: 80; height: auto; border: thick $warning;
                                   padding: 1 2; background: $surface; }
    """
    BINDINGS: ClassVar = [("s,y", "send", "Send them"), ("k,n,escape", "keep", "Keep")]

    def __init__(self, drafts: list[LocalDraft]) -> None:
        super().__init__()
        self.drafts = drafts

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"{len(self.drafts)} message(s) saved on this computer while the "
                        "server was out of reach:")
            for d in self.drafts[:20]:  # the list on screen is bounded; all are sent
                yield Label(f"  • {d.summary}")
            if len(self.drafts) > 20:
                yield Label(f"  ... and {len(self.drafts) - 20} more")
            yield Label("\n[s] send them now    [k] keep them for later")

    def action_send(self) -> None:
        self.dismiss(True)

    def action_keep(self) -> None:
        self.dismiss(False)


class Offline(_Base):
    _bodies: BodyCache | None = None
    _offering = False

    @property
    def bodies(self) -> BodyCache:
        if self._bodies is None:
            self._bodies = BodyCache(self.account.name,
                                     max_bytes=int(self.tui.body_cache_mb * 2**20))
        return self._bodies

    def _validity(self, folder: str) -> int:
        return self.cache.uids(folder)[0]

    def keep_body(self, folder: str, uid: int, raw: bytes) -> None:
        try:
            self.bodies.put(folder, self._validity(folder), uid, raw)
        except OSError as exc:  # a full or read-only disk must not stop the reading
            self.notify(f"body cache: {exc}", severity="warning")

    def show_cached_body(self, folder: str, uid: int, why: str) -> bool:
        """Offline: show the cached copy of ``uid`` if there is one."""
        raw = self.bodies.get(folder, self._validity(folder), uid)
        if raw is None:
            self.status(f"{why}; this message was never opened here, so no copy is cached")
            return False
        self.post_message(m.MessageLoaded(folder, uid, raw, cached=True))
        self.status(f"{why}; showing the cached copy")
        return True

    # -- local drafts, once the server is back ---------------------------------------------

    def on_connection_state(self, event: m.ConnectionState) -> None:
        if (event.account == self.account.name and event.state in ("connected", "idle")
                and self.session is not None):
            self.offer_local_drafts()

    def offer_local_drafts(self) -> None:
        if self._offering:
            return
        drafts = local_drafts(self.account.email)
        if not drafts:
            return
        self._offering = True

        def done(send_them: bool | None) -> None:
            if send_them:
                self.send_local_drafts(drafts)
            else:
                self._offering = False  # offered again at the next start or reconnection
                self.notify(f"{len(drafts)} local draft(s) kept", timeout=5)

        self.app.push_screen(LocalDraftsScreen(drafts), done)

    @work(group="local-drafts", exclusive=True, exit_on_error=False)
    async def send_local_drafts(self, drafts: list[LocalDraft]) -> None:
        assert self.session is not None
        sent = 0
        try:
            for d in drafts:
                try:
                    raw = d.path.read_bytes()
                except OSError:
                    continue  # sent or removed meanwhile
                msg = email.message_from_bytes(raw, policy=email.policy.SMTP)
                try:
                    result = await send(self.account, msg, call=self.session.call,  # type: ignore[arg-type]
                                        password=self.session.password)
                except SendFailed as exc:
                    if exc.draft_location != str(d.path):  # it is in Drafts now
                        d.path.unlink(missing_ok=True)
                    self.notify(f"{d.summary}: {exc}", title="Not sent", severity="error",
                                timeout=10)
                    continue
                except MailtoolError as exc:
                    self.notify(f"{d.summary}: {exc}", title="Not sent", severity="error")
                    continue
                d.path.unlink(missing_ok=True)
                sent += 1
                if result.warning:
                    self.notify(result.warning, severity="warning")
        finally:
            self._offering = False
        self.notify(f"sent {sent} of {len(drafts)} local draft(s)")
