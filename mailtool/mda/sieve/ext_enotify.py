"""enotify (RFC 5435) with the mailto method (RFC 5436).

``notify [:from f] [:importance "1"-"3"] [:options l] [:message m] [:fcc ...] "mailto:..."``
queues a short notification message, as vacation replies are queued
(:class:`~mailtool.mda.sieve.actions.Vacation` objects in the final action
list, sent by the queue from the null sender, RFC 5436 §2.6).
``valid_notify_method`` and ``notify_method_capability`` ("online" is
"maybe" for mailto, §2.4) are tests.

Never a loop or a flood:

* nothing at all for a message that is itself auto-submitted (RFC 5436 §2.7,
  RFC 3834 §2); for list or bulk mail, never to its sender (issue 18);
* every notification carries ``Auto-Submitted: auto-notified`` (§2.7.1);
* the same URI is notified once per delivery (RFC 5435 §3.9), at most
  :data:`MAX_NOTIFICATIONS` per delivery with at most :data:`MAX_RECIPIENTS`
  each, and per user at most what the :data:`NOTIFY_LOG` service allows
  (:class:`~mailtool.store.sieve_state.NotifyLog`: 30 an hour);
* only the URI headers ``to``, ``cc``, ``bcc``, ``subject`` and ``body`` are
  used (§2.2: the others are ignored).
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, getaddresses, make_msgid
from typing import TYPE_CHECKING
from urllib.parse import unquote

from mailtool.mda.sieve.actions import Vacation, fcc_of
from mailtool.mda.sieve.errors import SieveLimitError, SieveRuntimeError, SieveSyntaxError
from mailtool.mda.sieve.ext_fcc import FCC_TAG_EXTENSIONS, FCC_TAGS, check_fcc
from mailtool.mda.sieve.spec import COMPARE_GROUPS, COMPARE_TAGS, STRING, STRINGS, Spec, register
from mailtool.mda.sieve.vacation import is_bulk

if TYPE_CHECKING:
    from mailtool.mda.sieve.interpreter import Interpreter
    from mailtool.mda.sieve.parser import Node

#: the interpreter's ``services`` key of the per-user rate limiter (``allow(now) -> bool``)
NOTIFY_LOG = "notify_log"
MAX_NOTIFICATIONS = 8
MAX_RECIPIENTS = 8
MAX_URI = 2048
IMPORTANCE = {"1": "high", "2": "normal", "3": "low"}  # RFC 5435 §3.4
_ADDR = re.compile(r"^[^\s<>()@,;:\"\[\]\\]+@[A-Za-z0-9.\-]+$")


def parse_mailto(uri: str) -> tuple[list[str], dict[str, str]] | None:
    """RFC 6068: (recipients, {subject, body}) or None when this is no usable mailto URI."""
    if len(uri) > MAX_URI or not uri.lower().startswith("mailto:"):
        return None
    path, _q, query = uri[7:].partition("?")
    recipients = [unquote(a).strip() for a in path.split(",") if a.strip()]
    fields: dict[str, str] = {}
    for pair in query.split("&") if query else []:
        name, eq, value = pair.partition("=")
        if not eq:
            return None
        name = unquote(name).lower()
        value = unquote(value)
        if name in ("to", "cc", "bcc"):
            recipients += [a for _n, a in getaddresses([value]) if a]
        elif name in ("subject", "body"):
            fields[name] = value
        # RFC 5436 §2.2: any other header is ignored
    if not recipients or not all(_ADDR.match(a) for a in recipients):
        return None
    return recipients, fields


def _build(interp: Interpreter, node: Node, recipients: list[str], fields: dict[str, str]) -> bytes:
    tagged = node.tagged
    original = interp.original_message
    user = interp.envelope.recipient or (interp.user_addresses or [""])[0]
    about = " ".join(original.headers("Subject")).strip() or "(no subject)"
    sender = " ".join(original.headers("From")).strip() or interp.envelope.sender or "<>"
    message = interp.expand(tagged["message"]) if "message" in tagged else None
    mail = EmailMessage(policy=SMTP)
    mail["From"] = interp.expand(tagged["from"]) if "from" in tagged else user
    mail["To"] = ", ".join(recipients)
    # RFC 5436 §2.7: the URI's subject, else the :message, else a summary
    mail["Subject"] = fields.get("subject") or message or f"New mail: {about}"
    mail["Date"] = formatdate(interp.now, localtime=False)
    mail["Message-ID"] = make_msgid(domain=user.rpartition("@")[2] or None)
    mail["Auto-Submitted"] = f'auto-notified; owner-email="{user}"'  # RFC 5436 §2.7.1
    importance = tagged.get("importance")
    if importance:
        mail["Importance"] = IMPORTANCE[importance]
    body = fields.get("body") or message or f"From: {sender}\nSubject: {about}\n"
    mail.set_content(body)
    return mail.as_bytes()


def _notify(interp: Interpreter, node: Node) -> None:
    uri = interp.expand(node.positional[0])
    parsed = parse_mailto(uri)
    if parsed is None:
        raise SieveRuntimeError(f"notify: {uri!r} is not a mailto URI we can send to",
                                node.line, node.column)  # fmt: skip
    original = interp.original_message
    auto = " ".join(original.headers("Auto-Submitted")).strip().lower()
    if auto and not auto.startswith("no"):
        return  # RFC 5436 §2.7: never notify about automatic mail (no loops)
    recipients, fields = parsed
    if is_bulk(original):
        # list / bulk mail: never to its sender
        senders = {a.lower() for a in [interp.envelope.sender, *original.addresses("From")] if a}
        recipients = [r for r in recipients if r.lower() not in senders]
    done: set[str] = interp.services.setdefault("notify.sent", set())
    if not recipients or uri in done:
        return  # RFC 5435 §3.9: one notification per URI
    if len(done) >= MAX_NOTIFICATIONS:
        raise SieveLimitError(f"more than {MAX_NOTIFICATIONS} notifications", node.line,
                              node.column)  # fmt: skip
    done.add(uri)
    limiter = interp.services.get(NOTIFY_LOG)
    if limiter is not None and not limiter.allow(interp.now):
        return  # the user's hourly allowance is used up: dropped, as Pigeonhole does
    data = _build(interp, node, recipients[:MAX_RECIPIENTS], fields)
    fcc = fcc_of(interp, node)
    for i, rcpt in enumerate(recipients[:MAX_RECIPIENTS]):
        # one queue entry per recipient; the fcc copy once
        interp.add(Vacation(rcpt, data, "", "notify", fcc if i == 0 else None),
                   cancels_keep=False)  # fmt: skip


def _check_notify(node: Node, extensions: set[str]) -> None:
    method = node.positional[0]
    if "${" not in method and parse_mailto(method) is None:
        scheme = method.partition(":")[0]
        what = (
            "is not a valid mailto URI"
            if scheme.lower() == "mailto"
            else (f'uses the unsupported method "{scheme}"')
        )
        raise SieveSyntaxError(f"notify: {method!r} {what}", node.line, node.column)
    importance = node.tagged.get("importance")
    if importance is not None and importance not in IMPORTANCE:
        raise SieveSyntaxError('notify: :importance is "1", "2" or "3"', node.line, node.column)
    sender = node.tagged.get("from")
    if sender is not None and "${" not in sender and not _ADDR.match(sender.strip("<> ")):
        raise SieveSyntaxError(f"notify: :from {sender!r} is not an address", node.line,
                               node.column)  # fmt: skip
    check_fcc(node, extensions)


def _valid_notify_method(interp: Interpreter, node: Node) -> bool:
    return all(parse_mailto(u) is not None for u in interp.expand_all(node.positional[0]))


def _notify_method_capability(interp: Interpreter, node: Node) -> bool:
    uri, capability, keys = node.positional
    if parse_mailto(interp.expand(uri)) is None:
        return False
    if interp.expand(capability).lower() != "online":
        return False
    # RFC 5436 §2.4: whether the recipient is online is not known for mailto
    return interp.match(node, ["maybe"], interp.expand_all(keys))


register(Spec("notify", "command", positional=(STRING,), extension="enotify",
              tags={"from": STRING, "importance": STRING, "options": STRINGS, "message": STRING,
                    **FCC_TAGS},
              tag_extensions=FCC_TAG_EXTENSIONS, run=_notify, check=_check_notify))  # fmt: skip
register(Spec("valid_notify_method", "test", positional=(STRINGS,), extension="enotify",
              run=_valid_notify_method))  # fmt: skip
register(Spec("notify_method_capability", "test", positional=(STRING, STRING, STRINGS),
              tags=COMPARE_TAGS, groups=COMPARE_GROUPS, extension="enotify",
              run=_notify_method_capability))  # fmt: skip
