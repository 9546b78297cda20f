"""CAPABILITY, STARTTLS, LOGIN, AUTHENTICATE (PLAIN + SASL-IR, SCRAM-SHA-256), LOGOUT."""

from __future__ import annotations

import base64

from mailtool.protocol.sasl import ScramClient
from tests.mra.imap.conftest import PASSWORD, USER, Imap
from tests.mra.imap.wireclient import Wire

REQUIRED = [
    "IMAP4rev1",
    "IMAP4rev2",
    "STARTTLS",
    "AUTH=PLAIN",
    "AUTH=SCRAM-SHA-256",
    "SASL-IR",
    "IDLE",
    "UIDPLUS",
    "MOVE",
    "NAMESPACE",
    "ID",
    "ENABLE",
    "LITERAL+",
    "SPECIAL-USE",
    "CREATE-SPECIAL-USE",
    "UNSELECT",
    "CHILDREN",
    "LIST-EXTENDED",
    "LIST-STATUS",
    "ESEARCH",
    "CONDSTORE",
    "QRESYNC",
    "QUOTA",
]


def caps(reply_line: bytes) -> set[str]:
    text = reply_line.decode()
    inner = text[text.index("CAPABILITY") + len("CAPABILITY") :]
    return set(inner.split("]")[0].split())


def test_plaintext_port_hides_auth_until_starttls(imap: Imap) -> None:
    w = Wire(imap.port)
    before = caps(w.greeting)
    assert {"STARTTLS", "LOGINDISABLED", "IMAP4rev2"} <= before
    assert not any(c.startswith("AUTH=") for c in before)
    reply = w.login(imap.user, PASSWORD)
    assert reply.status == "NO" and b"[PRIVACYREQUIRED]" in reply.tagged
    reply = w.cmd(
        "AUTHENTICATE PLAIN " + base64.b64encode(f"\0{imap.user}\0{PASSWORD}".encode()).decode()
    )
    assert reply.status == "NO"
    w.starttls()
    after = caps(w.cmd("CAPABILITY").untagged[0])
    assert set(REQUIRED) - {"STARTTLS"} <= after
    assert "LOGINDISABLED" not in after and "STARTTLS" not in after
    reply = w.login(imap.user, PASSWORD)
    assert reply.status == "OK" and b"[CAPABILITY " in reply.tagged
    assert w.cmd("STARTTLS").status == "BAD"  # not in the authenticated state


def test_implicit_tls_advertises_everything(imap: Imap) -> None:
    w = Wire(imap.tls_port, tls=True)
    assert set(REQUIRED) - {"STARTTLS"} <= caps(w.greeting)
    assert w.cmd("LOGOUT").untagged[0].startswith(b"* BYE")


def test_loopback_plaintext_when_configured(imap_server) -> None:  # type: ignore[no-untyped-def]
    imap = imap_server(config={"security": {"plaintext_auth_on_loopback": True}})
    w = Wire(imap.port)
    assert {"AUTH=PLAIN", "AUTH=SCRAM-SHA-256"} <= caps(w.greeting)
    assert imap.user == USER
    assert "LOGINDISABLED" not in caps(w.greeting)
    assert w.login(imap.user, PASSWORD).status == "OK"


def test_starttls_discards_pipelined_plaintext(imap: Imap) -> None:
    w = Wire(imap.port)
    # a command injected after STARTTLS in the same packet must not run after the handshake
    w.send(b"a STARTTLS\r\nb CAPABILITY\r\n")
    assert w.line().startswith(b"a OK")
    w.buf = b""
    w.sock = __import__("tests.mra.imap.wireclient", fromlist=["_ctx"])._ctx().wrap_socket(w.sock)
    reply = w.cmd("NOOP")
    assert reply.status == "OK" and not reply.has(b"CAPABILITY")


def test_wrong_password_is_delayed_no(imap: Imap) -> None:
    w = Wire(imap.tls_port, tls=True)
    reply = w.login(imap.user, "wrong")
    assert reply.status == "NO" and b"[AUTHENTICATIONFAILED]" in reply.tagged
    reply = w.login("nobody@example.test", "x")
    assert reply.status == "NO" and b"[AUTHENTICATIONFAILED]" in reply.tagged
    assert w.login(imap.user, PASSWORD).status == "OK"


def test_authenticate_plain_with_and_without_initial_response(imap: Imap) -> None:
    token = base64.b64encode(f"\0{imap.user}\0{PASSWORD}".encode())
    w = Wire(imap.tls_port, tls=True)
    assert w.cmd(b"AUTHENTICATE PLAIN " + token).status == "OK"
    w = Wire(imap.tls_port, tls=True)
    tag = w.tag()
    w.send(tag.encode() + b" AUTHENTICATE PLAIN\r\n")
    assert w.line().startswith(b"+")
    w.send(token + b"\r\n")
    assert w.collect(tag).status == "OK"
    w = Wire(imap.tls_port, tls=True)
    tag = w.tag()
    w.send(tag.encode() + b" AUTHENTICATE PLAIN\r\n")
    assert w.line().startswith(b"+")
    w.send(b"*\r\n")
    assert w.collect(tag).status == "BAD"  # RFC 9051 §6.2.2: cancelled


def test_authenticate_scram_sha_256(imap: Imap) -> None:
    w = Wire(imap.tls_port, tls=True)
    client = ScramClient(imap.user, PASSWORD)
    tag = w.tag()
    first = base64.b64encode(client.initial_response()).decode()
    w.send(f"{tag} AUTHENTICATE SCRAM-SHA-256 {first}\r\n".encode())
    line = w.line()
    assert line.startswith(b"+ ")
    final = client.step(base64.b64decode(line[2:].strip()))
    w.send(base64.b64encode(final) + b"\r\n")
    line = w.line()
    assert line.startswith(b"+ ")  # server-final with its signature
    client.step(base64.b64decode(line[2:].strip()))  # raises if the server's proof is wrong
    w.send(b"\r\n")
    assert w.collect(tag).status == "OK"
    assert w.cmd("SELECT INBOX").status == "OK"


def test_commands_in_the_wrong_state_are_bad(imap: Imap) -> None:
    w = Wire(imap.tls_port, tls=True)
    assert w.cmd("SELECT INBOX").status == "BAD"
    assert w.cmd("FETCH 1 FLAGS").status == "BAD"
    assert w.login(imap.user, PASSWORD).status == "OK"
    assert w.cmd("FETCH 1 FLAGS").status == "BAD"
    assert w.login(imap.user, PASSWORD).status == "BAD"
    assert w.cmd("NOOP").status == "OK"
