"""The PROXY protocol header parser (v1 text, v2 binary): what HAProxy's spec accepts,
what it says to drop, the bounds, and any prefix of a header asking for more."""

from __future__ import annotations

import ipaddress
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailtool.errors import ProtocolError
from mailtool.protocol.proxy import (
    LOCAL,
    MAX_HEADER,
    PROXY,
    TCP4,
    TCP6,
    UNKNOWN,
    V1_MAX_LINE,
    V2_MAX_PAYLOAD,
    V2_SIGNATURE,
    ProxyHeader,
    ProxyHeaderError,
    format_v1,
    format_v2,
    parse_header,
)

V2_TCP4 = V2_SIGNATURE + b"\x21\x11"


def test_v1_tcp4_and_what_follows_is_left():
    data = b"PROXY TCP4 192.0.2.7 198.51.100.1 56324 25\r\nEHLO x\r\n"
    header = parse_header(data)
    assert header == ProxyHeader(1, PROXY, TCP4, ("192.0.2.7", 56324), ("198.51.100.1", 25), 44)
    assert data[header.length :] == b"EHLO x\r\n"


def test_v1_tcp6_canonical_form():
    header = parse_header(b"PROXY TCP6 2001:DB8:0:0::1 ::1 65535 0\r\n")
    assert header is not None
    assert header.source == ("2001:db8::1", 65535) and header.destination == ("::1", 0)
    assert header.family == TCP6


def test_v1_unknown_uses_the_real_peer_and_ignores_the_rest():
    # PROXY §2.1: for UNKNOWN the receiver ignores anything before the CRLF
    for line in (b"PROXY UNKNOWN\r\n", b"PROXY UNKNOWN ffff::1 ffff::2 65535 65535\r\n"):
        header = parse_header(line + b"A1 NOOP\r\n")
        assert header == ProxyHeader(1, PROXY, UNKNOWN, None, None, len(line))


def test_v1_worst_case_line_fits_the_bound():
    addr = ":".join(["ffff"] * 8)
    line = f"PROXY UNKNOWN {addr} {addr} 65535 65535\r\n".encode()
    assert len(line) == V1_MAX_LINE
    assert parse_header(line) is not None


@pytest.mark.parametrize(
    "line",
    [
        b"PROXY TCP4 192.0.2.7 198.51.100.1 56324 25\n",  # bare LF
        b"PROXY TCP4 192.0.2.7 198.51.100.1 56324 25\r\r\n",
        b"PROXY TCP4 192.0.2.7 198.51.100.1 56324\r\n",  # a field missing
        b"PROXY TCP4  192.0.2.7 198.51.100.1 56324 25\r\n",  # two spaces
        b"PROXY TCP4 192.0.2.07 198.51.100.1 56324 25\r\n",  # heading zero (octal?)
        b"PROXY TCP4 192.0.2.256 198.51.100.1 56324 25\r\n",
        b"PROXY TCP4 ::1 ::1 56324 25\r\n",  # family mismatch
        b"PROXY TCP6 192.0.2.7 198.51.100.1 56324 25\r\n",
        b"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",  # a zone is no address on the wire
        b"PROXY TCP4 192.0.2.7 198.51.100.1 056324 25\r\n",  # heading zero in a port
        b"PROXY TCP4 192.0.2.7 198.51.100.1 65536 25\r\n",
        b"PROXY TCP4 192.0.2.7 198.51.100.1 -1 25\r\n",
        b"PROXY UDP4 192.0.2.7 198.51.100.1 1 25\r\n",
        b"PROXY\r\n",
        b"proxy TCP4 192.0.2.7 198.51.100.1 56324 25\r\n",
        b"EHLO client.example\r\n",  # no header at all
        b"\x16\x03\x01\x02\x00\x01",  # a TLS ClientHello
        b"A1 LOGIN user pass\r\n",
    ],
)
def test_v1_malformed_is_refused(line):
    with pytest.raises(ProxyHeaderError) as info:
        parse_header(line)
    assert isinstance(info.value, ProtocolError)


def test_v1_bound_without_crlf():
    with pytest.raises(ProxyHeaderError, match="107"):
        parse_header(b"PROXY UNKNOWN " + b"x" * (V1_MAX_LINE - 14))
    # one byte short of the bound: still a prefix
    assert parse_header(b"PROXY UNKNOWN " + b"x" * (V1_MAX_LINE - 15)) is None


