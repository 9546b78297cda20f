"""sendpath.send over a shared MailSession: IMAP steps are its actions, SMTP is not."""

from __future__ import annotations

import asyncio

from mailtool.client import sendpath
from mailtool.client.account import load_accounts
from mailtool.client.compose import Draft, build
from mailtool.client.session import MailSession
from mailtool.config import load
from tests.tui.servers import OTHER, PASSWORD


def test_send_files_through_session_actions_and_submits_outside_them(mail_server,
                                                                      account_config,
                                                                      monkeypatch):
    [account] = load_accounts(load(account_config))
    session = MailSession(account, PASSWORD)
    during_smtp: list[tuple[bool, int]] = []
    real_submit = sendpath.submit

    async def submit(*args, **kwargs):
        # the connection is free while the message goes out: a refresh can run now
        busy = session.busy
        info = await session.call(lambda c: c.status("INBOX"))
        during_smtp.append((busy, info.exists))
        return await real_submit(*args, **kwargs)

    monkeypatch.setattr(sendpath, "submit", submit)

    async def scenario() -> tuple[sendpath.SendResult, list[str], str | None]:
        try:
            await session.call(lambda c: c.select("INBOX"))
            msg = build(Draft(from_=account.from_header, to=OTHER, subject="Via the session",
                              body="One connection, one action at a time.\n"))
            result = await sendpath.send(account, msg, call=session.call, password=PASSWORD)
            connection = session.connection
            assert connection is not None
            return result, list(connection.transport.sent), connection.selected
        finally:
            await session.close()

    result, sent, selected = asyncio.run(scenario())
    assert during_smtp == [(False, 0)]
    assert not result.warning
    appends = [c for c in sent if c.startswith("APPEND")]
    assert [a.split()[1].strip('"') for a in appends] == ["Drafts", "Sent"]
    assert selected == "INBOX"  # removing the draft selected Drafts, then came back
    assert mail_server.wait_for(OTHER, 'SUBJECT "Via the session"')
    assert mail_server.uids("Sent") and mail_server.uids("Drafts") == []


def test_send_without_imap_keeps_nothing_behind(mail_server, account_config, tmp_path):
    """No IMAP at all: the draft is a local file until 250, then gone; the warning says
    why there is no copy in Sent."""
    [account] = load_accounts(load(account_config))
    msg = build(Draft(from_=account.from_header, to=OTHER, subject="No IMAP", body="x\n"))
    result = asyncio.run(sendpath.send(account, msg, call=None, password=PASSWORD))
    assert "no IMAP connection" in result.warning
    assert list((tmp_path / "data" / "mailtool" / "drafts").glob("*.eml")) == []
    assert mail_server.wait_for(OTHER, 'SUBJECT "No IMAP"')
