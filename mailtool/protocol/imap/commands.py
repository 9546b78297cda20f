"""IMAP client commands as frozen dataclasses (RFC 9051 §6, RFC 3501 §6 and the
extensions IDLE, UIDPLUS, MOVE, NAMESPACE, ID, ENABLE, SPECIAL-USE, CONDSTORE,
QRESYNC, UNSELECT, ESEARCH, LIST-EXTENDED, LIST-STATUS, QUOTA, SASL-IR, BINARY, SORT and
THREAD).

One class per command or family; every one has ``tag`` and, where the UID
prefix applies, ``uid``.  Mailbox names are Unicode (the parser decodes modified
UTF-7, or UTF-8 under UTF8=ACCEPT); ``INBOX`` is normalised to upper case.
:func:`~.command_parser.parse_command` builds them, :func:`~.command_formatter.format_command`
writes them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailtool.protocol.imap.fetch import FetchAttr
from mailtool.protocol.imap.search import SearchKey
from mailtool.protocol.imap.sequence import SequenceSet
from mailtool.protocol.imap.sort import SortCriterion

#: placeholder default sequence set (dataclass fields after ``tag`` need defaults)
FIRST = SequenceSet(((1, 1),))

#: commands without arguments (RFC 9051 §6.1, §6.2.1, §6.3.10, §6.4.1-2 + RFC 3501
#: CHECK, RFC 3691 UNSELECT, RFC 2177 IDLE, RFC 2342 NAMESPACE)
SIMPLE_COMMANDS = frozenset(
    ["CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "CHECK", "CLOSE", "UNSELECT", "IDLE", "NAMESPACE"]
)
#: commands taking one mailbox (GETQUOTAROOT: RFC 9208 §4.3)
MAILBOX_COMMANDS = frozenset(["DELETE", "SUBSCRIBE", "UNSUBSCRIBE", "GETQUOTAROOT"])


@dataclass(frozen=True)
class Command:
    tag: str

    @property
    def name(self) -> str:
        return type(self).__name__.upper()


@dataclass(frozen=True)
class Simple(Command):
    """CAPABILITY, NOOP, LOGOUT, STARTTLS, CHECK, CLOSE, UNSELECT, IDLE, NAMESPACE."""

    command: str = "NOOP"

    @property
    def name(self) -> str:
        return self.command


@dataclass(frozen=True)
class Login(Command):
    username: str = ""
    password: str = ""


@dataclass(frozen=True)
class Authenticate(Command):
    """RFC 9051 §6.2.2; ``initial_response`` is the decoded SASL-IR (RFC 4959):
    ``None`` when absent, ``b""`` for ``=``."""

    mechanism: str = ""
    initial_response: bytes | None = None


@dataclass(frozen=True)
class Enable(Command):
    capabilities: tuple[str, ...] = ()


@dataclass(frozen=True)
class Qresync:
    """RFC 7162 §3.2.5: (QRESYNC (uidvalidity modseq [known-uids [(seqs uids)]]))."""

    uidvalidity: int
    modseq: int
    known_uids: SequenceSet | None = None
    seq_match: tuple[SequenceSet, SequenceSet] | None = None


@dataclass(frozen=True)
class Select(Command):
    """SELECT, or EXAMINE when ``readonly``; CONDSTORE/QRESYNC parameters."""

    mailbox: str = "INBOX"
    readonly: bool = False
    condstore: bool = False
    qresync: Qresync | None = None

    @property
    def name(self) -> str:
        return "EXAMINE" if self.readonly else "SELECT"


@dataclass(frozen=True)
class Create(Command):
    """RFC 9051 §6.3.4; ``special_use`` from ``(USE (\\Sent))`` (RFC 6154 §3)."""

    mailbox: str = ""
    special_use: tuple[str, ...] = ()


@dataclass(frozen=True)
class MailboxCommand(Command):
    """DELETE, SUBSCRIBE, UNSUBSCRIBE, GETQUOTAROOT: a command and a mailbox."""

    command: str = "DELETE"
    mailbox: str = ""

    @property
    def name(self) -> str:
        return self.command


@dataclass(frozen=True)
class Rename(Command):
    old: str = ""
    new: str = ""


@dataclass(frozen=True)
class List(Command):
    """LIST (RFC 9051 §6.3.9 with LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819) or LSUB.

    ``patterns`` keep their wildcards; ``status_items`` are the items of
    ``RETURN (STATUS (...))``; ``return_opts`` the other return options.
    """

    reference: str = ""
    patterns: tuple[str, ...] = ("*",)
    selection: tuple[str, ...] = ()
    return_opts: tuple[str, ...] = ()
    status_items: tuple[str, ...] | None = None
    lsub: bool = False
    #: whether the client wrote "RETURN (...)" at all (even empty), for round trips
    has_return: bool = False

    @property
    def name(self) -> str:
        return "LSUB" if self.lsub else "LIST"


@dataclass(frozen=True)
class Status(Command):
    mailbox: str = ""
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class Append(Command):
    """RFC 9051 §6.3.12; ``binary`` is a BINARY literal8 ``~{n}`` (RFC 3516 §4.4),
    ``utf8`` the UTF8 data extension ``UTF8 (~{n})`` (RFC 6855 §4: 8-bit headers)."""

    mailbox: str = ""
    flags: tuple[str, ...] = ()
    internal_date: dt.datetime | None = None
    message: bytes = b""
    binary: bool = False
    utf8: bool = False
    #: the size of a message too big to hold (``CommandReader(spool_above=...)``):
    #: its bytes came as :class:`~.command_reader.LiteralData` events, ``message`` is empty
    spooled: int | None = None


@dataclass(frozen=True)
class Expunge(Command):
    """EXPUNGE, or UID EXPUNGE set (RFC 4315 §2.1) when ``uids`` is given."""

    uids: SequenceSet | None = None

    @property
    def uid(self) -> bool:
        return self.uids is not None


@dataclass(frozen=True)
class Search(Command):
    """[UID] SEARCH [RETURN (...)] [CHARSET c] keys (RFC 9051 §6.4.4, RFC 4731/5182).

    ``return_opts`` is ``None`` without RETURN (a plain SEARCH answer, RFC 3501)
    and a tuple (possibly empty, meaning ALL) with it.
    """

    keys: tuple[SearchKey, ...] = ()
    charset: str | None = None
    return_opts: tuple[str, ...] | None = None
    uid: bool = False


@dataclass(frozen=True)
class Sort(Command):
    """[UID] SORT (criteria) charset keys (RFC 5256 §BASE.6.4.SORT, RFC 5957)."""

    criteria: tuple[SortCriterion, ...] = ()
    charset: str = "UTF-8"
    keys: tuple[SearchKey, ...] = ()
    uid: bool = False


@dataclass(frozen=True)
class Thread(Command):
    """[UID] THREAD algorithm charset keys (RFC 5256 §BASE.6.4.THREAD)."""

    algorithm: str = "REFERENCES"
    charset: str = "UTF-8"
    keys: tuple[SearchKey, ...] = ()
    uid: bool = False


@dataclass(frozen=True)
class Fetch(Command):
    """[UID] FETCH set atts [(CHANGEDSINCE n [VANISHED])] (RFC 9051 §6.4.5, RFC 7162).

    ``macro`` is ALL/FAST/FULL when the client used one; ``attributes`` are then
    its expansion.
    """

    sequence_set: SequenceSet = FIRST
    attributes: tuple[FetchAttr, ...] = ()
    macro: str | None = None
    changedsince: int | None = None
    vanished: bool = False
    uid: bool = False


@dataclass(frozen=True)
class Store(Command):
    """[UID] STORE set [(UNCHANGEDSINCE n)] [+-]FLAGS[.SILENT] flags (RFC 9051 §6.4.6).

    ``mode`` is ``"+"`` (add), ``"-"`` (remove) or ``""`` (replace).
    """

    sequence_set: SequenceSet = FIRST
    mode: str = ""
    silent: bool = False
    flags: tuple[str, ...] = ()
    unchangedsince: int | None = None
    uid: bool = False


@dataclass(frozen=True)
class Copy(Command):
    """[UID] COPY or, when ``move``, [UID] MOVE (RFC 6851) set mailbox."""

    sequence_set: SequenceSet = FIRST
    mailbox: str = ""
    move: bool = False
    uid: bool = False

    @property
    def name(self) -> str:
        return "MOVE" if self.move else "COPY"


@dataclass(frozen=True)
class Id(Command):
    """RFC 2971: ``ID NIL`` (``params is None``) or ``ID ("name" "value" ...)``."""

    params: tuple[tuple[str, str | None], ...] | None = None


@dataclass(frozen=True)
class GetQuota(Command):
    root: str = ""


@dataclass(frozen=True)
class SetQuota(Command):
    """RFC 9208 §4.2: SETQUOTA root (resource limit ...)."""

    root: str = ""
    limits: tuple[tuple[str, int], ...] = ()


__all__ = [
    "MAILBOX_COMMANDS",
    "SIMPLE_COMMANDS",
    "Append",
    "Authenticate",
    "Command",
    "Copy",
    "Create",
    "Enable",
    "Expunge",
    "Fetch",
    "GetQuota",
    "Id",
    "List",
    "Login",
    "MailboxCommand",
    "Qresync",
    "Rename",
    "Search",
    "Select",
    "SetQuota",
    "Simple",
    "Sort",
    "Status",
    "Store",
    "Thread",
]
