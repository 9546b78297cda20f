"""The sans-I/O readers: a client formatter and a server CommandReader wired back to
back (and the reverse for responses), byte by byte, plus every named limit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from imap_strategies import commands, responses

from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap.command_formatter import format_command, format_command_chunks
from mailtool.protocol.imap.command_reader import (
    NEED_DATA,
    CommandReader,
    ContinuationLine,
    NeedContinuation,
)
from mailtool.protocol.imap.errors import (
    LineTooLong,
    LiteralTooLarge,
    ParseError,
    ResponseParseError,
    TooManyItems,
)
from mailtool.protocol.imap.limits import Limits
from mailtool.protocol.imap.response_reader import ResponseReader
from mailtool.protocol.imap.responses import MessageNumber, format_response


def drain(reader: CommandReader | ResponseReader) -> list[object]:
    events = []
    while (event := reader.next_event()) is not NEED_DATA:
        events.append(event)
    return events


@settings(max_examples=200)
@given(commands, st.integers(1, 7))
def test_client_chunks_through_command_reader(cmd: c.Command, step: int) -> None:
    """The client sends chunk by chunk, waiting for the server's continuation request."""
    reader = CommandReader()
    chunks = format_command_chunks(cmd)
    events: list[object] = []
    for i, chunk in enumerate(chunks):
        for j in range(0, len(chunk), step):
            reader.receive_data(chunk[j : j + step])
            events += drain(reader)
        if i < len(chunks) - 1:
            assert isinstance(events.pop(), NeedContinuation)
    assert events == [cmd]


@settings(max_examples=100)
@given(st.lists(commands, min_size=1, max_size=4))
def test_pipelined_nonsync_commands(cmds: list[c.Command]) -> None:
    reader = CommandReader()
    reader.receive_data(b"".join(format_command(x, nonsync=True) for x in cmds))
    assert drain(reader) == cmds


@settings(max_examples=200)
@given(st.lists(responses, min_size=1, max_size=4), st.integers(1, 9))
def test_responses_through_response_reader(resps: list[object], step: int) -> None:
    reader = ResponseReader()
    wire = b"".join(format_response(x) for x in resps)  # type: ignore[arg-type]
    events: list[object] = []
    for j in range(0, len(wire), step):
        reader.receive_data(wire[j : j + step])
        events += drain(reader)
    assert events == resps


def test_sync_literal_asks_for_continuation_before_data() -> None:
    reader = CommandReader()
    reader.receive_data(b"A003 APPEND saved-messages (\\Seen) {5}\r\n")
    assert reader.next_event() == NeedContinuation("A003", 5)
    assert reader.next_event() is NEED_DATA
    assert reader.in_command
    reader.receive_data(b"hello\r\n")
    assert reader.next_event() == c.Append("A003", "saved-messages", ("\\Seen",), None, b"hello")


def test_pending_tells_whether_more_input_is_already_here() -> None:
    # the server decides from it whether the client waited for an answer (pipelining)
    reader = CommandReader()
    assert not reader.pending
    reader.receive_data(b"a NOOP\r\nb NOOP\r\nc APPEND INBOX {3}\r\n")
    assert isinstance(reader.next_event(), c.Command) and reader.pending
    assert isinstance(reader.next_event(), c.Command) and reader.pending
    assert isinstance(reader.next_event(), NeedContinuation)
    assert reader.pending  # a command waiting for its literal
    reader.receive_data(b"abc\r\n")
    assert isinstance(reader.next_event(), c.Command) and not reader.pending


def test_too_large_sync_literal_is_refused_without_reading_it() -> None:
    reader = CommandReader(Limits(max_literal=10))
    reader.receive_data(b"A1 APPEND x {11}\r\nA2 NOOP\r\n")
    with pytest.raises(LiteralTooLarge) as exc:
        reader.next_event()
    assert exc.value.response.tag == "A1"
    assert exc.value.response.status == "NO"
    assert exc.value.response.code.name == "TOOBIG"
    assert not exc.value.fatal
    # the client must not send the literal: the next line is a new command
    assert reader.next_event() == c.Simple("A2", "NOOP")


def test_small_literal_limit_applies_to_commands_other_than_append() -> None:
    reader = CommandReader(Limits(max_small_literal=4))
    reader.receive_data(b"A1 LOGIN {3}\r\n")
    assert isinstance(reader.next_event(), NeedContinuation)
    reader.receive_data(b"bob {3}\r\n")
    with pytest.raises(LiteralTooLarge) as exc:
        reader.next_event()
    assert exc.value.limit == "max_small_literal"


def test_too_large_nonsync_literal_is_fatal() -> None:
    reader = CommandReader(Limits(max_literal=10))
    reader.receive_data(b"A1 APPEND x {11+}\r\n")
    with pytest.raises(LiteralTooLarge) as exc:
        reader.next_event()
    assert exc.value.fatal
    assert exc.value.response.tag is None and exc.value.response.status == "BYE"
    with pytest.raises(LiteralTooLarge):  # stays broken: the caller closes
        reader.next_event()


