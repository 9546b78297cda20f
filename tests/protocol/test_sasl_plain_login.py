"""PLAIN (RFC 4616 examples) and LOGIN, both halves, and the base64 framing."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailtool.errors import ProtocolError
from mailtool.protocol.sasl import (
    Done,
    LoginClient,
    LoginServer,
    PlainClient,
    PlainServer,
    SaslAuthFailed,
    SaslCancelled,
    SaslMalformed,
    SaslUnsupported,
    choose_mechanism,
    client_mechanism,
    decode_challenge,
    decode_initial_response,
    decode_response,
    encode_challenge,
    encode_response,
    saslprep,
    server_mechanism,
)
from tests.protocol.wire_strategies import wire

USERS = {"tim": "tanstaaftanstaaf", "Kurt": "xipj3plmq"}


def verify(user, password):
    return USERS.get(user) == password


def test_rfc4616_example_without_authzid():
    # RFC 4616 §4: "\0tim\0tanstaaftanstaaf"
    assert PlainServer(verify).step(b"\0tim\0tanstaaftanstaaf") == Done("tim", None)


def test_rfc4616_example_with_authzid():
    # RFC 4616 §4: authzid "Ursel", authcid "Kurt", password "xipj3plmq"
    assert PlainServer(verify).step(b"Ursel\0Kurt\0xipj3plmq") == Done("Kurt", "Ursel")
    assert PlainClient("Kurt", "xipj3plmq", "Ursel").initial_response() == b"Ursel\0Kurt\0xipj3plmq"


def test_plain_without_initial_response_gets_empty_challenge():
    server = PlainServer(verify)
    client = PlainClient("tim", "tanstaaftanstaaf")
    assert server.step(None) == b""
    assert server.step(client.step(b"")) == Done("tim")
    assert client.done


@pytest.mark.parametrize(
    "message",
    [
        b"tim\0tanstaaftanstaaf",
        b"\0tim\0pw\0x",
        b"\0\0pw",
        b"\0tim\0",
        b"\0t\xffm\0pw",
        b"\0" + b"u" * 256 + b"\0pw",
    ],
)
def test_plain_malformed(message):
    with pytest.raises(SaslMalformed):
        PlainServer(verify).step(message)


def test_plain_wrong_password_never_shows_it():
    with pytest.raises(SaslAuthFailed) as exc:
        PlainServer(verify).step(b"\0tim\0s3cret-guess")
    assert "s3cret-guess" not in str(exc.value) and "s3cret-guess" not in repr(exc.value)
    assert "xipj3plmq" not in repr(PlainClient("Kurt", "xipj3plmq"))


def test_login_both_halves():
    server, client = LoginServer(verify), LoginClient("tim", "tanstaaftanstaaf")
    assert client.initial_response() is None
    challenge = server.step(None)
    assert challenge == b"Username:"
    challenge = server.step(client.step(challenge))
    assert challenge == b"Password:"
    assert server.step(client.step(challenge)) == Done("tim")
    assert client.done
    assert "tanstaaf" not in repr(client)


def test_login_with_username_as_initial_response_and_failures():
    server = LoginServer(verify)
    assert server.step(b"tim") == b"Password:"
    with pytest.raises(SaslAuthFailed):
        server.step(b"nope")
    with pytest.raises(SaslMalformed):
        LoginServer(verify).step(b"")


def test_framing_rules():
    assert decode_initial_response(None) is None
    assert decode_initial_response("=") == b""  # RFC 4954 §4: "=" is an empty response
    assert decode_initial_response("AHRpbQB0YW5zdGFhZnRhbnN0YWFm") == b"\0tim\0tanstaaftanstaaf"
    assert decode_response(b"\r\n") == b""
    assert decode_response(b"dGlt\r\n") == b"tim"
    for bad in ("dGl", "dGlt!", "dG=lt", "ü"):
        with pytest.raises(SaslMalformed):
            decode_response(bad)
    with pytest.raises(SaslCancelled):  # RFC 4422 §3.5, RFC 4954 §4
        decode_response(b"*\r\n")
    with pytest.raises(SaslMalformed):
        decode_response(b"A" * 20000)
    assert encode_challenge(b"") == b""
    assert encode_response(b"", initial=True) == b"="
    assert decode_challenge(encode_challenge(b"Password:")) == b"Password:"


def test_registry():
    assert isinstance(server_mechanism("plain", verify=verify), PlainServer)
    assert server_mechanism("SCRAM-SHA-256", lookup=lambda n: None).name == "SCRAM-SHA-256"
    with pytest.raises(SaslUnsupported):
        server_mechanism("CRAM-MD5", verify=verify)
    with pytest.raises(SaslUnsupported):
        server_mechanism("SCRAM-SHA-256", verify=verify)  # no lookup given
    assert client_mechanism("LOGIN", "a", "b").name == "LOGIN"
    assert choose_mechanism(["LOGIN", "plain", "SCRAM-SHA-256"]) == "SCRAM-SHA-256"
    assert choose_mechanism(["CRAM-MD5"]) is None
    assert server_mechanism("PLAIN", verify=verify).plaintext


def test_saslprep_rfc4013_examples():
    # RFC 4013 §3
    assert saslprep("I\u00adX") == "IX"
    assert saslprep("user") == "user"
    assert saslprep("USER") == "USER"
    assert saslprep("\u00aa") == "a"
    assert saslprep("\u2168") == "IX"
    with pytest.raises(SaslMalformed):
        saslprep("\u0007")
    with pytest.raises(SaslMalformed):
        saslprep("\u0627\u0031")  # bidi: must end right-to-left


@given((st.binary(max_size=800) | wire()), (st.binary(max_size=300) | wire()))
def test_any_bytes_give_done_challenge_or_protocol_error(first, second):
    for server in (PlainServer(verify), LoginServer(verify)):
        try:
            server.step(first)
            server.step(second)
        except ProtocolError:
            pass
    try:
        decode_response(first)
        decode_initial_response(second)
    except ProtocolError:
        pass


@given(
    st.text(max_size=20).filter(lambda s: "\0" not in s and s),
    st.text(max_size=20).filter(lambda s: "\0" not in s and s),
    st.none() | st.text(max_size=20).filter(lambda s: "\0" not in s and s),
)
def test_plain_round_trip(user, password, authzid):
    def check(u, p):
        return (u, p) == (user, password)

    message = PlainClient(user, password, authzid).initial_response()
    if len(message) <= 3 * 255 + 2:
        assert PlainServer(check).step(message) == Done(user, authzid)
