"""AUTHORIZATION state: CAPA (RFC 2449), STLS (RFC 2595), implicit TLS (RFC 8314),
USER/PASS (RFC 1939), AUTH PLAIN and SCRAM-SHA-256 (RFC 5034)."""

from __future__ import annotations

import base64
import poplib
import socket

import pytest

from mailtool.protocol.sasl import client_mechanism, decode_challenge, encode_response
from tests.mra.pop3.conftest import PASSWORD, Pop3Env, client_tls

CAPA_ALWAYS = {
    "TOP",
    "UIDL",
    "RESP-CODES",
    "AUTH-RESP-CODE",
    "PIPELINING",
    "EXPIRE",
    "LOGIN-DELAY",
    "IMPLEMENTATION",
}


def sasl(pop: poplib.POP3, mech: str, user: str, password: str, initial: bool = True) -> bytes:
    """RFC 5034 AUTH through poplib's line primitives; returns the final response."""
    client = client_mechanism(mech, user, password)
    first = client.initial_response() if initial else None
    if first is not None:
        resp = pop._shortcmd(f"AUTH {mech} {encode_response(first, initial=True).decode()}")
    else:
        resp = pop._shortcmd(f"AUTH {mech}")
    while resp.startswith(b"+ ") or resp == b"+":
        challenge = decode_challenge(resp[2:])
        pop._putcmd(encode_response(client.step(challenge)).decode())
        resp = pop._getresp()
    return resp


def test_capa_before_and_after_stls(pop3_env: Pop3Env) -> None:
    pop = pop3_env.plain()
    before = pop.capa()
    assert set(before) >= CAPA_ALWAYS
    # no login before TLS: PLAIN would send the password in clear, SCRAM the mail after it
    assert "STLS" in before and "USER" not in before and "SASL" not in before
    assert before["EXPIRE"] == ["NEVER"] and before["IMPLEMENTATION"] == ["mailtool"]
    pop.stls(client_tls())
    after = pop.capa()
    assert CAPA_ALWAYS | {"USER", "SASL"} <= set(after) and "STLS" not in after
    assert set(after["SASL"]) == {"PLAIN", "SCRAM-SHA-256"}
    pop.quit()


def test_user_pass_refused_before_tls_with_auth_code(pop3_env: Pop3Env) -> None:
    user = pop3_env.new_user()
    pop = pop3_env.plain()
    with pytest.raises(poplib.error_proto, match=r"^b'-ERR \[AUTH\]"):
        pop.user(user)
    with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\]"):
        sasl(pop, "PLAIN", user, PASSWORD)
    pop.stls(client_tls())
    pop.user(user)
    assert pop.pass_(PASSWORD).startswith(b"+OK")
    assert pop.stat() == (0, 0)
    pop.quit()


def test_implicit_tls_port(pop3_env: Pop3Env) -> None:
    user = pop3_env.new_user(messages=2)
    pop = pop3_env.login(user, stls=False)
    assert "STLS" not in pop.capa()
    assert pop.stat()[0] == 2
    pop.quit()


def test_wrong_password_gets_auth_code_and_a_retry_works(pop3_env: Pop3Env) -> None:
    user = pop3_env.new_user()
    pop = pop3_env.tls()
    pop.user(user)
    with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\]"):
        pop.pass_("wrong")
    with pytest.raises(poplib.error_proto, match=r"-ERR"):  # PASS without USER
        pop.pass_(PASSWORD)
    pop.user(user)
    assert pop.pass_(PASSWORD).startswith(b"+OK")
    pop.quit()


@pytest.mark.parametrize("initial", [True, False], ids=["initial-response", "empty-challenge"])
def test_auth_plain_over_tls(pop3_env: Pop3Env, initial: bool) -> None:
    user = pop3_env.new_user(messages=1)
    pop = pop3_env.tls()
    assert sasl(pop, "PLAIN", user, PASSWORD, initial=initial).startswith(b"+OK")
    assert pop.stat()[0] == 1
    pop.quit()


