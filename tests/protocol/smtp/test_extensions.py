"""EHLO replies: parse and format the extension keywords."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailtool.errors import ProtocolError
from mailtool.protocol.smtp import Ehlo, Extensions, Reply, ReplyParser, parse_ehlo


def test_rfc5321_appendix_d1_ehlo_reply():
    (reply,) = ReplyParser().feed(
        b"250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250 HELP\r\n"
    )
    ehlo = parse_ehlo(reply)
    assert ehlo.domain == "foo.com" and ehlo.greeting == "greets bar.com"
    assert list(ehlo.extensions) == ["8BITMIME", "SIZE", "DSN", "HELP"]
    assert ehlo.extensions.size is None  # SIZE without a number


def test_common_keywords():
    (reply,) = ReplyParser().feed(
        b"250-mx.example Hello\r\n250-SIZE 35882577\r\n250-auth PLAIN LOGIN SCRAM-SHA-256\r\n"
        b"250-PIPELINING\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
        b"250-SMTPUTF8\r\n250-CHUNKING\r\n250 DSN\r\n"
    )
    ext = parse_ehlo(reply).extensions
    assert ext.size == 35882577
    assert ext.auth_mechanisms == ("PLAIN", "LOGIN", "SCRAM-SHA-256")
    for kw in ("pipelining", "STARTTLS", "ENHANCEDSTATUSCODES", "SMTPUTF8", "CHUNKING", "DSN"):
        assert kw in ext
    assert "BINARYMIME" not in ext


def test_legacy_auth_equals_form_and_junk_lines_are_skipped():
    reply = Reply(250, ("x", "AUTH=LOGIN PLAIN", "bad_kw!", "", "SIZE 0"))
    ext = parse_ehlo(reply).extensions
    assert ext.auth_mechanisms == ("LOGIN", "PLAIN")
    assert ext.size == 0
    assert len(ext) == 2


def test_non_250_is_an_error():
    with pytest.raises(ProtocolError):
        parse_ehlo(Reply(502, ("no",)))


def test_format_for_the_server():
    ehlo = Ehlo("mx.test", Extensions({"SIZE": ("1000",), "AUTH": ("PLAIN",), "8BITMIME": ()}))
    assert (
        ehlo.reply().format()
        == b"250-mx.test\r\n250-SIZE 1000\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n"
    )
    with pytest.raises(ValueError):
        Extensions({"BAD KEY": ()})


_kw = st.from_regex(r"[A-Z0-9][A-Z0-9-]{0,10}", fullmatch=True).filter(
    lambda k: not k.startswith("AUTH=")
)
_param = st.from_regex(r"[\x21-\x7e]{1,10}", fullmatch=True)


@given(
    st.from_regex(r"[a-z]{1,8}\.test", fullmatch=True),
    st.dictionaries(_kw, st.lists(_param, max_size=3).map(tuple), max_size=10),
)
def test_format_then_parse_is_identity(domain, items):
    ehlo = Ehlo(domain, Extensions(items))
    (reply,) = ReplyParser().feed(ehlo.reply().format())
    assert parse_ehlo(reply) == ehlo
