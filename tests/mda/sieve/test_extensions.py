"""The extensions' own RFC examples: variables (5229), imap4flags (5232), subaddress
(5233), body (5173), copy (3894), reject/ereject (5429), envelope (5228 §5.4)."""

from __future__ import annotations

import pytest

from mailtool.mda.sieve import (
    Discard,
    FileInto,
    Keep,
    Redirect,
    Reject,
    SieveLimitError,
    SieveRuntimeError,
    SieveSyntaxError,
    parse,
)
from tests.mda.sieve.helpers import folders, msg, sieve

# ---------------------------------------------------------------- RFC 5229 variables


def test_rfc5229_section3_variable_names_are_case_insensitive():
    script = """require ["variables", "fileinto"];
set "honorific"  "Mr";
set "first_name" "Wile";
set "last_name"  "Coyote";
set "vacation" text:
Dear ${HONORIFIC} ${last_name},
I'm out, please leave a message after the meep.
.
;
if string :is "${vacation}" "Dear Mr Coyote,\nI'm out, please leave a message after the meep.\n" {
    fileinto "ok";
}
"""
    assert folders(sieve(script, msg({}))) == ["ok"]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("${full}", ""),
        ("${company}", "ACME"),
        ("${BAD${Company}", "${BADACME"),
        ("${President, ${Company} Inc.}", "${President, ACME Inc.}"),
        ("&%${}!", "&%${}!"),
        ("${doh!}", "${doh!}"),
    ],
)
def test_rfc5229_section3_expansion_examples(expr, expected):
    script = (
        'require ["variables", "fileinto"]; set "company" "ACME";\n'
        f'set "x" "{expr}"; fileinto "${{x}}";'
    )
    if expected:
        assert folders(sieve(script, msg({}))) == [expected]
    else:  # an empty mailbox name is a runtime error
        with pytest.raises(SieveRuntimeError):
            sieve(script, msg({}))


@pytest.mark.parametrize(
    ("modifiers", "value", "expected"),
    [
        ("", "juMBlEd lETteRS", "juMBlEd lETteRS"),
        (":length", "juMBlEd lETteRS", "15"),
        (":lower", "juMBlEd lETteRS", "jumbled letters"),
        (":upperfirst", "juMBlEd lETteRS", "JuMBlEd lETteRS"),
        (":upperfirst :lower", "juMBlEd lETteRS", "Jumbled letters"),
        (":quotewildcard", "Rock*", "Rock\\*"),
    ],
)
def test_rfc5229_section4_set_modifiers(modifiers, value, expected):
    script = f'require ["variables", "fileinto"]; set {modifiers} "b" "{value}"; fileinto "${{b}}";'
    assert folders(sieve(script, msg({}))) == [expected]


RFC5229_MATCH = """require ["fileinto", "variables"];

if header :matches "List-ID" "*<*@*" {
    fileinto "INBOX.lists.${2}"; stop;
}

# Imagine the header
# Subject: [acme-users] [fwd] version 1.0 is out
if header :matches "Subject" "[*] *" {
    # ${1} will hold "acme-users",
    # ${2} will hold "[fwd] version 1.0 is out"
    fileinto "INBOX.lists.${1}"; stop;
}

# Imagine the header
# To: coyote@ACME.Example.COM
if address :matches ["To", "Cc"] ["coyote@**.com",
        "wile@**.com"] {
    # ${0} is the matching address
    # ${1} is always the empty string
    # ${2} is part of the domain name ("ACME.Example")
    fileinto "INBOX.business.${2}"; stop;
} else {
    # Control wouldn't reach this block if any match was
    # successful, so no match variables are set at this
    # point.
}

if anyof (true, address :domain :matches "To" "*.com") {
    # The second test is never evaluated, so there are
    # still no match variables set.
    stop;
}
"""


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"List-ID": "Sieve list <sieve.example.org>"}, []),  # no '@': no match
        ({"List-ID": "Sieve <mta-filters@example.org>"}, ["INBOX.lists.mta-filters"]),
        ({"Subject": "[acme-users] [fwd] version 1.0 is out"}, ["INBOX.lists.acme-users"]),
        ({"To": "coyote@ACME.Example.COM"}, ["INBOX.business.ACME.Example"]),
        ({"To": "road@runner.test"}, ["INBOX"]),
    ],
)
def test_rfc5229_section3_2_match_variables(headers, expected):
    result = folders(sieve(RFC5229_MATCH, msg(headers)))
    assert result == (expected or ["INBOX"])


def test_rfc5229_string_test():
    script = """require ["variables", "fileinto"];
set "state" "${state} pending";
if string :matches " ${state} " "* pending *" { fileinto "always"; }
"""
    assert folders(sieve(script, msg({}))) == ["always"]


