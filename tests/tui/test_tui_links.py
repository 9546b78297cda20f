"""Issue 21 point 16: the URL list, pipe, save and bounce of the open message.

Unit tests of the pieces (mailtool.client.links / bounce, the save and pipe
helpers), then one Pilot session per server that drives the keys and checks
the result where it lands: the opener's record, the file, the notification,
and bob's INBOX (read with imaplib) for the bounce.
"""

from __future__ import annotations

import stat
import sys
from email.message import EmailMessage

import pytest

from mailtool.client.bounce import addresses, resent
from mailtool.client.links import MAX_LINKS, MAX_URL, html_links, message_links, text_links
from mailtool.client.reading import parse
from mailtool.errors import PermanentFailure
from mailtool.tui.screens.links import default_save_path, run_pipe, write_message
from tests.tui.pilot import answer_prompt, make_app, open_only_message, prompt_ready, until
from tests.tui.servers import OTHER, USER

HTML = """<html><body><p>Read <a href="https://example.test/article?id=7&amp;x=1">the
article</a> or <a href="javascript:alert(1)">this</a>.</p>
<p>Bare: https://bare.example.test/path.</p></body></html>"""


def html_message() -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Bob <bob@example.test>", USER, "Links: a/b"
    msg["Message-ID"] = "<links-1@example.test>"
    msg["Date"] = "Mon, 02 Jan 2023 10:00:00 +0000"
    msg.set_content("Plain part, see https://plain.example.test/x (and more).\n")
    msg.add_alternative(HTML, subtype="html")
    return msg.as_bytes()


def test_text_links_trim_prose_punctuation_but_keep_a_urls_own_parenthesis():
    found = [lk.url for lk in text_links(
        "See https://a.test/x. Or (https://b.test/y), https://en.wikipedia.org/wiki/Foo_(bar)!")]
    assert found == ["https://a.test/x", "https://b.test/y",
                     "https://en.wikipedia.org/wiki/Foo_(bar)"]


def test_html_links_keep_their_address_and_text():
    links = html_links(HTML)
    assert links[0].url == "https://example.test/article?id=7&x=1"
    assert links[0].text == "the article"
    assert "https://bare.example.test/path" in [lk.url for lk in links]


def test_message_links_both_parts_no_javascript_and_bounded():
    urls = [lk.url for lk in message_links(parse(html_message()))]
    assert urls == ["https://plain.example.test/x", "https://example.test/article?id=7&x=1",
                    "https://bare.example.test/path"]
    many = EmailMessage()
    many.set_content(" ".join(f"https://h.test/{i}" for i in range(MAX_LINKS + 50))
                     + " https://long.test/" + "a" * MAX_URL)
    found = message_links(parse(many.as_bytes()))
    assert len(found) == MAX_LINKS  # the bound, and the over-long URL skipped, never cut
    assert all(len(lk.url) <= MAX_URL for lk in found)


def test_resent_block_is_prepended_and_the_rest_unchanged():
    raw = html_message()
    out = resent(raw, "Alice <alice@example.test>", ["carol@example.test"],
                 domain="example.test")
    head, _sep, rest = out.partition(b"Resent-Message-ID: ")
    assert rest.split(b"\n", 1)[1] == raw  # byte for byte after the Resent-* block
    for name in (b"Resent-From: Alice <alice@example.test>", b"Resent-Date: ",
                 b"Resent-To: carol@example.test"):
        assert name in head
    with pytest.raises(PermanentFailure):
        addresses("nobody")
    with pytest.raises(PermanentFailure):
        addresses(", ".join(f"u{i}@x.test" for i in range(51)))


def test_save_never_overwrites_silently(tmp_path):
    path = default_save_path("Re: a/b: ünïcode?", tmp_path)
    assert path.parent == tmp_path and "/" not in path.name and path.suffix == ".eml"
    write_message(path, b"one")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        write_message(path, b"two")
    assert path.read_bytes() == b"one"
    write_message(path, b"two", overwrite=True)
    assert path.read_bytes() == b"two"


async def _pipe(command: str, raw: bytes, timeout: float = 60.0):
    return await run_pipe(command, raw, timeout=timeout)


def test_pipe_output_first_lines_status_and_timeout():
    import asyncio

    from mailtool.errors import MailtoolError

    status, shown = asyncio.run(_pipe("cat", b"".join(b"line %d\n" % i for i in range(30))))
    assert status == 0 and shown.startswith("line 0\n") and "20 more lines" in shown
    status, shown = asyncio.run(_pipe("head -c 3; exit 3", b"x" * 1_000_000))
    assert (status, shown) == (3, "xxx")  # the command stopped reading: no error
    with pytest.raises(MailtoolError, match="stopped"):
        asyncio.run(_pipe("sleep 30", b"", timeout=0.5))


RECORDER = "import sys\nopen(sys.argv[1], 'w').write(sys.argv[-1])\n"


def _notified(app, text: str) -> bool:
    return any(text in str(n.message) for n in app._notifications)


