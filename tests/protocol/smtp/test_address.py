"""Paths per RFC 5321 §4.1.2 and RFC 6531: what parses, what is kept as written."""

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailtool.errors import ProtocolError
from mailtool.protocol.smtp import (
    MAX_PATH,
    Address,
    CommandSyntaxError,
    format_path,
    parse_helo_domain,
    parse_path,
)


@pytest.mark.parametrize(
    ("path", "local", "domain"),
    [
        ("<Smith@bar.com>", "Smith", "bar.com"),
        ("<a.b-c+d@x-y.example>", "a.b-c+d", "x-y.example"),
        ("<!#$%&'*+-/=?^_`{|}~@x>", "!#$%&'*+-/=?^_`{|}~", "x"),
        ('<"john doe"@example.com>', '"john doe"', "example.com"),
        ('<"a\\"b\\\\c"@example.com>', '"a\\"b\\\\c"', "example.com"),
        ('<""@example.com>', '""', "example.com"),
        ("<u@[192.0.2.1]>", "u", "[192.0.2.1]"),
        ("<u@[IPv6:2001:db8::1]>", "u", "[IPv6:2001:db8::1]"),
        ("<u@[IPv6:::ffff:192.0.2.1]>", "u", "[IPv6:::ffff:192.0.2.1]"),
        ("<u@[tag:some-content]>", "u", "[tag:some-content]"),
        ("<@hosta.int,@jkl.org:userc@d.bar.org>", "userc", "d.bar.org"),  # RFC 5321 App. C
        ("<1@2.3>", "1", "2.3"),
    ],
)
def test_valid_paths_keep_local_part_and_domain_as_written(path, local, domain):
    addr = parse_path(path)
    assert (addr.local_part, addr.domain) == (local, domain)


@pytest.mark.parametrize(
    "path",
    [
        "Smith@bar.com",  # no brackets
        "<Smith@bar.com",
        "<>",  # null is only a reverse-path
        "<Smith>",
        "<Smith@>",
        "<@bar.com>",
        "<.a@b>",
        "<a.@b>",
        "<a..b@c>",
        "<a b@c>",
        "<a@b..c>",
        "<a@-b.c>",
        "<a@b-.c>",
        "<a@b.c.>",
        "<a@b_c>",
        '<"a@b>',
        '<"a"b@c>',
        "<a@[300.1.1.1]>",
        "<a@[IPv6:1::2::3]>",
        "<a@[IPv6:fe80::1%eth0]>",
        "<a@[1.2.3.4>",
        "<a@[]>",
        "<@a,b:c@d>",
        "<@a:>",
        "<@a c@d>",
        "<a@b>c>",
        "<a\x00@b>",
        "<a@" + "x" * 64 + ".com>",  # label > 63
        '<"\x07"@b>',
    ],
)
def test_invalid_paths_get_501(path):
    with pytest.raises(CommandSyntaxError) as exc:
        parse_path(path)
    assert exc.value.reply.code == 501
    assert exc.value.reply.enhanced == "5.1.3"


def test_null_reverse_path_and_sender_enhanced_code():
    assert parse_path("<>", reverse=True) is None
    assert format_path(None) == "<>"
    with pytest.raises(CommandSyntaxError) as exc:
        parse_path("<a@>", reverse=True)
    assert exc.value.reply.enhanced == "5.1.7"


def test_postmaster_without_domain_is_a_forward_path_only():
    addr = parse_path("<Postmaster>")
    assert addr == Address("Postmaster", "") and addr.is_postmaster and str(addr) == "Postmaster"
    assert parse_path("<POSTMASTER@Example.COM>").is_postmaster
    with pytest.raises(CommandSyntaxError):
        parse_path("<Postmaster>", reverse=True)


