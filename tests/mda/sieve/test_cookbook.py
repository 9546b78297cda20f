"""Every Sieve block in docs/sieve.md and docs/scanning.md parses, and the cookbook works."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailtool.mda.sieve import Discard, FileInto, Keep, Redirect, Reject, Vacation, check
from tests.mda.sieve.helpers import folders, msg, sieve

DOCS = Path(__file__).resolve().parents[3] / "docs"
BLOCKS = [
    block
    for page in ("sieve.md", "scanning.md")
    for block in re.findall(r"```sieve\n(.*?)```", (DOCS / page).read_text(), re.S)
]


def test_the_cookbook_has_ten_rules():
    assert len(re.findall(r"^### \d+\. ", (DOCS / "sieve.md").read_text(), re.M)) == 10


@pytest.mark.parametrize("script", BLOCKS)
def test_every_documented_script_parses(script):
    check(script)


def rule(n: int) -> str:
    return BLOCKS[n - 1]


def test_cookbook_rules_do_what_they_say():
    lists = msg({"List-Id": "Users <users.lists.example.org>"})
    assert folders(sieve(rule(1), lists)) == ["Lists/users"]
    assert folders(sieve(rule(2), lists)) == ["Lists/users"]
    assert sieve(rule(3), msg({}), recipient="alice+shop@example.test") == [FileInto("shop")]
    assert sieve(rule(3), msg({}), recipient="alice@example.test") == [Keep(implicit=True)]
    boss = sieve(rule(4), msg({"From": "Boss <boss@example.test>"}))
    assert boss == [Keep(frozenset({"\\Flagged"}), implicit=True)]
    away = sieve(rule(5), msg({"To": "a.smith@example.test"}), sender="x@example.org")
    assert isinstance(away[0], Vacation) and away[1:] == [Keep(implicit=True)]
    assert folders(sieve(rule(6), msg({"X-Spam-Flag": "YES"}))) == ["Junk"]
    assert sieve(rule(7), msg({})) == [Redirect("alice@home.example.net", copy=True),
                                      Keep(implicit=True)]  # fmt: skip
    pushy = sieve(rule(8), msg({"From": "sales@pushy-marketing.example"}))
    assert pushy == [Reject("I do not accept mail from your company.")]
    big = msg({}, "x" * (11 << 20))
    assert sieve(rule(9), big) == [FileInto("Large", frozenset({"\\Seen"}))]
    receipt = msg({"Subject": "Hello"}, "The amount due is 12 EUR.\r\n")
    assert folders(sieve(rule(10), receipt)) == ["Receipts"]
    assert sieve("discard;", msg({})) == [Discard()]
