"""QUOTA (RFC 9208): GETQUOTAROOT, GETQUOTA; SETQUOTA is the administrator's.

Each user with a limit has one quota root, ``""``, covering every folder; its
resources are STORAGE (in KiB) and MESSAGE. An unlimited resource is not listed
(RFC 9208 §5.1); a user without any limit has no quota root at all (the grammar of
§9 has no empty resource list), as with Dovecot.
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
    quota = _quota(s)
    if not quota.resources:
        # RFC 9208 §9: a QUOTA response lists at least one resource, so a user without
        # limits has no quota root: ``* QUOTAROOT INBOX`` alone (Dovecot sends nothing)
        s.send(QuotaRoot(cmd.mailbox, ()))
        return ok("GETQUOTAROOT completed")
    s.send(QuotaRoot(cmd.mailbox, (ROOT,)))
    s.send(quota)
    return ok("GETQUOTAROOT completed")


@command("GETQUOTA", states=AUTH)
async def getquota(s: Session, cmd: c.GetQuota) -> Done:
    quota = _quota(s)
    if cmd.root != ROOT or not quota.resources:
        # no limits, no root (RFC 9208 §9: no empty resource list); a plain NO, as
        # Dovecot's (RFC 5530 NONEXISTENT names mailboxes, not quota roots)
        raise no("No such quota root")
    s.send(quota)
    return ok("GETQUOTA completed")


@command("SETQUOTA", states=AUTH)
async def setquota(s: Session, cmd: c.SetQuota) -> Done:
    # RFC 9208 §4.2: users may not raise their own limits
    raise no("Quotas are set by the administrator (mailtool user quota)", "NOPERM")


__all__ = ["getquota", "getquotaroot", "setquota"]
