"""Parse one complete IMAP command (literals inline) into a :mod:`.commands` dataclass.

RFC 9051 §9 grammar, plus RFC 3501 (CHECK, LSUB, RECENT), and the extensions
listed in :mod:`.commands`.  Errors are :class:`~.errors.ImapError` subclasses
already addressed to the command's tag.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable

from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap.dates import read_datetime
from mailtool.protocol.imap.errors import ImapError
from mailtool.protocol.imap.extension_commands import EXTENSION_PARSERS
from mailtool.protocol.imap.fetch import read_fetch_atts, read_flag, read_flag_list
from mailtool.protocol.imap.limits import DEFAULT_LIMITS, Limits
from mailtool.protocol.imap.mailbox import read_list_mailbox, read_mailbox
from mailtool.protocol.imap.search import read_search_key, read_search_program
from mailtool.protocol.imap.sequence import read_sequence_set, read_uid_set
from mailtool.protocol.imap.sort import THREAD_ALGORITHMS, read_sort_criteria
from mailtool.protocol.imap.tokenizer import Cursor, decode

UID_COMMANDS = frozenset(
    ("FETCH", "STORE", "COPY", "MOVE", "SEARCH", "EXPUNGE", "SORT", "THREAD")
)
ESEARCH_RETURN = frozenset(("MIN", "MAX", "ALL", "COUNT", "SAVE"))


def parse_command(data: bytes, *, limits: Limits = DEFAULT_LIMITS, utf8: bool = False) -> c.Command:
    """Parse ``tag SP command CRLF`` (final CRLF optional).

    ``utf8`` is true once the client enabled UTF8=ACCEPT: mailbox names are then
    UTF-8 instead of modified UTF-7 (RFC 6855 §3).
    """
    cur = Cursor(data, 0, limits)
    tag = None
    try:
        tag = cur.tag()
        cur.sp()
        name = cur.atom_upper()
        uid = False
        if name == "UID":
            cur.sp()
            name = cur.atom_upper()
            uid = True
            if name not in UID_COMMANDS:
                cur.error(f"UID {name} is not a command")
        parser = _PARSERS.get(name)
        if parser is None:
            if name in c.SIMPLE_COMMANDS:
                cmd: c.Command = c.Simple(tag, name)
            else:
                cur.error(f"unknown command {name}")
        else:
            cmd = parser(cur, tag, name, uid, utf8)
        cur.end()
        return cmd
    except ImapError as exc:
        raise exc.with_tag(tag) from None


Parser = Callable[[Cursor, str, str, bool, bool], c.Command]


def _login(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> c.Command:
    cur.sp()
    user = cur.astring_str()
    cur.sp()
    return c.Login(tag, user, cur.astring_str())


def _authenticate(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> c.Command:
    cur.sp()
    mechanism = cur.atom_upper()
    initial = None
    if cur.try_take(b" "):
        # RFC 4959 §3: initial-response = base64 / "="
        raw = cur.match(_BASE64, "base64 initial response")
        initial = b"" if raw == b"=" else _b64decode(cur, raw)
    return c.Authenticate(tag, mechanism, initial)


def _b64decode(cur: Cursor, raw: bytes) -> bytes:
    try:
        return binascii.a2b_base64(raw, strict_mode=True)
    except binascii.Error:
        cur.error("bad base64")


def _enable(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> c.Command:
    caps = []
    while cur.try_take(b" "):
        caps.append(cur.atom_upper())
        cur.count()
    if not caps:
        cur.error("ENABLE needs a capability")
    return c.Enable(tag, tuple(caps))


def _select(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> c.Command:
    cur.sp()
    mailbox = read_mailbox(cur, utf8=utf8)
    condstore = False
    qresync = None
    if cur.try_take(b" "):
        for param in cur.paren_list(_select_param, allow_empty=False):
            if param == "CONDSTORE":
                condstore = True
            else:
                qresync = param
    return c.Select(tag, mailbox, name == "EXAMINE", condstore, qresync)


def _select_param(cur: Cursor) -> object:
    word = cur.atom_upper()
    if word == "CONDSTORE":
        return word
    if word != "QRESYNC":
        cur.error(f"unknown SELECT parameter {word}")
    # RFC 7162 §3.2.5 / §7: "(" uidvalidity SP mod-sequence-value [SP known-uids]
    #                        [SP seq-match-data] ")"
    cur.sp()
    cur.expect(b"(")
    uidvalidity = cur.nz_number()
    cur.sp()
    modseq = cur.number()
    known = None
    match = None
    if cur.try_take(b" ") and cur.peek() != 0x28:
        known = read_uid_set(cur)
        cur.try_take(b" ")
    if cur.try_take(b"("):
        seqs = read_sequence_set(cur, allow_saved=False)
        cur.sp()
        match = (seqs, read_uid_set(cur))
        cur.expect(b")")
    cur.expect(b")")
    return c.Qresync(uidvalidity, modseq, known, match)


def _create(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> c.Command:
    cur.sp()
    mailbox = read_mailbox(cur, utf8=utf8)
    uses: tuple[str, ...] = ()
    if cur.try_take(b" "):
        # RFC 6154 §3: create-param = "USE" SP "(" [use-attr *(SP use-attr)] ")"
        cur.expect(b"(")
        cur.expect_ci(b"USE ")
        uses = read_flag_list(cur)
        cur.expect(b")")
    return c.Create(tag, mailbox, uses)


def _mailbox_command(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> c.Command:
    cur.sp()
    return c.MailboxCommand(tag, name, read_mailbox(cur, utf8=utf8))


def _rename(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> c.Command:
    cur.sp()
    old = read_mailbox(cur, utf8=utf8)
    cur.sp()
    return c.Rename(tag, old, read_mailbox(cur, utf8=utf8))


def _atom_list(cur: Cursor) -> tuple[str, ...]:
    return tuple(cur.paren_list(Cursor.atom_upper))


def _list(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> c.Command:
    cur.sp()
    selection: tuple[str, ...] = ()
    if name == "LIST" and cur.peek() == 0x28:  # RFC 5258 list-select-opts
        selection = _atom_list(cur)
        cur.sp()
    reference = read_mailbox(cur, utf8=utf8)
    cur.sp()
    if name == "LIST" and cur.peek() == 0x28:
        patterns = tuple(
            cur.paren_list(lambda x: read_list_mailbox(x, utf8=utf8), allow_empty=False)
        )
    else:
        patterns = (read_list_mailbox(cur, utf8=utf8),)
    return_opts: list[str] = []
    status_items = None
    has_return = False
    if name == "LIST" and cur.try_take(b" "):
        cur.expect_ci(b"RETURN ")
        has_return = True

        def option(x: Cursor) -> str:
            nonlocal status_items
            word = x.atom_upper()
            if word == "STATUS":  # RFC 5819
                x.sp()
                status_items = _atom_list(x)
            return word

        return_opts = [o for o in cur.paren_list(option) if o != "STATUS"]
    return c.List(
        tag, reference, patterns, selection, tuple(return_opts), status_items,
        lsub=name == "LSUB", has_return=has_return,
    )  # fmt: skip


def _status(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> c.Command:
    cur.sp()
    mailbox = read_mailbox(cur, utf8=utf8)
    cur.sp()
    items = tuple(cur.paren_list(Cursor.atom_upper, allow_empty=False))
    return c.Status(tag, mailbox, items)


def _append(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> c.Command:
    cur.sp()
    mailbox = read_mailbox(cur, utf8=utf8)
    cur.sp()
    flags: tuple[str, ...] = ()
    date = None
    if cur.peek() == 0x28:
        flags = read_flag_list(cur)
        cur.sp()
    if cur.peek() == 0x22:
        date = read_datetime(cur)
        cur.sp()
    if cur.try_take_ci(b"UTF8"):  # RFC 6855 §4: append-data =/ "UTF8" SP "(" literal8 ")"
        cur.sp()
        cur.expect(b"(")
        message = cur.literal(allow8=True)
        cur.expect(b")")
        return c.Append(tag, mailbox, flags, date, message, utf8=True)
    binary = cur.startswith(b"~")
    message = cur.literal(allow8=True)
    return c.Append(tag, mailbox, flags, date, message, binary)


def _expunge(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> c.Command:
    if not uid:
        return c.Expunge(tag)
    cur.sp()
    return c.Expunge(tag, read_uid_set(cur))


def _search(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> c.Command:
    cur.sp()
    return_opts = None
    if cur.try_take_ci(b"RETURN "):  # RFC 4731 §3.1
        return_opts = _atom_list(cur)
        for opt in return_opts:
            if opt not in ESEARCH_RETURN:
                cur.error(f"unknown SEARCH return option {opt}")
        cur.sp()
    charset, keys = read_search_program(cur)
    return c.Search(tag, keys, charset, return_opts, uid)


def _search_criteria(cur: Cursor) -> tuple[str, tuple]:
    """RFC 5256 §5 search-criteria = charset 1*(SP search-key): the charset is
    mandatory here and has no ``CHARSET`` keyword before it."""
    charset = cur.astring_str()
    keys = []
    while cur.try_take(b" "):
        keys.append(read_search_key(cur))
    if not keys:
        cur.error("search criteria need a key")
    return charset, tuple(keys)


def _sort(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> c.Command:
    cur.sp()
    criteria = read_sort_criteria(cur)
    cur.sp()
    charset, keys = _search_criteria(cur)
    return c.Sort(tag, criteria, charset, keys, uid)


def _thread(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> c.Command:
    cur.sp()
    algorithm = cur.atom_upper()
    if algorithm not in THREAD_ALGORITHMS:
        cur.error(f"unknown threading algorithm {algorithm}")
    cur.sp()
    charset, keys = _search_criteria(cur)
    return c.Thread(tag, algorithm, charset, keys, uid)


def _fetch(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> c.Command:
    cur.sp()
    seqs = read_sequence_set(cur)
    cur.sp()
    atts, macro = read_fetch_atts(cur)
    changedsince = None
    vanished = False
    if cur.try_take(b" "):
        for mod in cur.paren_list(_fetch_modifier, allow_empty=False):
            if mod == "VANISHED":
                vanished = True
            else:
                changedsince = mod
        # RFC 7162 §3.2.6: VANISHED only with UID FETCH and CHANGEDSINCE
        if vanished and (not uid or changedsince is None):
            cur.error("VANISHED needs UID FETCH and CHANGEDSINCE")
    return c.Fetch(tag, seqs, atts, macro, changedsince, vanished, uid)


def _fetch_modifier(cur: Cursor) -> object:
    word = cur.atom_upper()
    if word == "VANISHED":
        return word
    if word != "CHANGEDSINCE":
        cur.error(f"unknown FETCH modifier {word}")
    cur.sp()
    return cur.nz_number(2**63 - 1)


def _store(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> c.Command:
    cur.sp()
    seqs = read_sequence_set(cur)
    cur.sp()
    unchanged = None
    if cur.try_take(b"("):  # RFC 7162 §3.1.3
        cur.expect_ci(b"UNCHANGEDSINCE ")
        unchanged = cur.number()
        cur.expect(b") ")
    mode = "+" if cur.try_take(b"+") else "-" if cur.try_take(b"-") else ""
    cur.expect_ci(b"FLAGS")
    silent = cur.try_take_ci(b".SILENT")
    cur.sp()
    if cur.peek() == 0x28:
        flags = read_flag_list(cur)
    else:
        items = [read_flag(cur)]
        while cur.try_take(b" "):
            items.append(read_flag(cur))
            cur.count()
        flags = tuple(items)
    return c.Store(tag, seqs, mode, silent, flags, unchanged, uid)


def _copy(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> c.Command:
    cur.sp()
    seqs = read_sequence_set(cur)
    cur.sp()
    return c.Copy(tag, seqs, read_mailbox(cur, utf8=utf8), name == "MOVE", uid)


def _id(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> c.Command:
    cur.sp()
    if cur.try_take_ci(b"NIL"):
        return c.Id(tag, None)
    cur.expect(b"(")
    cur.enter()
    params: list[tuple[str, str | None]] = []
    while not cur.try_take(b")"):
        if params:
            cur.sp()
        key = cur.string_str()
        cur.sp()
        value = cur.nstring()
        params.append((key, None if value is None else decode(value)))
        cur.count()
    cur.leave()
    return c.Id(tag, tuple(params))


def _getquota(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> c.Command:
    cur.sp()
    return c.GetQuota(tag, cur.astring_str())


def _setquota(cur: Cursor, tag: str, name: str, uid: bool, utf8: bool) -> c.Command:
    cur.sp()
    root = cur.astring_str()
    cur.sp()

    def resource(x: Cursor) -> tuple[str, int]:
        res = x.atom_upper()
        x.sp()
        return res, x.number()

    return c.SetQuota(tag, root, tuple(cur.paren_list(resource)))


_BASE64 = re.compile(rb"[A-Za-z0-9+/]+={0,2}|=")

_PARSERS: dict[str, Parser] = {
    "LOGIN": _login,
    "AUTHENTICATE": _authenticate,
    "ENABLE": _enable,
    "SELECT": _select,
    "EXAMINE": _select,
    "CREATE": _create,
    "DELETE": _mailbox_command,
    "SUBSCRIBE": _mailbox_command,
    "UNSUBSCRIBE": _mailbox_command,
    "GETQUOTAROOT": _mailbox_command,
    "RENAME": _rename,
    "LIST": _list,
    "LSUB": _list,
    "STATUS": _status,
    "APPEND": _append,
    "EXPUNGE": _expunge,
    "SEARCH": _search,
    "SORT": _sort,
    "THREAD": _thread,
    "FETCH": _fetch,
    "STORE": _store,
    "COPY": _copy,
    "MOVE": _copy,
    "ID": _id,
    "GETQUOTA": _getquota,
    "SETQUOTA": _setquota,
    **EXTENSION_PARSERS,  # COMPRESS, NOTIFY, GETMETADATA, SETMETADATA
}

__all__ = ["parse_command"]
