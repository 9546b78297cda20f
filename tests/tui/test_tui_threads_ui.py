"""Issue 21 point 17: collapsing threads, reverse order, [tui] sort/reverse/columns,
and Sent/Drafts showing the recipient."""

from __future__ import annotations

import datetime as dt

import pytest

from mailtool.client.imap_parse import Address, Envelope, Folder
from mailtool.config import load
from mailtool.errors import ConfigErrors
from mailtool.tui.list_view import (
    collapse,
    recipient_folders,
    reverse_rows,
    thread_root,
    thread_uids,
)
from mailtool.tui.widgets.message_list import format_row
from tests.tui.pilot import make_app, message, until

ROWS = [(1, 0), (2, 1), (3, 2), (4, 0), (5, 0), (6, 1)]


def test_reverse_keeps_each_thread_whole():
    assert reverse_rows(ROWS) == [(5, 0), (6, 1), (4, 0), (1, 0), (2, 1), (3, 2)]
    assert reverse_rows([(1, 0), (2, 0), (3, 0)]) == [(3, 0), (2, 0), (1, 0)]


def test_collapse_folds_a_thread_into_its_root_with_a_count():
    assert collapse(ROWS, {1}) == ([(1, 0), (4, 0), (5, 0), (6, 1)], {1: 2})
    assert collapse(ROWS, {4}) == (ROWS, {})  # nothing under it: nothing to fold
    assert thread_root(ROWS, 3) == 1 and thread_root(ROWS, 6) == 5
    assert thread_uids(ROWS, 1) == [1, 2, 3] and thread_uids(ROWS, 4) == [4]


def test_recipient_folders_by_special_use_or_name():
    folders = [Folder("INBOX", "/", frozenset()), Folder("Envoyés", "/", frozenset({"\\Sent"})),
               Folder("Work/Drafts", "/", frozenset()), Folder("Archive", "/", frozenset())]
    assert recipient_folders(folders) == {"Envoyés", "Work/Drafts"}


def _env() -> Envelope:
    return Envelope(uid=1, flags=(), date=dt.datetime(2023, 1, 2, 10, tzinfo=dt.UTC),
                    subject="Hello", from_=(Address("Alice", "alice@example.test"),),
                    to=(Address("Bob", "bob@example.test"),), cc=(), reply_to=(),
                    message_id="<m@x>", in_reply_to="", references=(), size=2048)


def test_columns_order_recipient_and_fold_count():
    now = dt.datetime(2024, 1, 1)
    row = format_row(_env(), 0, False, 60, now, columns=("subject", "from"))
    assert row.startswith("Hello") and row.rstrip().endswith("Alice")
    assert "2023-01-02" not in row and "2K" not in row
    sent = format_row(_env(), 0, False, 80, now, recipient=True, folded=2)
    assert "To: Bob" in sent and "Alice" not in sent and "[+2] Hello" in sent
    assert len(format_row(_env(), 0, False, 80, now, columns=("date", "size"))) == 80


def _text(main, index: int) -> str:
    return main.mlist.render_line(index - main.mlist.scroll_offset.y).text


async def test_fold_a_thread_reverse_and_config_order(mail_server, account_config):
    mail_server.deliver(message("Plans", msgid="<p@x>", date="Mon, 02 Jan 2023 10:00:00 +0000"))
    mail_server.deliver(message("Re: Plans", msgid="<r@x>", extra="In-Reply-To: <p@x>\r\n"
                                "References: <p@x>\r\n", date="Mon, 02 Jan 2023 12:00:00 +0000"))
    mail_server.deliver(message("Re: Re: Plans", msgid="<rr@x>",
                                extra="In-Reply-To: <r@x>\r\nReferences: <p@x> <r@x>\r\n",
                                date="Mon, 02 Jan 2023 13:00:00 +0000"))
    mail_server.deliver(message("Other", msgid="<o@x>", date="Mon, 02 Jan 2023 11:00:00 +0000"))
    imap = mail_server.check()
    imap.create("Sent")
    imap.logout()
    mail_server.deliver(message("Mine", sender="Alice <alice@example.test>",
                                to="Bob <bob@example.test>"), folder="Sent")
    account_config.write_text(account_config.read_text() + '\n[tui]\nsort = "date"\n'
                              'reverse = true\ncolumns = ["flags", "subject", "from"]\n')
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        await until(pilot, lambda: len(main.mlist.rows) == 4 and len(main.mlist.envelopes) == 4,
                    "4 rows")

        def subjects() -> list[str]:
            return [main.mlist.envelopes[u].subject for u, _d in main.mlist.rows]

        # [tui] sort = "date", reverse = true: oldest first
        assert main.sort == "date" and main.mlist.reverse
        await until(pilot, lambda: subjects() == ["Plans", "Other", "Re: Plans",
                                                  "Re: Re: Plans"], "oldest first")
        assert "reversed" in str(main.mlist.border_title)
        assert _text(main, 0).split() == ["N", "Plans", "Bob"]  # flags, subject, from
        await pilot.press("ctrl+o")
        await until(pilot, lambda: subjects()[0] == "Re: Re: Plans", "newest first")
        # threads; fold the one under the cursor (from a reply: it folds into its root)
        await pilot.press("O")
        await until(pilot, lambda: main.threaded and len(main.mlist.rows) == 4, "threads")
        plans = subjects().index("Plans")
        assert subjects()[plans + 1:plans + 3] == ["Re: Plans", "Re: Re: Plans"]
        main.mlist.go(plans + 2)
        await pilot.press("Z")
        await until(pilot, lambda: len(main.mlist.rows) == 2, "folded")
        assert "Re: Plans" not in subjects()
        assert main.mlist.envelopes[main.mlist.current_uid].subject == "Plans"
        assert "[+2] Plans" in _text(main, main.mlist.cursor)
        await pilot.press("F")  # a folded thread acts whole: all three flagged
        await until(pilot, lambda: len(mail_server.uids(query="FLAGGED")) == 3, "thread flagged")
        await pilot.press("Z")
        await until(pilot, lambda: len(main.mlist.rows) == 4, "unfolded")
        # Sent shows the recipient
        main.open_folder("Sent")
        await until(pilot, lambda: main.mlist.folder == "Sent" and main.mlist.envelopes,
                    "Sent opened")
        await until(pilot, lambda: "To: Bob" in _text(main, 0), "recipient shown")
        assert "Alice" not in _text(main, 0)


def test_config_refuses_unknown_columns_and_sorts(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[tui]\ncolumns = ["date", "bogus"]\nsort = "random"\n')
    with pytest.raises(ConfigErrors) as exc:
        load(path)
    text = str(exc.value)
    assert "tui.columns: given 'bogus'" in text and "tui.sort: given 'random'" in text