@pytest.mark.parametrize(
    ("path", "raw_local", "unquoted"),
    [
        ("<user%other@local.test>", "user%other", "user%other"),
        ('<"user@other"@local.test>', '"user@other"', "user@other"),
        ("<other!user@local.test>", "other!user", "other!user"),
        ('<"other!user"@local.test>', '"other!user"', "other!user"),
    ],
)
def test_relay_tricks_are_exposed_not_interpreted(path, raw_local, unquoted):
    addr = parse_path(path)
    assert addr.domain == "local.test"
    assert addr.local_part == raw_local
    assert addr.unquoted_local_part == unquoted
    assert addr.has_route_chars


def test_plain_address_has_no_route_chars_and_literal_ips():
    assert not parse_path("<a.b@c.d>").has_route_chars
    assert parse_path("<a@[192.0.2.1]>").literal_ip == ipaddress.ip_address("192.0.2.1")
    assert parse_path("<a@[IPv6:2001:db8::1]>").literal_ip == ipaddress.ip_address("2001:db8::1")
    assert parse_path("<a@[x:y]>").literal_ip is None
    assert parse_path("<a@b.c>").literal_ip is None


def test_path_length_limit_counts_octets():
    local = "a" * 60
    domain = ".".join(["b" * 60] * 3) + ".cc"  # 186
    ok = f"<{local}@{domain}>"
    assert len(ok) <= MAX_PATH and parse_path(ok)
    too_long = f"<{local}@{domain}.{'d' * 20}>"
    assert len(too_long) > MAX_PATH
    with pytest.raises(CommandSyntaxError):
        parse_path(too_long)
    # octets, not characters: 2-octet characters count double
    with pytest.raises(CommandSyntaxError):
        parse_path("<" + "é" * 127 + "@b>", smtputf8=True)


@pytest.mark.parametrize(
    "path", ["<δοκιμή@παράδειγμα.δοκιμή>", "<用户@例子.广告>", '<"ü ö"@bücher.de>', "<a@bücher.de>"]
)
def test_utf8_addresses_need_smtputf8(path):
    # RFC 6531 §3.3 allows them, §3.5 refuses them without SMTPUTF8 with 553 5.6.7
    addr = parse_path(path, smtputf8=True)
    assert not addr.is_ascii
    with pytest.raises(CommandSyntaxError) as exc:
        parse_path(path)
    assert (exc.value.reply.code, exc.value.reply.enhanced) == (553, "5.6.7")


def test_utf8_excludes_controls_and_surrogates():
    for bad in ["<a\x85b@c>", "<a\udcffb@c>", "<a@b\u0085c>"]:
        with pytest.raises(CommandSyntaxError):
            parse_path(bad, smtputf8=True)


_atom = st.text(st.sampled_from("abcXYZ019!#$%&'*+-/=?^_`{|}~"), min_size=1, max_size=8)
_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True)
_quoted = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=10).map(
    lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
)
addresses = st.builds(
    Address,
    st.lists(_atom, min_size=1, max_size=3).map(".".join) | _quoted,
    st.lists(_label, min_size=1, max_size=4).map(".".join)
    | st.sampled_from(["[192.0.2.7]", "[IPv6:2001:db8::7]"]),
)


@given(addresses, st.booleans())
def test_format_then_parse_is_identity(addr, reverse):
    assert parse_path(format_path(addr), reverse=reverse) == addr


@given(st.text(max_size=300), st.booleans(), st.booleans())
def test_any_text_gives_address_or_protocol_error(text, reverse, utf8):
    try:
        parse_path(text, reverse=reverse, smtputf8=utf8)
        parse_path("<" + text + ">", reverse=reverse, smtputf8=utf8)
    except ProtocolError:
        pass


@pytest.mark.parametrize("arg", ["bar.com", "[192.0.2.1]", "[IPv6:::1]", "localhost", "bücher.de"])
def test_helo_domain_accepts_domains_and_literals(arg):
    assert parse_helo_domain(arg) == arg


@pytest.mark.parametrize("arg", ["", "bar com", "[1.2.3]", "-x.com", "a@b", "x" * 300])
def test_helo_domain_refuses_the_rest(arg):
    with pytest.raises(CommandSyntaxError) as exc:
        parse_helo_domain(arg)
    assert exc.value.reply.code == 501
