"""special-use (RFC 8579) and fcc (RFC 8580) in the interpreter; the filing is in
tests/mda/test_deliver_sieve_extensions.py."""

from __future__ import annotations

import pytest

from mailtool.mda.sieve import FileInto, Keep, Vacation
from mailtool.mda.sieve.ext_fcc import Fcc
from mailtool.mda.sieve.ext_specialuse import SPECIAL_USE_MAP
from tests.mda.sieve.helpers import assert_refused, msg, sieve

MINE = {"\\junk": "Spam", "\\sent": "Sent Items"}


def run(script: str, message: bytes | None = None, **kw) -> list:
    message = message or msg({"To": "me@example.com", "Subject": "hi"})
    return sieve(script, message, services={SPECIAL_USE_MAP: lambda: MINE}, **kw)


def test_rfc8579_example_fileinto_specialuse():
    # RFC 8579 §4 example: into the \Junk folder whatever its name, else "Spam"
    script = """require ["fileinto", "special-use"];
fileinto :specialuse "\\\\Junk" "Spam";"""
    assert run(script) == [FileInto("Spam", special_use="\\Junk")]


def test_rfc8579_specialuse_exists():
    script = """require ["fileinto", "special-use"];
if specialuse_exists "\\\\Junk" { fileinto :specialuse "\\\\Junk" "Junk"; }
if specialuse_exists "Spam" ["\\\\Junk"] { fileinto "both"; }
if specialuse_exists "Spam" ["\\\\Junk", "\\\\Sent"] { fileinto "never"; }
if specialuse_exists ["\\\\Archive"] { fileinto "never"; }"""
    assert [a.folder for a in run(script)] == ["Junk", "both"]


def test_without_a_store_the_default_folders_count():
    script = 'require "special-use"; if specialuse_exists "Trash" "\\\\Trash" { discard; }'
    assert sieve(script, msg({})) != [Keep(implicit=True)]


def test_rfc8580_vacation_fcc():
    # RFC 8580 §5's example, its :fcc moved before the reason (RFC 5228 §2.6.2: tags first)
    script = """require ["vacation", "fcc"];
vacation :days 7 :from "hemingway@example.com" :fcc "INBOX.Sent" "Gone Fishin'";"""
    reply = run(script)
    assert isinstance(reply[0], Vacation) and reply[0].fcc == Fcc("INBOX.Sent")
    assert b"From: hemingway@example.com" in reply[0].message


def test_fcc_with_flags_create_and_specialuse():
    script = """require ["vacation", "fcc", "imap4flags", "mailbox", "special-use"];
vacation :fcc "Sent" :flags ["\\\\Seen", "$Auto"] :create :specialuse "\\\\Sent" "away";"""
    (reply, _keep) = run(script)
    assert reply.fcc == Fcc("Sent", frozenset({"\\Seen", "$Auto"}), True, "\\Sent")


@pytest.mark.parametrize(
    ("script", "error"),
    [
        (
            'require ["vacation", "fcc", "mailbox"];\nvacation :create "x";',
            "line 2, column 1: vacation: :create needs :fcc",
        ),
        ('require ["vacation"]; vacation :fcc "Sent" "x";', ':fcc needs require "fcc"'),
        (
            'require ["vacation", "fcc"]; vacation :fcc "Sent" :create "x";',
            ':create needs require "mailbox"',
        ),
        (
            'require ["fileinto", "special-use"]; fileinto :specialuse "Junk" "x";',
            "is not a special-use attribute",
        ),
        (
            'require ["special-use"]; if specialuse_exists "no-backslash" { stop; }',
            "is not a special-use",
        ),
        (
            'require ["fileinto"]; fileinto :specialuse "\\\\Junk" "x";',
            ':specialuse needs require "special-use"',
        ),
    ],
)
def test_errors_name_line_and_column(script, error):
    assert_refused(script, error)
