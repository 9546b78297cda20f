"""mailtool.protocol.mime without a peer: sections, envelopes, limits, RFC 2047."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtool.protocol import mime
from mailtool.protocol.imap.values import format_value, parse_value

CORPUS = Path(__file__).parent.parent / "data" / "mime"

NESTED = (CORPUS / "17_nested_rfc822.eml").read_bytes()


def test_wire_form_counts_bare_lf_as_crlf() -> None:
    raw = b"Subject: x\n\nline\n"
    msg = mime.parse(raw)
    assert msg.raw == b"Subject: x\r\n\r\nline\r\n"
    assert mime.bodystructure(msg)[6:8] == [6, 1]  # "line\r\n": 6 octets, 1 line
    assert mime.to_crlf(b"a\r\nb\nc\r") == b"a\r\nb\r\nc\r"


def test_header_and_text_of_the_message() -> None:
    msg = mime.parse(NESTED)
    header = mime.section(msg, (), "HEADER")
    assert header is not None
    assert header.startswith(b"From: outer@example.com\r\n")
    assert header.endswith(b'boundary="outer"\r\n\r\n')
    assert header + mime.section(msg, (), "TEXT") == msg.raw  # type: ignore[operator]
    assert mime.section(msg) == msg.raw


def test_numeric_parts_mime_headers_and_nested_message() -> None:
    msg = mime.parse(NESTED)
    assert mime.section(msg, (1,)) == b"Forwarding."
    assert mime.section(msg, (1,), "MIME") == b"Content-Type: text/plain\r\n\r\n"
    assert mime.section(msg, (1, 1)) == b"Forwarding."  # part 1 of a leaf is itself
    inner = mime.section(msg, (2,))
    assert inner is not None and inner.startswith(b"Date: Sun, 2 Feb 2025")
    assert inner.endswith(b"--inner--\r\n")  # the CRLF before --outer-- is the boundary's
    assert mime.section(msg, (2,), "MIME") == (
        b"Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n"
    )
    inner_header = mime.section(msg, (2,), "HEADER")
    assert inner_header is not None and inner_header.startswith(b"Date:")
    assert b"Subject: inner\r\n" in inner_header
    assert mime.section(msg, (2, 1)) == b"inner plain"
    assert mime.section(msg, (2, 2)) == b"<b>inner html</b>"
    assert mime.section(msg, (2, 2), "MIME") == b"Content-Type: text/html\r\n\r\n"
    assert mime.section(msg, (1,), "HEADER") == b""  # not a message/rfc822
    assert mime.section(msg, (3,)) is None
    assert mime.section(msg, (2, 3)) is None
    assert mime.section(msg, (1, 2)) is None


def test_header_fields_and_fields_not() -> None:
    msg = mime.parse(NESTED)
    assert mime.section(msg, (), "HEADER.FIELDS", ["subject", "FROM", "X-None"]) == (
        b"From: outer@example.com\r\nSubject: Fwd: inner\r\n\r\n"
    )
    rest = mime.section(msg, (), "HEADER.FIELDS.NOT", ["Subject", "From", "To"])
    assert rest == (b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="outer"\r\n\r\n')
    assert mime.section(msg, (2,), "HEADER.FIELDS", ["Message-ID"]) == (
        b"Message-ID: <inner@example.org>\r\n\r\n"
    )
    assert mime.section(msg, (), "HEADER.FIELDS", ["X-None"]) == b"\r\n"


def test_folded_field_is_returned_whole() -> None:
    raw = (CORPUS / "33_folded_headers.eml").read_bytes()
    assert mime.section(raw, (), "HEADER.FIELDS", ["Date"]) == (
        b"Date: Mon, 3 Feb 2025\r\n 10:00:00 +0100\r\n\r\n"
    )


def test_bad_section_requests_raise_mime_errors() -> None:
    with pytest.raises(mime.MimeError):
        mime.section(NESTED, (), "MIME")
    with pytest.raises(mime.MimeError):
        mime.section(NESTED, (1,), "BOGUS")


def test_sections_never_contain_nul() -> None:
    raw = b"Subject: a\x00b\r\n\r\nbody\x00\r\n"
    assert mime.section(raw) == b"Subject: a\x80b\r\n\r\nbody\x80\r\n"
    assert mime.binary(raw, (1,)) == b"body\x00\r\n"  # BINARY is literal8: NUL allowed


def test_binary_decodes_transfer_encodings() -> None:
    msg = mime.parse((CORPUS / "15_mixed_attachments.eml").read_bytes())
    assert mime.binary(msg, (2,)) == bytes(range(256)) * 3
    assert mime.binary_size(msg, (2,)) == 768
    assert mime.binary(msg, (3,)) == "Café crème soft line.".encode("latin-1")
    assert mime.binary(msg, (9,)) is None
    with pytest.raises(mime.UnknownCTE):
        mime.binary((CORPUS / "51_unknown_cte.eml").read_bytes(), (1,))


def test_decode_body_is_lenient() -> None:
    assert mime.decode_body(b"aGVs\r\nbG8=\r\n", "BASE64") == b"hello"
    assert mime.decode_body(b"aGVsbG8", "base64") == b"hello"  # missing padding
    assert mime.decode_body(b"a*G!Vs bG8=", "base64") == b"hello"  # junk ignored
    assert mime.decode_body(b"caf=C3=A9 =\r\nx", "quoted-printable") == "café x".encode()
    assert mime.decode_body(b"raw", None) == b"raw"


def test_envelope_of_groups_routes_and_comments() -> None:
    env = mime.envelope((CORPUS / "07_group_members.eml").read_bytes())
    assert env[5] == [
        [None, None, "Friends", None],
        [None, None, "a", "b.example"],
        ["C D", None, "c", "d.example"],
        [None, None, None, None],
        [None, None, "solo", "e.example"],
    ]
    assert env[6] == [[None, None, "Empty Group", None], [None, None, None, None]]
    env = mime.envelope((CORPUS / "39_routes_comments.eml").read_bytes())
    assert env[2] == [[None, "@relay1.example,@relay2.example", "user", "host.example"]]
    assert env[3] == [["The User", None, "user", "host.example"]]


def test_envelope_defaults_sender_and_reply_to_to_from() -> None:
    env = mime.envelope(b"From: a@b.example\r\nSubject:  spaced \t subject \r\n\r\n")
    assert env[1] == "spaced subject"
    assert env[2] == env[3] == env[4] == [[None, None, "a", "b.example"]]
    assert env[5:] == [None, None, None, None, None]
    assert mime.envelope(b"") == [None] * 10


def test_values_round_trip_through_the_imap_formatter() -> None:
    for path in sorted(CORPUS.glob("*.eml")):
        msg = mime.parse(path.read_bytes())
        for value in (mime.envelope(msg), mime.bodystructure(msg), mime.bodystructure(msg, False)):
            parsed, rest = parse_value(format_value(value))
            assert rest == b""
            assert parsed == value, path.name


def test_limits_keep_deep_nesting_as_leaves() -> None:
    depth = 150
    raw = b"".join(
        b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
        for i in range(depth)
    )
    raw = (
        b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n" + raw + b"--b%d\r\n\r\nx\r\n" % depth
    )
    msg = mime.parse(raw)
    node, levels = mime.bodystructure(msg), 0
    while isinstance(node[0], list):
        node, levels = node[0], levels + 1
    assert levels == mime.DEFAULT_LIMITS.max_depth
    small = mime.Message(raw, mime.MimeLimits(max_depth=3))
    assert small.root.children[0].children[0].children[0].too_deep


def test_limits_bound_the_number_of_parts() -> None:
    parts = b"".join(b"--p\r\n\r\n%d\r\n" % i for i in range(50))
    raw = b"Content-Type: multipart/mixed; boundary=p\r\n\r\n" + parts + b"--p--\r\n"
    assert len(mime.Message(raw).root.children) == 50
    assert len(mime.Message(raw, mime.MimeLimits(max_parts=10)).root.children) == 9


def test_header_budget_bounds_interpreted_fields() -> None:
    raw = b"".join(b"X-%d: v\r\n" % i for i in range(100)) + b"Subject: late\r\n\r\nbody"
    msg = mime.Message(raw, mime.MimeLimits(max_header_bytes=100))
    assert len(msg.root.fields) < 20
    assert mime.envelope(msg)[1] is None  # beyond the budget: not interpreted
    assert mime.section(msg, (), "TEXT") == b"body"  # but the structure is exact


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("=?utf-8?q?caf=C3=A9?=", "café"),
        ("=?UTF-8?B?w6k=?= =?utf-8?b?w6k=?=", "éé"),  # space between words dropped
        ("=?iso-8859-1?q?J=F6rg?= Smith", "Jörg Smith"),
        ("a =?utf-8?q?b?= c", "a b c"),
        ("=?utf-8?q?hello_world?=", "hello world"),
        ("=?utf-8?b?5pel?=\r\n =?utf-8?b?5pys?=", "日本"),
        ("=?utf-8?q?=E6=97?= =?utf-8?q?=A5?=", "日"),  # a character split across words
        ("=?utf-8*en?q?lang?=", "lang"),  # RFC 2231 language suffix
        ("=?x-unknown?q?what?=", "=?x-unknown?q?what?="),
        ("=?utf-8?b?!!bad!!?= ok", "=?utf-8?b?!!bad!!?= ok"),
        ("=?utf-8?q?unterminated", "=?utf-8?q?unterminated"),
        ("plain\r\n folded", "plain folded"),
        ("Gr\udcfc\udcdfe", "Grüße"),  # raw Latin-1 bytes (surrogateescape)
        ("=?utf-8?q?=FF?=", "\ufffd"),
        ("=?base64?q?x?=", "=?base64?q?x?="),  # a codec, but not a text encoding
        ("=?UTF-8?B?w\udcf9w==?=", "=?UTF-8?B?wùw==?="),  # 8-bit inside a word: not a word
    ],
)
def test_decode_header(raw: str, text: str) -> None:
    assert mime.decode_header(raw) == text
