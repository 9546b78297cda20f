"""The connection layer's PROXY protocol reception ([listen] proxy_from), on a bare
StreamListener: whose header is trusted, what the session sees as its peer, that the
header is consumed to its last byte and not one further (plaintext and implicit TLS),
and the bounds (length, time, connections waiting for their header)."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from mailtool.net.connection import ConnectionLimits
from mailtool.net.limits import ConnectionLimiter
from mailtool.net.listener import Connection, StreamListener
from mailtool.net.proxy import is_trusted, proxy_networks, read_proxy_header
from mailtool.protocol.proxy import (
    V1_MAX_LINE,
    V2_SIGNATURE,
    ProxyHeaderError,
    format_v1,
    format_v2,
)

PROXY_IP = "127.0.0.2"  # the trusted proxy; clients without a proxy come from 127.0.0.1
CLIENT = ("203.0.113.5", 40001)
DEST = ("198.51.100.1", 25)


async def report_peer(conn: Connection) -> None:
    """Says who the session thinks it talks to, then echoes one line."""
    conn.write(f"peer {conn.peer_ip} {conn.peer_port} via {conn.via}\r\n".encode())
    line = await conn.read_line(limit=200, timeout=5)
    conn.write(b"echo " + line)
    await conn.drain()


@asynccontextmanager
async def listening(
    *, per_ip: int = 10, total: int = 10, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[tuple[str, int]]:
    listener = StreamListener(
        "test", "127.0.0.1", 0, report_peer,
        limiter=ConnectionLimiter(total=total, per_ip=per_ip), busy_reply=b"busy\r\n",
        ssl_context=ssl_context,
        limits=ConnectionLimits(proxy_from=proxy_networks([f"{PROXY_IP}/32"])),
    )  # fmt: skip
    address = await listener.start()
    try:
        yield address
    finally:
        await listener.stop(grace=0.5)


async def connect(address: tuple[str, int], source: str = PROXY_IP) -> tuple[
        asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(*address, local_addr=(source, 0))


async def closed(reader: asyncio.StreamReader) -> bool:
    """Closed without a byte for us: EOF, or a reset (we left bytes unread, PROXY §2.1
    says to abort)."""
    try:
        return await reader.read() == b""
    except ConnectionResetError:
        return True


def run(main: Callable[[], object]) -> None:
    asyncio.run(main())  # type: ignore[arg-type]


def test_v1_and_v2_name_the_client_and_the_bytes_behind_stay():
    async def main() -> None:
        async with listening() as address:
            for header in (format_v1(CLIENT, DEST), format_v2(CLIENT, DEST)):
                reader, writer = await connect(address)
                writer.write(header + b"hello\r\n")  # one segment: header and first line
                assert await reader.readline() == b"peer 203.0.113.5 40001 via 127.0.0.2\r\n"
                assert await reader.readline() == b"echo hello\r\n"
                writer.close()

    run(main)


def test_header_trickling_in_byte_by_byte_is_read_whole():
    async def main() -> None:
        async with listening() as address:
            reader, writer = await connect(address)
            for byte in format_v2(("2001:db8::5", 7), ("2001:db8::1", 143)):
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.001)
            writer.write(b"x\r\n")
            assert await reader.readline() == b"peer 2001:db8::5 7 via 127.0.0.2\r\n"
            assert await reader.readline() == b"echo x\r\n"

    run(main)


def test_local_and_unknown_mean_the_proxy_itself():
    # PROXY §2.1 (UNKNOWN) and §2.2 (LOCAL: health checks): the real endpoints
    async def main() -> None:
        async with listening() as address:
            for header in (format_v2(), b"PROXY UNKNOWN\r\n"):
                reader, writer = await connect(address)
                writer.write(header + b"hc\r\n")
                line = await reader.readline()
                assert line.startswith(b"peer 127.0.0.2 ") and line.endswith(b" via None\r\n")
                assert await reader.readline() == b"echo hc\r\n"

    run(main)


def test_a_header_from_elsewhere_is_data_not_trust():
    async def main() -> None:
        async with listening() as address:
            reader, writer = await connect(address, source="127.0.0.1")
            writer.write(format_v1(CLIENT, DEST))
            line = await reader.readline()
            assert line.startswith(b"peer 127.0.0.1 ") and line.endswith(b" via None\r\n")
            assert await reader.readline() == b"echo " + format_v1(CLIENT, DEST)

    run(main)


@pytest.mark.parametrize(
    "first",
    [
        b"EHLO proxy.forgot.the.header\r\n",  # a proxy without send-proxy
        b"PROXY TCP4 203.0.113.5 198.51.100.1 40001 25\n",  # bare LF
        b"PROXY UNKNOWN " + b"x" * V1_MAX_LINE,  # no CRLF within 107 bytes
        V2_SIGNATURE + b"\x21\x11\xff\xff",  # 64 KiB announced: refused before reading it
        V2_SIGNATURE + b"\x22\x11\x00\x0c" + bytes(12),  # unassigned command
    ],
)
def test_a_trusted_peer_without_a_valid_header_is_closed(first):
    async def main() -> None:
        async with listening() as address:
            reader, writer = await connect(address)
            writer.write(first)
            async with asyncio.timeout(5):  # at once, not at the header timeout
                assert await closed(reader)

    run(main)


def test_a_truncated_header_then_close_costs_nothing_more():
    async def main() -> None:
        async with listening() as address:
            reader, writer = await connect(address)
            writer.write(format_v2(CLIENT, DEST)[:20])
            writer.close()
            # the listener goes on serving
            reader, writer = await connect(address)
            writer.write(format_v1(CLIENT, DEST) + b"ok\r\n")
            assert (await reader.readline()).startswith(b"peer 203.0.113.5")

    run(main)


def test_the_per_ip_cap_counts_the_header_client_not_the_proxy():
    async def main() -> None:
        async with listening(per_ip=1) as address:
            first = await connect(address)
            first[1].write(format_v2(CLIENT, DEST))
            assert (await first[0].readline()).startswith(b"peer 203.0.113.5")
            other = await connect(address)  # another client through the same proxy
            other[1].write(format_v2(("203.0.113.6", 1), DEST))
            assert (await other[0].readline()).startswith(b"peer 203.0.113.6")
            again = await connect(address)  # the first client's second connection
            again[1].write(format_v1(CLIENT, DEST))
            assert await again[0].readline() == b"busy\r\n"

    run(main)


def test_implicit_tls_header_and_client_hello_in_one_segment(certificate_authority):
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("mail.test").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    certificate_authority.configure_trust(client_ctx)

    async def main() -> None:
        async with listening(ssl_context=server_ctx) as address:
            sock = socket.create_connection(address, source_address=(PROXY_IP, 0), timeout=5)
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            tls = client_ctx.wrap_bio(incoming, outgoing, server_hostname="mail.test")
            with pytest.raises(ssl.SSLWantReadError):
                tls.do_handshake()
            # the ClientHello right behind the header: a reader that took a byte too many
            # would break the handshake
            sock.sendall(format_v2(CLIENT, DEST) + outgoing.read())
            await asyncio.to_thread(_finish_handshake, sock, tls, incoming, outgoing)
            tls.write(b"over tls\r\n")
            sock.sendall(outgoing.read())
            text = await asyncio.to_thread(_read_tls, sock, tls, incoming, 2)
            assert text == b"peer 203.0.113.5 40001 via 127.0.0.2\r\necho over tls\r\n"
            sock.close()

    run(main)


def _finish_handshake(sock: socket.socket, tls: ssl.SSLObject, incoming: ssl.MemoryBIO,
                      outgoing: ssl.MemoryBIO) -> None:
    while True:
        try:
            tls.do_handshake()
            sock.sendall(outgoing.read())
            return
        except ssl.SSLWantReadError:
            sock.sendall(outgoing.read())
            incoming.write(sock.recv(65536))


def _read_tls(sock: socket.socket, tls: ssl.SSLObject, incoming: ssl.MemoryBIO,
              lines: int) -> bytes:
    text = b""
    while text.count(b"\n") < lines:
        try:
            text += tls.read(65536)
        except ssl.SSLWantReadError:
            incoming.write(sock.recv(65536))
    return text


def test_read_proxy_header_deadline_is_not_extended_by_a_trickle():
    async def main() -> None:
        ours, theirs = socket.socketpair()
        ours.setblocking(False)

        async def trickle() -> None:
            for byte in b"PROXY TCP4 ":
                theirs.send(bytes([byte]))
                await asyncio.sleep(0.05)

        feeder = asyncio.create_task(trickle())
        with pytest.raises(TimeoutError):
            await read_proxy_header(ours, timeout=0.3)
        await feeder
        ours.close()
        theirs.close()

    run(main)


def test_read_proxy_header_takes_exactly_the_header():
    async def main() -> None:
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        theirs.sendall(format_v1(CLIENT, DEST) + b"rest")
        header = await read_proxy_header(ours, timeout=2)
        assert header.source == CLIENT
        assert ours.recv(100) == b"rest"
        theirs.sendall(b"PROXY TCP4 1.2.3.4\n")
        with pytest.raises(ProxyHeaderError):
            await read_proxy_header(ours, timeout=2)
        ours.close()
        theirs.close()

    run(main)


def test_an_ipv4_mapped_client_is_its_ipv4_address():
    async def main() -> None:
        async with listening() as address:
            reader, writer = await connect(address)
            writer.write(format_v2(("::ffff:203.0.113.5", 9), ("::ffff:198.51.100.1", 25)))
            assert await reader.readline() == b"peer 203.0.113.5 9 via 127.0.0.2\r\n"

    run(main)


def test_trust_is_by_network_and_mapped_addresses_count():
    networks = proxy_networks(["10.0.0.0/8", "2001:db8::1"])
    assert is_trusted("10.1.2.3", networks)
    assert is_trusted("::ffff:10.1.2.3", networks)  # a dual-stack listener's view
    assert is_trusted("2001:db8::1", networks)
    assert not is_trusted("11.0.0.1", networks)
    assert not is_trusted("2001:db8::2", networks)
    assert not is_trusted("10.0.0.1", ())
    assert not is_trusted("?", networks)


def test_config_proxy_from_is_validated_naming_the_key():
    from mailtool import config as config_mod

    cfg = config_mod.from_dict(
        {"listen": {"smtp": "127.0.0.1:0", "proxy_from": ["10.0.0.0/8", "::1", "192.0.2.7"]}}
    )
    assert cfg.listen.proxy_from == ("10.0.0.0/8", "::1", "192.0.2.7")
    assert "proxy_from" not in cfg.listen.enabled()  # not a listener
    assert config_mod.from_dict({}).listen.proxy_from == ()  # default: nobody
    for bad in (["10.0.0.0/33"], ["proxy.example"], ["10.0.0.1/8/1"]):
        with pytest.raises(config_mod.ConfigError, match=r"listen\.proxy_from"):
            config_mod.from_dict({"listen": {"proxy_from": bad}})
    with pytest.raises(config_mod.ConfigErrors, match=r"listen\.proxy_from"):
        config_mod.from_dict({"listen": {"proxy_from": "10.0.0.0/8"}})  # a list, not a string
