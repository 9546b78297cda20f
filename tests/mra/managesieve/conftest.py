"""A module-scoped ``mailtool serve`` with only ManageSieve, a user, and a raw client."""

from __future__ import annotations

import base64
import socket
import ssl
from collections.abc import Iterator

import pytest

from tests.harness import MailtoolServer
from tests.mra import stores

# the IMAP tests' user helper: one way to make a test account
from tests.mra.imap.conftest import PASSWORD, USER, add_user

__all__ = ["PASSWORD", "USER", "Client", "add_user", "caps"]


class Client:
    """Just enough ManageSieve to drive the server byte by byte."""

    def __init__(self, port: int) -> None:
        self.sock: socket.socket | ssl.SSLSocket = socket.create_connection(("127.0.0.1", port), 10)
        self.file = self.sock.makefile("rb")
        self.greeting = self.response()

    def send(self, data: bytes | str) -> None:
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def line(self) -> bytes:
        raw = self.file.readline()
        if not raw:
            raise ConnectionError("server closed the connection")
        return raw

    def response(self) -> tuple[list[bytes], bytes]:
        """(data lines, with literals inlined; the final OK/NO/BYE line)."""
        lines: list[bytes] = []
        while True:
            raw = self.line().rstrip(b"\r\n")
            if raw.startswith((b"OK", b"NO", b"BYE")):
                return lines, raw
            if raw.endswith(b"}") and b"{" in raw:
                size = int(raw[raw.rindex(b"{") + 1 : -1].rstrip(b"+"))
                data = self.file.read(size)
                lines.append(raw[: raw.rindex(b"{")] + data)
                continue
            lines.append(raw)

    def cmd(self, text: str | bytes) -> tuple[list[bytes], bytes]:
        self.send((text.encode() if isinstance(text, str) else text) + b"\r\n")
        return self.response()

    def starttls(self) -> tuple[list[bytes], bytes]:
        _, ok = self.cmd("STARTTLS")
        assert ok.startswith(b"OK"), ok
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
        self.file = self.sock.makefile("rb")
        return self.response()

    def login(self, user: str = USER, password: str = PASSWORD) -> bytes:
        token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        return self.cmd(f'AUTHENTICATE "PLAIN" "{token}"')[1]

    def put(self, name: str, script: str) -> bytes:
        data = script.encode()
        return self.cmd(f'PUTSCRIPT "{name}" {{{len(data)}+}}\r\n'.encode() + data)[1]

    def close(self) -> None:
        self.sock.close()


def caps(lines: list[bytes]) -> dict[str, str]:
    out = {}
    for line in lines:
        parts = line.split(b'"')
        out[parts[1].decode()] = parts[3].decode() if len(parts) > 3 else ""
    return out


@pytest.fixture(scope="module", params=stores.BACKENDS)
def sieve_server(tmp_path_factory, request) -> Iterator[MailtoolServer]:
    server = MailtoolServer(
        tmp_path_factory.mktemp("ms") / "mt", services=("managesieve",),
        config=stores.backend_config(request),
    )
    server.start()
    add_user(server)
    yield server
    stores.stop_server(server)


@pytest.fixture
def client(sieve_server) -> Iterator[Client]:
    c = Client(sieve_server.port("managesieve"))
    yield c
    c.close()


@pytest.fixture
def logged_in(client) -> Client:
    client.starttls()
    assert client.login().startswith(b"OK")
    return client
