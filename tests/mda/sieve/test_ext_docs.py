"""The example of each extension in docs/sieve.md ("Extensions, one example each") does
what the text around it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailtool.mda.sieve import Envelope, FileInto, Interpreter, Keep, SieveRuntimeError, parse
from mailtool.mda.sieve.ext_environment import ENVIRONMENT
from mailtool.mda.sieve.ext_include import INCLUDES
from mailtool.mda.sieve.ext_mailbox import MAILBOX_EXISTS
from tests.mda.sieve.helpers import folders, msg

DOC = (Path(__file__).resolve().parents[3] / "docs" / "sieve.md").read_text()
SECTION = DOC.split("## Extensions, one example each", 1)[1].split("\n## ", 1)[0]
EXAMPLES = {
    heading.split(" (")[0]: block
    for heading, block in re.findall(r"^### (.+?)\n.*?```sieve\n(.*?)```", SECTION, re.M | re.S)
}


def run(name: str, message: bytes, **services: object) -> list:
    interp = Interpreter(Envelope("a@b.test", "me@example.com"), message, services=services)
    interp.execute(parse(EXAMPLES[name]))
    return interp.finish()


def test_every_extension_of_issue_18_part_a_has_an_example():
    assert set(EXAMPLES) >= {"mailbox", "relational", "regex", "include", "date and index",
                             "environment", "encoded-character", "ihave"}  # fmt: skip


def test_mailbox():
    exists = {MAILBOX_EXISTS: lambda name: name == "Archive/2026"}
    assert folders(run("mailbox", msg({}), **exists)) == ["Archive/2026"]
    assert run("mailbox", msg({})) == [FileInto("Invoices", create=True)]


def test_relational():
    crowd = ", ".join(f"u{i}@example.test" for i in range(10))
    assert folders(run("relational", msg({"To": crowd}))) == ["Mass mail"]
    assert folders(run("relational", msg({"X-Priority": "1"}))) == ["Urgent"]
    assert folders(run("relational", msg({"X-Priority": "3"}))) == ["INBOX"]


def test_regex():
    assert folders(run("regex", msg({"Subject": "Your Invoice #4711"}))) == ["Invoices/4711"]


def test_include():
    scripts = {
        ("global", "spam_tests"): 'require "fileinto"; if header :is "X-Spam-Flag" "YES" '
                                  '{ fileinto "Junk"; stop; }',
        ("personal", "whitelist"): 'require ["include", "variables"]; global "status"; '
                                   'if address :domain "from" "example.org" '
                                   '{ set "status" "white"; }',
    }  # fmt: skip
    loader = {INCLUDES: lambda location, name: scripts.get((location, name))}
    assert folders(run("include", msg({"From": "a@example.org"}), **loader)) == ["Friends"]
    assert folders(run("include", msg({"X-Spam-Flag": "YES"}), **loader)) == ["Junk"]
    del scripts[("personal", "whitelist")]  # :optional
    assert folders(run("include", msg({"From": "a@example.org"}), **loader)) == ["INBOX"]


def test_date_and_index():
    office = msg([("Received", "from mx.example.org by us; Tue, 1 Apr 1997 10:00:00 +0000"),
                  ("Date", "Tue, 1 Apr 1997 09:06:31 -0800")])  # fmt: skip
    night = msg([("Received", "from mx.example.org by us; Tue, 1 Apr 1997 10:00:00 +0000"),
                 ("Date", "Tue, 1 Apr 1997 23:06:31 -0800")])  # fmt: skip
    assert folders(run("date and index", office)) == ["Office hours"]
    assert folders(run("date and index", night)) == ["INBOX"]


def test_environment():
    office = {ENVIRONMENT: {"remote-ip": "192.0.2.44"}}
    assert folders(run("environment", msg({}), **office)) == ["From the office"]
    assert folders(run("environment", msg({}))) == ["INBOX"]


def test_encoded_character():
    assert folders(run("encoded-character", msg({"Subject": "=?utf-8?q?5_=E2=82=AC?="}))) == [
        "Euro"
    ]


def test_ihave():
    assert folders(run("ihave", msg({"Subject": "[users] hello"}))) == ["Tagged"]
    assert run("ihave", msg({"Subject": "hello"})) == [Keep(implicit=True)]
    # without regex the script would stop with its error: the check is the guard itself
    with pytest.raises(SieveRuntimeError, match="needs regex"):
        Interpreter(Envelope("a@b.test", "me@example.com"), msg({})).execute(
            parse('require "ihave"; if ihave "vnd.none" { x; } else { error "needs regex"; }')
        )
