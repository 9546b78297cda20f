"""The TUI's model pieces without a screen: threads, search syntax, compose, reading, cache."""

from __future__ import annotations

import datetime as dt
import email

from mailtool.client.cache import EnvelopeCache
from mailtool.client.compose import Draft, build, forward, quote, reply, without_bcc
from mailtool.client.imap_parse import Address, Envelope
from mailtool.client.reading import blocks, body_text, parse
from mailtool.client.threading import from_server, jwz
from mailtool.tui.actions import parse_remap
from mailtool.tui.folder_view import search_program


def env(uid: int, mid: str, refs: tuple[str, ...] = (), day: int = 1, subject: str = "s"):
    return Envelope(uid=uid, message_id=mid, references=refs, subject=subject,
                    date=dt.datetime(2023, 1, day, tzinfo=dt.UTC))


def test_jwz_threads_by_references_even_with_a_missing_parent():
    rows = jwz([
        env(1, "<a>", day=1),
        env(2, "<b>", ("<a>",), day=2),
        env(3, "<c>", ("<a>", "<missing>"), day=5),  # parent <missing> never arrived
        env(4, "<d>", day=3),
    ])
    # thread of <a> holds the newest message (day 5), so it comes first
    assert rows == [(1, 0), (2, 1), (3, 1), (4, 0)]


def test_server_threads_become_rows():
    assert from_server([[1], [2, 3, [4], [5]]]) == [(2, 0), (3, 1), (4, 2), (5, 2), (1, 0)]


def test_search_syntax():
    assert search_program("from:bob subject:'lunch plans' unseen") == \
        'FROM "bob" SUBJECT "lunch plans" UNSEEN'
    assert search_program("invoice") == 'TEXT "invoice"'
    assert search_program("=OR FROM a FROM b") == "OR FROM a FROM b"


def test_reply_all_quotes_and_threads():
    original = parse(b"From: Bob <bob@x.test>\r\nTo: alice@x.test, carol@x.test\r\n"
                     b"Cc: dan@x.test\r\nSubject: Re: Plans\r\nMessage-ID: <2@x>\r\n"
                     b"References: <1@x>\r\nDate: Mon, 02 Jan 2023 10:00:00 +0000\r\n\r\n"
                     b"Hi\n> earlier\n")
    d = reply(original, "Alice <alice@x.test>", reply_all=True)
    assert d.to == "Bob <bob@x.test>"
    assert d.cc == "carol@x.test, dan@x.test"  # not ourselves
    assert d.subject == "Re: Plans"
    assert d.in_reply_to == "<2@x>" and d.references == "<1@x> <2@x>"
    assert "> Hi\n>> earlier" in d.body
    f = forward(original, "alice@x.test", attach=True, raw=original.as_bytes())
    msg = build(f)
    assert f.subject == "Fwd: Plans"
    assert any(p.get_content_type() == "message/rfc822" for p in msg.walk())


def test_bcc_is_kept_in_the_copy_but_not_sent():
    msg = build(Draft(from_="a@x.test", to="b@x.test", bcc="secret@x.test", subject="s",
                      body="b"))
    assert msg["Bcc"] == "secret@x.test"
    assert b"secret@x.test" not in without_bcc(msg)
    assert quote("a\n\nb") == "> a\n>\n> b"


def test_html_only_mail_is_readable_text_and_blocks_fold():
    msg = email.message_from_bytes(
        b"Content-Type: text/html\r\n\r\n<p>Hello <b>there</b></p><ul><li>one</li></ul>"
        b"<script>alert(1)</script>")
    text = body_text(msg)
    assert "Hello there" in text and "one" in text and "alert" not in text
    kinds = [b.kind for b in blocks("hi\n> q1\n> q2\nok\n-- \nsig")]
    assert kinds == ["text", "quote", "text", "signature"]


def test_cache_round_trip_uidvalidity_and_completion(tmp_path):
    cache = EnvelopeCache("acct", tmp_path)
    e = Envelope(uid=5, subject="Hi", flags=("\\Seen",), from_=(Address("Bob", "bob@x.test"),),
                 date=dt.datetime(2023, 1, 2, tzinfo=dt.UTC))
    cache.save_uids("INBOX", 1, [5, 6])
    cache.save_envelopes("INBOX", [e])
    assert cache.envelopes("INBOX")[5] == e
    assert cache.uids("INBOX") == (1, [5, 6])
    assert cache.complete_address("bo") == ["Bob <bob@x.test>"]
    cache.save_uids("INBOX", 2, [1])  # UIDVALIDITY changed: old envelopes are meaningless
    assert cache.envelopes("INBOX") == {}


def test_remap_rejects_unknown_actions():
    import pytest

    from mailtool.errors import ConfigError

    assert parse_remap(("delete=x",)) == {"delete": "x"}
    with pytest.raises(ConfigError, match=r"tui\.keys"):
        parse_remap(("explode=x",))


def test_a_signature_folds_in_a_crlf_body_too():
    """Issue 21 bug 9: ``^-- ?$`` did not match ``-- \\r``, so a CRLF body never folded."""
    for eol in ("\n", "\r\n"):
        got = blocks(eol.join(["Hello", "> quoted", "-- ", "Alice", ""]))
        assert [(b.kind, b.text) for b in got] == [
            ("text", "Hello"), ("quote", "> quoted"), ("text", ""), ("signature", "-- \nAlice")
        ], eol


def test_message_rows_fit_the_terminal_in_cells_with_wide_characters():
    """Issue 21 bug 8: widths were len(), so CJK and emoji rows overflowed the list."""
    from rich.cells import cell_len

    from mailtool.tui.widgets.message_list import format_row

    now = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
    env = Envelope(uid=1, date=now, subject="会議の議事録 📎 について再送します" * 3,
                   from_=(Address("山田太郎 🎉", "taro@example.test"),), size=2048)
    for width in (40, 80, 81, 160):
        row = format_row(env, 1, False, width, now)
        assert cell_len(row) == width, (width, row)
        if width >= 60:
            assert row.endswith(" 2K"), row  # the size column stays at the right edge