def test_line_too_long_is_skipped_unbuffered_then_bad_and_the_reader_goes_on() -> None:
    # issue 16 class 4: BAD and the session continues (RFC 9051 §7.1.5), as Dovecot
    reader = CommandReader(Limits(max_line=20))
    reader.receive_data(b"A1 NOOP" + b"x" * 30)
    assert reader.next_event() is NEED_DATA  # skipping: the line's end is not here yet
    for _ in range(100):  # 1 MB more of it is dropped as it comes, never held
        reader.receive_data(b"y" * 10_000)
        assert reader.next_event() is NEED_DATA
        assert not reader.pending
    reader.receive_data(b"z\r\nA2 NOOP\r\n")
    with pytest.raises(LineTooLong) as exc:
        reader.next_event()
    assert not exc.value.fatal and exc.value.limit == "max_line"
    assert exc.value.response.tag == "A1" and exc.value.response.status == "BAD"
    assert reader.next_event().tag == "A2"  # type: ignore[union-attr]


def test_line_too_long_before_a_non_synchronizing_literal_is_fatal() -> None:
    reader = CommandReader(Limits(max_line=20))
    reader.receive_data(b"A1 APPEND INBOX " + b"x" * 30 + b" {5+}\r\nhello\r\n")
    with pytest.raises(LineTooLong) as exc:
        reader.next_event()
    assert exc.value.fatal and exc.value.response.status == "BYE"


def test_literals_do_not_count_in_the_line_length() -> None:
    reader = CommandReader(Limits(max_line=40))
    reader.receive_data(b"A1 LOGIN {30+}\r\n" + b"u" * 30 + b" {30+}\r\n" + b"p" * 30 + b"\r\n")
    assert reader.next_event().name == "LOGIN"  # type: ignore[union-attr]


def test_too_many_literals() -> None:
    reader = CommandReader(Limits(max_literals=1))
    reader.receive_data(b"A1 LOGIN {1+}\r\na {1+}\r\nb\r\n")
    with pytest.raises(TooManyItems):
        reader.next_event()


def test_parse_error_is_a_tagged_bad_and_the_reader_goes_on() -> None:
    reader = CommandReader()
    reader.receive_data(b"A1 FROB\r\nA2 NOOP\r\n")
    with pytest.raises(ParseError) as exc:
        reader.next_event()
    assert exc.value.response.tag == "A1" and exc.value.response.status == "BAD"
    assert not exc.value.fatal
    assert reader.next_event() == c.Simple("A2", "NOOP")


def test_untaggable_garbage_gets_untagged_bad() -> None:
    reader = CommandReader()
    reader.receive_data(b"\x00\x01\r\n")
    with pytest.raises(ParseError) as exc:
        reader.next_event()
    assert exc.value.response.tag is None


def test_expect_line_for_authenticate_and_idle() -> None:
    reader = CommandReader()
    reader.receive_data(b"a AUTHENTICATE SCRAM-SHA-256\r\n")
    assert reader.next_event() == c.Authenticate("a", "SCRAM-SHA-256")
    reader.expect_line()
    reader.receive_data(b"biwsbj11c2VyLHI9cm9zZQ==\r\nb IDLE\r\nDONE\r\n")
    assert reader.next_event() == ContinuationLine(b"biwsbj11c2VyLHI9cm9zZQ==")
    assert reader.next_event() == c.Simple("b", "IDLE")
    reader.expect_line()
    assert reader.next_event() == ContinuationLine(b"DONE")


def test_utf8_accept_mailbox_names() -> None:
    reader = CommandReader(utf8=True)
    reader.receive_data('a SELECT "Entwürfe"\r\n'.encode())
    assert reader.next_event() == c.Select("a", "Entwürfe")
    assert (
        format_command(c.Select("a", "Entwürfe"), utf8=True) == 'a SELECT "Entwürfe"\r\n'.encode()
    )
    assert format_command(c.Select("a", "Entwürfe")) == b"a SELECT Entw&APw-rfe\r\n"


def test_response_reader_limits_and_recovery() -> None:
    reader = ResponseReader(Limits(max_literal=3))
    reader.receive_data(b"* 1 FROB\r\n* 2 EXISTS\r\n")
    with pytest.raises(ResponseParseError):
        reader.next_event()
    assert reader.next_event() == MessageNumber(2, "EXISTS")
    assert reader.next_event() is NEED_DATA


def test_response_reader_refuses_large_literal() -> None:
    reader = ResponseReader(Limits(max_literal=3))
    reader.receive_data(b"* 1 FETCH (BODY[] {4}\r\n")
    with pytest.raises(LiteralTooLarge) as exc:
        reader.next_event()
    assert exc.value.fatal
