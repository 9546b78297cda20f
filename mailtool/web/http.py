"""HTTP/1.1 (RFC 9112) over a :class:`~mailtool.net.connection.Connection`, as much
as our few documents need: GET, HEAD and a small POST, with Content-Length bodies
only, keep-alive, and a named bound on every client-controlled resource.

Bounds (:class:`HttpLimits`): the request line, the header block (bytes and field
count), the POST body, one deadline for a whole request (a trickle cannot stretch
it), the idle wait between keep-alive requests, and requests per connection.
A breach gets the RFC's status code and the connection is closed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from mailtool.net.connection import (
    Connection,
    ConnectionClosed,
    LineTooLong,
    ReadTimeout,
)

REASONS = {
    200: "OK",
    301: "Moved Permanently",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    411: "Length Required",
    413: "Content Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    505: "HTTP Version Not Supported",
}


@dataclass(frozen=True)
class HttpLimits:
    """Every bound of the HTTP listeners (the same for ``https`` and ``http``)."""

    #: bytes of the request line, CRLF included (RFC 9112 §3: 8000 recommended at least)
    request_line: int = 8192
    #: bytes of all header lines together
    header_bytes: int = 16 * 1024
    #: header fields per request
    header_count: int = 64
    #: bytes of a POST body (an autodiscover request is a few hundred)
    body: int = 16 * 1024
    #: seconds from a request's first byte to the end of its body
    request_deadline: float = 20.0
    #: seconds a kept-alive connection may sit idle before its next request
    keepalive_idle: float = 15.0
    #: requests served on one connection before it is closed
    max_requests: int = 100
    #: after an error reply, seconds and bytes of the client's input dropped before
    #: closing, so that closing does not reset the connection before it reads the reply
    error_linger: float = 2.0
    error_linger_bytes: int = 256 * 1024


@dataclass
class Request:
    method: str
    target: str
    version: str
    headers: dict[str, str]
    body: bytes = b""

    @property
    def path(self) -> str:
        return unquote(urlsplit(self.target).path)

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query)

    @property
    def host(self) -> str:
        """The Host header's name, lower case, without port or trailing dot."""
        host = self.headers.get("host", "").strip().lower()
        if host.startswith("["):
            return host.split("]")[0] + "]"
        return host.rsplit(":", 1)[0].rstrip(".") if ":" in host else host.rstrip(".")

    @property
    def keep_alive(self) -> bool:
        tokens = {t.strip().lower() for t in self.headers.get("connection", "").split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self, *, head: bool = False, close: bool = False) -> bytes:
        lines = [f"HTTP/1.1 {self.status} {REASONS.get(self.status, 'Unknown')}"]
        fields = {
            "Content-Type": self.content_type,
            "Content-Length": str(len(self.body)),
            "Cache-Control": "no-store" if self.status >= 400 else "max-age=300",
            "X-Content-Type-Options": "nosniff",
            **self.headers,
        }
        if close:
            fields["Connection"] = "close"
        lines += [f"{k}: {v}" for k, v in fields.items()]
        head_bytes = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head_bytes if head else head_bytes + self.body


def text(status: int, body: str) -> Response:
    return Response(status, body.encode())


class HttpError(Exception):
    """A request we answer with ``status`` and then close the connection."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


Handler = Callable[[Request, Connection], Awaitable[Response]]


async def read_request(conn: Connection, limits: HttpLimits, first: bool) -> Request | None:
    """The next request, or None when the peer closed or idled out between requests."""
    conn.set_deadline(None)
    try:
        # RFC 9112 §2.2: empty lines before a request line are ignored (bounded: 4)
        for _ in range(4):
            line = await conn.read_line(
                limits.request_line,
                timeout=limits.request_deadline if first else limits.keepalive_idle,
            )
            if line.strip():
                break
        else:
            raise HttpError(400, "empty request")
    except (ConnectionClosed, ReadTimeout):
        return None
    except LineTooLong:
        raise HttpError(414, "request line too long") from None
    conn.set_deadline(limits.request_deadline)
    parts = line.decode("latin-1").strip().split(" ")
    if len(parts) != 3:
        raise HttpError(400, "malformed request line")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise HttpError(505, "HTTP/1.1 only")
    headers = await _read_headers(conn, limits)
    request = Request(method, target, version, headers)
    if "transfer-encoding" in headers:
        # RFC 9112 §6.1: we accept no chunked bodies; 501 and close (no smuggling)
        raise HttpError(501, "Transfer-Encoding not supported")
    length_text = headers.get("content-length", "0").strip()
    if not length_text.isdigit():
        raise HttpError(400, "bad Content-Length")
    length = int(length_text)
    if length > limits.body:
        raise HttpError(413, f"body over {limits.body} bytes")
    if method == "POST" and "content-length" not in headers:
        raise HttpError(411, "POST needs Content-Length")
    if length:
        request.body = await conn.read_exactly(length)
    return request


async def _read_headers(conn: Connection, limits: HttpLimits) -> dict[str, str]:
    headers: dict[str, str] = {}
    total = 0
    for _ in range(limits.header_count + 1):
        try:
            line = await conn.read_line(limits.header_bytes - total + 2)
        except LineTooLong:
            raise HttpError(431, "header block too large") from None
        total += len(line)
        if line in (b"\r\n", b"\n"):
            return headers
        name, sep, value = line.decode("latin-1").partition(":")
        # RFC 9112 §5.1: no whitespace between the field name and the colon
        if not sep or not name or name != name.strip():
            raise HttpError(400, "malformed header field")
        key = name.lower()
        if key in headers and key in ("host", "content-length"):
            raise HttpError(400, f"duplicate {name}")
        headers[key] = value.strip()
    raise HttpError(431, f"more than {limits.header_count} header fields")


async def serve_connection(conn: Connection, handler: Handler, limits: HttpLimits) -> None:
    """Requests on one connection until close, error, idle timeout or ``max_requests``."""
    for served in range(limits.max_requests):
        try:
            request = await read_request(conn, limits, first=served == 0)
        except HttpError as exc:
            conn.outcome = f"http-{exc.status}"
            await _refuse(conn, limits, text(exc.status, f"{exc}\n"))
            return
        except ReadTimeout:  # the request deadline passed mid-request
            conn.outcome = "http-408"
            await _refuse(conn, limits, text(408, "request took too long\n"))
            return
        if request is None:
            return
        # RFC 9112 §3.2: a 1.1 request without Host is a 400
        if request.version == "HTTP/1.1" and "host" not in request.headers:
            await conn.send(text(400, "Host header missing\n").encode(close=True))
            return
        response = await handler(request, conn)
        last = not request.keep_alive or served + 1 == limits.max_requests
        await conn.send(response.encode(head=request.method == "HEAD", close=last))
        if last:
            return


async def _refuse(conn: Connection, limits: HttpLimits, response: Response) -> None:
    """An error reply to a request we stopped reading, then a staged close."""
    await conn.send(response.encode(close=True))
    await conn.close_lingering(limits.error_linger, limits.error_linger_bytes)
