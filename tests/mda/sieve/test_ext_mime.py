"""mime / foreverypart / extracttext (RFC 5703), with the RFC's examples."""

from __future__ import annotations

import pytest

from mailtool.mda.sieve import FileInto, Keep
from mailtool.mda.sieve.ext_mime import MAX_DEPTH
from tests.mda.sieve.helpers import assert_refused, folders, sieve


def multipart(*parts: str, outer: str = "") -> bytes:
    body = "".join(f"--XX\r\n{p}\r\n" for p in parts) + "--XX--\r\n"
    head = ("From: a@example.org\r\nTo: me@example.com\r\nSubject: parts\r\n" + outer
            + "Content-Type: multipart/mixed; boundary=XX\r\n\r\n")  # fmt: skip
    return (head + body).encode()


TEXT = "Content-Type: text/plain; charset=utf-8\r\n\r\nPlease find the invoice attached."
HTML = "Content-Type: text/html\r\n\r\n<p>Hello <b>there</b></p>"
PDF = ("Content-Type: application/pdf; name=\"x.pdf\"\r\n"
       "Content-Disposition: attachment; filename=\"important-report.pdf\"\r\n\r\n"
       + "JVBERi0xLjQK" * 40)  # fmt: skip
IMAGE = "Content-Type: image/png\r\nContent-Disposition: inline\r\n\r\niVBORw0KGgo="

# RFC 5703 §4.1's examples (INBOX.* folder names as in the RFC)
RFC_TYPE = """require ["mime", "fileinto"];
if header :mime :type "Content-Type" "image" {
    fileinto "INBOX.images";
}"""
RFC_ANYCHILD = """require ["mime", "fileinto"];
if header :mime :anychild :contenttype "Content-Type" "text/html" {
    fileinto "INBOX.html";
}"""
RFC_FOREVERYPART = """require ["mime", "foreverypart", "fileinto"];
foreverypart {
    if allof (
      header :mime :param "filename" :contains "Content-Disposition" "important",
      header :mime :subtype "Content-Type" "pdf",
      size :over 100) {
        fileinto "INBOX.important";
        break;
    }
}"""


def test_rfc5703_type_looks_at_the_top_level_outside_a_loop():
    image_only = b"From: a@example.org\r\nContent-Type: image/png\r\n\r\niVBORw0KGgo=\r\n"
    assert folders(sieve(RFC_TYPE, image_only)) == ["INBOX.images"]
    assert sieve(RFC_TYPE, multipart(TEXT, IMAGE)) == [Keep(implicit=True)]


def test_rfc5703_anychild():
    assert folders(sieve(RFC_ANYCHILD, multipart(TEXT, HTML))) == ["INBOX.html"]
    assert folders(sieve(RFC_ANYCHILD, multipart(TEXT))) == ["INBOX"]


def test_rfc5703_foreverypart_with_break():
    assert sieve(RFC_FOREVERYPART, multipart(TEXT, PDF, PDF)) == [FileInto("INBOX.important")]
    assert folders(sieve(RFC_FOREVERYPART, multipart(TEXT, IMAGE))) == ["INBOX"]


def test_foreverypart_visits_nested_parts_depth_first_and_names_loops():
    inner = (
        "Content-Type: multipart/alternative; boundary=YY\r\n\r\n--YY\r\n"
        + TEXT
        + ("\r\n--YY\r\n" + HTML + "\r\n--YY--")
    )
    message = multipart(inner, IMAGE)
    script = """require ["mime", "foreverypart", "fileinto", "variables"];
foreverypart :name "outer" {
    if header :mime :matches :contenttype "Content-Type" "*" { fileinto "seen/${1}"; }
    foreverypart { if header :mime :subtype "Content-Type" "html" { break :name "outer"; } }
}"""
    assert folders(sieve(script, message)) == ["seen/multipart/alternative"]
    walk = script.replace('break :name "outer"', "break")
    assert folders(sieve(walk, message)) == [
        "seen/multipart/alternative", "seen/text/plain", "seen/text/html", "seen/image/png",
    ]  # fmt: skip


def test_extracttext_first_and_modifiers():
    script = """require ["mime", "foreverypart", "extracttext", "variables", "fileinto"];
foreverypart {
    if header :mime :subtype "Content-Type" "plain" {
        extracttext :upper :first 6 "start";
        fileinto "t/${start}";
    }
    if header :mime :subtype "Content-Type" "html" {
        extracttext "html";
        if string :contains "${html}" "<b>" { fileinto "tags kept"; }
        if string :contains "${html}" "there" { fileinto "html text"; }
    }
    if header :mime :type "Content-Type" "image" {
        extracttext "img";
        if string :is "${img}" "" { fileinto "not text"; }
    }
}"""
    assert folders(sieve(script, multipart(TEXT, HTML, IMAGE))) == [
        "t/PLEASE",
        "html text",
        "not text",
    ]


def test_address_and_exists_with_mime():
    forwarded = ("Content-Type: message/rfc822\r\n\r\nFrom: Boss <boss@example.net>\r\n"
                 "Subject: inner\r\n\r\nhi")  # fmt: skip
    script = """require ["mime", "fileinto"];
if address :mime :anychild :domain "From" "example.net" { fileinto "from boss"; }
if exists :mime :anychild ["Content-Disposition"] { fileinto "has disposition"; }
if exists :mime "Content-Disposition" { fileinto "top has it"; }"""
    assert folders(sieve(script, multipart(forwarded, IMAGE))) == ["from boss", "has disposition"]


def test_parts_and_depth_are_bounded():
    nested = "Content-Type: text/plain\r\n\r\ndeep"
    for level in range(MAX_DEPTH + 10):
        nested = (f"Content-Type: multipart/mixed; boundary=B{level}\r\n\r\n--B{level}\r\n"
                  f"{nested}\r\n--B{level}--")  # fmt: skip
    script = """require ["mime", "foreverypart", "fileinto"];
foreverypart { if header :mime :subtype "Content-Type" "plain" { fileinto "found"; } }"""
    assert folders(sieve(script, multipart(nested))) == ["INBOX"]  # below the bound: unseen
    assert folders(sieve(script, multipart(TEXT))) == ["found"]


@pytest.mark.parametrize(
    ("script", "error"),
    [
        ('require "foreverypart";\nbreak;', "line 2, column 1: break must be inside foreverypart"),
        (
            'require "foreverypart"; foreverypart :name "a" { break :name "b"; }',
            'no enclosing foreverypart is named "b"',
        ),
        (
            'require ["extracttext", "variables", "foreverypart"]; extracttext "x";',
            "extracttext must be inside foreverypart",
        ),
        (
            'require ["extracttext", "foreverypart"]; foreverypart { extracttext "x"; }',
            'needs require "variables" and "foreverypart"',
        ),
        ('if header :mime "Content-Type" "x" { keep; }', ':mime needs require "mime"'),
        ('require "mime"; if header :type "Content-Type" "x" { keep; }', "need :mime"),
        ('require "mime"; if address :mime :type "From" "x" { keep; }', "for header only"),
        (
            'require "mime"; if header :mime :type :subtype "Content-Type" "x" { keep; }',
            "conflicts",
        ),
        ("foreverypart { }", 'needs require "foreverypart"'),
    ],
)
def test_errors_name_line_and_column(script, error):
    assert_refused(script, error)
