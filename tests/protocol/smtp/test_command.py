"""Command lines, MAIL FROM / RCPT TO and their ESMTP parameters."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailtool.errors import ProtocolError
from mailtool.protocol.smtp import (
    COMMAND_LINE_LIMIT,
    ESMTP_COMMAND_LINE_LIMIT,
    Address,
    Command,
    CommandSyntaxError,
    LineTooLong,
    MailFrom,
    RcptTo,
    command_reader,
    parse_command,
    parse_mail_from,
    parse_rcpt_to,
    xtext_decode,
    xtext_encode,
)
from tests.protocol.wire_strategies import wire


def test_parse_command_upper_cases_verb_and_keeps_argument():
    assert parse_command(b"mail FROM:<a@b>\r\n") == Command("MAIL", "FROM:<a@b>")
    assert parse_command(b"QUIT") == Command("QUIT", "")
    assert parse_command(b"EHLO bar.com\r\n").format() == b"EHLO bar.com\r\n"


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"\r\n", 500),
        (b"M@IL x\r\n", 500),
        (b"MAIL \xff\r\n", 500),
        (b"MAIL a\x00b\r\n", 501),
        (b"NOOP x\tb\r\n", 501),
    ],
)
def test_bad_command_lines(line, code):
    with pytest.raises(CommandSyntaxError) as exc:
        parse_command(line)
    assert exc.value.reply.code == code


def test_command_line_limit():
    assert parse_command(b"NOOP " + b"x" * (COMMAND_LINE_LIMIT - 7) + b"\r\n", max_length=512)
    with pytest.raises(LineTooLong) as exc:
        parse_command(b"NOOP " + b"x" * ESMTP_COMMAND_LINE_LIMIT)
    assert exc.value.reply.code == 500


def test_command_reader_discards_over_long_line_and_keeps_its_place():
    r = command_reader(max_line=COMMAND_LINE_LIMIT)
    r.receive_data(b"NOOP\r\n" + b"A" * 600 + b"\r\nQUIT\r\nDATA")
    assert r.next_line() == b"NOOP"
    with pytest.raises(LineTooLong):
        r.next_line()
    assert r.next_line() == b"QUIT"
    assert r.next_line() is None
    assert r.take_rest() == b"DATA"


def test_mail_from_with_all_parameters():
    m = parse_mail_from(
        "FROM:<Smith@bar.com> SIZE=1000 BODY=8bitmime RET=HDRS ENVID=QQ+2B314 AUTH=<> REQUIRETLS"
    )
    assert m == MailFrom(
        Address("Smith", "bar.com"),
        size=1000,
        body="8BITMIME",
        ret="HDRS",
        envid="QQ+314",
        auth="<>",
        requiretls=True,
    )


def test_mail_from_null_sender_and_space_after_colon():
    assert parse_mail_from("FROM:<>").sender is None
    assert parse_mail_from("from: <a@b>").sender == Address("a", "b")
    assert parse_mail_from("FROM:<a@b>  ").sender == Address("a", "b")  # trailing blanks: lenient


def test_mail_from_utf8_needs_smtputf8_parameter():
    # RFC 6531 §3.4
    m = parse_mail_from("FROM:<用户@例子.广告> SMTPUTF8")
    assert m.smtputf8 and m.sender.local_part == "用户"
    with pytest.raises(CommandSyntaxError) as exc:
        parse_mail_from("FROM:<用户@例子.广告>")
    assert exc.value.reply.code == 553


def test_rcpt_utf8_depends_on_the_transaction():
    assert parse_rcpt_to("TO:<ü@b.de>", smtputf8=True).recipient.local_part == "ü"
    with pytest.raises(CommandSyntaxError):
        parse_rcpt_to("TO:<ü@b.de>")


@pytest.mark.parametrize(
    ("arg", "code"),
    [
        ("FROM:<a@b> FOO=1", 555),  # RFC 5321 §4.1.1.11
        ("FROM:<a@b> SIZE=1 SIZE=2", 501),
        ("FROM:<a@b> SIZE=x", 501),
        ("FROM:<a@b> SIZE", 501),
        ("FROM:<a@b> SIZE=-1", 501),
        ("FROM:<a@b> BODY=9BIT", 501),
        ("FROM:<a@b> RET=ALL", 501),
        ("FROM:<a@b> SMTPUTF8=yes", 501),
        ("FROM:<a@b> ENVID=" + "x" * 101, 501),
        ("FROM:<a@b> ENVID=a+zz", 501),
        ("FROM:<a@b>SIZE=1", 501),
        ("FROM:<a@b> SIZE=1  BODY=7BIT", 501),
        ("FROM:a@b", 501),
        ("TO:<a@b>", 501),
        ("FROM:<a@b", 501),
        ("FROM:<a@b> =x", 501),
        ("FROM:<a@b> " + " ".join(f"X{i}=1" for i in range(20)), 501),
    ],
)
def test_bad_mail_from(arg, code):
    with pytest.raises(CommandSyntaxError) as exc:
        parse_mail_from(arg)
    assert exc.value.reply.code == code


def test_allowed_parameters_follow_what_the_server_advertised():
    with pytest.raises(CommandSyntaxError) as exc:
        parse_mail_from("FROM:<a@b> RET=FULL", allowed={"SIZE"})
    assert exc.value.reply.code == 555


def test_rcpt_to_dsn_parameters():
    r = parse_rcpt_to("TO:<Jones@foo.com> NOTIFY=success,FAILURE ORCPT=rfc822;Jones+40foo.com")
    assert r == RcptTo(
        Address("Jones", "foo.com"), ("SUCCESS", "FAILURE"), ("rfc822", "Jones@foo.com")
    )
    assert parse_rcpt_to("TO:<Postmaster>").recipient.is_postmaster
    assert parse_rcpt_to('TO:<"a>b"@c>').recipient.local_part == '"a>b"'


@pytest.mark.parametrize(
    "arg",
    [
        "TO:<a@b> NOTIFY=NEVER,SUCCESS",
        "TO:<a@b> NOTIFY=SOMETIMES",
        "TO:<a@b> NOTIFY=DELAY,DELAY",
        "TO:<a@b> ORCPT=rfc822",
        "TO:<a@b> ORCPT=;x",
        "TO:<>",
        "TO:<a@b> SIZE=1",
    ],
)
def test_bad_rcpt_to(arg):
    with pytest.raises(CommandSyntaxError):
        parse_rcpt_to(arg)


def test_xtext_round_trip_and_examples():
    assert xtext_encode("a+b=c d") == "a+2Bb+3Dc+20d"
    assert xtext_decode("a+2Bb+3Dc+20d") == "a+b=c d"


_addr = st.builds(
    Address,
    st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9+]{1,5}){0,2}", fullmatch=True),
    st.from_regex(r"[a-z]{1,10}(\.[a-z]{2,5}){1,2}", fullmatch=True),
)
_xt = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=20)
mail_froms = st.builds(
    MailFrom,
    st.none() | _addr,
    size=st.none() | st.integers(0, 10**12),
    body=st.sampled_from([None, "7BIT", "8BITMIME", "BINARYMIME"]),
    smtputf8=st.booleans(),
    ret=st.sampled_from([None, "FULL", "HDRS"]),
    envid=st.none() | _xt.filter(lambda s: len(xtext_encode(s)) <= 100),
    auth=st.none() | _xt,
    requiretls=st.booleans(),
)
rcpt_tos = st.builds(
    RcptTo,
    _addr,
    st.sampled_from([None, ("NEVER",), ("SUCCESS",), ("FAILURE", "DELAY")]),
    st.none() | st.tuples(st.just("rfc822"), _xt),
)


@given(mail_froms)
def test_mail_from_format_then_parse_is_identity(m):
    verb, _, arg = f"MAIL {m.format()}".partition(" ")
    assert parse_mail_from(parse_command(f"{verb} {arg}".encode()).argument) == m


@given(rcpt_tos)
def test_rcpt_to_format_then_parse_is_identity(r):
    assert parse_rcpt_to(r.format()) == r


@given(st.binary(max_size=1200) | wire())
def test_any_bytes_give_command_or_protocol_error(data):
    try:
        cmd = parse_command(data)
        parse_mail_from(cmd.argument)
    except ProtocolError:
        pass
    try:
        parse_rcpt_to(data.decode("utf-8", "surrogateescape"), smtputf8=True)
    except ProtocolError:
        pass
