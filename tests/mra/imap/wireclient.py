"""A tiny raw IMAP client for tests that must see the exact bytes the server sends."""

from __future__ import annotations

import re
import socket
import ssl
from dataclasses import dataclass, field

_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")


@dataclass
class Reply:
    """Untagged lines (literals inline) and the tagged completion line."""

    untagged: list[bytes] = field(default_factory=list)
    tagged: bytes = b""

    @property
    def status(self) -> str:
        return self.tagged.split(b" ", 2)[1].decode()

    def has(self, needle: bytes) -> bool:
        return any(needle in line for line in self.untagged)

    def lines(self, prefix: bytes) -> list[bytes]:
        return [line for line in self.untagged if line.startswith(prefix)]


class Wire:
    """One connection; ``cmd("NOOP")`` sends ``tN NOOP`` and collects the reply."""

    def __init__(self, port: int, *, tls: bool = False, timeout: float = 30) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            sock = _ctx().wrap_socket(sock)
        self.sock = sock
        self.buf = b""
        self.n = 0
        self.greeting = self.line()

    def starttls(self) -> Reply:
        reply = self.cmd("STARTTLS")
        assert reply.status == "OK", reply
        assert not self.buf
        self.sock = _ctx().wrap_socket(self.sock)
        return reply

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def line(self) -> bytes:
        """One response line with any literals it carries (CRLF kept)."""
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                self._fill()
            i = self.buf.index(b"\r\n") + 2
            part, self.buf = self.buf[:i], self.buf[i:]
            out += part
            m = _LITERAL.search(part)
            if not m:
                return out
            size = int(m.group(1))
            while len(self.buf) < size:
                self._fill()
            out += self.buf[:size]
            self.buf = self.buf[size:]

    def tag(self) -> str:
        self.n += 1
        return f"t{self.n}"

    def cmd(self, text: str | bytes) -> Reply:
        tag = self.tag()
        data = text.encode() if isinstance(text, str) else text
        self.send(tag.encode() + b" " + data + b"\r\n")
        return self.collect(tag)

    def collect(self, tag: str) -> Reply:
        reply = Reply()
        while True:
            line = self.line()
            if line.startswith(tag.encode() + b" "):
                reply.tagged = line
                return reply
            reply.untagged.append(line)

    def login(self, user: str, password: str) -> Reply:
        return self.cmd(f'LOGIN "{user}" "{password}"')

    def closed(self) -> bool:
        """Whether the server has closed the connection (after reading what is left)."""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionError, ssl.SSLError):
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()


def _ctx() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx
