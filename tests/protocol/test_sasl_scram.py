"""SCRAM-SHA-256: the RFC 7677 §3 exchange, both halves against each other,
and every check that should fail does."""

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailtool.errors import AuthError, ProtocolError
from mailtool.protocol.sasl import (
    Done,
    SaslAuthFailed,
    SaslMalformed,
    ScramClient,
    ScramServer,
    salted_password,
    scram_credentials,
)
from tests.protocol.wire_strategies import wire

# RFC 7677 §3
CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO"
SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
CLIENT_FIRST = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
SERVER_FIRST = (
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
)
CLIENT_FINAL = (
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

CREDS = scram_credentials("pencil", SALT, 4096)


def lookup(name):
    return CREDS if name == "user" else None


def test_rfc7677_client_half():
    client = ScramClient("user", "pencil", nonce=CLIENT_NONCE)
    assert client.initial_response() == CLIENT_FIRST
    assert client.step(SERVER_FIRST) == CLIENT_FINAL
    assert not client.done
    assert client.step(SERVER_FINAL) == b""
    assert client.done


def test_rfc7677_server_half():
    server = ScramServer(lookup, nonce=SERVER_NONCE)
    assert server.step(CLIENT_FIRST) == SERVER_FIRST
    assert server.step(CLIENT_FINAL) == SERVER_FINAL
    assert server.step(b"") == Done("user", None)


def test_server_without_initial_response_sends_empty_challenge_first():
    server = ScramServer(lookup, nonce=SERVER_NONCE)
    assert server.step(None) == b""
    assert server.step(CLIENT_FIRST) == SERVER_FIRST


def test_credentials_are_the_rfc_keys_and_hide_in_repr():
    salted = salted_password("pencil", SALT, 4096)
    assert len(salted) == 32
    assert CREDS.iterations == 4096 and CREDS.salt == SALT
    assert "stored_key" not in repr(CREDS)
    assert "pencil" not in repr(ScramClient("user", "pencil"))
    fresh = scram_credentials("pencil")
    assert len(fresh.salt) == 16 and fresh.stored_key != CREDS.stored_key


def run(client, server):
    out = server.step(client.initial_response())
    while not isinstance(out, Done):
        out = server.step(client.step(out))
    return out


def test_halves_against_each_other_with_authzid_and_odd_names():
    creds = scram_credentials("pä ss", iterations=4096)
    server = ScramServer(lambda n: creds if n == "a,b=c" else None)
    client = ScramClient("a,b=c", "pä ss", authzid="boss=1,x")
    assert run(client, server) == Done("a,b=c", "boss=1,x")
    assert client.done


def test_saslprep_makes_equivalent_passwords_equal():
    # RFC 4013: U+00A0 NO-BREAK SPACE maps to SPACE; U+00AD SOFT HYPHEN to nothing
    creds = scram_credentials("I X", iterations=4096)
    assert run(ScramClient("u", "I\u00a0\u00adX"), ScramServer(lambda n: creds)) == Done("u")


def test_wrong_password_fails_with_auth_error_without_the_secret():
    server = ScramServer(lookup)
    client = ScramClient("user", "wrong-pw")
    server_first = server.step(client.initial_response())
    with pytest.raises(SaslAuthFailed) as exc:
        server.step(client.step(server_first))
    assert isinstance(exc.value, AuthError) and isinstance(exc.value, ProtocolError)
    assert "wrong-pw" not in str(exc.value) and "pencil" not in str(exc.value)


def test_unknown_user_gets_a_stable_fake_salt_then_fails():
    firsts = []
    for _ in range(2):
        server = ScramServer(lookup)
        client = ScramClient("nobody", "x")
        first = server.step(client.initial_response())
        firsts.append(first.split(b",")[1])
        with pytest.raises(SaslAuthFailed):
            server.step(client.step(first))
    assert firsts[0] == firsts[1]


def test_client_detects_a_forged_server_signature():
    client = ScramClient("user", "pencil", nonce=CLIENT_NONCE)
    client.initial_response()
    client.step(SERVER_FIRST)
    with pytest.raises(SaslAuthFailed):
        client.step(b"v=" + base64.b64encode(b"\0" * 32))
    assert not client.done


@pytest.mark.parametrize(
    "server_first",
    [
        b"r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",  # nonce not extended from ours
        b"r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",  # not extended at all
        b"r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=10",  # too few iterations
        b"r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999",  # too many
        b"r=rOprNGfwEbeRWgbNEkqOx,s=***,i=4096",
        b"r=rOprNGfwEbeRWgbNEkqOx,i=4096",
        b"m=ext,r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        b"e=other-error",
    ],
)
def test_client_refuses_bad_server_first(server_first):
    client = ScramClient("user", "pencil", nonce=CLIENT_NONCE)
    client.initial_response()
    with pytest.raises(SaslMalformed):
        client.step(server_first)


@pytest.mark.parametrize(
    "client_first",
    [
        b"p=tls-unique,,n=user,r=abc",  # channel binding: no -PLUS here
        b"x,,n=user,r=abc",
        b"n,,m=ext,n=user,r=abc",
        b"n,,n=user",
        b"n,,n=,r=abc",
        b"n,,n=us=3Xer,r=abc",
        b"n,b=x,n=user,r=abc",
        b"n=user,r=abc",
        b"n,,n=user,r=a,b",
        b"\xff",
    ],
)
def test_server_refuses_bad_client_first(client_first):
    with pytest.raises(SaslMalformed):
        ScramServer(lookup).step(client_first)


def test_server_checks_channel_binding_and_nonce_in_client_final():
    def server_at_final():
        server = ScramServer(lookup, nonce=SERVER_NONCE)
        server.step(CLIENT_FIRST)
        return server

    with pytest.raises(SaslMalformed):  # c= is not base64("n,,")
        server_at_final().step(CLIENT_FINAL.replace(b"c=biws", b"c=eSws"))
    with pytest.raises(SaslMalformed):  # nonce altered
        server_at_final().step(CLIENT_FINAL.replace(b"$k0", b"$k1"))
    with pytest.raises(SaslAuthFailed):  # proof altered
        server_at_final().step(CLIENT_FINAL.replace(b"p=dHz", b"p=dHy"))
    with pytest.raises(SaslMalformed):  # no proof
        server_at_final().step(CLIENT_FINAL.split(b",p=")[0])


def test_server_flag_y_is_accepted_since_we_offer_no_plus_variant():
    client = ScramClient("user", "pencil")
    first = client.initial_response().replace(b"n,,", b"y,,", 1)
    client._gs2 = "y,,"
    server = ScramServer(lookup)
    out = server.step(first)
    out = server.step(client.step(out))
    assert client.step(out) == b"" and server.step(b"") == Done("user")


@settings(max_examples=200)
@given(st.lists((st.binary(max_size=200) | wire()), min_size=1, max_size=4))
def test_any_bytes_give_challenge_done_or_protocol_error(messages):
    server = ScramServer(lookup)
    try:
        for message in messages:
            server.step(message)
    except ProtocolError:
        pass


@settings(max_examples=100)
@given(st.binary(max_size=300) | wire())
def test_client_any_server_bytes_give_response_or_protocol_error(data):
    client = ScramClient("user", "pencil", nonce=CLIENT_NONCE, min_iterations=1)
    client.initial_response()
    try:
        client.step(data.replace(b"i=", b"i=1"))  # keep any PBKDF2 cheap
    except ProtocolError:
        pass
