"""POP3 responses: status lines with response codes, multi-line stuffing both
ways, CAPA (RFC 2449 §6 example), listings, APOP, and the RFC 1939 §10 session."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailtool.errors import ProtocolError
from mailtool.protocol import pop3
from mailtool.protocol.pop3 import (
    Capabilities,
    Continuation,
    MultilineEncoder,
    MultilineReader,
    POP3ResponseError,
    Response,
    parse_response,
)
from mailtool.protocol.sasl import SaslAuthFailed, SaslCancelled
from tests.protocol.wire_strategies import wire


def test_status_lines():
    assert Response(True, "2 320").format() == b"+OK 2 320\r\n"
    assert Response(False).format() == b"-ERR\r\n"
    assert Response(False, "maildrop locked", pop3.IN_USE).format() == (
        b"-ERR [IN-USE] maildrop locked\r\n"
    )
    with pytest.raises(ValueError):
        Response(False, "x", "BAD]CODE")
    with pytest.raises(ValueError):
        Response(True, "a\r\nb")


@pytest.mark.parametrize(
    ("line", "response"),
    [
        (b"+OK\r\n", Response(True)),
        (b"+OK POP3 server ready\r\n", Response(True, "POP3 server ready")),
        (b"-ERR [SYS/TEMP] try later\r\n", Response(False, "try later", "SYS/TEMP")),
        (b"-ERR [AUTH] bad\r\n", Response(False, "bad", "AUTH")),
        (b"-ERR [LOGIN-DELAY] wait", Response(False, "wait", "LOGIN-DELAY")),
        (b"+OK [IN-USE] not a code on +OK", Response(True, "[IN-USE] not a code on +OK")),
    ],
)
def test_parse_status_lines(line, response):
    assert parse_response(line) == response


def test_continuation_only_in_auth():
    assert parse_response(b"+ \r\n", in_auth=True) == Continuation(b"")
    assert parse_response(b"+ UGFzc3dvcmQ6\r\n", in_auth=True) == Continuation(b"UGFzc3dvcmQ6")
    assert Continuation(b"UGFzc3dvcmQ6").format() == b"+ UGFzc3dvcmQ6\r\n"
    with pytest.raises(POP3ResponseError):
        parse_response(b"+ abc\r\n")
    for bad in (b"OK\r\n", b"+ok\r\n", b"-ERRx\r\n", b"x" * 5000):
        with pytest.raises(POP3ResponseError):
            parse_response(bad)


def test_sasl_errors_map_to_auth_response_code():
    # RFC 3206 §5: [AUTH] when the credentials are wrong
    assert pop3.reply_for_sasl_error(SaslAuthFailed("x")).code == pop3.AUTH
    assert pop3.reply_for_sasl_error(SaslCancelled("x")).code is None


def test_rfc2449_capa_example():
    wire = (
        b"+OK Capability list follows\r\nTOP\r\nUSER\r\nSASL CRAM-MD5 KERBEROS_V4\r\n"
        b"RESP-CODES\r\nLOGIN-DELAY 900\r\nPIPELINING\r\nEXPIRE 60\r\nUIDL\r\n"
        b"IMPLEMENTATION Shlemazle-Plotz-v302\r\n.\r\n"
    )
    status, _, rest = wire.partition(b"\r\n")
    assert parse_response(status) == Response(True, "Capability list follows")
    reader = MultilineReader()
    body = reader.feed(rest)
    assert reader.done and reader.rest == b""
    capa = Capabilities.parse(pop3.split_lines(body))
    assert capa["LOGIN-DELAY"] == ("900",)
    assert capa.sasl == ("CRAM-MD5", "KERBEROS_V4")
    assert capa["implementation"] == ("Shlemazle-Plotz-v302",)
    assert "RESP-CODES" in capa and "STLS" not in capa
    assert capa.format() == wire  # and we write it back byte for byte


def test_multiline_encoder_streams_lf_maildir_content():
    enc = MultilineEncoder()
    chunks = [b"Subject: x\n\n", b".hidden\n", b"..two\n", b"end"]
    out = b"".join(enc.feed(c) for c in chunks) + enc.end()
    assert out == b"Subject: x\r\n\r\n..hidden\r\n...two\r\nend\r\n.\r\n"
    reader = MultilineReader()
    content = b"Subject: x\r\n\r\n.hidden\r\n..two\r\nend\r\n"
    assert reader.feed(out) == content
    assert reader.finish() == len(content)


def test_multiline_reader_is_bounded():
    reader = MultilineReader(max_size=10)
    assert reader.feed(b"0123456789abcdef\r\n.\r\n") == b"0123456789"
    with pytest.raises(POP3ResponseError):
        reader.finish()


def test_rfc1939_session_example():
    # RFC 1939 §10 with the APOP example of §7 (secret "tanstaaf")
    greeting = parse_response(b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n")
    stamp = pop3.find_apop_timestamp(greeting.text)
    assert stamp == "<1896.697170952@dbc.mtview.ca.us>"
    digest = pop3.apop_digest(stamp, "tanstaaf")
    assert digest == "c4c9334bac560ecc979e58001b3e22fb"
    cmd = pop3.parse_command(f"APOP mrose {digest}\r\n".encode())
    assert pop3.apop_verify(stamp, "tanstaaf", cmd.args[1])
    assert not pop3.apop_verify(stamp, "wrong", cmd.args[1])

    assert pop3.format_stat(2, 320).format() == b"+OK 2 320\r\n"
    assert pop3.parse_stat(parse_response(b"+OK 2 320\r\n")) == (2, 320)
    listing = pop3.format_multiline(
        Response(True, "2 messages (320 octets)"),
        [pop3.format_scan_listing(1, 120), pop3.format_scan_listing(2, 200)],
    )
    assert listing == b"+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n"
    reader = MultilineReader()
    body = reader.feed(listing.partition(b"\r\n")[2])
    assert [pop3.parse_scan_listing(line) for line in pop3.split_lines(body)] == [
        (1, 120),
        (2, 200),
    ]


def test_uidl_listings():
    assert pop3.format_uid_listing(1, "whqtswO00WBw418f9t5JxYwZ") == "1 whqtswO00WBw418f9t5JxYwZ"
    assert pop3.parse_uid_listing("2 QhdPYR:00WBw1Ph7x7") == (2, "QhdPYR:00WBw1Ph7x7")
    with pytest.raises(ValueError):
        pop3.format_uid_listing(1, "has space")
    with pytest.raises(ValueError):
        pop3.format_uid_listing(1, "x" * 71)
    for bad in ("x y", "1", "1 " + "x" * 71, "1 a b"):
        with pytest.raises(POP3ResponseError):
            pop3.parse_uid_listing(bad)


def test_apop_timestamp_is_fresh_and_findable():
    a, b = pop3.apop_timestamp("pop.test"), pop3.apop_timestamp("pop.test")
    assert a != b and pop3.find_apop_timestamp(f"ready {a}") == a
    assert pop3.find_apop_timestamp("ready") is None


_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=50).filter(
    lambda t: t == t.strip(" ") and not t.startswith("[")
)
responses = st.builds(Response, st.just(True), _text) | st.builds(
    Response, st.just(False), _text, st.sampled_from([None, "IN-USE", "SYS/TEMP", "AUTH"])
)


@given(responses)
def test_response_format_then_parse_is_identity(response):
    assert parse_response(response.format()) == response


_name = st.from_regex(r"[A-Z][A-Z0-9-]{0,10}", fullmatch=True)


@given(
    st.dictionaries(
        _name, st.lists(st.from_regex(r"[\x21-\x7e]{1,8}", fullmatch=True), max_size=3), max_size=8
    )
)
def test_capa_format_then_parse_is_identity(items):
    capa = Capabilities(items)
    reader = MultilineReader()
    body = reader.feed(capa.format().partition(b"\r\n")[2])
    assert Capabilities.parse(pop3.split_lines(body)) == capa


@given(st.binary(max_size=300) | wire())
def test_any_bytes_give_response_or_protocol_error(data):
    for in_auth in (False, True):
        try:
            parse_response(data, in_auth=in_auth)
        except ProtocolError:
            pass
    reader = MultilineReader(max_size=100)
    reader.feed(data)
