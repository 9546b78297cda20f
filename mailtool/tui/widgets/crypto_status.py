"""The reader's status line: "cached copy", and what PGP / S/MIME said of the message.

Checking a signature or decrypting runs ``gpg`` / ``openssl`` (see
:mod:`mailtool.client.crypto`) in a thread, so the message shows at once and
the line fills in when the tool answers. A decrypted message is handed back to
the reader (:class:`MessageStatus.Decrypted`) to be shown in clear.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from email.message import EmailMessage

from textual import work
from textual.message import Message
from textual.widgets import Static

from mailtool.client.account import Account
from mailtool.client.crypto import Examined, examine, looks_protected, protect


class MessageStatus(Static):
    DEFAULT_CSS = """
    MessageStatus { padding: 0 1; color: $warning; display: none; }
    MessageStatus.shown { display: block; }
    MessageStatus.good { color: $success; }
    MessageStatus.bad { color: $error; }
    """

    @dataclass
    class Decrypted(Message):
        """The clear message of an encrypted one, for the reader to show."""

        raw: bytes

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self._raw: bytes | None = None
        self.cached = False
        self.examined = Examined()
        self.checking = False

    @property
    def text(self) -> str:
        return str(self.render())

    def show_for(self, raw: bytes, *, cached: bool = False) -> None:
        """A new message: say whether it is the cached copy, and check it if signed or
        encrypted."""
        self._raw, self.cached = raw, cached
        self.examined = Examined()
        self.checking = looks_protected(raw)
        self._paint()
        if self.checking:
            self._examine(raw)

    def clear(self) -> None:
        self._raw, self.cached, self.checking = None, False, False
        self.examined = Examined()
        self._paint()

    def _paint(self) -> None:
        lines = []
        if self.cached:
            lines.append("cached copy (the server is out of reach)")
        if self.checking:
            lines.append("checking signature / decrypting...")
        lines += self.examined.status
        text = "  ·  ".join(lines)
        self.update(text)
        self.set_class(bool(text), "shown")
        verdicts = " ".join(self.examined.status)
        self.set_class("(good" in verdicts and "bad" not in verdicts, "good")
        self.set_class("bad" in verdicts or "cannot" in verdicts, "bad")

    @work(thread=True, exclusive=True, group="crypto", exit_on_error=False)
    def _examine(self, raw: bytes) -> None:
        result = examine(raw)
        self.app.call_from_thread(self._examined, raw, result)

    def _examined(self, raw: bytes, result: Examined) -> None:
        if raw is not self._raw:  # another message is shown by now
            return
        self.examined, self.checking = result, False
        self._paint()
        if result.decrypted is not None:
            self.post_message(self.Decrypted(result.decrypted))


@dataclass
class PgpToggles:
    """The composer's "sign" and "encrypt" switches, applied when the message is sent."""

    sign: bool = False
    encrypt: bool = False

    @property
    def label(self) -> str:
        on = [w for w, flag in (("sign", self.sign), ("encrypt", self.encrypt)) if flag]
        return f"PGP: {' + '.join(on)}" if on else "PGP: off"

    async def apply(self, msg: EmailMessage, account: Account,
                    recipients: list[str]) -> EmailMessage:
        """``msg`` signed and/or encrypted with gpg (in a thread: gpg may take a while).
        Encrypted mail is also encrypted to the sender (``pgp_key``, else the From
        address), so the copy in Sent stays readable. Raises :class:`CryptoError`."""
        if not (self.sign or self.encrypt):
            return msg
        me = account.pgp_key or account.email
        return await asyncio.to_thread(
            protect, msg, sign_it=self.sign, encrypt_it=self.encrypt, key=account.pgp_key,
            recipients=[*recipients, *([] if account.pgp_key else [me])])
