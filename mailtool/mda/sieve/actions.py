"""Sieve actions: what a script can ask for, and the commands that ask.

keep / discard / redirect (RFC 5228 §4), fileinto (§4.1), :copy (RFC 3894),
reject / ereject (RFC 5429), vacation (RFC 5230), and the imap4flags
commands setflag / addflag / removeflag with ``:flags`` on keep and fileinto
(RFC 5232). The action objects are the interpreter's output; the MDA turns
them into deliveries, bounces and queued messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mailtool.mda.sieve.errors import SieveRuntimeError, SieveSyntaxError
from mailtool.mda.sieve.ext_fcc import FCC_TAG_EXTENSIONS, FCC_TAGS, Fcc, check_fcc
from mailtool.mda.sieve.ext_specialuse import check_flag
from mailtool.mda.sieve.spec import NUMBER, STRING, STRINGS, Spec, register

if TYPE_CHECKING:
    from mailtool.mda.sieve.interpreter import Interpreter
    from mailtool.mda.sieve.parser import Node

INBOX = "INBOX"


@dataclass(frozen=True)
class Keep:
    """Deliver into INBOX (``implicit``: nothing cancelled the implicit keep)."""

    flags: frozenset[str] = frozenset()
    implicit: bool = False
    #: the message as editheader (RFC 5293) left it when the action ran; None: unchanged
    message: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def folder(self) -> str:
        return INBOX


@dataclass(frozen=True)
class FileInto:
    folder: str
    flags: frozenset[str] = frozenset()
    copy: bool = False
    message: bytes | None = field(default=None, compare=False, repr=False)
    #: RFC 8579 §4: file into the mailbox with this special-use attribute if there is one
    special_use: str | None = None
    create: bool = False  # RFC 5490 §3.2 :create (and RFC 8579 §4.1 with :specialuse)


@dataclass(frozen=True)
class Redirect:
    address: str
    copy: bool = False
    message: bytes | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Discard:
    """Nothing is delivered (RFC 5228 §4.4)."""


@dataclass(frozen=True)
class Reject:
    """Refuse the message: at SMTP time a 550, after the queue a DSN (RFC 5429 §2)."""

    reason: str
    extended: bool = False  # ereject: the reason is the SMTP reply text


@dataclass(frozen=True)
class VacationRequest:
    """What the script asked for; :mod:`vacation` decides whether and what to reply."""

    reason: str
    days: int = 7
    subject: str | None = None
    from_: str | None = None
    addresses: tuple[str, ...] = ()
    mime: bool = False
    handle: str | None = None
    fcc: Fcc | None = None  # RFC 8580


@dataclass(frozen=True)
class Vacation:
    """An auto-reply (or an RFC 5436 notification) for the caller to queue: MAIL FROM
    ``sender`` (``""`` = <>); ``fcc``: file a copy of it there (RFC 8580)."""

    recipient: str
    message: bytes
    sender: str = ""
    handle: str = field(default="", compare=False)
    fcc: Fcc | None = None


Action = Keep | FileInto | Redirect | Discard | Reject | VacationRequest | Vacation


# ---------------------------------------------------------------- flags (RFC 5232)


def flag_list(values: list[str]) -> list[str]:
    """RFC 5232 §3: flags are space-separated; duplicates (case-insensitive) removed."""
    out: list[str] = []
    seen: set[str] = set()
    for value in values:
        for flag in value.split():
            if flag.lower() not in seen:
                seen.add(flag.lower())
                out.append(flag)
    return out


def _flags_of(interp: Interpreter, node: Node) -> frozenset[str]:
    if "flags" in node.tagged:
        return frozenset(flag_list(interp.expand_all(node.tagged["flags"])))
    if interp.has("imap4flags"):
        return frozenset(interp.flags)
    return frozenset()


def _flag_command(mode: str):
    def run(interp: Interpreter, node: Node) -> None:
        variable, flags = node.positional
        new = flag_list(interp.expand_all(flags))
        current = flag_list([interp.get_variable(variable)]) if variable else interp.flags
        if mode == "set":
            result = new
        elif mode == "add":
            result = flag_list([*current, *new])
        else:
            gone = {f.lower() for f in new}
            result = [f for f in current if f.lower() not in gone]
        if variable:
            interp.set_variable(variable, " ".join(result))
        else:
            interp.flags = result

    return run


for _mode in ("set", "add", "remove"):
    register(Spec(f"{_mode}flag", "command", positional=(STRING, STRINGS), optional_leading=1,
                  extension="imap4flags", run=_flag_command(_mode)))  # fmt: skip


# ---------------------------------------------------------------- keep, fileinto, discard


def _keep(interp: Interpreter, node: Node) -> None:
    interp.add(Keep(_flags_of(interp, node)), cancels_keep=True)


def _fileinto(interp: Interpreter, node: Node) -> None:
    folder = interp.expand(node.positional[0])
    if not folder or any(ord(c) < 32 for c in folder):
        raise SieveRuntimeError(f"fileinto: {folder!r} is not a mailbox name", node.line,
                                node.column)  # fmt: skip
    copy = bool(node.tagged.get("copy"))
    create = bool(node.tagged.get("create"))  # RFC 5490 §3.2
    special_use = interp.expand(node.tagged["specialuse"]) if "specialuse" in node.tagged else None
    if special_use is not None:
        check_flag(special_use, node, SieveRuntimeError)  # RFC 8579 §4
    interp.add(FileInto(folder, _flags_of(interp, node), copy, create=create,
                        special_use=special_use), cancels_keep=not copy)  # fmt: skip


def _check_fileinto(node: Node, extensions: set[str]) -> None:
    flag = node.tagged.get("specialuse")
    if flag is not None and "${" not in flag:
        check_flag(flag, node)


def _discard(interp: Interpreter, node: Node) -> None:
    interp.add(Discard(), cancels_keep=True)


FLAGS_TAG = {"flags": STRINGS}
register(Spec("keep", "command", tags=FLAGS_TAG, tag_extensions={"flags": "imap4flags"},
              run=_keep))  # fmt: skip
register(Spec("fileinto", "command", positional=(STRING,),
              tags={**FLAGS_TAG, "copy": None, "create": None, "specialuse": STRING},
              extension="fileinto",
              tag_extensions={"flags": "imap4flags", "copy": "copy", "create": "mailbox",
                              "specialuse": "special-use"},
              run=_fileinto, check=_check_fileinto))  # fmt: skip
register(Spec("discard", "command", run=_discard))


# ---------------------------------------------------------------- redirect

#: an addr-spec good enough to hand to the queue: no spaces, brackets or controls
_ADDRESS_RE = re.compile(r"^[^\s<>()@,;:\"\[\]\\]+@[A-Za-z0-9.\-\[\]:]+$")


def _redirect(interp: Interpreter, node: Node) -> None:
    address = interp.expand(node.positional[0]).strip()
    if not _ADDRESS_RE.match(address):
        # RFC 5228 §4.2: a syntactically invalid address is a runtime error
        raise SieveRuntimeError(f"redirect: {address!r} is not an address", node.line,
                                node.column)  # fmt: skip
    copy = bool(node.tagged.get("copy"))
    interp.add(Redirect(address, copy), cancels_keep=not copy)


def _check_redirect(node: Node, extensions: set[str]) -> None:
    address = node.positional[0]
    if "${" not in address and not _ADDRESS_RE.match(address.strip()):
        raise SieveSyntaxError(f"redirect: {address!r} is not an address", node.line, node.column)


register(Spec("redirect", "command", positional=(STRING,), tags={"copy": None},
              tag_extensions={"copy": "copy"}, run=_redirect, check=_check_redirect))  # fmt: skip


# ---------------------------------------------------------------- reject, ereject


def _reject(extended: bool):
    def run(interp: Interpreter, node: Node) -> None:
        interp.add(Reject(interp.expand(node.positional[0]), extended), cancels_keep=True)

    return run


register(Spec("reject", "command", positional=(STRING,), extension="reject", run=_reject(False)))
register(Spec("ereject", "command", positional=(STRING,), extension="ereject", run=_reject(True)))


# ---------------------------------------------------------------- vacation (RFC 5230)

#: RFC 5230 §4.1: the minimum :days we honour, and our maximum
MIN_DAYS, MAX_DAYS = 1, 90


def _vacation(interp: Interpreter, node: Node) -> None:
    tagged = node.tagged
    days = min(max(int(tagged.get("days", 7)), MIN_DAYS), MAX_DAYS)
    request = VacationRequest(
        reason=interp.expand(node.positional[0]),
        days=days,
        subject=interp.expand(tagged["subject"]) if "subject" in tagged else None,
        from_=interp.expand(tagged["from"]) if "from" in tagged else None,
        addresses=tuple(interp.expand_all(tagged.get("addresses", []))),
        mime=bool(tagged.get("mime")),
        handle=interp.expand(tagged["handle"]) if "handle" in tagged else None,
        fcc=fcc_of(interp, node),
    )
    interp.add(request, cancels_keep=False)


def fcc_of(interp: Interpreter, node: Node) -> Fcc | None:
    """RFC 8580 §3: the :fcc target of vacation / notify, or None."""
    tagged = node.tagged
    if "fcc" not in tagged:
        return None
    special_use = interp.expand(tagged["specialuse"]) if "specialuse" in tagged else None
    if special_use is not None:
        check_flag(special_use, node, SieveRuntimeError)
    flags = frozenset(flag_list(interp.expand_all(tagged.get("flags", []))))
    return Fcc(interp.expand(tagged["fcc"]), flags, bool(tagged.get("create")), special_use)


register(Spec("vacation", "command", positional=(STRING,), extension="vacation",
              tags={"days": NUMBER, "subject": STRING, "from": STRING, "addresses": STRINGS,
                    "mime": None, "handle": STRING, **FCC_TAGS},
              tag_extensions=FCC_TAG_EXTENSIONS, run=_vacation, check=check_fcc))  # fmt: skip
