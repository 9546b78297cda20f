"""Property tests: format -> parse is the identity; any bytes -> value or ImapError."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from imap_strategies import commands, responses

from mailtool.protocol.imap.command_formatter import format_command, format_command_chunks
from mailtool.protocol.imap.command_parser import parse_command
from mailtool.protocol.imap.errors import ImapError
from mailtool.protocol.imap.response_parser import parse_response
from mailtool.protocol.imap.responses import format_response


@settings(max_examples=400)
@given(commands, st.booleans())
def test_command_format_then_parse_is_identity(cmd: object, utf8: bool) -> None:
    wire = format_command(cmd, utf8=utf8)  # type: ignore[arg-type]
    assert parse_command(wire, utf8=utf8) == cmd


@given(commands)
def test_chunks_join_to_the_whole_command_and_end_at_literal_headers(cmd: object) -> None:
    chunks = format_command_chunks(cmd)  # type: ignore[arg-type]
    assert b"".join(chunks) == format_command(cmd)  # type: ignore[arg-type]
    for chunk in chunks[:-1]:
        assert chunk.endswith(b"}\r\n")
    assert len(format_command_chunks(cmd, nonsync=True)) == 1  # type: ignore[arg-type]


@settings(max_examples=400)
@given(responses, st.booleans())
def test_response_format_then_parse_is_identity(resp: object, utf8: bool) -> None:
    wire = format_response(resp, utf8=utf8)  # type: ignore[arg-type]
    assert parse_response(wire, utf8=utf8) == resp


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_any_bytes_parse_to_a_command_or_imap_error(data: bytes) -> None:
    try:
        parse_command(data)
    except ImapError:
        pass


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_any_bytes_parse_to_a_response_or_imap_error(data: bytes) -> None:
    try:
        parse_response(data)
    except ImapError:
        pass


@settings(max_examples=300)
@given(commands, st.data())
def test_mutated_commands_parse_or_raise_imap_error(cmd: object, data: st.DataObject) -> None:
    wire = bytearray(format_command(cmd))  # type: ignore[arg-type]
    i = data.draw(st.integers(0, len(wire) - 1))
    wire[i] = data.draw(st.integers(0, 255))
    try:
        parse_command(bytes(wire))
    except ImapError:
        pass
