"""POP3 commands: parsing, argument checks, the 255-octet line, states."""

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mailtool.errors import ProtocolError
from mailtool.protocol.pop3 import (
    AUTHORIZATION_COMMANDS,
    COMMAND_LINE_LIMIT,
    TRANSACTION_COMMANDS,
    Command,
    POP3CommandError,
    POP3LineTooLong,
    POP3ProtocolError,
    _parse_command,
    command_reader,
    parse_command,
)
from tests.protocol.wire_strategies import wire


@pytest.mark.parametrize(
    ("line", "command"),
    [
        (b"USER mrose\r\n", Command("USER", ("mrose",))),
        (b"pass secret with spaces\r\n", Command("PASS", ("secret with spaces",))),  # RFC 1939 §7
        (
            b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n",
            Command("APOP", ("mrose", "c4c9334bac560ecc979e58001b3e22fb")),
        ),
        (b"STAT\r\n", Command("STAT")),
        (b"LIST\r\n", Command("LIST")),
        (b"LIST 2\r\n", Command("LIST", (2,))),
        (b"RETR 1\r\n", Command("RETR", (1,))),
        (b"DELE 1\r\n", Command("DELE", (1,))),
        (b"NOOP\r\n", Command("NOOP")),
        (b"RSET\r\n", Command("RSET")),
        (b"QUIT\r\n", Command("QUIT")),
        (b"TOP 1 10\r\n", Command("TOP", (1, 10))),
        (b"TOP 1 0\r\n", Command("TOP", (1, 0))),
        (b"UIDL\r\n", Command("UIDL")),
        (b"UIDL 1\r\n", Command("UIDL", (1,))),
        (b"CAPA\r\n", Command("CAPA")),
        (b"STLS\r\n", Command("STLS")),
        (b"AUTH\r\n", Command("AUTH")),
        (b"AUTH PLAIN\r\n", Command("AUTH", ("PLAIN",))),
        (b"AUTH PLAIN AHRlc3QAdGVzdA==\r\n", Command("AUTH", ("PLAIN", "AHRlc3QAdGVzdA=="))),
        (b"AUTH PLAIN =\r\n", Command("AUTH", ("PLAIN", "="))),
    ],
)
def test_commands(line, command):
    assert parse_command(line) == command
    assert command.number == (
        command.args[0] if command.args and isinstance(command.args[0], int) else None
    )


@pytest.mark.parametrize(
    "line",
    [
        b"\r\n",
        b"XYZZY\r\n",
        b"RETR\r\n",
        b"RETR 0\r\n",  # message numbers start at 1
        b"RETR -1\r\n",
        b"RETR +1\r\n",
        b"RETR 1 2\r\n",
        b"RETR one\r\n",
        b"RETR 12345678901\r\n",
        b"RETR \xd9\xa1\r\n",  # an Arabic-Indic digit is not a digit here
        b"LIST 1 2\r\n",
        b"TOP 1\r\n",
        b"TOP 1 -1\r\n",
        b"STAT 1\r\n",
        b"QUIT now\r\n",
        b"USER\r\n",
        b"USER a b\r\n",
        b"PASS\r\n",
        b"APOP mrose\r\n",
        b"APOP mrose nothex\r\n",
        b"AUTH PLAIN a b\r\n",
        b"LIST  1\r\n",
        b"USER a\x00b\r\n",
        b"USER \xff\r\n",
    ],
)
def test_bad_commands_are_err(line):
    with pytest.raises(POP3CommandError) as exc:
        parse_command(line)
    assert exc.value.reply.ok is False
    assert exc.value.reply.format().startswith(b"-ERR ")


def test_line_limit_rfc2449():
    ok = b"USER " + b"u" * (COMMAND_LINE_LIMIT - 7) + b"\r\n"
    assert len(ok) == COMMAND_LINE_LIMIT and parse_command(ok)
    with pytest.raises(POP3LineTooLong):
        parse_command(b"USER " + b"u" * COMMAND_LINE_LIMIT + b"\r\n")
    reader = command_reader()
    reader.receive_data(b"NOOP\r\n" + b"x" * 1000 + b"\r\nSTAT\r\n")
    assert reader.next_line() == b"NOOP"
    with pytest.raises(POP3LineTooLong):
        reader.next_line()
    assert reader.next_line() == b"STAT"


def test_states():
    assert "PASS" in AUTHORIZATION_COMMANDS and "RETR" not in AUTHORIZATION_COMMANDS
    assert "RETR" in TRANSACTION_COMMANDS and "USER" not in TRANSACTION_COMMANDS
    assert "CAPA" in AUTHORIZATION_COMMANDS & TRANSACTION_COMMANDS  # RFC 2449 §5


_cmds = st.one_of(
    st.sampled_from(["STAT", "NOOP", "RSET", "QUIT", "CAPA", "STLS", "LIST", "UIDL"]).map(Command),
    st.builds(
        lambda n, v: Command(n, (v,)),
        st.sampled_from(["LIST", "RETR", "DELE", "UIDL"]),
        st.integers(1, 10**9),
    ),
    st.builds(lambda a, b: Command("TOP", (a, b)), st.integers(1, 10**9), st.integers(0, 10**9)),
    st.builds(lambda u: Command("USER", (u,)), st.from_regex(r"[a-z0-9@.]{1,40}", fullmatch=True)),
    st.builds(
        lambda p: Command("PASS", (p,)),
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=40),
    ),
)


@given(_cmds)
def test_format_then_parse_is_identity(command):
    assert parse_command(command.format()) == command


@given(st.binary(max_size=300) | wire())
def test_any_bytes_give_command_or_protocol_error(data):
    try:
        parse_command(data)
    except ProtocolError:
        pass


def _outcome(parse, line):  # type: ignore[no-untyped-def]
    try:
        return parse(line)
    except POP3ProtocolError as exc:
        return type(exc), exc.reply


@given(
    st.sampled_from([b"RETR", b"DELE", b"LIST", b"UIDL", b"TOP", b"STAT", b"retr", b"Dele"]),
    st.sampled_from([b" ", b" ", b"  ", b"\t", b""]),
    st.builds(lambda zeros, n: b"0" * zeros + b"%d" % n, st.integers(0, 3), st.integers(0, 10**11))
    | st.from_regex(rb"[0-9]{0,12}", fullmatch=True) | st.binary(max_size=4),
    st.sampled_from([b"\r\n", b"\r\n", b"\n", b"\r", b"", b"\n\r", b" \r\n", b" 5\r\n"]),
)
@example(b"RETR", b" ", b"0", b"\r\n")
@example(b"RETR", b" ", b"00", b"\r\n")
@example(b"DELE", b" ", b"0007", b"\r\n")
@example(b"LIST", b" ", b"12345678901", b"\r\n")  # more digits than MAX_NUMBER_DIGITS
def test_the_numbered_fast_path_parses_as_the_general_parser(keyword, space, number, end):
    """RETR/DELE/LIST/UIDL with one number skip the general parser; what they give
    (a Command, or the error and its -ERR) is what the general parser gives."""
    line = keyword + space + number + end
    assert _outcome(parse_command, line) == _outcome(_parse_command, line)