def test_variables_are_bounded():
    script = 'require "variables";\nset "a" "xxxxxxxxxxxxxxxx";\n' + ('set "a" "${a}${a}";\n' * 40)
    sieve(script, msg({}))  # 2^40 characters if unbounded: truncated instead
    many = 'require "variables";\n' + "".join(f'set "v{i}" "x";\n' for i in range(300))
    with pytest.raises(SieveLimitError):
        sieve(many, msg({}))


# ---------------------------------------------------------------- RFC 5232 imap4flags

RFC5232_EXAMPLE = r"""require ["fileinto", "imap4flags", "variables"];
if size :over 1M
        {
        addflag "MyFlags" "Big";
        if header :is "From" "boss@company.example.com"
                   {
        # The message will be marked as "\Flagged Big" when filed into
        # mailbox "Big messages"
                   addflag "MyFlags" "\\Flagged";
                   }
        fileinto :flags "${MyFlags}" "Big messages";
        }

if header :is "From" "grandma@example.net"
        {
        addflag "MyFlags" ["\\Answered", "$MDNSent"];
        # If the message is bigger than 1Mb it will be marked as
        # "Big \Answered $MDNSent" when filed into mailbox "grandma".
        # If the message is shorter than 1Mb it will be marked as
        # "\Answered $MDNSent"
        fileinto :flags "${MyFlags}" "GrandMa";
        }

# Handle messages from known mailing lists
# Move messages from IETF filter discussion list to filter folder
if header :is "Sender" "owner-ietf-mta-filters@example.com"
        {
        set "MyFlags" "\\Flagged $Work";
        # Message will have both "\Flagged" and $Work flags
        keep :flags "${MyFlags}";
        }

#
# Keep all messages to or from people in my company
#
elsif address :domain ["From", "To"] "company.example.com"
        {
        keep :flags "${MyFlags}"; # keep in "In" folder
        }

# Try and catch unsolicited email.  If a message is not to me,
# or it contains a subject known to be spam, file it away.
elsif anyof (not address :all :contains
               ["To", "Cc"] "me@company.example.com",
             header :matches "subject"
               ["*make*money*fast*", "*university*dipl*mas*"])
        {
        removeflag "MyFlags" "\\Flagged";
        fileinto :flags "${MyFlags}" "spam";
        }
else
        {
        # Move all other external mail to "personal"
        # folder.
        fileinto :flags "${MyFlags}" "personal";
        }
"""


def test_rfc5232_example_big_mail_from_the_boss():
    big = msg({"From": "boss@company.example.com", "To": "me@company.example.com"}, "x" * (1 << 20))
    actions = sieve(RFC5232_EXAMPLE, big)
    assert actions == [
        FileInto("Big messages", frozenset({"Big", "\\Flagged"})),
        Keep(frozenset({"Big", "\\Flagged"})),
    ]


def test_rfc5232_example_grandma():
    small = msg({"From": "grandma@example.net", "To": "me@company.example.com"})
    actions = sieve(RFC5232_EXAMPLE, small)
    assert actions[0] == FileInto("GrandMa", frozenset({"\\Answered", "$MDNSent"}))
    # To: is in the company domain, so the elsif keeps it with the same flags
    assert actions[1] == Keep(frozenset({"\\Answered", "$MDNSent"}))


def test_rfc5232_example_list_mail():
    m = msg({"Sender": "owner-ietf-mta-filters@example.com", "To": "x@y.test"})
    assert sieve(RFC5232_EXAMPLE, m) == [Keep(frozenset({"\\Flagged", "$Work"}))]


def test_internal_flags_apply_to_implicit_keep_and_hasflag():
    script = r"""require ["imap4flags", "fileinto"];
setflag "\\Seen";
addflag ["\\Flagged", "\\seen"];
if hasflag :is "\\flagged" { fileinto "flagged"; }
removeflag "\\Flagged";
"""
    actions = sieve(script, msg({}))
    assert actions == [FileInto("flagged", frozenset({"\\Seen", "\\Flagged"}))]


def test_implicit_keep_carries_the_internal_flags():
    actions = sieve(r'require "imap4flags"; setflag "\\Seen";', msg({}))
    assert actions == [Keep(frozenset({"\\Seen"}), implicit=True)]


# ---------------------------------------------------------------- RFC 5233 subaddress

RFC5233_EXAMPLE = """require ["envelope", "subaddress", "fileinto"];

# In this example the same user account receives mail for both
# "ken@example.com" and "postmaster@example.com"

# File all messages to postmaster into a single mailbox,
# ignoring the :detail part.
if envelope :user "to" "postmaster" {
    fileinto "inbox.postmaster";
    stop;
}

# File mailing list messages (subscribed as "ken+mta-filters").
if envelope :detail "to" "mta-filters" {
    fileinto "inbox.ietf-mta-filters";
}

# Redirect all mail sent to "ken+foo".
if envelope :detail "to" "foo" {
    redirect "ken@example.net";
}
"""


