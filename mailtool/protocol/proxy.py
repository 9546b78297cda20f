"""The PROXY protocol header, v1 (text) and v2 (binary), sans-I/O, both roles.

A TCP proxy (HAProxy ``send-proxy`` / ``send-proxy-v2``) writes this header as the
first bytes of each connection it opens to us, before any TLS, so that we see the
real client's address instead of the proxy's. Spec: HAProxy's
``proxy-protocol.txt`` (Debian: /usr/share/doc/haproxy/proxy-protocol.txt.gz),
cited below as "PROXY §n".

:func:`parse_header` takes the bytes received so far and returns a
:class:`ProxyHeader` (with the number of bytes it used: what follows belongs to
the proxied protocol), None when those bytes are a strict prefix of a header (read
more: every one of them is header), or raises :class:`ProxyHeaderError` as soon
as they cannot begin a valid header. Bounded: a v1 line is at most
:data:`V1_MAX_LINE` bytes (PROXY §2.1), a v2 header at most 16 +
:data:`V2_MAX_PAYLOAD` bytes (the 216-byte address block of AF_UNIX, the largest
one, plus TLVs, which are skipped).

:func:`format_v1` and :func:`format_v2` are the sender's half (the test proxies).
"""

from __future__ import annotations

import ipaddress
import re
import struct
from dataclasses import dataclass

from mailtool.errors import ProtocolError

#: PROXY §2.1: the longest v1 line, CRLF included ("PROXY UNKNOWN" with two IPv6s)
V1_MAX_LINE = 107
V1_PREFIX = b"PROXY "
#: PROXY §2.2: the 12-byte v2 signature
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V2_FIXED = 16  # signature, version/command, family/protocol, length
#: PROXY §2.2: the largest address block (AF_UNIX: 2 * 108 bytes)
V2_MAX_ADDRESSES = 216
#: bytes of TLVs (PROXY §2.2.1-2.2.8) we read and ignore after the addresses
V2_MAX_TLVS = 4096
#: the v2 length field's bound: addresses and TLVs
V2_MAX_PAYLOAD = V2_MAX_ADDRESSES + V2_MAX_TLVS
#: the most bytes a header can take (a reader never needs to look further)
MAX_HEADER = V2_FIXED + V2_MAX_PAYLOAD

LOCAL = "LOCAL"
PROXY = "PROXY"
#: families: v1's names, and v2's mapped onto them (0x1 TCP4, 0x2 TCP6)
TCP4 = "TCP4"
TCP6 = "TCP6"
UNKNOWN = "UNKNOWN"  # v1 UNKNOWN, v2 AF_UNSPEC, AF_UNIX or DGRAM: the real peer is used

_V2_FAMILIES = {0x0: "UNSPEC", 0x1: "INET", 0x2: "INET6", 0x3: "UNIX"}
_V2_PROTOCOLS = {0x0: "UNSPEC", 0x1: "STREAM", 0x2: "DGRAM"}
# PROXY §2.1: no heading zeroes in an IPv4 number or a port
_DECIMAL = r"(?:0|[1-9][0-9]{0,4})"
_IPV4 = re.compile(rb"(?:(?:0|[1-9][0-9]{0,2})\.){3}(?:0|[1-9][0-9]{0,2})")
_IPV6 = re.compile(rb"[0-9A-Fa-f:.]{2,45}")
_PORT = re.compile(_DECIMAL.encode())


class ProxyHeaderError(ProtocolError):
    """Not a valid PROXY header: PROXY §2.1 and §2.2 say to abort the connection
    (no reply: the peer is a proxy, not a client)."""


@dataclass(frozen=True)
class ProxyHeader:
    """One parsed header. ``source`` is the real client when the proxy named one
    (``command`` PROXY over TCP4/TCP6); None means "use the connection's own peer"
    (v2 LOCAL: a health check; v1 UNKNOWN; families we do not relay)."""

    version: int  # 1 or 2
    command: str  # PROXY or LOCAL (v1 is always PROXY)
    family: str  # TCP4, TCP6 or UNKNOWN
    source: tuple[str, int] | None
    destination: tuple[str, int] | None
    #: bytes of the input the header took; what follows is the proxied protocol's
    length: int


