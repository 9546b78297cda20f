"""QUOTA (RFC 9208): GETQUOTAROOT, GETQUOTA; SETQUOTA is the administrator's.

Each user has one quota root, ``""``, covering every folder; its resources
are STORAGE (in KiB) and MESSAGE. An unlimited resource is not listed
(RFC 9208 §5.1).
"""

from __future__ import annotations

from mailtool.mra.imap.session import AUTH, Done, Session, command, no, ok
from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap.responses import Quota, QuotaRoot

ROOT = ""


def _quota(s: Session) -> Quota:
    assert s.mail is not None
    q = s.mail.quota()
    res = []
    if q.storage_limit_kb is not None:
        res.append(("STORAGE", q.storage_used_kb, q.storage_limit_kb))
    if q.messages_limit is not None:
        res.append(("MESSAGE", q.messages_used, q.messages_limit))
    return Quota(ROOT, tuple(res))


@command("GETQUOTAROOT", states=AUTH)
async def getquotaroot(s: Session, cmd: c.MailboxCommand) -> Done:
    assert s.mail is not None
    if not s.mail.exists(cmd.mailbox):
        raise no("Mailbox does not exist", "NONEXISTENT")
    s.send(QuotaRoot(cmd.mailbox, (ROOT,)))
    s.send(_quota(s))
    return ok("GETQUOTAROOT completed")


@command("GETQUOTA", states=AUTH)
async def getquota(s: Session, cmd: c.GetQuota) -> Done:
    if cmd.root != ROOT:
        raise no("No such quota root", "NONEXISTENT")
    s.send(_quota(s))
    return ok("GETQUOTA completed")


@command("SETQUOTA", states=AUTH)
async def setquota(s: Session, cmd: c.SetQuota) -> Done:
    # RFC 9208 §4.2: users may not raise their own limits
    raise no("Quotas are set by the administrator (mailtool user quota)", "NOPERM")


__all__ = ["getquota", "getquotaroot", "setquota"]
