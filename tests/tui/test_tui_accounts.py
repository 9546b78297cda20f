"""Several accounts at once: each is connected and pushing while another is shown.

Two users of the same server as two [accounts.NAME]; the switcher (``A``)
changes which one is on screen; the other keeps its IDLE connection and its
new mail arrives as a notification naming the account.
"""

from __future__ import annotations

from tests.tui.pilot import make_app, message, until
from tests.tui.servers import OTHER, USER


def subjects(main) -> set[str]:
    return {e.subject for e in main.mlist.envelopes.values()}


async def switch_to(pilot, name: str) -> None:
    app = pilot.app
    await pilot.press("A")
    await until(pilot, lambda: type(app.screen).__name__ == "PickerScreen", "account picker")
    picker = app.screen
    await until(pilot, lambda: picker.query("#choices"), "accounts listed")
    picker.query_one("#choices").highlighted = [v for _l, v in picker.choices].index(name)
    await pilot.press("enter")
    await until(pilot, lambda: getattr(app.screen, "account", None) is app.accounts[name],
                f"{name} shown")


async def test_two_accounts_connected_and_pushing(mail_server, account_config):
    account_config.write_text(mail_server.account_toml("alice", USER)
                              + mail_server.account_toml("bob", OTHER))
    mail_server.deliver(message("For Alice"), user=USER)
    mail_server.deliver(message("For Bob", to=OTHER), user=OTHER)
    app = make_app(account_config)
    async with app.run_test(size=(140, 40)) as pilot:
        alice = app.screen
        assert alice.account.name == "alice"
        bob = app.main_screens["bob"]
        indicator = alice.query_one("#connection")
        await until(pilot, lambda: "alice: idle" in indicator.text and
                    "bob: idle" in indicator.text, "both accounts in IDLE")
        await until(pilot, lambda: subjects(alice) == {"For Alice"}, "alice's INBOX")
        alice_connection = alice.session.connection

        await switch_to(pilot, "bob")
        assert app.screen is bob
        await until(pilot, lambda: subjects(bob) == {"For Bob"}, "bob's INBOX")
        assert "alice: idle" in bob.query_one("#connection").text

        # alice is not shown, but still pushed: her list follows and a notification says so
        mail_server.deliver(message("Again for Alice"), user=USER)
        await until(pilot, lambda: any("Again for Alice" in str(n.message) and
                                       "alice" in str(n.title) for n in app._notifications),
                    "notification for the account not shown")
        await until(pilot, lambda: "Again for Alice" in subjects(alice), "alice's list updated")

        await switch_to(pilot, "alice")
        assert app.screen is alice
        assert alice.session.connection is alice_connection  # never disconnected
        assert subjects(alice) == {"For Alice", "Again for Alice"}