async def test_links_pipe_save_and_bounce(mail_server, account_config, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    script, record = tmp_path / "opener.py", tmp_path / "opened.txt"
    script.write_text(RECORDER)
    account_config.write_text(account_config.read_text() + "\n[tui]\n"
                              f'open_command = "{sys.executable} {script} {record}"\n')
    raw = html_message()
    mail_server.deliver(raw)
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_only_message(pilot, "Plain part")
        # the URL list: HTML links with their address; the one picked goes to the opener
        await pilot.press("ctrl+b")
        await until(pilot, lambda: type(app.screen).__name__ == "PickerScreen", "links")
        picker = app.screen
        assert "the article  <https://example.test/article?id=7&x=1>" in \
            [label for label, _v in picker.choices]
        await until(pilot, lambda: picker.query("#choices"), "links listed")
        picker.query_one("#choices").highlighted = 1
        await pilot.press("enter")
        await until(pilot, lambda: record.exists() and record.read_text(), "opener ran")
        assert record.read_text() == "https://example.test/article?id=7&x=1"
        # pipe: the raw message on stdin, the output's first lines shown
        await pilot.press("|")
        # (its output is shown as it is, markup=False: "[/x]" is no markup to choke on)
        await answer_prompt(pilot, app,
                            "grep -c '^Message-ID: <links-1@example.test>'; echo '[/x]'")
        await until(pilot, lambda: _notified(app, "1\n[/x]"), "pipe output shown")
        # save: default ~/Downloads/<subject>.eml; a second save never overwrites silently
        await pilot.press("w")
        await prompt_ready(pilot, app, "save prompt")
        default = app.screen.query_one("#answer").value
        assert default == str(home / "Downloads" / "Links_ a_b.eml")
        await pilot.press("enter")
        await until(pilot, lambda: _notified(app, "saved "), "saved")
        saved = home / "Downloads" / "Links_ a_b.eml"
        assert b"<links-1@example.test>" in saved.read_bytes()
        saved.write_bytes(b"mine")
        await pilot.press("w")
        save = await prompt_ready(pilot, app, "save prompt")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is not save, "save prompt answered")
        await answer_prompt(pilot, app, "no", "overwrite question")
        await until(pilot, lambda: _notified(app, "not saved"), "refused to overwrite")
        assert saved.read_bytes() == b"mine"
        await until(pilot, lambda: type(app.screen).__name__ == "MainScreen", "prompt closed")
        # bounce to bob: the original unchanged, with Resent-* on top
        await pilot.press("b")
        await answer_prompt(pilot, app, OTHER)
        confirm = await prompt_ready(pilot, app, "confirmation")
        assert confirm.question.startswith("Bounce to"), confirm.question
        await pilot.press("enter")
        await until(pilot, lambda: _notified(app, "bounced"), "bounce done")
        assert _notified(app, f"bounced to {OTHER}"), [str(n.message) for n in app._notifications]
    found = mail_server.wait_for(OTHER, 'HEADER Message-ID "<links-1@example.test>"')
    assert found, "bob never got the bounce"
    imap = mail_server.check(OTHER)
    imap.select("INBOX")
    got = imap.uid("FETCH", found[0], "(BODY.PEEK[])")[1][0][1]
    imap.logout()
    assert b"Resent-From: Alice <alice@example.test>" in got
    assert f"Resent-To: {OTHER}".encode() in got
    msg = parse(got)
    assert msg["From"] == "Bob <bob@example.test>" and msg["To"] == USER
    assert msg["Subject"] == "Links: a/b"


def test_url_list_snapshots(mail_server, account_config, snap_compare, tmp_path, monkeypatch):
    """Issue 21 point 21: the URL list at 80x24 and 160x48."""
    mail_server.deliver(html_message())
    for size in ((80, 24), (160, 48)):
        # each a first start: nothing cached (a cached body would show "cached copy" first)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / f"cache-{size[0]}"))
        async def run_before(pilot) -> None:
            main = await open_only_message(pilot, "Plain part")
            await until(pilot, lambda: "idle" in main.query_one("#connection").text, "idle")
            await until(pilot, lambda: str(main.query_one("#status").render()).startswith(
                "INBOX"), "status")
            await pilot.press("ctrl+b")
            await until(pilot, lambda: type(pilot.app.screen).__name__ == "PickerScreen",
                        "links")
            await until(pilot, lambda: pilot.app.screen.query("#choices"), "links listed")
            await pilot.pause()

        assert snap_compare(make_app(account_config), terminal_size=size, run_before=run_before)


async def test_a_link_text_that_looks_like_markup_is_shown_as_is():
    """A link text (or subject, folder name) "[/x]" once raised MarkupError in the picker."""
    from textual.app import App

    from mailtool.tui.screens.picker import PickerScreen

    label = "[/x] [bold]b  <https://a.test/>"

    class One(App):
        def on_mount(self) -> None:
            self.push_screen(PickerScreen("links", [(label, "https://a.test/")]))

    app = One()
    async with app.run_test() as pilot:
        await until(pilot, lambda: app.screen.query("#choices"), "picker")
        await pilot.pause()
        assert app.screen.query_one("#choices").render_line(0).text.strip() == label


def test_pipe_output_written_in_pieces_is_kept_whole():
    """The command's output was its first piece only (StreamReader.read returns what is
    there): a command writing twice lost the second write (CI saw "1" of "1\\n[/x]")."""
    import asyncio

    from mailtool.tui.screens.links import run_pipe

    status, shown = asyncio.run(run_pipe("echo one; sleep 0.3; echo two", b"message"))
    assert (status, shown) == (0, "one\ntwo")
