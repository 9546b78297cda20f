"""The send path that cannot lose what you wrote.

1. The message is saved to the account's Drafts folder (IMAP APPEND) before
   SMTP starts; if IMAP cannot take it, to a local file under
   ``$XDG_DATA_HOME/mailtool/drafts/`` instead. Either way the text is safe
   before the first byte goes to the submission server.
2. SMTP submission (announced through ``progress("Sending...")``).
3. Only after ``250``: the message is appended to Sent, then the draft is
   removed from Drafts (or the local file deleted). If Sent cannot take it,
   the draft stays: it is then the only copy of what went out.
4. On any SMTP failure the draft stays where it is (in Drafts), and
   :class:`SendFailed` says what failed and where the draft is, for the UI to
   show.

``mailtool send`` and the TUI both call :func:`send`. Each IMAP step is one
action of an :class:`ImapRunner` (the TUI's is :meth:`MailSession.call`, so a
refresh cannot SELECT between a step's SELECT and its use); SMTP runs outside
them.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol, TypeVar

from mailtool.client.account import Account
from mailtool.client.compose import without_bcc
from mailtool.client.imap import ImapClient
from mailtool.client.imap_transport import ConnectionLost, ImapClientError
from mailtool.client.smtp import submit
from mailtool.errors import AuthError, DeliveryError, MailtoolError

Progress = Callable[[str], None]
T = TypeVar("T")
#: what "IMAP cannot do it now" looks like: refused, dropped, unreachable, or a
#: reconnect whose login failed
IMAP_DOWN = (ImapClientError, AuthError, OSError)


class ImapRunner(Protocol):
    """Runs one IMAP action alone on a connection: :meth:`MailSession.call`, or
    :func:`on_client` for a connection nobody else uses. ``retry=False`` for an
    action that must not run twice (APPEND: the server may have it already)."""

    def __call__(self, action: Callable[[ImapClient], Awaitable[T]], *,
                 retry: bool = True) -> Awaitable[T]: ...


def on_client(imap: ImapClient | None) -> ImapRunner | None:
    """A runner straight on ``imap`` (``mailtool send``: the connection is its own)."""
    if imap is None:
        return None

    async def run(action: Callable[[ImapClient], Awaitable[T]], *, retry: bool = True) -> T:
        if not imap.connected:
            raise ConnectionLost("IMAP connection lost")
        return await action(imap)

    return run


class SendFailed(MailtoolError):
    """SMTP refused or failed; the draft is safe at ``draft_location``."""

    def __init__(self, message: str, *, draft_location: str, cause: Exception) -> None:
        super().__init__(f"{message} (your message is saved in {draft_location})")
        self.draft_location = draft_location
        self.cause = cause


@dataclass
class SendResult:
    message_id: str
    smtp_reply: str
    sent_folder: str | None
    sent_uid: int | None
    #: set when Sent could not be written (the mail went out, the copy did not) or
    #: when some recipients were refused
    warning: str = ""
    #: recipients the server refused at RCPT: address -> "code text"
    refused: dict[str, str] = field(default_factory=dict)

    def warn(self, text: str) -> None:
        self.warning = f"{self.warning}; {text}" if self.warning else text


def local_drafts_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mailtool" / "drafts"


def _save_local(msg: EmailMessage) -> Path:
    directory = local_drafts_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = (str(msg["Message-ID"]) or "draft").strip("<>").replace("/", "_") + ".eml"
    path = directory / name
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:  # tmp, fsync, rename: a whole draft or none
        fh.write(msg.as_bytes())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def _filing(use: str, msg: EmailMessage,
            *flags: str) -> Callable[[ImapClient], Awaitable[tuple[str, int | None]]]:
    """The action "APPEND ``msg`` to the special-use folder ``use``" (RFC 6154):
    returns (folder, UID or None)."""

    async def append(imap: ImapClient) -> tuple[str, int | None]:
        folder = await imap.special_folder(use)
        return folder, await imap.append(folder, msg.as_bytes(), flags=flags)

    return append


async def save_draft(call: ImapRunner | None, msg: EmailMessage) -> tuple[str, int | None]:
    """Save ``msg`` to Drafts; returns (location, uid). Falls back to a local file
    whenever IMAP cannot take it (no connection, server down, refused)."""
    if call is not None:
        try:
            # APPEND is not repeatable: after a drop the local file is the safe copy
            return await call(_filing("\\Drafts", msg, "\\Draft", "\\Seen"), retry=False)
        except IMAP_DOWN:
            pass
    return str(_save_local(msg)), None


async def _expunge_draft(imap: ImapClient, location: str, uid: int | None,
                         message_id: str) -> None:
    previous = imap.selected
    try:
        uids = [uid] if uid else await imap.find_message_id(location, message_id)
        if uid:
            await imap.select(location)
        if uids:
            await imap.expunge(uids)
    finally:
        if previous and previous != imap.selected:
            await imap.select(previous)


async def remove_draft(call: ImapRunner | None, location: str, uid: int | None,
                       message_id: str) -> None:
    """Remove the saved draft once it is no longer needed (best effort: raises
    what IMAP raised, for the caller to report or ignore)."""
    if os.path.isabs(location):
        Path(location).unlink(missing_ok=True)
        return
    if call is not None:
        # one action: SELECT Drafts, EXPUNGE, SELECT back, with nobody in between
        await call(lambda imap: _expunge_draft(imap, location, uid, message_id))


async def send(account: Account, msg: EmailMessage, *, imap: ImapClient | None = None,
               call: ImapRunner | None = None, password: str, cafile: str | None = None,
               progress: Progress = lambda _s: None) -> SendResult:
    """Save to Drafts, submit, file in Sent, drop the draft. See the module docstring.

    IMAP goes through ``call`` (e.g. :meth:`MailSession.call`, which runs one
    action at a time on a shared connection) or else straight to ``imap``.
    Only the IMAP steps are such actions: the SMTP submission runs between
    them, so the connection stays free for others while the message goes out.
    """
    call = call or on_client(imap)
    message_id = str(msg["Message-ID"])
    progress("Saving draft...")
    location, draft_uid = await save_draft(call, msg)
    recipients = [a for _n, a in _all_recipients(msg)]
    progress("Sending...")
    try:
        submitted = await submit(account.smtp, without_bcc(msg), account.email, recipients,
                                 username=account.username, password=password, cafile=cafile)
    except (DeliveryError, AuthError) as exc:
        raise SendFailed(f"not sent: {exc}", draft_location=location, cause=exc) from exc
    result = SendResult(message_id, submitted.reply, None, None, refused=submitted.refused)
    if submitted.refused:
        # it went out to the others: filed in Sent like any send, so a resend is a choice
        taken = [r for r in recipients if r not in submitted.refused]
        bad = ", ".join(f"{r} ({why})" for r, why in submitted.refused.items())
        result.warn(f"sent to {', '.join(taken)}; refused: {bad}")
    # RFC 6409 §5: the server has it (250); only now is it "sent"
    if call is None:
        result.warn("sent; no IMAP connection, so no copy in Sent")
        await remove_draft(None, location, draft_uid, message_id)
        progress("Sent.")
        return result
    progress("Saving to Sent...")
    try:
        result.sent_folder, result.sent_uid = await call(
            _filing("\\Sent", msg, "\\Seen"), retry=False)
    except IMAP_DOWN as exc:
        # the draft stays: it is the only copy of what went out
        result.warn(f"sent, but not filed in Sent: {exc}")
        progress("Sent.")
        return result
    try:
        await remove_draft(call, location, draft_uid, message_id)
    except IMAP_DOWN as exc:
        result.warn(f"sent and filed in Sent, but the draft is still in {location}: {exc}")
    progress("Sent.")
    return result


def _all_recipients(msg: EmailMessage) -> list[tuple[str, str]]:
    import email.utils

    values = [str(v) for h in ("To", "Cc", "Bcc") for v in (msg.get_all(h) or [])]
    return [(n, a) for n, a in email.utils.getaddresses(values) if a]
