"""The examples of editheader, spamtest, duplicate, special-use, fcc, mime and enotify in
docs/sieve.md do what the text around them says (the others: test_ext_docs.py)."""

from __future__ import annotations

from mailtool.mda.sieve import Discard, Envelope, FileInto, Interpreter, Keep, Vacation, parse
from mailtool.mda.sieve.ext_duplicate import DUPLICATE_LOG
from mailtool.mda.sieve.ext_fcc import Fcc
from mailtool.mda.sieve.ext_specialuse import SPECIAL_USE_MAP
from mailtool.mda.sieve.message import MessageView
from tests.mda.sieve.helpers import folders, msg
from tests.mda.sieve.test_ext_docs import DOC, EXAMPLES
from tests.mda.sieve.test_ext_mime import HTML, PDF, TEXT, multipart
from tests.mda.sieve.test_ext_spamtest import scanned


def run(name: str, message: bytes, **services: object) -> list:
    interp = Interpreter(Envelope("a@b.test", "me@example.com"), message, services=services)
    interp.execute(parse(EXAMPLES[name]))
    return interp.finish()


def test_every_extension_of_issue_18_part_b_has_an_example_and_pigeonhole_a_section():
    assert set(EXAMPLES) >= {"editheader", "spamtest, spamtestplus and virustest", "duplicate",
                             "special-use", "fcc", "mime, foreverypart and extracttext",
                             "enotify"}  # fmt: skip
    assert "## Coming from Pigeonhole" in DOC
    assert "What transfers unchanged" in DOC and "What does not" in DOC


def test_editheader():
    (filed,) = run("editheader", msg({"Subject": "[EXTERNAL] offer"}))
    assert filed == FileInto("External")
    view = MessageView(filed.message)
    assert view.headers("Subject") == ["offer"] and view.headers("X-External") == ["yes"]
    assert run("editheader", msg({"Subject": "offer"})) == [Keep(implicit=True)]


def test_spamtest():
    assert run("spamtest, spamtestplus and virustest", scanned(9.5)) == [Discard()]
    assert folders(run("spamtest, spamtestplus and virustest", scanned(6.0))) == ["Junk"]
    assert folders(run("spamtest, spamtestplus and virustest", scanned(1.0))) == ["INBOX"]
    unscanned = run("spamtest, spamtestplus and virustest", msg({}))
    assert folders(unscanned) == ["Unscanned"]


class Memory:
    def __init__(self) -> None:
        self.seen_keys: dict[str, float] = {}

    def seen(self, key: str, now: float) -> bool:
        return self.seen_keys.get(key, 0) > now

    def record(self, key: str, expiry: float, now: float) -> None:
        self.seen_keys[key] = expiry


def test_duplicate():
    memory = Memory()
    message = msg({"Message-ID": "<1@example.org>"})
    assert run("duplicate", message, **{DUPLICATE_LOG: memory}) == [Keep(implicit=True)]
    again = run("duplicate", message, **{DUPLICATE_LOG: memory})
    assert again == [FileInto("Duplicates", create=True)]


def test_special_use():
    renamed = {SPECIAL_USE_MAP: lambda: {"\\junk": "Spam folder", "\\archive": "Old"}}
    spam = run("special-use", msg({"X-Spam-Flag": "YES"}), **renamed)
    assert spam == [FileInto("Spam", special_use="\\Junk")]  # resolved when filed
    assert folders(run("special-use", msg({}), **renamed)) == ["Archive"]
    assert folders(run("special-use", msg({}), **{SPECIAL_USE_MAP: dict})) == ["INBOX"]


def test_fcc():
    actions = run("fcc", msg({"To": "me@example.com", "Subject": "hi"}))
    assert isinstance(actions[0], Vacation)
    assert actions[0].fcc == Fcc("Sent", frozenset({"\\Seen"}))


def test_mime():
    assert folders(run("mime, foreverypart and extracttext", multipart(TEXT, PDF))) == ["PDFs"]
    news = TEXT.replace("Please find", "To unsubscribe click here. Please find")
    assert folders(run("mime, foreverypart and extracttext", multipart(news, HTML))) == [
        "Newsletters"
    ]


def test_enotify():
    boss = msg({"From": "boss@example.test", "Subject": "Budget"})
    note, keep = run("enotify", boss)
    assert isinstance(note, Vacation) and keep == Keep(implicit=True)
    assert note.recipient == "alice@phone.example.test"
    assert MessageView(note.message).headers("Subject") == ["From the boss: Budget"]
    assert run("enotify", msg({"From": "other@example.test"})) == [Keep(implicit=True)]
