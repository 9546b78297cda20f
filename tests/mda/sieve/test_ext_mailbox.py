"""mailbox (RFC 5490 §3): fileinto :create and mailboxexists."""

from __future__ import annotations

import pytest

from mailtool.mda.sieve import Envelope, FileInto, Interpreter, SieveSyntaxError, parse
from mailtool.mda.sieve.ext_mailbox import MAILBOX_EXISTS
from tests.mda.sieve.helpers import folders, msg, sieve


def test_the_line_filter_editors_write_most():
    # issue 18: Roundcube, Thunderbird and SnappyMail all emit this
    script = 'require ["fileinto", "mailbox"];\nfileinto :create "Invoices";'
    assert sieve(script, msg({})) == [FileInto("Invoices", create=True)]


def run_with(script: str, existing: set[str]) -> list[str]:
    interp = Interpreter(Envelope("a@b.test", "me@example.com"), msg({}),
                         services={MAILBOX_EXISTS: lambda name: name in existing})  # fmt: skip
    interp.execute(parse(script))
    return folders(interp.finish())


def test_rfc5490_section3_1_example():
    script = """require ["fileinto", "mailbox"];
if mailboxexists "Partners" {
    fileinto "Partners";
} else {
    reject "This message was not accepted by the Mailstore";
}"""
    with pytest.raises(SieveSyntaxError, match='needs require "reject"'):
        parse(script)  # the RFC's example forgets "reject" in its require
    script = script.replace('"mailbox"]', '"mailbox", "reject"]')
    assert run_with(script, {"Partners"}) == ["Partners"]
    assert run_with(script, set()) == []  # rejected


def test_all_names_must_exist():
    script = 'require ["fileinto", "mailbox"];\nif mailboxexists ["A", "B"] { fileinto "both"; }'
    assert run_with(script, {"A", "B"}) == ["both"]
    assert run_with(script, {"A"}) == ["INBOX"]


def test_without_a_lookup_only_inbox_exists():
    script = 'require ["fileinto", "mailbox"];\nif mailboxexists "inbox" { fileinto "yes"; }'
    assert folders(sieve(script, msg({}))) == ["yes"]
    other = 'require ["fileinto", "mailbox"];\nif mailboxexists "Work" { fileinto "yes"; }'
    assert folders(sieve(other, msg({}))) == ["INBOX"]


def test_create_and_mailboxexists_need_require_mailbox():
    with pytest.raises(SieveSyntaxError) as info:
        parse('require "fileinto";\nfileinto :create "x";')
    assert (info.value.line, info.value.column) == (2, 10)
    assert 'needs require "mailbox"' in info.value.message
    with pytest.raises(SieveSyntaxError, match='needs require "mailbox"'):
        parse('if mailboxexists "x" { stop; }')


def test_a_mailbox_named_twice_gets_one_copy_with_the_last_flags():
    # RFC 5228 §4.2 (one delivery); the flags of the last request win, as in Pigeonhole
    script = """require ["fileinto", "mailbox", "imap4flags"];
fileinto :create :flags "$A" "Box";
fileinto :flags "$B" "Box";"""
    assert sieve(script, msg({})) == [FileInto("Box", frozenset({"$B"}), create=True)]
