"""A bounded HTTPS GET for policy files (MTA-STS, RFC 8461 §3.3): connect to
a given address with SNI and full certificate checking, no redirects, no
proxies, at most ``max_bytes`` of body. Not a general HTTP client."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from .probe import LineClient, ProbeFailed, Transcript
from .probe_tls import TLSInfo

MAX_POLICY_BYTES = 64 * 1024  # RFC 8461 §3.2 sets no size; real policies are tiny


@dataclass
class HTTPSResult:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    tls: TLSInfo | None = None
    error: str | None = None


async def https_get(
    address: str,
    port: int,
    host: str,
    path: str,
    *,
    cafile: str | None = None,
    timeout: float = 10.0,
    max_bytes: int = MAX_POLICY_BYTES,
) -> HTTPSResult:
    """GET https://host/path from ``address:port``; never raises for the server's doing."""
    client = LineClient(Transcript(), cafile=cafile)
    result = HTTPSResult()
    try:
        await client.connect(
            address, port, implicit_tls=True, server_name=host, verify=True, timeout=timeout
        )
        result.tls = client.tls
        if client.tls and client.tls.cert and not client.tls.cert.matches(host):
            result.error = f"certificate is for {', '.join(client.tls.cert.names)}, not {host}"
            return result
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
            "User-Agent: mailtool-diagnose\r\n\r\n"
        )
        assert client.writer is not None and client.reader is not None
        client.writer.write(request.encode())
        await client.writer.drain()
        raw = await asyncio.wait_for(_read_all(client.reader, max_bytes + 16384), timeout)
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        result.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        for line in lines[1:]:
            key, _, value = line.partition(":")
            result.headers[key.strip().lower()] = value.strip()
        if "chunked" in result.headers.get("transfer-encoding", "").lower():
            body = dechunk(body)
        result.body = body[:max_bytes]
    except ProbeFailed as exc:
        result.error = str(exc)
    except (TimeoutError, OSError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        await client.close()
    return result


async def _read_all(reader: asyncio.StreamReader, limit: int) -> bytes:
    data = b""
    while len(data) < limit:
        chunk = await reader.read(limit - len(data))
        if not chunk:
            break
        data += chunk
    return data


def dechunk(body: bytes) -> bytes:
    """RFC 9112 §7.1 chunked transfer coding (extensions and trailers ignored)."""
    out, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
        except ValueError:
            break
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out
