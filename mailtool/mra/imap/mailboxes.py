"""Folder commands: LIST / LSUB (with LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819,
SPECIAL-USE RFC 6154, CHILDREN RFC 3348), CREATE (CREATE-SPECIAL-USE), DELETE,
RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS, NAMESPACE (RFC 2342).

The hierarchy separator is ``/``; the store refuses names that could leave the
user's Maildir (``..``, empty components, control characters). Wildcards are
refused here because a folder named ``*`` could never be LISTed sensibly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mailtool.mra.imap.backend import SPECIAL_USES, FolderInfo
from mailtool.mra.imap.id_enable import enable_condstore
from mailtool.mra.imap.session import AUTH, Done, Session, bad, command, no, ok
from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap.responses import ListItem, MailboxStatus, Namespace
from mailtool.protocol.imap.values import Value

SEP = "/"
#: STATUS items we answer (RFC 9051 §6.3.11, RFC 7162 HIGHESTMODSEQ, RFC 8438 SIZE)
STATUS_ITEMS = frozenset(
    ("MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE", "RECENT",
     "HIGHESTMODSEQ", "APPENDLIMIT")
)  # fmt: skip


def check_name(name: str) -> str:
    """A name a client may create: no wildcards, no trailing separator games."""
    if name.endswith(SEP):
        name = name.rstrip(SEP)  # RFC 9051 §6.3.4: the separator only marks intent
    if not name or "*" in name or "%" in name:
        raise no("Invalid mailbox name", "CANNOT")
    return name


def pattern_regex(reference: str, pattern: str) -> re.Pattern[str]:
    """RFC 9051 §6.3.9: ``*`` matches anything, ``%`` anything but the separator."""
    full = reference + pattern if not pattern.startswith(SEP) or not reference else pattern
    out = []
    for ch in full:
        out.append(".*" if ch == "*" else "[^/]*" if ch == "%" else re.escape(ch))
    regex = "".join(out)
    # INBOX is case-insensitive, as the first component only
    if full[:5].upper() == "INBOX":
        regex = "(?i:INBOX)" + "".join(out[5:])
    return re.compile(regex + r"\Z", re.DOTALL)


def _children(names: set[str]) -> set[str]:
    """Names that have at least one child (existing or not)."""
    parents = set()
    for n in names:
        parts = n.split(SEP)
        for i in range(1, len(parts)):
            parents.add(SEP.join(parts[:i]))
    return parents


@command("LIST", "LSUB", states=AUTH)
async def list_(s: Session, cmd: c.List) -> Done:
    assert s.mail is not None
    sel = set(cmd.selection)
    ret = set(cmd.return_opts)
    if sel - {"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"}:
        raise bad("Unknown LIST selection option")
    if ret - {"SUBSCRIBED", "CHILDREN", "SPECIAL-USE"}:
        raise bad("Unknown LIST return option")  # RFC 5258 §3: BAD, as Dovecot answers
    if "RECURSIVEMATCH" in sel and not sel & {"SUBSCRIBED", "SPECIAL-USE"}:
        raise bad("RECURSIVEMATCH needs another selection option")  # RFC 5258 §3
    if not cmd.lsub and cmd.patterns == ("",):
        # RFC 9051 §6.3.9: the hierarchy delimiter and root
        s.send(ListItem(("\\Noselect",), SEP, ""))
        return ok("LIST completed")
    folders = {f.name: f for f in s.mail.folders()}
    subscribed = s.mail.subscriptions()
    parents = _children(set(folders))
    sub_parents = _children(subscribed)
    regexes = [pattern_regex(cmd.reference, p) for p in cmd.patterns]
    percent = any("%" in p for p in cmd.patterns)
    subscribed_only = cmd.lsub or "SUBSCRIBED" in sel
    candidates: Iterable[str] = (
        sorted(subscribed) if subscribed_only else [*folders, *sorted(parents - set(folders))]
    )
    if "RECURSIVEMATCH" in sel or (cmd.lsub and percent):
        # RFC 5258 §3.5: a name the pattern matches whose children meet the selection is
        # returned with CHILDINFO, even when it does not meet it itself; RFC 3501 §6.3.9:
        # LSUB "%" returns an unsubscribed parent of subscribed names as \Noselect
        candidates = [*candidates, *sorted(sub_parents - subscribed)]
    seen: set[str] = set()
    for name in candidates:
        if name in seen or not any(r.match(name) for r in regexes):
            continue
        seen.add(name)
        info = folders.get(name)
        if "SPECIAL-USE" in sel and not (info and info.special_use):
            continue
        if info is None and not subscribed_only and not percent:
            continue  # a parent that exists only through its children: "%" matches only
        attrs = _attributes(name, info, parents, subscribed, ret, cmd.lsub, sel)
        extended: tuple[tuple[str, Value], ...] = ()
        if "RECURSIVEMATCH" in sel and name in sub_parents:
            extended = (("CHILDINFO", ["SUBSCRIBED"]),)  # RFC 5258 §3.5, example 6
        s.send(ListItem(tuple(attrs), SEP, name, extended, lsub=cmd.lsub))
        if cmd.status_items is not None and info is not None:
            _send_status(s, name, cmd.status_items)
    return ok(f"{cmd.name} completed")


def _attributes(
    name: str,
    info: FolderInfo | None,
    parents: set[str],
    subscribed: set[str],
    ret: set[str],
    lsub: bool,
    sel: set[str],
) -> list[str]:
    attrs: list[str] = []
    if lsub and name not in subscribed:
        attrs.append("\\Noselect")
    elif info is None and not lsub:
        attrs.append("\\NonExistent")
    if not lsub:
        attrs.append("\\HasChildren" if name in parents else "\\HasNoChildren")
        if info is not None:
            attrs += [u for u in info.special_use if u in SPECIAL_USES]
    if (ret & {"SUBSCRIBED"} or "SUBSCRIBED" in sel) and name in subscribed:
        attrs.append("\\Subscribed")
    return attrs


def _send_status(s: Session, name: str, items: Iterable[str]) -> None:
    assert s.mail is not None
    st = s.mail.status(name)
    values = {
        "MESSAGES": st.messages,
        "UIDNEXT": st.uidnext,
        "UIDVALIDITY": st.uidvalidity,
        "UNSEEN": st.unseen,
        "DELETED": st.deleted,
        "SIZE": st.size,
        "RECENT": st.recent,
        "HIGHESTMODSEQ": st.highestmodseq,
        "APPENDLIMIT": s.config.limits.max_message_size,
    }
    if _is_selected(s, name):
        # this session holds the mailbox's \Recent (RFC 3501 §2.3.2), as Dovecot counts
        values["RECENT"] = len(s.selected.recent)  # type: ignore[union-attr]
    s.send(MailboxStatus(name, tuple((i, values[i]) for i in items)))
    if "HIGHESTMODSEQ" in items:
        enable_condstore(s)  # RFC 7162 §3.1: a CONDSTORE-enabling command


@command("STATUS", states=AUTH)
async def status(s: Session, cmd: c.Status) -> Done:
    assert s.mail is not None
    unknown = [i for i in cmd.items if i not in STATUS_ITEMS]
    if unknown:
        raise bad(f"Unknown STATUS item {unknown[0]}")
    if not s.mail.exists(cmd.mailbox):
        raise no("Mailbox does not exist", "NONEXISTENT")
    _send_status(s, cmd.mailbox, cmd.items)
    if _is_selected(s, cmd.mailbox):
        # RFC 9051 §6.3.11: STATUS SHOULD NOT be used on the selected mailbox; RFC 5530
        return ok("STATUS on the selected mailbox", "CLIENTBUG")
    return ok("STATUS completed")


def _is_selected(s: Session, name: str) -> bool:
    box = s.selected
    if box is None:
        return False
    return box.name == name or (box.name.upper() == "INBOX" and name.upper() == "INBOX")


@command("CREATE", states=AUTH)
async def create(s: Session, cmd: c.Create) -> Done:
    assert s.mail is not None
    name = check_name(cmd.mailbox)
    uses = tuple(cmd.special_use)
    for use in uses:
        if use not in SPECIAL_USES:
            raise no(f"Unknown special use {use}", "USEATTR")  # RFC 6154 §3
    if name.upper() == "INBOX" or s.mail.exists(name):
        raise no("Mailbox exists already", "ALREADYEXISTS")
    s.mail.create(name, uses)
    return ok("CREATE completed")


@command("DELETE", states=AUTH)
async def delete(s: Session, cmd: c.MailboxCommand) -> Done:
    assert s.mail is not None
    name = cmd.mailbox
    if name == "INBOX":
        raise no("INBOX cannot be deleted", "CANNOT")
    if not s.mail.exists(name):
        raise no("Mailbox does not exist", "NONEXISTENT")
    if any(f.name.startswith(name + SEP) for f in s.mail.folders()):
        raise no("Mailbox has children; delete them first", "INUSE")
    if s.selected is not None and s.selected.name == name:
        s.close_mailbox()
    s.mail.delete(name)
    return ok("DELETE completed")


@command("RENAME", states=AUTH)
async def rename(s: Session, cmd: c.Rename) -> Done:
    assert s.mail is not None
    new = check_name(cmd.new)
    if not s.mail.exists(cmd.old):
        raise no("Mailbox does not exist", "NONEXISTENT")
    if new.upper() == "INBOX" or s.mail.exists(new):
        raise no("Mailbox exists already", "ALREADYEXISTS")
    s.mail.rename(cmd.old, new)
    return ok("RENAME completed")


@command("SUBSCRIBE", "UNSUBSCRIBE", states=AUTH)
async def subscribe(s: Session, cmd: c.MailboxCommand) -> Done:
    assert s.mail is not None
    on = cmd.command == "SUBSCRIBE"
    if on and not s.mail.exists(cmd.mailbox):
        raise no("Mailbox does not exist", "NONEXISTENT")
    s.mail.subscribe(cmd.mailbox, on)
    return ok(f"{cmd.command} completed")


@command("NAMESPACE", states=AUTH)
async def namespace(s: Session, cmd: c.Simple) -> Done:
    # RFC 2342: one personal namespace, no prefix, "/" separator
    s.send(Namespace(personal=(("", SEP),)))
    return ok("NAMESPACE completed")


__all__ = ["check_name", "pattern_regex"]
