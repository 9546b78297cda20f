"""Resync after time away: QRESYNC (RFC 7162 §3.2.5) brings the cached list up to date.

Another client expunges and flags messages while the TUI is away (closed, or
cut off by a server restart); when it comes back, one ``SELECT ... (QRESYNC
...)`` reports what vanished and which flags changed, and the list shows both
without fetching a single envelope or flag list again. The client's own
command log (``Transport.sent``) is the protocol-level witness.
"""

from __future__ import annotations

import pytest

from tests.tui.pilot import make_app, message, until


def change_elsewhere(port: int, user_check) -> None:
    """An independent imaplib client expunges message 2 and flags message 4 of INBOX."""
    imap = user_check(port)
    imap.select("INBOX")
    uids = imap.uid("SEARCH", "ALL")[1][0].split()
    assert imap.uid("STORE", uids[1], "+FLAGS", "(\\Deleted)")[0] == "OK"
    assert imap.uid("EXPUNGE", uids[1])[0] == "OK"
    assert imap.uid("STORE", uids[3], "+FLAGS", "(\\Flagged)")[0] == "OK"
    imap.logout()


def reflects_changes(main) -> bool:
    subjects = {e.subject: e for u, _d in main.mlist.rows
                if (e := main.mlist.envelopes.get(u)) is not None}
    return (len(main.mlist.rows) == 4 and "Message 2" not in subjects
            and "Message 4" in subjects and subjects["Message 4"].flagged)


def assert_resynced_with_qresync(main) -> None:
    sent = list(main.session.connection.transport.sent)
    assert [c for c in sent if c.startswith("SELECT INBOX (QRESYNC (")], sent
    assert not [c for c in sent if "FETCH" in c], f"refetched: {sent}"


def deliver_five(mail_server) -> None:
    for i in range(1, 6):
        mail_server.deliver(message(f"Message {i}"))


async def test_reopening_resyncs_with_qresync(mail_server, account_config):
    deliver_five(mail_server)
    async with make_app(account_config).run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(pilot.app.screen.mlist.envelopes) == 5, "cached")
    change_elsewhere(mail_server.imap_port, lambda _p: mail_server.check())
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        await until(pilot, lambda: reflects_changes(main), "expunge and flag shown")
        assert main.session.connection.qresync
        assert_resynced_with_qresync(main)


@pytest.mark.parametrize("mail_server", ["mailtool"], indirect=True)
async def test_server_restart_resyncs_with_qresync_while_list_stays_stale(
        mail_server, account_config):
    import imaplib

    deliver_five(mail_server)
    server = mail_server.server  # the `mailtool serve` process
    original = dict(server.config["listen"])
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        indicator = main.query_one("#connection")
        await until(pilot, lambda: len(main.mlist.envelopes) == 5 and "idle" in indicator.text,
                    "cached, IDLE running")
        assert server.stop() == 0
        await until(pilot, lambda: "reconnecting" in indicator.text, "outage noticed")
        assert main.mlist.has_class("stale") and main.mlist.border_subtitle == "stale"
        # the server comes back where the TUI cannot reach it; another client changes INBOX
        server.config["listen"] = {**original, "imap": "127.0.0.1:0",
                                   "submission": "127.0.0.1:0"}
        server.start()
        change_elsewhere(server.port("imap"),
                         lambda p: _login(imaplib.IMAP4("127.0.0.1", p)))
        assert server.stop() == 0
        assert len(main.mlist.rows) == 5 and main.mlist.has_class("stale")  # cached list
        # back on the ports the TUI knows
        server.config["listen"] = {**original, "imap": f"127.0.0.1:{mail_server.imap_port}",
                                   "submission": f"127.0.0.1:{mail_server.smtp_port}"}
        server.start()
        await until(pilot, lambda: reflects_changes(main), "expunge and flag shown")
        await until(pilot, lambda: not main.mlist.has_class("stale"), "stale marker cleared")
        assert main.mlist.border_subtitle == ""
        assert_resynced_with_qresync(main)


def _login(imap):
    from tests.tui.servers import USER, USERS

    imap.login(USER, USERS[USER])
    return imap
