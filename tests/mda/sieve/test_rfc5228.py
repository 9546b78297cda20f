"""RFC 5228's own example script (§9) and the base language's tests and actions."""

from __future__ import annotations

import pytest

from mailtool.mda.sieve import Discard, FileInto, Keep, Redirect
from tests.mda.sieve.helpers import folders, msg, sieve

# RFC 5228 §9, verbatim apart from indentation
RFC_EXAMPLE = """\
#
# Example Sieve Filter
# Declare any optional features or extension used by the script
#
require ["fileinto"];

#
# Handle messages from known mailing lists
# Move messages from IETF filter discussion list to filter mailbox
#
if header :is "Sender" "owner-ietf-mta-filters@imc.org"
        {
        fileinto "filter";  # move to "filter" mailbox
        }
#
# Keep all messages to or from people in my company
#
elsif address :DOMAIN :is ["From", "To"] "example.com"
        {
        keep;               # keep in "In" mailbox
        }

#
# Try and catch unsolicited email.  If a message is not to me,
# or it contains a subject known to be spam, file it away.
#
elsif anyof (NOT address :all :contains
               ["To", "Cc", "Bcc"] "me@example.com",
             header :matches "subject"
               ["*make*money*fast*", "*university*dipl*mas*"])
        {
        fileinto "spam";   # move to "spam" mailbox
        }
else
        {
        # Move all other (non-company) mail to "personal"
        # mailbox.
        fileinto "personal";
        }
"""


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Sender": "owner-ietf-mta-filters@imc.org", "To": "me@example.com"}, ["filter"]),
        ({"From": "boss@example.com", "To": "me@other.test"}, ["INBOX"]),
        ({"From": "x@spam.test", "To": "someone@else.test"}, ["spam"]),
        ({"From": "x@spam.test", "To": "me@example.net", "Subject": "Make MONEY fast"}, ["spam"]),
        ({"From": "x@a.test", "To": "me@example.net", "Cc": "me@example.com"}, ["personal"]),
        ({"From": "x@a.test", "Bcc": "me@example.com", "Subject": "university diplomas"}, ["spam"]),
    ],
)
def test_rfc5228_section9_example(headers, expected):
    assert folders(sieve(RFC_EXAMPLE, msg(headers))) == expected


def test_implicit_keep_when_nothing_matches():
    actions = sieve("if false { discard; }", msg({"Subject": "x"}))
    assert actions == [Keep(implicit=True)]


def test_discard_cancels_implicit_keep():
    assert sieve("discard;", msg({"Subject": "x"})) == [Discard()]


def test_stop_ends_the_script():
    script = 'require "fileinto"; fileinto "a"; stop; fileinto "b";'
    assert folders(sieve(script, msg({}))) == ["a"]


def test_keep_and_fileinto_inbox_deliver_once():
    # RFC 5228 §4.2: a mailbox named twice gets one copy
    script = 'require "fileinto"; keep; fileinto "INBOX"; fileinto "x"; fileinto "x";'
    assert folders(sieve(script, msg({}))) == ["INBOX", "x"]


def test_redirect_cancels_keep_and_is_deduplicated():
    script = 'redirect "a@b.test"; redirect "A@b.test";'
    assert sieve(script, msg({})) == [Redirect("a@b.test")]


def test_size_with_quantifiers():
    big = msg({"Subject": "x"}, "y" * 2000)
    assert folders(sieve('require "fileinto"; if size :over 1K { fileinto "big"; }', big)) == [
        "big"
    ]
    assert folders(sieve("if size :under 1K { discard; }", big)) == ["INBOX"]


def test_exists_needs_every_header():
    m = msg({"From": "a@b.test", "Subject": "s"})
    assert sieve('if exists ["From", "Subject"] { discard; }', m) == [Discard()]
    assert sieve('if exists ["From", "X-Nope"] { discard; }', m) == [Keep(implicit=True)]


def test_header_is_decoded_and_casemapped_by_default():
    m = msg({"Subject": "=?utf-8?q?Caf=C3=A9_news?="})
    assert sieve('if header :contains "subject" "CAFÉ" { discard; }', m) == [Keep(implicit=True)]
    assert sieve('if header :contains "subject" "café NEWS" { discard; }', m) == [Discard()]


def test_octet_comparator_is_case_sensitive():
    m = msg({"Subject": "Hello"})
    script = 'if header :comparator "i;octet" :is "subject" "hello" { discard; }'
    assert sieve(script, m) == [Keep(implicit=True)]


def test_ascii_numeric_needs_require():
    script = (
        'require "comparator-i;ascii-numeric";\n'
        'if header :comparator "i;ascii-numeric" :is "X-N" "007" { discard; }'
    )
    assert sieve(script, msg({"X-N": "7 apples"})) == [Discard()]


def test_address_parts():
    m = msg({"From": '"Al" <Al.Bundy@Shoe.Example>'})
    assert sieve('if address :localpart :is "from" "al.bundy" { discard; }', m) == [Discard()]
    assert sieve('if address :domain :is "from" "shoe.example" { discard; }', m) == [Discard()]
    assert sieve('if address :is "from" "al.bundy@shoe.example" { discard; }', m) == [Discard()]


def test_allof_anyof_not():
    m = msg({"From": "a@b.test", "Subject": "hi"})
    yes = 'if allof (header :is "subject" "hi", not exists "X-Spam") { discard; }'
    no = 'if anyof (false, header :is "subject" "bye") { discard; }'
    assert sieve(yes, m) == [Discard()]
    assert sieve(no, m) == [Keep(implicit=True)]


def test_fileinto_keeps_going_after_copy():
    script = 'require ["fileinto", "copy"]; fileinto :copy "Archive";'
    actions = sieve(script, msg({}))
    assert actions == [FileInto("Archive", copy=True), Keep(implicit=True)]
