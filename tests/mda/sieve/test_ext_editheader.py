"""editheader (RFC 5293): addheader / deleteheader, protected fields, what later tests
and the delivered message see."""

from __future__ import annotations

import pytest

from mailtool.mda.sieve import FileInto, Keep, Redirect, SieveSyntaxError, check
from mailtool.mda.sieve.ext_editheader import MAX_VALUE_BYTES
from tests.mda.sieve.helpers import assert_refused, msg, sieve

REQ = 'require ["editheader", "fileinto", "variables"];\n'


def delivered(actions: list) -> bytes:
    (action,) = [a for a in actions if isinstance(a, Keep | FileInto | Redirect)]
    assert action.message is not None
    return action.message


def test_rfc5293_example_addheader_then_redirect():
    # RFC 5293 §7 example 1: mark the message before redirecting it
    script = """require ["editheader"];
if not header :contains "X-Sieve-Filtered"
        ["<kim@job.example.com>", "<kim@home.example.com>"]
{
        addheader "X-Sieve-Filtered" "<kim@job.example.com>";
        redirect "kim@home.example.com";
}"""
    actions = sieve(script, msg({"Subject": "hi"}))
    assert actions == [Redirect("kim@home.example.com")]
    assert delivered(actions).startswith(b"X-Sieve-Filtered: <kim@job.example.com>\r\n")
    again = msg({"X-Sieve-Filtered": "<kim@job.example.com>"})
    assert sieve(script, again) == [Keep(implicit=True)]


def test_rfc5293_example_deleteheader_index():
    # RFC 5293 §7 example 2
    script = 'require ["editheader"]; deleteheader :index 1 :is "Delivered-To" "bob@example.com";'
    message = msg([("Delivered-To", "bob@example.com"), ("Delivered-To", "bob@example.com")])
    out = delivered(sieve(script, message))
    assert out.count(b"Delivered-To:") == 1


def test_addheader_last_and_later_tests_see_it():
    script = (
        REQ
        + """addheader :last "X-Seen" "yes";
if header :is "X-Seen" "yes" { fileinto "Seen"; }"""
    )
    actions = sieve(script, msg({"Subject": "s"}))
    assert actions == [FileInto("Seen")]
    assert delivered(actions) == b"Subject: s\r\nX-Seen: yes\r\n\r\nhello\r\n"


def test_deleteheader_match_types_and_last_index():
    message = msg([("X-A", "one"), ("X-A", "two"), ("X-A", "three"), ("X-B", "b")])
    out = delivered(sieve(REQ + 'deleteheader :matches "x-a" "t*";', message))
    assert b"two" not in out and b"three" not in out and b"X-A: one" in out
    out = delivered(sieve(REQ + 'deleteheader :index 1 :last "X-A";', message))
    assert b"three" not in out and b"two" in out
    out = delivered(sieve(REQ + 'deleteheader "X-A";', message))
    assert b"X-A" not in out and b"X-B: b" in out
    # a no-op edit leaves the message alone
    assert sieve(REQ + 'deleteheader "X-None";', message)[0].message is None


def test_deleteheader_does_not_set_match_variables():
    script = (
        REQ
        + """if header :matches "Subject" "*" { }
deleteheader :matches "X-A" "o*";
if string :is "${1}" "hello" { fileinto "ok"; }"""
    )
    assert sieve(script, msg({"Subject": "hello", "X-A": "one"}))[0] == FileInto("ok")


def test_protected_fields_are_silently_left_alone():
    message = msg({"Received": "from a", "Auto-Submitted": "auto-replied"})
    script = (
        REQ
        + """deleteheader "Received"; deleteheader "auto-submitted";
addheader "Received" "forged"; addheader "Auto-Submitted" "no";"""
    )
    assert sieve(script, message) == [Keep(implicit=True)]
    assert sieve(script, message)[0].message is None


def test_subject_can_be_replaced_and_non_ascii_is_encoded():
    script = (
        REQ
        + """if header :matches "Subject" "*" { set "s" "${1}"; }
deleteheader "Subject"; addheader "Subject" "[Liste] ${s} – Grüße";"""
    )
    out = delivered(sieve(script, msg({"Subject": "Hallo"})))
    assert b"Subject: =?utf-8?" in out and b"Hallo" not in out.split(b"\r\n\r\n")[1]
    from mailtool.mda.sieve.message import MessageView

    assert MessageView(out).headers("Subject") == ["[Liste] Hallo – Grüße"]


def test_edits_after_a_fileinto_do_not_change_it():
    script = REQ + """fileinto :copy "Before"; addheader "X-Late" "1"; fileinto "After";"""
    with pytest.raises(SieveSyntaxError):
        check(script)  # :copy needs require "copy"
    script = script.replace('"variables"', '"variables", "copy"')
    before, after = sieve(script, msg({}))
    assert before.message is None and b"X-Late: 1" in after.message


def test_vacation_answers_the_original_message():
    script = """require ["editheader", "vacation"];
deleteheader "Subject"; addheader "Subject" "changed";
vacation :addresses "me@example.com" "away";"""
    actions = sieve(script, msg({"Subject": "original", "To": "me@example.com"}))
    assert b"Subject: Auto: original" in actions[0].message


@pytest.mark.parametrize(
    ("script", "where"),
    [
        (REQ + 'addheader "Bad Name" "x";', "line 2, column 1"),
        (REQ + 'addheader "X-A:" "x";', "line 2"),
        (REQ + 'deleteheader :last "X-A";', ":last needs :index"),
        (REQ + 'deleteheader :index 0 "X-A";', "counts from 1"),
        (REQ + 'deleteheader ["A", "B"];', "one string"),
        (REQ + f'addheader "X-Big" "{"x" * (MAX_VALUE_BYTES + 1)}";', "over 2048 bytes"),
        ('addheader "X-A" "b";', 'require "editheader"'),
    ],
)
def test_errors_name_line_and_column(script, where):
    assert_refused(script, where)


def test_a_runtime_bad_name_undoes_the_script():
    script = REQ + 'set "n" "bad name"; addheader "X-Ok" "1"; addheader "${n}" "x"; discard;'
    with pytest.raises(Exception, match="not a header field name"):
        sieve(script, msg({}))


def test_edits_are_bounded():
    script = REQ + 'addheader "X-A" "1";\n' * 70
    with pytest.raises(Exception, match="more than 64 header edits"):
        sieve(script, msg({}))
