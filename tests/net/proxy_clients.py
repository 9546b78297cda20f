"""The stdlib's SMTP, IMAP and POP3 clients from a chosen loopback source address,
optionally writing a PROXY header first (as HAProxy's send-proxy does, before TLS):
a test plays the proxy, or a client whose address differs from the proxy's."""

from __future__ import annotations

import imaplib
import poplib
import smtplib
import socket
import ssl
from typing import Any


def _connect(address: tuple[str, int], source: str, header: bytes,
             timeout: float | None) -> socket.socket:
    sock = socket.create_connection(address, timeout, source_address=(source, 0))
    if header:
        sock.sendall(header)
    return sock


def no_verify() -> ssl.SSLContext:
    """The test server's self-signed certificate is not what these tests check."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class SMTP(smtplib.SMTP):
    def __init__(self, address: tuple[str, int], *, source: str, header: bytes = b"",
                 **kwargs: Any) -> None:
        self.proxy_header = header
        kwargs.setdefault("timeout", 10)
        super().__init__(*address, source_address=(source, 0), **kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        assert self.source_address is not None
        return _connect((host, port), self.source_address[0], self.proxy_header, timeout)


class IMAP(imaplib.IMAP4):
    def __init__(self, address: tuple[str, int], *, source: str, header: bytes = b"") -> None:
        self.source, self.proxy_header = source, header
        super().__init__(*address, timeout=10)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return _connect((self.host, self.port), self.source, self.proxy_header, timeout)


class IMAPS(imaplib.IMAP4_SSL):
    def __init__(self, address: tuple[str, int], *, source: str, header: bytes = b"") -> None:
        self.source, self.proxy_header = source, header
        super().__init__(*address, ssl_context=no_verify(), timeout=10)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock = _connect((self.host, self.port), self.source, self.proxy_header, timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


class POP3(poplib.POP3):
    def __init__(self, address: tuple[str, int], *, source: str, header: bytes = b"") -> None:
        self.source, self.proxy_header = source, header
        super().__init__(*address, timeout=10)

    def _create_socket(self, timeout: float) -> socket.socket:
        return _connect((self.host, self.port), self.source, self.proxy_header, timeout)


def raw(address: tuple[str, int], *, source: str, first: bytes = b"") -> socket.socket:
    """A bare socket from ``source`` that has sent ``first``."""
    return _connect(address, source, first, 10)


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes (a reset counts as closed: PROXY §2.1 aborts)."""
    out = b""
    try:
        while chunk := sock.recv(65536):
            out += chunk
    except ConnectionResetError:
        pass
    return out
