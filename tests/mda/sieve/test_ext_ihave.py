"""ihave (RFC 5463): the ihave test and the error command."""

from __future__ import annotations

import pytest

from mailtool.mda.filtering import run_filters
from mailtool.mda.sieve import Envelope, FileInto, Keep, SieveSyntaxError, parse
from tests.mda.sieve.helpers import folders, msg, sieve


def test_rfc5463_section4_example_unknown_extension_block_is_not_checked():
    script = """require ["ihave", "fileinto"];
if ihave "vnd.example.foobar" {
    foobar :with :tags "and" "strings";
} else {
    fileinto "no-foobar";
}"""
    assert sieve(script, msg({})) == [FileInto("no-foobar")]


def test_ihave_grants_the_extension_inside_its_block():
    script = """require "ihave";
if ihave ["fileinto", "variables"] {
    set "box" "Archive";
    fileinto "${box}";
}"""
    assert sieve(script, msg({})) == [FileInto("Archive")]


def test_outside_the_guarded_block_require_is_still_needed():
    with pytest.raises(SieveSyntaxError) as info:
        parse('require "ihave";\nif ihave "fileinto" { stop; }\nfileinto "x";')
    assert (info.value.line, info.value.column) == (3, 1)


def test_a_guarded_block_must_still_parse():
    with pytest.raises(SieveSyntaxError) as info:
        parse('require "ihave";\nif ihave "vnd.x" {\n  foo "unterminated;\n}')
    assert info.value.line == 3


def test_error_command_fails_the_script_and_keeps():
    script = """require ["ihave", "fileinto"];
fileinto "Lost";
if not ihave "vnd.example.magic" { error "this script needs vnd.example.magic"; }"""
    decision = run_filters(script, None, Envelope("a@b.test", "me@example.com"), msg({}))
    assert [d.folder for d in decision.deliveries] == ["INBOX"]
    assert "this script needs vnd.example.magic" in decision.errors[0]
    assert decision.actions == [Keep(implicit=True)]


def test_ihave_and_error_need_require():
    with pytest.raises(SieveSyntaxError, match='needs require "ihave"'):
        parse('if ihave "fileinto" { stop; }')
    with pytest.raises(SieveSyntaxError, match='needs require "ihave"'):
        parse('error "x";')
    # a known capability: the test is true (stop, so the implicit keep files it)
    assert folders(sieve('require "ihave"; if ihave "date" { stop; } discard;', msg({}))) == [
        "INBOX"
    ]
