"""Format :mod:`.commands` dataclasses as wire bytes (the client side).

:func:`format_command` gives the whole command; :func:`format_command_chunks`
splits it after each synchronizing literal header, so the client sends a
chunk, waits for ``+``, then sends the next (RFC 9051 §7.5).  With
``nonsync=True`` (the server announced LITERAL+ / LITERAL-, RFC 7888) there is
one chunk.
"""

from __future__ import annotations

from collections.abc import Callable

from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap.dates import format_datetime
from mailtool.protocol.imap.fetch import write_fetch_attr, write_flag_list
from mailtool.protocol.imap.mailbox import write_mailbox
from mailtool.protocol.imap.search import write_search_keys
from mailtool.protocol.imap.sort import write_sort_criteria
from mailtool.protocol.imap.values import Writer


def format_command(cmd: c.Command, *, nonsync: bool = False, utf8: bool = False) -> bytes:
    """The command as wire bytes, CRLF included."""
    return _write(cmd, nonsync, utf8).getvalue()


def format_command_chunks(
    cmd: c.Command, *, nonsync: bool = False, utf8: bool = False
) -> list[bytes]:
    """The command split after each synchronizing literal (wait for ``+`` between)."""
    return _write(cmd, nonsync, utf8).chunks()


def _write(cmd: c.Command, nonsync: bool, utf8: bool) -> Writer:
    w = Writer(nonsync=nonsync, utf8=utf8)
    w.text(cmd.tag).raw(b" ")
    if getattr(cmd, "uid", False):
        w.raw(b"UID ")
    w.text(cmd.name)
    _WRITERS.get(type(cmd), _nothing)(w, cmd)
    return w.raw(b"\r\n")


def _nothing(w: Writer, cmd: c.Command) -> None:
    pass


def _atoms(w: Writer, items: tuple[str, ...]) -> None:
    w.raw(b"(").text(" ".join(items)).raw(b")")


def _login(w: Writer, cmd: c.Login) -> None:
    w.raw(b" ").astring(cmd.username).raw(b" ").astring(cmd.password)


def _authenticate(w: Writer, cmd: c.Authenticate) -> None:
    w.raw(b" ").text(cmd.mechanism)
    if cmd.initial_response is not None:
        import base64

        w.raw(b" ").raw(base64.b64encode(cmd.initial_response) or b"=")


def _enable(w: Writer, cmd: c.Enable) -> None:
    for cap in cmd.capabilities:
        w.raw(b" ").text(cap)


def _select(w: Writer, cmd: c.Select) -> None:
    w.raw(b" ")
    write_mailbox(w, cmd.mailbox)
    params: list[bytes] = []
    if cmd.condstore:
        params.append(b"CONDSTORE")
    q = cmd.qresync
    if q is not None:
        text = b"QRESYNC (%d %d" % (q.uidvalidity, q.modseq)
        if q.known_uids is not None:
            text += b" " + q.known_uids.to_wire()
        if q.seq_match is not None:
            text += b" (%s %s)" % (q.seq_match[0].to_wire(), q.seq_match[1].to_wire())
        params.append(text + b")")
    if params:
        w.raw(b" (" + b" ".join(params) + b")")


def _create(w: Writer, cmd: c.Create) -> None:
    w.raw(b" ")
    write_mailbox(w, cmd.mailbox)
    if cmd.special_use:
        w.raw(b" (USE ")
        write_flag_list(w, cmd.special_use)
        w.raw(b")")


def _mailbox_command(w: Writer, cmd: c.MailboxCommand) -> None:
    w.raw(b" ")
    write_mailbox(w, cmd.mailbox)


def _rename(w: Writer, cmd: c.Rename) -> None:
    w.raw(b" ")
    write_mailbox(w, cmd.old)
    w.raw(b" ")
    write_mailbox(w, cmd.new)


def _list(w: Writer, cmd: c.List) -> None:
    w.raw(b" ")
    if cmd.selection:
        _atoms(w, cmd.selection)
        w.raw(b" ")
    write_mailbox(w, cmd.reference)
    w.raw(b" ")
    if len(cmd.patterns) == 1:
        write_mailbox(w, cmd.patterns[0], pattern=True)
    else:
        w.raw(b"(")
        for i, p in enumerate(cmd.patterns):
            w.raw(b" " if i else b"")
            write_mailbox(w, p, pattern=True)
        w.raw(b")")
    if cmd.has_return or cmd.return_opts or cmd.status_items is not None:
        opts = " ".join(cmd.return_opts)
        if cmd.status_items is not None:
            opts = (opts + " " if opts else "") + "STATUS (" + " ".join(cmd.status_items) + ")"
        w.raw(b" RETURN (").text(opts).raw(b")")


