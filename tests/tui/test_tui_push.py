"""Push, reconnect, offline start-up from the cache, palette and key remapping."""

from __future__ import annotations

from tests.tui.pilot import make_app, message, until


async def test_idle_push_shows_new_mail(mail_server, account_config):
    mail_server.deliver(message("Old"))
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        await until(pilot, lambda: len(main.mlist.rows) == 1, "1 row")
        indicator = main.query_one("#connection")
        await until(pilot, lambda: "idle" in indicator.text, "IDLE running")
        notes_before = len(app._notifications)
        mail_server.deliver(message("Fresh news"))
        await until(pilot, lambda: len(main.mlist.rows) == 2, "pushed message listed")
        await until(pilot, lambda: len(app._notifications) > notes_before, "notification")
        assert any("Fresh news" in str(n.message) for n in app._notifications)


async def test_reconnects_after_the_server_drops_us(mail_server, account_config):
    mail_server.deliver(message("Before"))
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        indicator = main.query_one("#connection")
        await until(pilot, lambda: "idle" in indicator.text, "IDLE running")
        mail_server.drop_connections()
        await until(pilot, lambda: "reconnecting" in indicator.text or
                    main.mlist.has_class("stale"), "drop noticed")
        assert len(main.mlist.rows) == 1  # the cached list stays on screen
        await until(pilot, lambda: "idle" in indicator.text, "back in IDLE")
        mail_server.deliver(message("After"))
        await until(pilot, lambda: len(main.mlist.rows) == 2, "new mail after reconnect")
        # the main connection was dropped too: an action reconnects transparently
        await pilot.press("enter")
        await until(pilot, lambda: main.reader.message is not None, "message read")


async def test_start_up_from_cache_when_offline(mail_server, account_config):
    for s in ("Cached one", "Cached two"):
        mail_server.deliver(message(s))
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        await until(pilot, lambda: len(main.mlist.envelopes) == 2, "envelopes cached")
    # now the server is unreachable: point the account at a closed port
    text = account_config.read_text().replace(f":{mail_server.imap_port}", ":1")
    account_config.write_text(text)
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        await until(pilot, lambda: "offline" in main.query_one("#connection").text, "offline")
        assert len(main.mlist.rows) == 2
        assert {e.subject for e in main.mlist.envelopes.values()} == {"Cached one", "Cached two"}
        assert "INBOX" in main.folder_tree.names()


async def test_palette_lists_actions_with_keys(mail_server, account_config):
    from mailtool.tui.commands import ActionCommands

    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.screen.folder_names, "connected")
        provider = ActionCommands(app.screen)
        labels = [label for label, _id, _w in provider._entries()]
        assert "Reply  [r]" in labels
        assert "Delete (to Trash)  [d]" in labels
        assert "Quit  [q]" in labels
        await pilot.press("ctrl+p")
        await until(pilot, lambda: type(app.screen).__name__ == "CommandPalette", "palette")


async def test_keys_can_be_remapped(mail_server, account_config):
    mail_server.deliver(message("Remapped"))
    account_config.write_text(account_config.read_text() + '\n[tui]\nkeys = ["delete=x"]\n')
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        await until(pilot, lambda: len(main.mlist.envelopes) == 1, "1 row")
        await pilot.press("d")  # no longer bound to delete
        await pilot.pause(0.2)
        assert mail_server.uids("INBOX")
        await pilot.press("x")
        await until(pilot, lambda: mail_server.uids("INBOX") == [], "deleted with x")


async def test_flags_changed_elsewhere_show_after_reopening(mail_server, account_config):
    """Resync on open: CONDSTORE CHANGEDSINCE when offered, else a flags refetch."""
    mail_server.deliver(message("Changed elsewhere"))
    async with make_app(account_config).run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(pilot.app.screen.mlist.envelopes) == 1, "cached")
    other = mail_server.check()
    other.select("INBOX")
    other.uid("STORE", "1:*", "+FLAGS", "(\\Flagged)")
    other.logout()
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        await until(pilot, lambda: any(e.flagged for e in main.mlist.envelopes.values()),
                    "flag from the other client")
