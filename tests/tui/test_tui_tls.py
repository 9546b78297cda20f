"""STARTTLS for IMAP and SMTP, verified against a private CA; no plaintext fallback.

``mailtool serve`` here has a certificate from a trustme CA and refuses
passwords before TLS (no loopback exception), so a login that works proves
the upgrade happened; the account trusts that CA through ``cafile`` with
``verify_tls = true``. A server that does not offer STARTTLS is refused with
an error that says so, and the password never leaves the client.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from tests.tui.pilot import make_app, until
from tests.tui.servers import OTHER, USER, USERS


@pytest.fixture
def tls_server(tmp_path, certificate_authority):
    from tests.harness import MailtoolServer

    cert = certificate_authority.issue_cert("127.0.0.1", "localhost")
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    ca = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(ca))
    server = MailtoolServer(
        tmp_path / "mailtool", services=("imap", "submission"),
        config={"tls": {"cert": str(tmp_path / "cert.pem"), "key": str(tmp_path / "key.pem")},
                "security": {"plaintext_auth_on_loopback": False}},
    ).start()
    for user, password in USERS.items():
        server.add_user(user, password)
    yield server, ca
    assert server.stop() == 0


def starttls_account(tmp_path, monkeypatch, imap_port: int, smtp_port: int, ca) -> object:
    path = tmp_path / "client.toml"
    path.write_text(
        "[accounts.alice]\n"
        f'email = "{USER}"\nname = "Alice"\n'
        f'imap = "127.0.0.1:{imap_port}"\nimap_tls = "starttls"\n'
        f'smtp = "127.0.0.1:{smtp_port}"\nsmtp_tls = "starttls"\n'
        f'verify_tls = true\ncafile = "{ca}"\n'
        f'password_command = "echo {USERS[USER]}"\n')
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return path


async def test_imap_and_smtp_starttls_verified_against_the_ca(tls_server, tmp_path,
                                                              monkeypatch):
    server, ca = tls_server
    config = starttls_account(tmp_path, monkeypatch, server.port("imap"),
                              server.port("submission"), ca)
    app = make_app(config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        indicator = main.query_one("#connection")
        await until(pilot, lambda: "idle" in indicator.text, "logged in after STARTTLS, IDLE")
        transport = main.session.connection.transport
        sent = list(transport.sent)
        assert sent[:2] == ["STARTTLS", "LOGIN"], sent  # TLS before the password
        tls = transport.protocol.transport.get_extra_info("ssl_object")
        assert tls is not None and tls.version() in ("TLSv1.2", "TLSv1.3")
        await pilot.press("c")
        await until(pilot, lambda: type(app.screen).__name__ == "ComposeScreen", "composer")
        for field, value in (("to", OTHER), ("subject", "Over STARTTLS")):
            app.screen.query_one(f"#field-{field}").value = value
        app.screen.query_one("#body").text = "sent through SMTP STARTTLS\n"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is main, "composer closed after sending")
    found = await asyncio.to_thread(_wait_for_bob, server, ca)
    assert found, "the message sent over SMTP STARTTLS did not arrive"


def _wait_for_bob(server, ca) -> list[bytes]:
    import imaplib
    import ssl
    import time

    deadline = time.monotonic() + 20
    while True:
        imap = imaplib.IMAP4("127.0.0.1", server.port("imap"))
        imap.starttls(ssl.create_default_context(cafile=str(ca)))
        imap.login(OTHER, USERS[OTHER])
        imap.select("INBOX")
        found = imap.uid("SEARCH", 'SUBJECT "Over STARTTLS"')[1][0].split()
        imap.logout()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


async def test_unknown_ca_is_refused(tls_server, tmp_path, monkeypatch):
    """verify_tls = true without the CA: the certificate is not trusted, nothing is sent."""
    server, ca = tls_server
    config = starttls_account(tmp_path, monkeypatch, server.port("imap"),
                              server.port("submission"), ca)
    config.write_text(config.read_text().replace(f'cafile = "{ca}"\n', ""))
    app = make_app(config)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        await until(pilot, lambda: "offline" in main.query_one("#connection").text, "offline")
        await until(pilot, lambda: any("CERTIFICATE_VERIFY_FAILED" in str(n.message)
                                       for n in app._notifications), "certificate error shown")


class PlainImap:
    """An IMAP server that offers no STARTTLS; it records every line it receives."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] plain only\r\n")
        with contextlib.suppress(ConnectionError):
            while line := await reader.readline():
                self.lines.append(line)
                tag, _, rest = line.decode().partition(" ")
                if rest.upper().startswith("CAPABILITY"):
                    writer.write(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n")
                    writer.write(f"{tag} OK done\r\n".encode())
                elif rest.upper().startswith("LOGOUT"):
                    writer.write(f"* BYE\r\n{tag} OK bye\r\n".encode())
                else:
                    writer.write(f"{tag} BAD no\r\n".encode())
                await writer.drain()
        writer.close()


async def test_server_without_starttls_is_refused_without_plaintext_fallback(tmp_path,
                                                                             monkeypatch):
    plain = PlainImap()
    listener = await asyncio.start_server(plain.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    config = starttls_account(tmp_path, monkeypatch, port, 1, tmp_path / "none.pem")
    app = make_app(config)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            main = app.screen
            await until(pilot, lambda: "offline" in main.query_one("#connection").text,
                        "offline")
            await until(pilot, lambda: any("does not offer STARTTLS" in str(n.message)
                                           for n in app._notifications), "error shown")
    finally:
        listener.close()
    sent = b"".join(plain.lines)
    assert b"LOGIN" not in sent.upper() and USERS[USER].encode() not in sent
    assert b"AUTHENTICATE" not in sent.upper()


def test_smtp_server_without_starttls_is_refused_before_auth_or_mail():
    """The send path's submit(): a starttls account never falls back to plaintext SMTP."""
    from aiosmtpd.controller import Controller

    from mailtool.client.account import Endpoint
    from mailtool.client.smtp import submit
    from mailtool.errors import TemporaryFailure
    from tests.peers import free_port

    class Handler:
        commands: list[str] = []  # noqa: RUF012 - one handler per test

        async def handle_MAIL(self, server, session, envelope, address, options):
            self.commands.append("MAIL")
            return "250 OK"

    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        endpoint = Endpoint("127.0.0.1", controller.port, "starttls", True)
        with pytest.raises(TemporaryFailure, match="STARTTLS"):
            asyncio.run(submit(endpoint, b"Subject: x\r\n\r\nhi\r\n", USER, [OTHER],
                               username=USER, password=USERS[USER]))
    finally:
        controller.stop()
    assert handler.commands == []