def test_v2_tcp4_tcp6_with_tlvs_skipped():
    tlv = b"\x04\x00\x03abc"  # PP2_TYPE_NOOP
    data = format_v2(("192.0.2.7", 40000), ("198.51.100.1", 993), tlvs=tlv) + b"\x16\x03"
    header = parse_header(data)
    assert header == ProxyHeader(
        2, PROXY, TCP4, ("192.0.2.7", 40000), ("198.51.100.1", 993), 16 + 12 + len(tlv)
    )
    assert data[header.length :] == b"\x16\x03"
    six = parse_header(format_v2(("2001:db8::7", 1), ("2001:db8::1", 2)))
    assert six is not None and six.source == ("2001:db8::7", 1) and six.family == TCP6
    assert six.length == 16 + 36


def test_v2_local_uses_the_real_peer_whatever_the_block():
    # PROXY §2.2: LOCAL ignores the family and any address block; the length still counts
    block = bytes(12)
    data = V2_SIGNATURE + b"\x20\x11" + struct.pack("!H", len(block)) + block
    assert parse_header(data) == ProxyHeader(2, LOCAL, UNKNOWN, None, None, len(data))
    assert parse_header(format_v2()) == ProxyHeader(2, LOCAL, UNKNOWN, None, None, 16)


@pytest.mark.parametrize("family", [0x00, 0x31, 0x32, 0x12, 0x22, 0x10])
def test_v2_families_we_do_not_relay_fall_back_to_the_real_peer(family):
    block = bytes(216)
    data = V2_SIGNATURE + bytes([0x21, family]) + struct.pack("!H", len(block)) + block
    assert parse_header(data) == ProxyHeader(2, PROXY, UNKNOWN, None, None, len(data))


@pytest.mark.parametrize(
    "data",
    [
        V2_SIGNATURE + b"\x11\x11\x00\x0c" + bytes(12),  # version 1 in the v2 form
        V2_SIGNATURE + b"\x22\x11\x00\x0c" + bytes(12),  # command 2 is unassigned
        V2_SIGNATURE + b"\x21\x41\x00\x0c" + bytes(12),  # family 4
        V2_SIGNATURE + b"\x21\x13\x00\x0c" + bytes(12),  # protocol 3
        V2_SIGNATURE + b"\x21\x11\x00\x0b" + bytes(11),  # block too short for INET
        V2_SIGNATURE + b"\x21\x21\x00\x0c" + bytes(12),  # block too short for INET6
        b"\r\n\r\nQUIT",  # the signature broken early
    ],
)
def test_v2_malformed_is_refused(data):
    with pytest.raises(ProxyHeaderError):
        parse_header(data)


def test_v2_length_bound():
    size = V2_MAX_PAYLOAD + 1
    with pytest.raises(ProxyHeaderError, match=str(MAX_HEADER)):
        parse_header(V2_TCP4 + struct.pack("!H", size))
    # at the bound: a header, TLVs and all (read, then ignored)
    data = V2_TCP4 + struct.pack("!H", V2_MAX_PAYLOAD) + bytes(V2_MAX_PAYLOAD)
    header = parse_header(data)
    assert header is not None and header.length == MAX_HEADER == len(data)


def test_empty_input_needs_more():
    assert parse_header(b"") is None


ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(str)
port = st.integers(0, 65535)
endpoints = st.one_of(
    st.tuples(st.tuples(ipv4, port), st.tuples(ipv4, port)),
    st.tuples(st.tuples(ipv6, port), st.tuples(ipv6, port)),
)


@given(endpoints, st.booleans(), st.binary(max_size=64))
def test_round_trip_and_every_prefix_asks_for_more(pair, v2, after):
    source, destination = pair
    raw = format_v2(source, destination) if v2 else format_v1(source, destination)
    header = parse_header(raw + after)
    assert header is not None
    assert header.length == len(raw) and header.version == (2 if v2 else 1)
    assert header.source == (str(ipaddress.ip_address(source[0])), source[1])
    assert header.destination == (str(ipaddress.ip_address(destination[0])), destination[1])
    for cut in range(len(raw)):
        assert parse_header(raw[:cut]) is None


@given(st.binary(max_size=MAX_HEADER + 16))
def test_any_bytes_give_a_header_within_them_more_or_the_error(data):
    try:
        header = parse_header(data)
    except ProxyHeaderError:
        return
    if header is None:
        assert len(data) < MAX_HEADER
    else:
        assert header.length <= len(data)


@given(st.sampled_from([b"PROXY ", V2_SIGNATURE]), st.binary(max_size=300))
def test_bytes_after_a_signature_never_escape_the_error(prefix, rest):
    data = prefix + rest
    try:
        header = parse_header(data)
    except ProxyHeaderError:
        return
    assert header is None or header.length <= len(data)
