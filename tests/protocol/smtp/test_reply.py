"""Replies: wire format, the client parser, bounds, round trips."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailtool.errors import ProtocolError
from mailtool.protocol.smtp import (
    MAX_REPLY_LINES,
    REPLY_LINE_TOLERANCE,
    Reply,
    ReplyParser,
    ReplySyntaxError,
    codes,
    parse_reply,
)
from tests.protocol.wire_strategies import wire


def test_single_line_with_enhanced_code():
    r = Reply(codes.C250_OK, ("sender ok",), codes.ES_SENDER_OK)
    assert r.format() == b"250 2.1.0 sender ok\r\n"


def test_multi_line_uses_hyphen_on_all_but_last_and_repeats_enhanced_code():
    # RFC 5321 §4.2.1, RFC 2034 §4
    r = Reply(codes.C550_MAILBOX_UNAVAILABLE, ("no such user", "really"), codes.ES_UNKNOWN_USER)
    assert r.format() == b"550-5.1.1 no such user\r\n550 5.1.1 really\r\n"


def test_empty_text_last_line_has_no_trailing_space():
    assert Reply(250).format() == b"250\r\n"
    assert Reply(250, ("a", "")).format() == b"250-a\r\n250\r\n"


def test_reply_rejects_crlf_in_text_and_bad_codes():
    with pytest.raises(ValueError):
        Reply(250, ("a\r\nb",))
    with pytest.raises(ValueError):
        Reply(199)
    with pytest.raises(ValueError):
        Reply(250, ("x",), "2.1")


def test_parser_handles_pipelined_replies_split_anywhere():
    wire = b"250-foo.com greets bar.com\r\n250-8BITMIME\r\n250 HELP\r\n250 2.1.0 OK\r\n"
    for cut in range(len(wire) + 1):
        p = ReplyParser()
        got = p.feed(wire[:cut]) + p.feed(wire[cut:])
        assert got == [
            Reply(250, ("foo.com greets bar.com", "8BITMIME", "HELP")),
            Reply(250, ("OK",), "2.1.0"),
        ]


def test_enhanced_code_lifted_only_when_class_matches_and_every_line_has_it():
    assert parse_reply(b"550 2.1.0 odd\r\n")[0] == Reply(550, ("2.1.0 odd",))
    r, rest = parse_reply(b"451-4.3.0 a\r\n451 b\r\nX")
    assert r == Reply(451, ("4.3.0 a", "b")) and rest == b"X"


def test_parse_reply_incomplete_returns_none():
    assert parse_reply(b"250-a\r\n250 b") == (None, b"250-a\r\n250 b")


def test_code_change_within_multi_line_is_an_error():
    with pytest.raises(ReplySyntaxError):
        ReplyParser().feed(b"250-a\r\n251 b\r\n")


@pytest.mark.parametrize(
    "line", [b"hello\r\n", b"25\r\n", b"2500 x\r\n", b"650 x\r\n", b"250_x\r\n"]
)
def test_garbage_lines_are_reply_syntax_errors(line):
    with pytest.raises(ReplySyntaxError) as exc:
        ReplyParser().feed(line)
    assert exc.value.reply.code == 421


def test_bounds_line_length_and_line_count():
    with pytest.raises(ReplySyntaxError):
        ReplyParser().feed(b"250 " + b"x" * REPLY_LINE_TOLERANCE + b"\r\n")
    with pytest.raises(ReplySyntaxError):
        parse_reply(b"250 " + b"x" * REPLY_LINE_TOLERANCE)
    with pytest.raises(ReplySyntaxError):
        ReplyParser().feed(b"250-x\r\n" * (MAX_REPLY_LINES + 1))


def test_over_long_line_is_discarded_while_waiting_for_its_end():
    p = ReplyParser()
    for _ in range(100):
        assert p.feed(b"y" * 10_000) == []
    assert p._lines.buffered <= REPLY_LINE_TOLERANCE + 10_000
    with pytest.raises(ReplySyntaxError):
        p.feed(b"\r\n")
    assert p.feed(b"250 ok\r\n") == [Reply(250, ("ok",))]


_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60).filter(
    lambda t: not t[:1].isdigit()
)
replies = st.builds(
    Reply,
    st.sampled_from([211, 220, 250, 354, 421, 450, 550, 554]),
    st.lists(_text, min_size=1, max_size=5).map(tuple),
    st.none(),
) | st.builds(
    lambda code, lines: Reply(code, lines, codes.enhanced(code, "0.0")),
    st.sampled_from([250, 451, 550]),
    st.lists(_text, min_size=1, max_size=5).map(tuple),
)


@given(replies)
def test_format_then_parse_is_identity(reply):
    assert parse_reply(reply.format()) == (reply, b"")


@given(st.binary(max_size=600) | wire())
def test_any_bytes_give_replies_or_protocol_error(data):
    try:
        ReplyParser().feed(data)
        parse_reply(data)
    except ProtocolError:
        pass


def test_enhanced_helper_joins_class_and_subject():
    assert codes.enhanced(550, codes.SE_ADDR_BAD_DEST_MAILBOX1) == "5.1.1"
    assert codes.enhanced(451, codes.SE_SYS_OTHER0) == "4.3.0"
    assert codes.enhanced(354, codes.SE_OTHER0) == "2.0.0"
    assert codes.ES_NULL_MX == "5.1.10"


def test_every_named_enhanced_code_is_well_formed():
    for name in dir(codes):
        value = getattr(codes, name)
        if name.startswith("ES_"):
            Reply(int(value[0]) * 100 + 50, ("x",), value)  # raises if malformed
        elif name.startswith("SE_"):
            assert Reply(550, ("x",), "5." + value).enhanced == "5." + value