def _status(w: Writer, cmd: c.Status) -> None:
    w.raw(b" ")
    write_mailbox(w, cmd.mailbox)
    w.raw(b" ")
    _atoms(w, cmd.items)


def _append(w: Writer, cmd: c.Append) -> None:
    w.raw(b" ")
    write_mailbox(w, cmd.mailbox)
    if cmd.flags:
        w.raw(b" ")
        write_flag_list(w, cmd.flags)
    if cmd.internal_date is not None:
        w.raw(b" ").raw(format_datetime(cmd.internal_date))
    if cmd.utf8:  # RFC 6855 §4
        w.raw(b" UTF8 (").literal(cmd.message, binary=True).raw(b")")
        return
    w.raw(b" ").literal(cmd.message, binary=cmd.binary)


def _expunge(w: Writer, cmd: c.Expunge) -> None:
    if cmd.uids is not None:
        w.raw(b" ").raw(cmd.uids.to_wire())


def _search(w: Writer, cmd: c.Search) -> None:
    if cmd.return_opts is not None:
        w.raw(b" RETURN ")
        _atoms(w, cmd.return_opts)
    if cmd.charset is not None:
        w.raw(b" CHARSET ").astring(cmd.charset)
    w.raw(b" ")
    write_search_keys(w, cmd.keys)


def _sort(w: Writer, cmd: c.Sort) -> None:
    w.raw(b" ")
    write_sort_criteria(w, cmd.criteria)
    w.raw(b" ").astring(cmd.charset).raw(b" ")
    write_search_keys(w, cmd.keys)


def _thread(w: Writer, cmd: c.Thread) -> None:
    w.raw(b" ").text(cmd.algorithm).raw(b" ").astring(cmd.charset).raw(b" ")
    write_search_keys(w, cmd.keys)


def _fetch(w: Writer, cmd: c.Fetch) -> None:
    w.raw(b" ").raw(cmd.sequence_set.to_wire()).raw(b" ")
    if cmd.macro:
        w.text(cmd.macro)
    elif len(cmd.attributes) == 1:
        write_fetch_attr(w, cmd.attributes[0])
    else:
        w.raw(b"(")
        for i, a in enumerate(cmd.attributes):
            w.raw(b" " if i else b"")
            write_fetch_attr(w, a)
        w.raw(b")")
    if cmd.changedsince is not None:
        w.raw(b" (CHANGEDSINCE %d%s)" % (cmd.changedsince, b" VANISHED" if cmd.vanished else b""))


def _store(w: Writer, cmd: c.Store) -> None:
    w.raw(b" ").raw(cmd.sequence_set.to_wire()).raw(b" ")
    if cmd.unchangedsince is not None:
        w.raw(b"(UNCHANGEDSINCE %d) " % cmd.unchangedsince)
    w.text(cmd.mode + "FLAGS" + (".SILENT" if cmd.silent else "")).raw(b" ")
    write_flag_list(w, cmd.flags)


def _copy(w: Writer, cmd: c.Copy) -> None:
    w.raw(b" ").raw(cmd.sequence_set.to_wire()).raw(b" ")
    write_mailbox(w, cmd.mailbox)


def _id(w: Writer, cmd: c.Id) -> None:
    if cmd.params is None:
        w.raw(b" NIL")
        return
    w.raw(b" (")
    for i, (key, value) in enumerate(cmd.params):
        w.raw(b" " if i else b"").string(key).raw(b" ").nstring(value)
    w.raw(b")")


def _getquota(w: Writer, cmd: c.GetQuota) -> None:
    w.raw(b" ").astring(cmd.root)


def _setquota(w: Writer, cmd: c.SetQuota) -> None:
    w.raw(b" ").astring(cmd.root).raw(b" (")
    w.text(" ".join(f"{name} {limit}" for name, limit in cmd.limits)).raw(b")")


_WRITERS: dict[type, Callable[[Writer, c.Command], None]] = {
    c.Login: _login,
    c.Authenticate: _authenticate,
    c.Enable: _enable,
    c.Select: _select,
    c.Create: _create,
    c.MailboxCommand: _mailbox_command,
    c.Rename: _rename,
    c.List: _list,
    c.Status: _status,
    c.Append: _append,
    c.Expunge: _expunge,
    c.Search: _search,
    c.Sort: _sort,
    c.Thread: _thread,
    c.Fetch: _fetch,
    c.Store: _store,
    c.Copy: _copy,
    c.Id: _id,
    c.GetQuota: _getquota,
    c.SetQuota: _setquota,
}  # type: ignore[dict-item]

__all__ = ["format_command", "format_command_chunks"]
