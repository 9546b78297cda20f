"""Reading a PROXY protocol header off an accepted socket, before TLS (``[listen] proxy_from``).

HAProxy (``send-proxy``, ``send-proxy-v2``) writes the header as the first bytes of
the connection, before a TLS ClientHello on implicit-TLS ports, so the header must be
taken off the socket before the listener wraps it: it is read here with
``recv(MSG_PEEK)`` and consumed up to its last byte and not one byte further (the
spec's sample receiver, PROXY §9): the bytes behind it, a ClientHello or an early
``EHLO``, stay in the kernel for the transport. Then
:meth:`~mailtool.net.listener.StreamListener` hands the socket to the event loop
(``connect_accepted_socket``, with TLS if the port has it).

Trust (PROXY §5): only a peer inside ``proxy_from`` may, and must, send the header.
From such a peer, no valid header within :data:`HEADER_TIMEOUT` means the connection
is closed: a proxy that forgot it must not make every client look like the proxy.
From anyone else the bytes go to the protocol untouched (an SMTP ``500``, an IMAP
``BAD``): never trusted.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import Iterable

from mailtool.protocol.proxy import MAX_HEADER, ProxyHeader, ProxyHeaderError, parse_header

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: seconds a trusted proxy has to send its whole header. The spec (PROXY §2) asks for
#: at least 3 s (a TCP retransmit); a proxy sends it with the connection, at once.
HEADER_TIMEOUT = 10.0


def proxy_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """``["10.0.0.0/8", "::1"]`` -> networks (a bare address is a /32 or /128).
    ValueError for a malformed one (config validation names the key first)."""
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def is_trusted(ip: str, networks: tuple[Network, ...]) -> bool:
    """Whether ``ip`` (a peer address as the socket gives it) is inside ``networks``;
    an IPv4-mapped IPv6 peer (a dual-stack listener) counts as its IPv4 address."""
    if not networks:
        return False
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in net for net in networks)


def client_of(header: ProxyHeader) -> tuple[str, int] | None:
    """The client the header names, None for "the proxy itself" (v2 LOCAL, v1 UNKNOWN,
    families not relayed). An IPv4-mapped IPv6 source (a dual-stack proxy's view of an
    IPv4 client) is given as the IPv4 address SPF's ``ip4:`` and the limits expect."""
    if header.source is None:
        return None
    host, port = header.source
    address = ipaddress.ip_address(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        host = str(address.ipv4_mapped)
    return host, port


async def read_proxy_header(sock: socket.socket, timeout: float = HEADER_TIMEOUT) -> ProxyHeader:
    """The header at the start of non-blocking ``sock``, consumed exactly.

    Raises :class:`~mailtool.protocol.proxy.ProxyHeaderError` (malformed, or too
    long: at most :data:`~mailtool.protocol.proxy.MAX_HEADER` bytes are ever
    read), :class:`TimeoutError` past ``timeout`` (trickling bytes do not extend
    it), :class:`ConnectionError` when the peer closes first.
    """
    async with asyncio.timeout(timeout):
        return await _read(sock)


async def _read(sock: socket.socket) -> ProxyHeader:
    got = b""
    while True:
        await _readable(sock)
        try:
            peeked = sock.recv(MAX_HEADER - len(got), socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            continue
        if not peeked:
            raise ConnectionResetError("closed before its PROXY header")
        header = parse_header(got + peeked)
        # every peeked byte up to the header's end is header: take those off the socket
        take = len(peeked) if header is None else header.length - len(got)
        got += _recv_exactly(sock, take)
        if header is not None:
            return header
        if len(got) >= MAX_HEADER:  # parse_header refuses first; never loop unbounded
            raise ProxyHeaderError("PROXY header too long")


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    """``n`` bytes a peek just saw (so they are in the kernel's buffer already)."""
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ConnectionResetError("closed inside its PROXY header")
        out += chunk
    return out


async def _readable(sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    fd = sock.fileno()
    loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
    try:
        await ready
    finally:
        loop.remove_reader(fd)


def bind_sockets(host: str, port: int, *, reuse_port: bool = False) -> list[socket.socket]:
    """Listening sockets for ``host:port`` as ``loop.create_server`` binds them (one per
    address ``host`` resolves to; IPv6 ones v6-only), non-blocking, for a listener
    that accepts by itself (a PROXY header is read before the transport exists)."""
    infos = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _name, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:  # [limits] smtp_workers: several processes, one port
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            if port == 0:  # ephemeral (tests): one socket, or each address gets its own port
                break
        for sock in sockets:
            sock.listen(128)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()
        raise
    return sockets


__all__ = [
    "HEADER_TIMEOUT",
    "Network",
    "bind_sockets",
    "client_of",
    "is_trusted",
    "proxy_networks",
    "read_proxy_header",
]
