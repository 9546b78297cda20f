"""The send path that cannot lose what you wrote.

1. The message is saved to the account's Drafts folder (IMAP APPEND) before
   SMTP starts; if IMAP cannot take it, to a local file under
   ``$XDG_DATA_HOME/mailtool/drafts/`` instead. Either way the text is safe
   before the first byte goes to the submission server.
2. SMTP submission (announced through ``progress("Sending...")``).
3. Only after ``250``: the message is appended to Sent, then the draft is
   removed from Drafts (or the local file deleted).
4. On any SMTP failure the draft stays where it is (in Drafts), and
   :class:`SendFailed` says what failed and where the draft is, for the UI to
   show.

``mailtool send`` and the TUI both call :func:`send`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from mailtool.client.account import Account
from mailtool.client.compose import without_bcc
from mailtool.client.imap import ImapClient
from mailtool.client.imap_transport import ImapClientError
from mailtool.client.smtp import submit
from mailtool.errors import AuthError, DeliveryError, MailtoolError

Progress = Callable[[str], None]


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
    #: set when Sent could not be written: the mail went out, the copy did not
    warning: str = ""


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


async def save_draft(imap: ImapClient | None, msg: EmailMessage) -> tuple[str, int | None]:
    """Save ``msg`` to Drafts; returns (location, uid). Falls back to a local file."""
    if imap is not None and imap.connected:
        try:
            drafts = await imap.special_folder("\\Drafts")
            uid = await imap.append(drafts, msg.as_bytes(), flags=("\\Draft", "\\Seen"))
            return drafts, uid
        except ImapClientError:
            pass
    return str(_save_local(msg)), None


async def remove_draft(imap: ImapClient | None, location: str, uid: int | None,
                       message_id: str) -> None:
    """Remove the saved draft once it is no longer needed (best effort)."""
    if os.path.isabs(location):
        Path(location).unlink(missing_ok=True)
        return
    if imap is None or not imap.connected:
        return
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


async def send(account: Account, msg: EmailMessage, *, imap: ImapClient | None,
               password: str, cafile: str | None = None,
               progress: Progress = lambda _s: None) -> SendResult:
    """Save to Drafts, submit, file in Sent, drop the draft. See the module docstring."""
    message_id = str(msg["Message-ID"])
    progress("Saving draft...")
    location, draft_uid = await save_draft(imap, msg)
    recipients = [a for _n, a in _all_recipients(msg)]
    progress("Sending...")
    try:
        reply = await submit(account.smtp, without_bcc(msg), account.email, recipients,
                             username=account.username, password=password, cafile=cafile)
    except (DeliveryError, AuthError) as exc:
        raise SendFailed(f"not sent: {exc}", draft_location=location, cause=exc) from exc
    result = SendResult(message_id, reply, None, None)
    # RFC 6409 §5: the server has it (250); only now is it "sent"
    if imap is not None and imap.connected:
        progress("Saving to Sent...")
        try:
            result.sent_folder = await imap.special_folder("\\Sent")
            result.sent_uid = await imap.append(result.sent_folder, msg.as_bytes(),
                                                flags=("\\Seen",))
            await remove_draft(imap, location, draft_uid, message_id)
        except ImapClientError as exc:
            result.warning = f"sent, but not filed in Sent: {exc}"
    else:
        result.warning = "sent; no IMAP connection, so no copy in Sent"
        await remove_draft(None, location, draft_uid, message_id)
    progress("Sent.")
    return result


def _all_recipients(msg: EmailMessage) -> list[tuple[str, str]]:
    import email.utils

    values = [str(v) for h in ("To", "Cc", "Bcc") for v in (msg.get_all(h) or [])]
    return [(n, a) for n, a in email.utils.getaddresses(values) if a]
