"""Submission: the header ``From:`` must name the logged-in user (issue 15, point 9).

MAIL FROM is already checked (:func:`~mailtool.mta.relay_policy.sender_allowed`,
RFC 6409 §6.1), but a reader sees the header ``From:``, not the envelope: without
this check alice could submit ``From: bob@example.test`` and every MUA would show
bob. ``[security] submission_from_check`` says what happens:

* ``"reject"`` (default): ``550 5.7.1``, unless every address in ``From:`` (and in
  ``Sender:``, when there is one) is the user's;
* ``"sender"``: the message goes, with ``Sender: <user>`` (RFC 5322 §3.6.2: the
  mailbox of the agent responsible for the transmission) replacing any other;
* ``"off"``: not checked.

"The user's addresses" are what MAIL FROM may be: the user and every alias
that delivers to them alone (``AccountStore.addresses_of``). The fields are
parsed with the standard library's RFC 5322 parser (``email.headerregistry``);
a field it reports defects in, a missing ``From:`` or more than one (RFC 5322
§3.6 allows exactly one) counts as not the user's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email import policy

from mailtool.protocol.smtp import Reply, codes

MODES = ("reject", "sender", "off")
_FIELD = re.compile(rb"^(from|sender)[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)
_SENDER_FIELD = re.compile(rb"^sender[ \t]*:.*(?:\r?\n[ \t].*)*\r?\n", re.IGNORECASE | re.MULTILINE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")


def split_header(message: bytes) -> tuple[bytes, bytes]:
    """(the header fields with their line ends, the rest: empty line and body)."""
    if message.startswith((b"\r\n", b"\n")):
        return b"", message
    m = _HEADER_END.search(message)
    if m is None:
        return message, b""
    cut = m.start() + (2 if message[m.start() : m.start() + 2] == b"\r\n" else 1)
    return message[:cut], message[cut:]


def _mailboxes(value: bytes) -> list[str] | None:
    """The addr-specs of one address-list field, lower-cased; None if it does not parse
    cleanly (a defect, a group, no address)."""
    text = value.decode("utf-8", errors="replace").replace("\r", "").replace("\n", "")
    try:
        header = policy.default.header_factory("From", text)
    except Exception:  # the parser's own errors on hostile input: not the user's
        return None
    if header.defects:
        return None
    out = []
    for address in header.addresses:
        if not address.username or not address.domain:
            return None
        out.append(f"{address.username}@{address.domain}".lower())
    return out or None


def _fields(message: bytes) -> tuple[list[bytes], list[bytes]]:
    """(From values, Sender values) of the header section."""
    froms: list[bytes] = []
    senders: list[bytes] = []
    for m in _FIELD.finditer(split_header(message)[0]):
        (froms if m.group(1).lower() == b"from" else senders).append(m.group(2))
    return froms, senders


_RESENT = re.compile(rb"^resent-(from|sender)[ \t]*:(.*(?:\r?\n[ \t].*)*)",
                     re.IGNORECASE | re.MULTILINE)


def _resent_fields(message: bytes) -> tuple[list[bytes], list[bytes]] | None:
    """(Resent-From, Resent-Sender) of the topmost resent block, or None when the message
    was not resent. RFC 5322 §3.6.6: a resent message keeps its From:; the one who
    resends it (a bounce, mutt's ``b``) is named by the newest Resent-From:, at the top."""
    froms: list[bytes] = []
    senders: list[bytes] = []
    for m in _RESENT.finditer(split_header(message)[0]):
        if m.group(1).lower() == b"from":
            if froms:
                break  # an older block
            froms.append(m.group(2))
        else:
            senders.append(m.group(2))
    return (froms, senders) if froms else None


def _all_own(values: list[bytes], own: set[str]) -> bool:
    for value in values:
        boxes = _mailboxes(value)
        if boxes is None or not set(boxes) <= own:
            return False
    return True


def check_header_from(
    message: bytes, user: str, addresses: Iterable[str], mode: str
) -> tuple[bytes, Reply | None]:
    """(the message, possibly with a new Sender:, and a refusal or None)."""
    if mode == "off":
        return message, None
    own = {a.lower() for a in addresses} | {user.lower()}
    resent = _resent_fields(message)
    froms, senders = resent or _fields(message)
    ok = len(froms) == 1 and _all_own(froms, own) and _all_own(senders, own)
    if ok:
        return message, None
    if mode == "sender":
        return set_sender(message, user), None
    if not froms:
        text = f"the message has no From: header; it must name {user}"
    else:
        text = f"header {'Resent-' if resent else ''}From: (or Sender:) is not an address of {user}"
    return message, Reply(codes.C550_MAILBOX_UNAVAILABLE, (text,), "5.7.1")


def set_sender(message: bytes, user: str) -> bytes:
    """The message with every ``Sender:`` field replaced by one naming ``user``,
    placed at the top of the header section (no other byte changes)."""
    head, body = split_header(message)
    head = _SENDER_FIELD.sub(b"", head)
    return f"Sender: <{user}>\r\n".encode() + head + body
