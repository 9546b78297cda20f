"""Sequence sets (membership, expansion, ``*``, ``$``) and modified UTF-7."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailtool.protocol.imap.errors import ParseError
from mailtool.protocol.imap.mutf7 import decode_mutf7, encode_mutf7
from mailtool.protocol.imap.sequence import SequenceSet


def test_ranges_in_either_order_and_star() -> None:
    s = SequenceSet.parse("4:2,7,9:*")
    assert str(s) == "4:2,7,9:*"
    assert list(s.expand(12)) == [2, 3, 4, 7, 9, 10, 11, 12]
    assert s.contains(3, 12) and not s.contains(5, 12) and s.contains(100, 100)
    assert s.filter([1, 3, 8, 100]) == [3, 100]


def test_star_beyond_last_uid_still_includes_it() -> None:
    # RFC 9051 §6.4.8: "UID range of 559:*" includes the last UID even if it is < 559
    assert list(SequenceSet.parse("559:*").expand(20)) == [20]


def test_saved_result_must_be_resolved() -> None:
    s = SequenceSet.parse("$")
    assert s.saved and str(s) == "$"
    with pytest.raises(ValueError):
        s.contains(1, 5)


@pytest.mark.parametrize("bad", ["", "0", "1:", ",1", "1,,2", "a", "1:0", "$,1", "99999999999"])
def test_bad_sets(bad: str) -> None:
    with pytest.raises(ParseError):
        SequenceSet.parse(bad)


@given(st.sets(st.integers(1, 200), min_size=1))
def test_from_numbers_round_trips(numbers: set[int]) -> None:
    s = SequenceSet.from_numbers(numbers)
    assert set(s.expand(200)) == numbers
    assert SequenceSet.parse(str(s)) == s


@given(st.text(st.characters(blacklist_categories=("Cs",))))
def test_mutf7_round_trip(name: str) -> None:
    encoded = encode_mutf7(name)
    assert encoded.isascii()
    assert decode_mutf7(encoded) == name


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),  # RFC 3501 §5.1.3
        ("Entwürfe", "Entw&APw-rfe"),
        ("a&b", "a&-b"),
    ],
)
def test_mutf7_examples(name: str, wire: str) -> None:
    assert encode_mutf7(name) == wire
    assert decode_mutf7(wire) == name


@pytest.mark.parametrize("bad", ["&Jjo!", "&U,BTFw", "&AGE-", "caf\u00e9", b"\xff", "&A-"])
def test_mutf7_rejects_invalid(bad: str | bytes) -> None:
    with pytest.raises(ParseError):
        decode_mutf7(bad)


def test_invalid_modified_utf7_mailbox_is_no_and_as_a_pattern_matches_nothing() -> None:
    # issue 16 class 3: NO (not BAD, not a disconnect), as Dovecot answers
    from mailtool.protocol.imap.command_parser import parse_command
    from mailtool.protocol.imap.errors import ImapError
    from mailtool.protocol.imap.mailbox import NO_MATCH

    for name in (b'"bad&name"', b'"x&Jjo"', b'"&AGE-"', b'"y&"'):
        with pytest.raises(ImapError) as exc:
            parse_command(b"A1 SELECT " + name + b"\r\n")
        assert exc.value.status == "NO" and not exc.value.fatal
        cmd = parse_command(b'A2 LIST "" ' + name + b"\r\n")
        assert cmd.patterns == (NO_MATCH,)  # type: ignore[attr-defined]
