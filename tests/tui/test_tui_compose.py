"""The composer's IMAP steps are session actions: they queue, and they survive an outage.

A session action (a refresh, say) may SELECT a folder and then act on what it
selected; nothing else may use the connection in between. Saving a draft
(APPEND to Drafts, after removing the previous one) is such an action too.
"""

from __future__ import annotations

import asyncio

from tests.tui.pilot import make_app, offline, until


async def composing(pilot, subject: str):
    """Open the composer from the main screen and fill it in."""
    app = pilot.app
    await pilot.press("c")
    await until(pilot, lambda: type(app.screen).__name__ == "ComposeScreen", "composer")
    composer = app.screen
    composer.query_one("#field-to").value = "bob@example.test"
    composer.query_one("#field-subject").value = subject
    composer.query_one("#body").text = "Words worth keeping.\n"
    return composer


def bodies(server, folder: str) -> list[bytes]:
    imap = server.check()
    if imap.select(folder)[0] != "OK":  # not created yet: holds nothing
        imap.logout()
        return []
    uids = imap.uid("SEARCH", "ALL")[1][0].split()
    out = [imap.uid("FETCH", u, "(BODY.PEEK[])")[1][0][1] for u in uids]
    imap.logout()
    return out


def notified(app, text: str) -> bool:
    return any(text in str(n.message) for n in app._notifications)


async def test_saving_a_draft_waits_for_the_action_holding_the_connection(mail_server,
                                                                          account_config):
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        await until(pilot, lambda: "INBOX" in main.loaded, "INBOX listed")
        session = main.session
        sent = session.connection.transport.sent
        queued: list[object] = []
        call = session.call

        async def recording_call(action, **kw):
            queued.append(action)
            return await call(action, **kw)

        session.call = recording_call
        holding, release = asyncio.Event(), asyncio.Event()
        mark = 0

        async def refresh_like(client):
            """What a refresh does: SELECT, then (later) use what it selected."""
            nonlocal mark
            await client.select("INBOX")
            mark = len(sent)
            holding.set()
            await release.wait()
            between = list(sent)[mark:]
            await client.search("ALL")
            return between

        held = asyncio.ensure_future(session.call(refresh_like))
        await until(pilot, holding.is_set, "an action holding the connection")
        composer = await composing(pilot, "Queued draft")
        asked = len(queued)
        await pilot.press("ctrl+d")
        # either the draft went out on the held connection (the bug) or it queued
        await until(pilot, lambda: len(queued) > asked
                    or any(c.startswith("APPEND") for c in list(sent)[mark:]),
                    "the draft queued or appended")
        drafts_meanwhile = bodies(mail_server, "Drafts")
        release.set()
        between = await held
        assert drafts_meanwhile == [], "a draft was saved inside another action"
        assert between == [], "commands were sent between the action's SELECT and its use"
        await until(pilot, lambda: notified(app, "Draft saved in"), "draft saved")
        assert notified(app, "Draft saved in Drafts")
        assert app.screen is composer
        # saving again replaces the draft (remove, then append), as session actions too
        composer.query_one("#body").text = "Better words.\n"
        asked = len(queued)
        await pilot.press("ctrl+d")
        await until(pilot, lambda: [b"Better words." in b for b in bodies(mail_server, "Drafts")]
                    == [True], "the draft replaced")
        assert len(queued) >= asked + 2  # removal and APPEND each queued as an action


async def test_a_draft_is_kept_locally_when_the_server_is_unreachable(mail_server,
                                                                      account_config,
                                                                      tmp_path):
    async with offline(account_config, mail_server.imap_port) as pilot:
        app = pilot.app
        await composing(pilot, "Offline thoughts")
        await pilot.press("ctrl+d")
        await until(pilot, lambda: notified(app, "Draft saved in"), "draft saved")
    drafts = list((tmp_path / "data" / "mailtool" / "drafts").glob("*.eml"))
    assert len(drafts) == 1
    assert b"Words worth keeping." in drafts[0].read_bytes()
