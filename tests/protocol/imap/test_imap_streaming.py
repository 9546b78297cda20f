"""What lets the server stream (issue 15): FETCH responses in pieces, CRLF over
chunks, and APPEND literals handed out in chunks by the CommandReader."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from imap_strategies import fetch_items, numbers

from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap.command_reader import (
    NEED_DATA,
    CommandReader,
    LiteralData,
    NeedContinuation,
)
from mailtool.protocol.imap.crlf import CrlfStream
from mailtool.protocol.imap.errors import ImapError, LiteralTooLarge
from mailtool.protocol.imap.fetch import FetchAttr, Section
from mailtool.protocol.imap.fetch_stream import fetch_pieces, literal_header
from mailtool.protocol.imap.limits import Limits
from mailtool.protocol.imap.responses import FetchData, format_response
from mailtool.protocol.mime import to_crlf

BODY = FetchAttr("BODY", Section())


@settings(max_examples=300)
@given(numbers, st.lists(fetch_items, min_size=1, max_size=5).map(tuple), st.booleans())
def test_fetch_pieces_are_the_whole_response(seq: int, items: tuple, utf8: bool) -> None:
    resp = FetchData(seq, items)
    assert b"".join(fetch_pieces(resp, utf8=utf8)) == format_response(resp, utf8=utf8)


def test_literal_data_is_a_piece_of_its_own() -> None:
    data = b"x" * 100_000
    pieces = list(fetch_pieces(FetchData(3, ((FetchAttr("UID"), 7), (BODY, data)))))
    assert pieces[0] == b"* 3 FETCH ("
    assert pieces[-2] is data or pieces[-2] == data  # never joined to the text
    assert pieces[-3].endswith(b" BODY[] {100000}\r\n")


def test_literal_header_forms() -> None:
    assert literal_header(BODY, 5, first=True) == b"BODY[] {5}\r\n"
    partial = FetchAttr("BODY", Section(text="TEXT"), (10, None))
    assert literal_header(partial, 5, first=False) == b" BODY[TEXT]<10> {5}\r\n"
    binary = FetchAttr("BINARY", Section((1,)))
    assert literal_header(binary, 2, first=True, binary=True) == b"BINARY[1] ~{2}\r\n"


raw_messages = st.lists(
    st.sampled_from([b"a", b"\r", b"\n", b"\r\n", b"\x00", b"b\n\n", b"\xff"]), max_size=60
).map(b"".join)


@settings(max_examples=300)
@given(raw_messages, st.lists(st.integers(1, 7), min_size=1, max_size=10), st.booleans())
def test_crlf_stream_equals_to_crlf(raw: bytes, cuts: list[int], nul: bool) -> None:
    stream = CrlfStream(nul=nul)
    out, pos, i = [], 0, 0
    while pos < len(raw):
        step = cuts[i % len(cuts)]
        out.append(stream.feed(raw[pos : pos + step]))
        pos, i = pos + step, i + 1
    expected = to_crlf(raw)
    if nul:
        expected = expected.replace(b"\x00", b"\x80")
    assert b"".join(out) == expected
    assert stream.size == len(expected)
    assert stream.had_nul == (b"\x00" in raw)


# -- APPEND literals handed out in chunks ---------------------------------------------


def events(reader: CommandReader, data: bytes, step: int) -> list[object]:
    out: list[object] = []
    for i in range(0, len(data), step):
        reader.receive_data(data[i : i + step])
        while (event := reader.next_event()) is not NEED_DATA:
            out.append(event)
    return out


@pytest.mark.parametrize("step", [1, 7, 4096])
@pytest.mark.parametrize(
    ("head", "tail", "binary", "utf8"),
    [
        (b"a1 APPEND INBOX (\\Seen) {%d}\r\n", b"\r\n", False, False),
        (b"a1 APPEND INBOX ~{%d+}\r\n", b"\r\n", True, False),
        (b"a1 APPEND Sent UTF8 (~{%d}\r\n", b")\r\n", False, True),
    ],
)
def test_big_append_literal_comes_out_in_chunks(
    step: int, head: bytes, tail: bytes, binary: bool, utf8: bool
) -> None:
    message = bytes(range(256)) * 20
    reader = CommandReader(spool_above=1000)
    got = events(reader, head % len(message) + message + tail + b"a2 NOOP\r\n", step)
    chunks = [e for e in got if isinstance(e, LiteralData)]
    assert b"".join(e.data for e in chunks) == message
    assert chunks[0].offset == 0 and chunks[-1].last
    assert all(not e.last for e in chunks[:-1])
    assert max(len(e.data) for e in chunks) <= max(step, 1)
    cmds = [e for e in got if isinstance(e, c.Command)]
    append = cmds[0]
    assert isinstance(append, c.Append)
    assert append.message == b"" and append.spooled == len(message)
    assert (append.binary, append.utf8) == (binary, utf8)
    assert isinstance(cmds[1], c.Simple) and cmds[1].name == "NOOP"
    if b"+}" not in head:
        assert isinstance(got[0], NeedContinuation)


def test_small_literals_and_other_commands_stay_whole() -> None:
    reader = CommandReader(spool_above=1000)
    got = events(reader, b"a1 APPEND INBOX {5}\r\nhello\r\n", 3)
    assert got[-1] == c.Append("a1", "INBOX", message=b"hello")
    # only APPEND carries a message; other commands' literals are small (limit checked)
    got = events(reader, b"a2 LOGIN {3}\r\nbob {4}\r\npass\r\n", 100)
    assert not any(isinstance(e, LiteralData) for e in got)


def test_streamed_literal_keeps_the_size_limit() -> None:
    reader = CommandReader(Limits(max_literal=5000), spool_above=1000)
    reader.receive_data(b"a1 APPEND INBOX {6000}\r\n")
    with pytest.raises(LiteralTooLarge) as exc:
        reader.next_event()
    assert exc.value.response.status == "NO" and not exc.value.fatal
    # refused before it was sent: the reader is ready for the next command
    assert events(reader, b"a2 NOOP\r\n", 100)[-1].name == "NOOP"  # type: ignore[attr-defined]


def test_bad_line_after_a_streamed_literal_is_bad() -> None:
    reader = CommandReader(spool_above=10)
    got = events(reader, b"a1 APPEND INBOX {20}\r\n" + b"x" * 20, 100)
    assert [type(e) for e in got] == [NeedContinuation, LiteralData]
    reader.receive_data(b" junk\r\na2 NOOP\r\n")
    with pytest.raises(ImapError) as exc:
        reader.next_event()
    assert exc.value.status == "BAD" and not exc.value.fatal
    assert reader.next_event().name == "NOOP"  # type: ignore[union-attr]


def test_a_refused_literal_is_not_read() -> None:
    reader = CommandReader(spool_above=10)
    assert events(reader, b"a1 APPEND INBOX {5000}\r\n", 100) == [NeedContinuation("a1", 5000)]
    reader.refuse_literal()
    assert not reader.in_command
    assert events(reader, b"a2 NOOP\r\n", 100)[-1].name == "NOOP"  # type: ignore[attr-defined]
