"""The open message handed elsewhere: its links, a command, a file, other recipients.

A mixin of the main screen (through :class:`~mailtool.tui.screens.acting.Acting`):

- ``links`` lists the message's URLs (HTML links with their address, see
  :mod:`mailtool.client.links`) and opens the one picked with the opener
  (``[tui] open_command``, xdg-open by default);
- ``pipe`` runs a typed command (mutt's pipe-message: the user's own shell
  line) with the raw message on stdin and shows the first lines of its output;
- ``save_message`` writes the raw message to a file (default
  ``~/Downloads/<subject>.eml``), mode 0600, never over an existing file
  unless the user said so;
- ``bounce`` sends the message unchanged to other addresses with Resent-*
  fields (RFC 5322 §3.6.6), through the account's submission server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.markup import escape

from mailtool.client.bounce import bounce
from mailtool.client.links import message_links
from mailtool.errors import DeliveryError, MailtoolError
from mailtool.tui.screens.opener import launch
from mailtool.tui.screens.picker import PickerScreen

if TYPE_CHECKING:
    from mailtool.tui.screens.main import MainScreen as _Base
else:
    _Base = object

#: a piped command is stopped after this many seconds
PIPE_TIMEOUT = 60.0
#: its output is read up to this many bytes, and this many lines are shown
PIPE_OUTPUT = 64 * 1024
PIPE_LINES = 10


def default_save_path(subject: str, directory: Path | None = None) -> Path:
    """``~/Downloads/<subject>.eml`` with the subject made a safe file name."""
    name = re.sub(r"[^\w.,@+=() -]+", "_", subject).strip(" ._")[:80] or "message"
    return (directory or Path.home() / "Downloads") / f"{name}.eml"


def write_message(path: Path, raw: bytes, *, overwrite: bool = False) -> Path:
    """Write ``raw`` to ``path`` (0600); an existing file raises FileExistsError
    unless ``overwrite``."""
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(raw)
    return path


async def run_pipe(command: str, raw: bytes, *, timeout: float = PIPE_TIMEOUT) -> tuple[int, str]:
    """Run the user's shell line with ``raw`` on stdin: (exit status, first output lines)."""
    proc = await asyncio.create_subprocess_shell(
        command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, start_new_session=True)

    async def talk() -> bytes:
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(raw)
            await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # a command that reads only part of the message (head) is fine
        proc.stdin.close()
        # read() returns what is there, not PIPE_OUTPUT bytes: gather up to the bound (the
        # first piece alone lost the lines a command writes later: "1" of "1\n[/x]")
        out = b""
        while len(out) < PIPE_OUTPUT and (piece := await proc.stdout.read(PIPE_OUTPUT - len(out))):
            out += piece
        while await proc.stdout.read(PIPE_OUTPUT):  # drain the rest, unkept
            pass
        await proc.wait()
        return out

    try:
        out = await asyncio.wait_for(talk(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: the shell and its children
        await proc.wait()
        raise MailtoolError(f"{command!r} still running after {timeout:.0f} s: stopped") \
            from None
    lines = out.decode("utf-8", "replace").splitlines()
    shown = "\n".join(lines[:PIPE_LINES]) + (f"\n… {len(lines) - PIPE_LINES} more lines"
                                              if len(lines) > PIPE_LINES else "")
    return proc.returncode or 0, shown


class MessageTools(_Base):
    # -- URL list --------------------------------------------------------------------

    def action_links(self) -> None:
        msg = self._current()
        if msg is None:
            return
        links = message_links(msg)
        if not links:
            self.notify("no links in this message")
            return

        def chosen(url: str | None) -> None:
            if url:
                try:
                    launch(self.tui.open_command, url)
                except OSError as exc:
                    self.notify(f"cannot open {url}: {exc}", severity="error", markup=False)
                    return
                self.notify(f"opened {url}", markup=False)

        self.app.push_screen(PickerScreen(f"{len(links)} links", [(lk.label, lk.url)
                                                                 for lk in links]), chosen)

    # -- pipe ------------------------------------------------------------------------

    def action_pipe(self) -> None:
        if self._current() is not None:
            self._ask("Pipe message to command:", "", self.pipe_message)

    @work(group="pipe", exit_on_error=False)
    async def pipe_message(self, command: str) -> None:
        try:
            status, shown = await run_pipe(command, self.reader.raw)
        except (MailtoolError, OSError) as exc:
            self.notify(str(exc), title="Pipe", severity="error", markup=False)
            return
        title = f"{command}" + (f" (exit {status})" if status else "")
        # the output is the command's, never markup
        self.notify(shown or "(no output)", title=escape(title), markup=False,
                    severity="warning" if status else "information", timeout=15)

    # -- save ------------------------------------------------------------------------

    def action_save_message(self) -> None:
        msg = self._current()
        if msg is None:
            return
        default = str(default_save_path(str(msg.get("Subject", "") or "")))
        self._ask("Save message to:", default, self._save_to)

    def _save_to(self, path: str, overwrite: bool = False) -> None:
        raw = self.reader.raw
        try:
            saved = write_message(Path(path), raw, overwrite=overwrite)
        except FileExistsError:
            self._ask(f"{escape(path)} exists. Overwrite it? (type yes)", "",
                      lambda answer: self._save_to(path, True)
                      if answer.strip().lower() in ("y", "yes") else
                      self.notify("not saved"))
            return
        except OSError as exc:
            self.notify(f"not saved: {exc}", severity="error", markup=False)
            return
        self.notify(f"saved {saved}", markup=False)

    # -- bounce ----------------------------------------------------------------------

    def action_bounce(self) -> None:
        if self._current() is not None:
            # as mutt, once more before it goes: a bounce cannot be taken back
            self._ask("Bounce (redirect) message to:", "", lambda to: self._ask(
                f"Bounce to {escape(to)}? (Enter = yes)", "yes",
                lambda answer: self.bounce_message(to)
                if answer.strip().lower() in ("y", "yes") else None))

    @work(group="act", exit_on_error=False)
    async def bounce_message(self, to: str) -> None:
        raw = self.reader.raw
        password = self.session.password if self.session else await self.account.password()
        self.status("bouncing...")
        try:
            result = await bounce(self.account, raw, to, password=password, cafile=self.cafile)
        except (DeliveryError, MailtoolError) as exc:
            self.status("")
            self.notify(f"not bounced: {exc}", severity="error", markup=False)
            return
        self.status("")
        refused = "; refused: " + ", ".join(f"{r} ({why})" for r, why in result.refused.items()) \
            if result.refused else ""
        self.notify(f"bounced to {to}{refused}", markup=False,
                    severity="warning" if refused else "information")