@pytest.mark.parametrize(
    ("recipient", "expected"),
    [
        ("postmaster+anything@example.com", [FileInto("inbox.postmaster")]),
        ("postmaster@example.com", [FileInto("inbox.postmaster")]),
        ("ken+mta-filters@example.com", [FileInto("inbox.ietf-mta-filters")]),
        ("ken+foo@example.com", [Redirect("ken@example.net")]),
        ("ken@example.com", [Keep(implicit=True)]),
    ],
)
def test_rfc5233_example(recipient, expected):
    assert sieve(RFC5233_EXAMPLE, msg({}), recipient=recipient) == expected


def test_detail_absent_never_matches_even_star():
    script = 'require ["envelope", "subaddress"]; if envelope :detail :matches "to" "*" {discard;}'
    assert sieve(script, msg({}), recipient="ken@example.com") == [Keep(implicit=True)]
    assert sieve(script, msg({}), recipient="ken+@example.com") == [Discard()]


def test_envelope_from_null_is_empty():
    script = 'require "envelope"; if envelope :is "from" "" { discard; }'
    assert sieve(script, msg({}), sender="") == [Discard()]


# ---------------------------------------------------------------- RFC 5173 body

RFC5173_EXAMPLE = """require ["body", "fileinto"];

# Save any message with any text MIME part that contains the
# words "missile" or "coordinates" in the "secrets" folder.

if body :content "text" :contains ["missile", "coordinates"] {
        fileinto "secrets";
}

# Save any message with an audio/mp3 MIME part in
# the "jukebox" folder.

if body :content "audio/mp3" :contains "" {
        fileinto "jukebox";
}
"""

MULTIPART = (
    b"From: a@b.test\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
    b"--XX\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"VGhlIG1pc3NpbGUgaXMgcmVhZHk=\r\n"  # "The missile is ready"
    b"--XX\r\nContent-Type: audio/mp3\r\n\r\nID3....\r\n--XX--\r\n"
)


def test_rfc5173_example():
    assert folders(sieve(RFC5173_EXAMPLE, MULTIPART)) == ["secrets", "jukebox"]
    plain = msg({"Subject": "x"}, "nothing here\r\n")
    assert folders(sieve(RFC5173_EXAMPLE, plain)) == ["INBOX"]


def test_body_text_and_raw_transforms():
    text = 'require "body"; if body :text :contains "missile" { discard; }'
    raw = 'require "body"; if body :raw :contains "missile" { discard; }'
    assert sieve(text, MULTIPART) == [Discard()]  # decoded from base64
    assert sieve(raw, MULTIPART) == [Keep(implicit=True)]  # the raw body is base64


# ---------------------------------------------------------------- RFC 3894 copy


def test_rfc3894_redirect_copy_keeps():
    script = (
        'require ["copy"]; if header :contains "subject" "sieve" '
        '{ redirect :copy "sievetest@example.com"; }'
    )
    actions = sieve(script, msg({"Subject": "about sieve"}))
    assert actions == [Redirect("sievetest@example.com", copy=True), Keep(implicit=True)]


# ---------------------------------------------------------------- RFC 5429 reject


def test_rfc5429_reject_example():
    script = """require ["reject"];

if header :contains "from" "coyote@desert.example.org" {
   reject text:
I am not taking mail from you, and I don't
want your birdseed, either.
.
   ;
}
"""
    actions = sieve(script, msg({"From": "coyote@desert.example.org"}))
    assert actions == [
        Reject("I am not taking mail from you, and I don't\nwant your birdseed, either.\n")
    ]


def test_rfc5429_ereject_example():
    script = """require ["ereject"];

if address :domain :is "from" "example.com" {
   ereject "I no longer accept mail from this domain";
}
"""
    actions = sieve(script, msg({"From": "x@example.com"}))
    assert actions == [Reject("I no longer accept mail from this domain", extended=True)]


def test_reject_with_fileinto_is_a_runtime_error():
    script = 'require ["reject", "fileinto"]; fileinto "x"; reject "no";'
    with pytest.raises(SieveRuntimeError):
        sieve(script, msg({}))


def test_redirect_limit():
    script = "".join(f'redirect "a{i}@b.test";\n' for i in range(10))
    with pytest.raises(SieveLimitError):
        sieve(script, msg({}))


def test_extension_without_require_is_a_syntax_error():
    with pytest.raises(SieveSyntaxError, match=r"line 1, column 1: 'fileinto' needs require"):
        parse('fileinto "x";')
    with pytest.raises(SieveSyntaxError, match=r":copy needs require \"copy\""):
        parse('require "fileinto";\nfileinto :copy "x";')
