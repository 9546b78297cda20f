"""ImapClient against a real server; results checked with imaplib."""

from __future__ import annotations

import asyncio

import pytest

from mailtool.client.account import Endpoint
from mailtool.client.imap import open_client
from mailtool.client.imap_transport import ConnectionLost
from mailtool.errors import AuthError
from tests.tui.pilot import message
from tests.tui.servers import PASSWORD, USER


def client_for(server):
    return open_client(Endpoint("127.0.0.1", server.imap_port, "none"), USER, PASSWORD)


def test_folders_append_fetch_move_and_fallback(mail_server):
    async def scenario() -> None:
        c = await client_for(mail_server)
        try:
            assert "INBOX" in [f.name for f in await c.list_folders()]
            sent = await c.special_folder("\\Sent")  # created when the server has none
            assert sent in [f.name for f in await c.list_folders()]
            uid = await c.append("INBOX", message("Hi * (there"), flags=("\\Flagged",))
            await c.select("INBOX")
            uids = await c.search("ALL")
            assert uid in (uids if uid else [uids[-1]])
            [env] = await c.fetch_envelopes(uids)
            assert env.subject == "Hi * (there" and env.flagged
            assert b"hello" in await c.fetch_message(env.uid, peek=True)
            mapping = await c.move([env.uid], sent)
            assert await c.search("ALL") == []
            # without MOVE: COPY + \Deleted + UID EXPUNGE, same outcome
            await c.select(sent)
            moved = list(mapping.values()) or await c.search("ALL")
            c.transport.protocol.capabilities.discard("MOVE")
            await c.move(moved, "INBOX")
            assert await c.search("ALL") == []
        finally:
            await c.close()

    asyncio.run(scenario())
    check = mail_server.check()
    check.select("INBOX")
    assert len(check.uid("SEARCH", "ALL")[1][0].split()) == 1


def test_wrong_password_is_an_auth_error(mail_server):
    async def scenario() -> None:
        with pytest.raises(AuthError):
            await open_client(Endpoint("127.0.0.1", mail_server.imap_port, "none"), USER, "no")

    asyncio.run(scenario())


def test_dropped_connection_fails_commands_instead_of_hanging(mail_server):
    async def scenario() -> None:
        c = await client_for(mail_server)
        await c.select("INBOX")
        mail_server.drop_connections()
        with pytest.raises(ConnectionLost):
            for _ in range(100):  # the drop reaches us at some point; never a hang
                await c.noop()
                await asyncio.sleep(0.05)
        await c.close()

    asyncio.run(scenario())


def test_close_during_idle_ends_idle_and_logs_out(mail_server):
    async def scenario() -> None:
        c = await client_for(mail_server)
        await c.select("INBOX", readonly=True)
        imap = c.transport.imap
        await imap.idle_start(timeout=60)
        assert imap.has_pending_idle()
        await c.close()  # DONE first: a LOGOUT queued behind the IDLE would time out
        assert c.transport.logged_out

    asyncio.run(scenario())
