"""Generic IMAP values: format_value / parse_value round trips and edge cases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailtool.protocol.imap.errors import ImapError, ParseError, TooDeep
from mailtool.protocol.imap.limits import Limits
from mailtool.protocol.imap.values import Atom, format_value, parse_value

atoms = (
    st.from_regex(r"\\?[A-Za-z$][A-Za-z0-9$._-]{0,10}", fullmatch=True)
    .filter(lambda s: s.upper() != "NIL")
    .map(Atom)
)
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
scalars = st.none() | st.integers(0, 2**63 - 1) | texts | atoms
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5), max_leaves=30)


@given(values)
def test_format_then_parse_is_identity(v: object) -> None:
    parsed, rest = parse_value(format_value(v) + b" tail")
    assert parsed == v
    assert type(parsed) is type(v)
    assert rest == b" tail"


@given(st.binary(max_size=200))
def test_any_bytes_give_a_value_or_imap_error(data: bytes) -> None:
    try:
        parse_value(data)
    except ImapError:
        pass


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (None, b"NIL"),
        (0, b"0"),
        ("", b'""'),
        ('say "hi" \\o/', b'"say \\"hi\\" \\\\o/"'),
        ("two\r\nlines", b"{10}\r\ntwo\r\nlines"),
        ("caf\u00e9", b"{5}\r\ncaf\xc3\xa9"),
        (b"\x00", b"{1}\r\n\x00"),
        ("x" * 2000, b"{2000}\r\n" + b"x" * 2000),
        ([Atom("\\Seen"), Atom("$Junk")], b"(\\Seen $Junk)"),
        ((), b"()"),
        ([None, [1, "a"]], b'(NIL (1 "a"))'),
    ],
)
def test_format_value_table(value: object, wire: bytes) -> None:
    assert format_value(value) == wire


def test_utf8_quoted_under_utf8_accept() -> None:
    assert format_value("caf\u00e9", utf8=True) == b'"caf\xc3\xa9"'


@pytest.mark.parametrize("bad", [-1, True, object(), Atom("a b"), 1.5])
def test_format_value_rejects_non_values(bad: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        format_value(bad)


def test_parse_envelope_like_value() -> None:
    wire = (
        b'("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev2 WG mtg summary and minutes" '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) NIL NIL '
        b'"<B27397-0100000@cac.washington.edu>") rest'
    )
    value, rest = parse_value(wire)
    assert value == [
        "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)",
        "IMAP4rev2 WG mtg summary and minutes",
        [["Terry Gray", None, "gray", "cac.washington.edu"]],
        None,
        None,
        "<B27397-0100000@cac.washington.edu>",
    ]
    assert rest == b" rest"


def test_parse_nil_is_case_insensitive_and_numbers_end_at_delimiters() -> None:
    assert parse_value(b"nil)") == (None, b")")
    assert parse_value(b"12]") == (12, b"]")
    assert parse_value(b"12ab") == (Atom("12ab"), b"")


def test_literal8_and_invalid_utf8_survive() -> None:
    value, _rest = parse_value(b"~{2}\r\n\xff\xfe")
    assert value == b"\xff\xfe".decode("utf-8", "surrogateescape")
    assert format_value(value) == b"{2}\r\n\xff\xfe"


@pytest.mark.parametrize("bad", [b"", b"(", b'"abc', b"{5}\r\nab", b"{x}\r\n", b")", b"(a b"])
def test_parse_value_errors(bad: bytes) -> None:
    with pytest.raises(ParseError):
        parse_value(bad)


def test_nesting_limit() -> None:
    with pytest.raises(TooDeep) as exc:
        parse_value(b"(" * 10 + b")" * 10, Limits(max_depth=5))
    assert exc.value.limit == "max_depth"
    assert exc.value.response.status == "BAD"