def parse_header(data: bytes) -> ProxyHeader | None:
    """The header at the start of ``data``; None if ``data`` is a strict prefix of
    one (all of it is header: read more); :class:`ProxyHeaderError` otherwise."""
    if data[:1] == V1_PREFIX[:1]:
        return _parse_v1(data)
    if data[:1] == V2_SIGNATURE[:1]:
        return _parse_v2(data)
    if not data:
        return None
    # PROXY §2.2: "otherwise the protocol is not covered ... must be dropped"
    raise ProxyHeaderError("no PROXY protocol header")


# ------------------------------------------------------------------------- v1


def _parse_v1(data: bytes) -> ProxyHeader | None:
    head = data[: len(V1_PREFIX)]
    if not V1_PREFIX.startswith(head):
        raise ProxyHeaderError("no PROXY protocol header")
    end = data.find(b"\n", 0, V1_MAX_LINE)
    if end < 0:
        if len(data) >= V1_MAX_LINE:
            raise ProxyHeaderError(f"PROXY v1 line longer than {V1_MAX_LINE} bytes")
        if b"\r" in data[:-1]:  # a CR not followed by LF can never end the line
            raise ProxyHeaderError("PROXY v1 line with a bare CR")
        return None
    # PROXY §2.1: "must not tolerate a single CR or LF character to end the line"
    if data[end - 1 : end] != b"\r" or b"\r" in data[: end - 1]:
        raise ProxyHeaderError("PROXY v1 line not ended by CRLF")
    line = data[len(V1_PREFIX) : end - 1]
    length = end + 1
    fields = line.split(b" ")
    if fields[0] == UNKNOWN.encode():
        # PROXY §2.1: for UNKNOWN "the receiver must ignore anything presented before the CRLF"
        return ProxyHeader(1, PROXY, UNKNOWN, None, None, length)
    if len(fields) != 5 or fields[0] not in (b"TCP4", b"TCP6"):
        raise ProxyHeaderError("PROXY v1 line is not TCP4/TCP6 with 2 addresses and 2 ports")
    family = fields[0].decode()
    src, dst = (_v1_address(f, family) for f in fields[1:3])
    sport, dport = (_v1_port(f) for f in fields[3:5])
    return ProxyHeader(1, PROXY, family, (src, sport), (dst, dport), length)


def _v1_address(text: bytes, family: str) -> str:
    # PROXY §2.1: canonical dotted quad without heading zeroes, or RFC 4291 text for TCP6
    try:
        if family == TCP4 and _IPV4.fullmatch(text):
            return str(ipaddress.IPv4Address(text.decode()))
        if family == TCP6 and _IPV6.fullmatch(text):
            return str(ipaddress.IPv6Address(text.decode()))
    except ValueError:
        pass
    raise ProxyHeaderError(f"PROXY v1 address {text[:45]!r} is not a {family} address")


def _v1_port(text: bytes) -> int:
    if _PORT.fullmatch(text) and int(text) <= 65535:
        return int(text)
    raise ProxyHeaderError(f"PROXY v1 port {text[:10]!r} is not 0-65535")


# ------------------------------------------------------------------------- v2


