"""regex (draft-ietf-sieve-regex-01): :regex, match variables, and the bound on runaway patterns."""

from __future__ import annotations

import pytest

from mailtool.mda.filtering import run_filters
from mailtool.mda.sieve import (
    Envelope,
    FileInto,
    Interpreter,
    Keep,
    SieveRuntimeError,
    SieveSyntaxError,
    ext_regex,
    parse,
)
from tests.mda.sieve.helpers import folders, msg, sieve


@pytest.mark.parametrize(
    ("header", "pattern", "value", "folder"),
    [
        # draft-ietf-sieve-regex §4 style: the list name out of List-Id
        ("list-id", "<([a-z0-9-]+)[.]lists[.]example[.]org>",
         "Users <users.lists.example.org>", "users|<users.lists.example.org>||"),
        # ${0} is the matched text; a group that did not take part is empty
        ("subject", "(inv|bill)oice #([0-9]+)( urgent)?", "Re: Invoice #4711 attached",
         "Inv|Invoice #4711|4711|"),
    ],
)  # fmt: skip
def test_match_variables(header, pattern, value, folder):
    script = f"""require ["regex", "variables", "fileinto"];
if header :regex "{header}" "{pattern}" {{ fileinto "${{1}}|${{0}}|${{2}}|${{3}}"; }}"""
    assert folders(sieve(script, msg({header: value}))) == [folder]


def test_comparators_decide_case():
    base = 'require ["regex", "fileinto"];\nif header :regex {} "subject" "^HELLO$" {{ stop; }}'
    message = msg({"Subject": "hello"})
    base += '\nfileinto "x";'
    assert folders(sieve(base.format(""), message)) == ["INBOX"]  # i;ascii-casemap by default
    assert folders(sieve(base.format(':comparator "i;octet"'), message)) == ["x"]


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("^a.c$", "abc", True),
        ("a$", "a\n", False),  # POSIX: $ is the end of the string only
        ("[[:digit:]]+", "no 42 here", True),
        (r"[\]x", "\\x", True),  # a backslash is literal inside brackets
        (r"a\.b", "axb", False),
        ("colou?r", "color", True),
        ("x{2,3}", "axxb", True),
        (r"\<word\>", "a word here", True),
    ],
)
def test_posix_ere_semantics(pattern, value, matches):
    assert (ext_regex.search(pattern, value, fold=False) is not None) is matches


def test_leftmost_longest_like_regexec():
    assert ext_regex.search("(a|ab)(c|bcd)", "abcd", fold=False)[0] == "abcd"


@pytest.mark.parametrize("pattern", ["(?i)abc", "abc\\\\", "[abc", "(ab", "a**+("])
def test_invalid_constant_pattern_is_a_syntax_error_with_place(pattern):
    script = f'require "regex";\nif header :regex "subject" "{pattern}" {{ stop; }}'
    with pytest.raises(SieveSyntaxError) as info:
        parse(script)
    assert (info.value.line, info.value.column) == (2, 4)
    assert "invalid :regex key" in info.value.message


def test_regex_needs_require_and_a_string_comparator():
    with pytest.raises(SieveSyntaxError, match='needs require "regex"'):
        parse('if header :regex "subject" "a" { stop; }')
    with pytest.raises(SieveSyntaxError, match="cannot be used with :regex"):
        parse('require ["regex", "comparator-i;ascii-numeric"];\n'
              'if header :regex :comparator "i;ascii-numeric" "subject" "1" { stop; }')  # fmt: skip


def test_pattern_length_is_bounded():
    long_pattern = "a" * (ext_regex.MAX_PATTERN_CHARS + 1)
    with pytest.raises(SieveSyntaxError, match="longer than"):
        parse(f'require "regex";\nif header :regex "subject" "{long_pattern}" {{ stop; }}')


RUNAWAY = r"""require ["regex", "fileinto"];
fileinto "before";
if header :regex "subject" "(x+x+)+y" { fileinto "never"; }
"""


def test_runaway_regex_is_stopped_and_the_script_fails_safe():
    message = msg({"Subject": "x" * 5000})
    interp = Interpreter(Envelope("a@b.test", "me@example.com"), message)
    with pytest.raises(SieveRuntimeError, match="ran longer than") as info:
        interp.execute(parse(RUNAWAY))
    assert (info.value.line, info.value.column) == (3, 4)  # the header test that ran away
    # the script's actions are undone: only the implicit keep is left
    assert interp.finish() == [Keep(implicit=True)]


def test_runaway_regex_at_delivery_files_into_inbox_and_logs():
    message = msg({"Subject": "x" * 5000})
    decision = run_filters(RUNAWAY, None, Envelope("a@b.test", "me@example.com"), message)
    assert [d.folder for d in decision.deliveries] == ["INBOX"]
    assert "ran longer than" in decision.errors[0]


def test_pattern_built_from_variables_is_checked_at_run_time():
    script = r"""require ["regex", "variables", "fileinto"];
set "p" "(unclosed";
if header :regex "subject" "${p}" { fileinto "x"; }"""
    interp = Interpreter(Envelope("a@b.test", "me@example.com"), msg({"Subject": "s"}))
    with pytest.raises(SieveRuntimeError, match="regex"):
        interp.execute(parse(script))


def test_body_and_address_take_regex_too():
    script = r"""require ["regex", "body", "fileinto"];
if body :regex "order [0-9]{5}" { fileinto "orders"; }
if address :regex :domain "from" "^(.+[.])?example[.]com$" { fileinto "example"; }"""
    message = msg({"From": "x@mail.example.com"}, "your order 12345 shipped\r\n")
    assert sieve(script, message) == [FileInto("orders"), FileInto("example")]
