"""encoded-character (RFC 5228 §2.4.2.4), and the lexer's character classes (RFC 5228 §8.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailtool.mda.sieve import FileInto, Reject, SieveSyntaxError, check, parse
from tests.mda.sieve.helpers import msg, sieve


def folder_of(text: str) -> str:
    script = f'require ["encoded-character", "fileinto"];\nfileinto "{text}";'
    (action,) = sieve(script, msg({}))
    assert isinstance(action, FileInto)
    return action.folder


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        # RFC 5228 §2.4.2.4's own examples
        ("$${hex:24 24}", "$$$"),
        ("$${hex:40}", "$@"),
        ("${hex: 40 }", "@"),
        ("${HEX: 40}", "@"),
        ("${hex:40", "${hex:40"),
        ("${hex:400}", "${hex:400}"),
        ("${hex:4${hex:30}}", "${hex:40}"),
        ("${unicode:40}", "@"),
        ("${ unicode:40}", "${ unicode:40}"),
        ("${UNICODE:40}", "@"),
        ("${UnICoDE:0000040}", "@"),
        ("${Unicode:40}", "@"),
        ("${Unicode:Cool}", "${Unicode:Cool}"),
        # more than one character, and UTF-8 split over hex pairs
        ("${unicode:263A 20 263a}", "\u263a \u263a"),
        ("${hex:C3 A9}t${hex:C3}${hex:A9}", "\u00e9t\u00e9"),
    ],
)
def test_rfc5228_encoded_character_examples(written, meant):
    assert folder_of(written) == meant


@pytest.mark.parametrize("bad", ["${Unicode:200000}", "${Unicode:DF01}", "${hex:ff fe}"])
def test_not_a_character_is_an_error_naming_the_string(bad):
    with pytest.raises(SieveSyntaxError) as info:
        parse(f'require ["encoded-character", "fileinto"];\nfileinto "{bad}";')
    assert (info.value.line, info.value.column) == (2, 10)


def test_without_require_nothing_is_decoded():
    assert sieve('require "fileinto"; fileinto "${hex:40}";', msg({})) == [FileInto("${hex:40}")]


def test_multiline_strings_and_tag_arguments_are_decoded():
    script = """require ["encoded-character", "imap4flags", "fileinto"];
fileinto :flags "${hex:5c}Seen" "box";"""
    assert sieve(script, msg({})) == [FileInto("box", frozenset({"\\Seen"}))]
    script = """require ["encoded-character", "reject"];
reject text:
not ${unicode:2d} here
.
;"""
    assert sieve(script, msg({})) == [Reject("not - here\n")]


# RFC 5228 §8.1: numbers, identifiers and white space are ASCII; str.isdigit() and
# friends accept far more (the fuzz crash of issue 18 was '۵' after size :over)
NON_ASCII = st.characters(min_codepoint=0x80, max_codepoint=0x10FFFF,
                          blacklist_categories=("Cs",))  # fmt: skip


@given(NON_ASCII)
def test_a_non_ascii_character_outside_strings_is_a_syntax_error(ch):
    for script in (
        f"if size :over {ch} {{ keep; }}",
        f"if size :over 1{ch} {{ keep; }}",
        f"kee{ch}p;",
        f"keep;{ch}",
        f'if header :is{ch} "a" "b" {{ keep; }}',
    ):
        with pytest.raises(SieveSyntaxError) as info:
            check(script)
        assert info.value.line == 1 and info.value.column > 0


@given(NON_ASCII)
def test_a_non_ascii_character_inside_strings_and_comments_is_text(ch):
    check(f'# {ch}\nif header :is "subject" "{ch}" {{ keep; }} /* {ch} */')
