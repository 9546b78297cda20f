"""Issue 21 point 19: offline reading from the body cache, and local drafts sent later.

The body cache is bounded (``[tui] body_cache_mb``, least recently read first out)
and private (0600 files in a 0700 directory); a message opened once reads again
with the server out of reach, and the reader says it is the cached copy. A
draft written while IMAP was down (a local file) is offered for sending once the
account is connected: sent, it arrives and the file is gone; kept, it stays.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mailtool.client.bodycache import BodyCache, local_drafts
from mailtool.client.sendpath import local_drafts_dir
from tests.tui.pilot import make_app, message, offline, open_only_message, until
from tests.tui.servers import OTHER, USER
from tests.tui.test_tui_compose import composing, notified

# -- the cache itself --------------------------------------------------------------------


def test_body_cache_is_private_bounded_lru_and_keyed_by_uidvalidity(tmp_path: Path):
    cache = BodyCache("alice", max_bytes=3000, directory=tmp_path)
    for uid in (1, 2, 3):
        cache.put("INBOX", 7, uid, bytes([uid]) * 1000)
    files = list(cache.directory.iterdir())
    assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}
    assert stat.S_IMODE(cache.directory.stat().st_mode) == 0o700
    old = cache.directory.stat().st_mtime - 100
    for f in files:
        os.utime(f, (old, old))
    assert cache.get("INBOX", 7, 1) == b"\x01" * 1000  # read: now the most recent
    cache.put("INBOX", 7, 4, b"\x04" * 1000)  # over the cap: the least recently read goes
    assert cache.get("INBOX", 7, 2) is None
    assert cache.get("INBOX", 7, 1) is not None and cache.get("INBOX", 7, 4) is not None
    assert cache.total() <= 3000
    # RFC 9051 §2.3.1.1: another UIDVALIDITY, another message
    assert cache.get("INBOX", 8, 1) is None
    cache.put("INBOX", 7, 5, b"x" * 5000)  # bigger than the whole cap: not kept
    assert cache.get("INBOX", 7, 5) is None
    off = BodyCache("bob", max_bytes=0, directory=tmp_path)
    off.put("INBOX", 1, 1, b"x")
    assert off.get("INBOX", 1, 1) is None


# -- in the TUI ----------------------------------------------------------------------------


async def test_a_message_read_once_reads_again_offline_from_the_cache(mail_server,
                                                                       account_config):
    mail_server.deliver(message("Cached one", "Words kept for the train.\n"))
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = await open_only_message(pilot, "Words kept for the train.")
        assert "cached copy" not in main.reader.message_status.text
    async with offline(account_config, mail_server.imap_port) as pilot:
        main = pilot.app.screen
        assert main.session is None
        await open_only_message(pilot, "Words kept for the train.")
        assert "cached copy" in main.reader.message_status.text
        assert main.reader.message_status.display


async def test_a_message_never_opened_is_not_in_the_cache(mail_server, account_config):
    mail_server.deliver(message("Never read", "Unseen words.\n"))
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        await until(pilot, lambda: len(main.mlist.rows) == 1, "1 row")
    async with offline(account_config, mail_server.imap_port) as pilot:
        main = pilot.app.screen
        said: list[str] = []  # every status: a reconnect attempt's may replace ours at once
        shown = main.status
        main.status = lambda text: (said.append(text), shown(text))[1]  # type: ignore[method-assign]
        await until(pilot, lambda: len(main.mlist.rows) == 1, "1 cached row")
        await pilot.press("enter")
        await until(pilot, lambda: any("no copy is cached" in text for text in said),
                    "no-copy status")
        assert main.reader.message is None


async def write_draft_offline(account_config: Path, imap_port: int, subject: str) -> None:
    """Compose while the server is unreachable: the draft goes to a local file."""
    async with offline(account_config, imap_port) as pilot:
        composer = await composing(pilot, subject)
        await pilot.press("ctrl+d")
        await until(pilot, lambda: notified(pilot.app, "Draft saved in /"), "local draft")
        await pilot.press("escape")
    account_config.write_text(account_config.read_text().replace(":1\"", f":{imap_port}\""))
    del composer


async def test_local_drafts_are_offered_when_imap_is_back_and_sent(mail_server,
                                                                    account_config):
    await write_draft_offline(account_config, mail_server.imap_port, "Written on the train")
    [draft] = local_drafts(USER)
    assert draft.path.parent == local_drafts_dir()
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: type(app.screen).__name__ == "LocalDraftsScreen",
                    "the offer")
        assert "Written on the train" in " ".join(
            str(w.render()) for w in app.screen.query("Label"))
        await pilot.press("s")
        await until(pilot, lambda: notified(app, "sent 1 of 1 local draft"), "sent")
    assert mail_server.wait_for(OTHER, 'SUBJECT "Written on the train"')
    assert mail_server.uids("Sent", 'SUBJECT "Written on the train"')
    assert not draft.path.exists() and local_drafts(USER) == []


async def test_local_drafts_kept_stay_for_later(mail_server, account_config):
    await write_draft_offline(account_config, mail_server.imap_port, "Not yet")
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: type(app.screen).__name__ == "LocalDraftsScreen",
                    "the offer")
        await pilot.press("k")
        await until(pilot, lambda: notified(app, "local draft(s) kept"), "kept")
    assert [d.subject for d in local_drafts(USER)] == ["Not yet"]
    assert not mail_server.wait_for(OTHER, 'SUBJECT "Not yet"', patience=0.5)