def _parse_v2(data: bytes) -> ProxyHeader | None:
    head = data[: len(V2_SIGNATURE)]
    if not V2_SIGNATURE.startswith(head):
        raise ProxyHeaderError("no PROXY protocol header")
    if len(data) > 12 and data[12] >> 4 != 2:
        # PROXY §2.2: the version "must always be sent as \x2 and the receiver must only
        # accept this value"
        raise ProxyHeaderError("PROXY v2 header with a version other than 2")
    if len(data) > 12 and data[12] & 0xF not in (0, 1):
        raise ProxyHeaderError("PROXY v2 header with an unassigned command")  # PROXY §2.2
    if len(data) > 13 and (data[13] >> 4 not in _V2_FAMILIES or data[13] & 0xF not in
                           _V2_PROTOCOLS):
        raise ProxyHeaderError("PROXY v2 header with an unassigned family or protocol")
    if len(data) < V2_FIXED:
        return None
    (size,) = struct.unpack_from("!H", data, 14)
    if size > V2_MAX_PAYLOAD:
        raise ProxyHeaderError(f"PROXY v2 header longer than {V2_FIXED + V2_MAX_PAYLOAD} bytes")
    length = V2_FIXED + size
    if len(data) < length:
        return None
    command = PROXY if data[12] & 0xF else LOCAL
    family, protocol = _V2_FAMILIES[data[13] >> 4], _V2_PROTOCOLS[data[13] & 0xF]
    block = data[V2_FIXED:length]
    if command == LOCAL:
        # PROXY §2.2: LOCAL (a health check): "use the real connection endpoints and
        # discard the protocol block including the family which is ignored"
        return ProxyHeader(2, LOCAL, UNKNOWN, None, None, length)
    if protocol != "STREAM" or family not in ("INET", "INET6"):
        # PROXY §2.2: a receiver that does not relay a family falls back to UNSPEC
        # (the real endpoints); the length field still says what to skip
        return ProxyHeader(2, PROXY, UNKNOWN, None, None, length)
    width = 4 if family == "INET" else 16
    if size < 2 * width + 4:
        raise ProxyHeaderError("PROXY v2 address block shorter than its family's")
    make = ipaddress.IPv4Address if width == 4 else ipaddress.IPv6Address
    src, dst = make(block[:width]), make(block[width : 2 * width])
    sport, dport = struct.unpack_from("!HH", block, 2 * width)
    # what follows the addresses (TLVs, PROXY §2.2.1-8) is skipped: length covers it
    return ProxyHeader(
        2, PROXY, TCP4 if width == 4 else TCP6, (str(src), sport), (str(dst), dport), length
    )


# --------------------------------------------------------------------- sender


def _family(address: str) -> str:
    return TCP6 if ipaddress.ip_address(address).version == 6 else TCP4


def format_v1(source: tuple[str, int], destination: tuple[str, int]) -> bytes:
    """``PROXY TCP4 src dst sport dport\\r\\n`` (PROXY §2.1)."""
    family = _family(source[0])
    if _family(destination[0]) != family:
        raise ValueError("source and destination must be of one family")
    src, dst = (str(ipaddress.ip_address(a)) for a in (source[0], destination[0]))
    return f"PROXY {family} {src} {dst} {source[1]} {destination[1]}\r\n".encode()


def format_v2(
    source: tuple[str, int] | None = None,
    destination: tuple[str, int] | None = None,
    *,
    tlvs: bytes = b"",
) -> bytes:
    """A v2 PROXY header over TCP (PROXY §2.2); with no addresses, a LOCAL one."""
    if source is None or destination is None:
        return V2_SIGNATURE + bytes([0x20, 0x00]) + struct.pack("!H", len(tlvs)) + tlvs
    src, dst = ipaddress.ip_address(source[0]), ipaddress.ip_address(destination[0])
    if src.version != dst.version:
        raise ValueError("source and destination must be of one family")
    family = 0x11 if src.version == 4 else 0x21
    block = src.packed + dst.packed + struct.pack("!HH", source[1], destination[1]) + tlvs
    return V2_SIGNATURE + bytes([0x21, family]) + struct.pack("!H", len(block)) + block


__all__ = [
    "LOCAL",
    "MAX_HEADER",
    "PROXY",
    "TCP4",
    "TCP6",
    "UNKNOWN",
    "V1_MAX_LINE",
    "V2_MAX_PAYLOAD",
    "V2_MAX_TLVS",
    "V2_SIGNATURE",
    "ProxyHeader",
    "ProxyHeaderError",
    "format_v1",
    "format_v2",
    "parse_header",
]
