"""Building messages: new, reply, reply-all, forward (inline and attached).

A :class:`Draft` is what the composer edits (addresses, subject, body,
attachments, threading headers); :func:`build` turns it into an
:class:`email.message.EmailMessage`. Replies follow RFC 5322 §3.6.4: the
``In-Reply-To`` is the parent's ``Message-ID`` and ``References`` is the
parent's ``References`` (or ``In-Reply-To``) plus its ``Message-ID``.
"""

from __future__ import annotations

import email.policy
import email.utils
import mimetypes
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from pathlib import Path

from mailtool.client.reading import body_text

_RE_PREFIX = re.compile(r"^\s*((re|aw|sv|fwd?|wg)(\[\d+\])?:\s*)+", re.I)


@dataclass
class Draft:
    """The composer's model; all strings as the user typed them."""

    from_: str = ""
    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    body: str = ""
    in_reply_to: str = ""
    references: str = ""
    attachments: list[Path] = field(default_factory=list)
    #: whole messages forwarded as message/rfc822 attachments
    attached_messages: list[bytes] = field(default_factory=list)
    message_id: str = ""

    def recipients(self) -> list[str]:
        """Envelope recipients: To + Cc + Bcc addresses."""
        pairs = email.utils.getaddresses([self.to, self.cc, self.bcc])
        return [addr for _name, addr in pairs if addr]


def build(draft: Draft, *, domain: str | None = None, include_bcc: bool = True) -> EmailMessage:
    """The message for ``draft``; a Message-ID is made (and stored) if it has none."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = draft.from_
    for header, value in (("To", draft.to), ("Cc", draft.cc)):
        if value.strip():
            msg[header] = value
    if include_bcc and draft.bcc.strip():
        msg["Bcc"] = draft.bcc
    msg["Subject"] = draft.subject
    msg["Date"] = email.utils.formatdate(localtime=True)
    if not draft.message_id:
        if domain is None:
            domain = draft.from_.rpartition("@")[2].strip(" >") or None
        draft.message_id = email.utils.make_msgid(domain=domain)
    msg["Message-ID"] = draft.message_id
    if draft.in_reply_to:
        msg["In-Reply-To"] = draft.in_reply_to
    if draft.references:
        msg["References"] = draft.references
    msg["MIME-Version"] = "1.0"
    msg.set_content(draft.body)
    for path in draft.attachments:
        ctype, _ = mimetypes.guess_type(path.name)
        maintype, _, subtype = (ctype or "application/octet-stream").partition("/")
        msg.add_attachment(Path(path).read_bytes(), maintype=maintype, subtype=subtype,
                           filename=path.name)
    for raw in draft.attached_messages:
        part = email.message_from_bytes(raw, policy=email.policy.default)
        msg.add_attachment(part)  # message/rfc822
    return msg


def without_bcc(msg: EmailMessage) -> bytes:
    """The bytes to hand to SMTP: Bcc recipients must not see each other (RFC 5322 §3.6.3)."""
    copy = email.message_from_bytes(msg.as_bytes(), policy=email.policy.SMTP)
    del copy["Bcc"]
    return copy.as_bytes()


def _subject(prefix: str, subject: str) -> str:
    return f"{prefix} {_RE_PREFIX.sub('', subject or '')}".strip()


def quote(text: str) -> str:
    """``> `` before each line; already quoted lines get ``>`` (RFC 3676 §4.5 style)."""
    lines = text.rstrip("\n").split("\n")
    return "\n".join((">" + line) if line.startswith(">") else ("> " + line if line else ">")
                     for line in lines)


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    return [(n, a) for n, a in email.utils.getaddresses(values) if a]


def _join(pairs: list[tuple[str, str]]) -> str:
    return ", ".join(email.utils.formataddr(p) for p in pairs)


def reply(original: Message, me: str, *, reply_all: bool = False,
          my_addresses: tuple[str, ...] = ()) -> Draft:
    """A reply to ``original`` from identity ``me`` (a From value)."""
    mine = {a.lower() for a in (email.utils.parseaddr(me)[1], *my_addresses)}
    reply_to = original.get_all("Reply-To") or original.get_all("From") or []
    to = _addresses([str(v) for v in reply_to])
    cc: list[tuple[str, str]] = []
    if reply_all:
        seen = {a.lower() for _n, a in to} | mine
        for n, a in _addresses([str(v) for v in (original.get_all("To") or []) +
                                (original.get_all("Cc") or [])]):
            if a.lower() not in seen:
                cc.append((n, a))
                seen.add(a.lower())
    if not [a for _n, a in to if a.lower() not in mine] and reply_all:
        to, cc = cc[:1], cc[1:]  # replying to our own message: answer its recipients
    parent_id = str(original.get("Message-ID", "")).strip()
    refs = str(original.get("References", "") or original.get("In-Reply-To", "")).split()
    if parent_id:
        refs.append(parent_id)
    who = str(original.get("From", "someone"))
    when = str(original.get("Date", ""))
    intro = f"On {when}, {who} wrote:" if when else f"{who} wrote:"
    body = f"\n\n{intro}\n{quote(body_text(original))}\n"
    return Draft(from_=me, to=_join(to), cc=_join(cc),
                 subject=_subject("Re:", str(original.get("Subject", ""))), body=body,
                 in_reply_to=parent_id, references=" ".join(refs))


def forward(original: Message, me: str, *, attach: bool = False, raw: bytes = b"") -> Draft:
    """Forward inline (headers block + body) or as a message/rfc822 attachment."""
    subject = _subject("Fwd:", str(original.get("Subject", "")))
    if attach:
        return Draft(from_=me, subject=subject, body="\n",
                     attached_messages=[raw or original.as_bytes()])
    head = "\n".join(f"{h}: {original[h]}" for h in ("From", "Date", "Subject", "To", "Cc")
                     if original.get(h))
    body = f"\n\n---------- Forwarded message ----------\n{head}\n\n{body_text(original)}\n"
    return Draft(from_=me, subject=subject, body=body)


def draft_from_message(msg: Message) -> Draft:
    """Re-open a saved draft (from Drafts) in the composer."""
    return Draft(from_=str(msg.get("From", "")), to=str(msg.get("To", "")),
                 cc=str(msg.get("Cc", "")), bcc=str(msg.get("Bcc", "")),
                 subject=str(msg.get("Subject", "")), body=body_text(msg),
                 in_reply_to=str(msg.get("In-Reply-To", "")),
                 references=str(msg.get("References", "")),
                 message_id=str(msg.get("Message-ID", "")))