def test_auth_scram_sha_256_refused_before_stls(pop3_env: Pop3Env) -> None:
    # issue 15: SCRAM keeps the password secret, not the mail read after it; refused
    # before STLS like USER/PASS, and the same login works once TLS is on
    user = pop3_env.new_user(messages=1)
    pop = pop3_env.plain()
    with pytest.raises(poplib.error_proto, match=r"^b'-ERR \[AUTH\] .*STLS"):
        sasl(pop, "SCRAM-SHA-256", user, PASSWORD)
    with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\]"):
        sasl(pop, "SCRAM-SHA-256", user, PASSWORD, initial=False)
    pop.stls(client_tls())
    assert sasl(pop, "SCRAM-SHA-256", user, PASSWORD).startswith(b"+OK")
    assert pop.stat()[0] == 1
    pop.quit()
    pop = pop3_env.tls()
    with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\]"):
        sasl(pop, "SCRAM-SHA-256", user, "not it")
    pop.quit()


def test_auth_cancel_and_listing(pop3_env: Pop3Env) -> None:
    pop = pop3_env.tls()
    _, mechs, _ = pop._longcmd("AUTH")
    assert set(mechs) == {b"PLAIN", b"SCRAM-SHA-256"}
    assert pop._shortcmd("AUTH PLAIN").startswith(b"+")
    pop._putcmd("*")  # RFC 5034 §4: the client cancels
    with pytest.raises(poplib.error_proto, match="-ERR"):
        pop._getresp()
    with pytest.raises(poplib.error_proto, match="-ERR"):
        pop._shortcmd("AUTH CRAM-MD5")
    with pytest.raises(poplib.error_proto, match="-ERR"):
        pop._shortcmd("APOP u " + "0" * 32)
    pop.quit()


def test_transaction_commands_need_login(pop3_env: Pop3Env) -> None:
    pop = pop3_env.plain()
    for cmd in ("STAT", "LIST", "RETR 1", "DELE 1", "UIDL", "TOP 1 0", "RSET", "NOOP"):
        with pytest.raises(poplib.error_proto, match="-ERR"):
            pop._shortcmd(cmd)
    pop.quit()


def test_commands_pipelined_after_stls_are_not_executed(pop3_env: Pop3Env) -> None:
    """RFC 2595 §3.1 / STARTTLS command injection: plaintext sent after STLS is dropped."""
    sock = socket.create_connection(("127.0.0.1", pop3_env.port), timeout=30)
    f = sock.makefile("rb")
    assert f.readline().startswith(b"+OK")
    sock.sendall(b"STLS\r\nCAPA\r\n")
    assert f.readline().startswith(b"+OK")
    tls = client_tls().wrap_socket(sock, server_hostname="mail.test")
    tf = tls.makefile("rb")
    tls.sendall(b"NOOP\r\n")
    # had CAPA been kept, its multi-line answer would come first
    assert tf.readline().startswith(b"-ERR")  # NOOP is not valid in AUTHORIZATION
    tls.sendall(b"QUIT\r\n")
    assert tf.readline().startswith(b"+OK")
    tls.close()


def test_pipelining(pop3_env: Pop3Env) -> None:
    """RFC 2449 §6.6: commands sent back to back get their answers in order."""
    user = pop3_env.new_user(messages=2)
    pop = pop3_env.tls()
    pop.sock.sendall(f"USER {user}\r\nPASS {PASSWORD}\r\nSTAT\r\nUIDL 2\r\nNOOP\r\n".encode())
    answers = [pop._getresp() for _ in range(5)]
    assert all(a.startswith(b"+OK") for a in answers)
    assert answers[2].split()[1] == b"2"
    pop.quit()


def test_base64_of_initial_response_is_strict(pop3_env: Pop3Env) -> None:
    pop = pop3_env.tls()
    with pytest.raises(poplib.error_proto, match="-ERR"):
        pop._shortcmd("AUTH PLAIN not*base64")
    ok = base64.b64encode(b"\0nobody@pop.test\0x").decode()
    with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\]"):
        pop._shortcmd(f"AUTH PLAIN {ok}")
    pop.quit()
