"""SORT and THREAD in the sans-I/O layer (RFC 5256, RFC 5957): commands, responses,
thread trees and the base subject of §2.1."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap import format_command, format_response, parse_command, parse_response
from mailtool.protocol.imap.errors import ImapError, ResponseParseError
from mailtool.protocol.imap.responses import SortResult, ThreadResult
from mailtool.protocol.imap.search import SearchKey
from mailtool.protocol.imap.sort import (
    SortCriterion,
    ThreadNode,
    ascii_casemap,
    base_subject,
)


def test_sort_command_round_trip() -> None:
    line = b"A282 UID SORT (REVERSE ARRIVAL DISPLAYFROM) UTF-8 SINCE 1-Feb-1994 UNSEEN\r\n"
    cmd = parse_command(line)
    assert isinstance(cmd, c.Sort) and cmd.uid
    assert cmd.criteria == (SortCriterion("ARRIVAL", True), SortCriterion("DISPLAYFROM"))
    assert cmd.charset == "UTF-8"
    assert cmd.keys[1] == SearchKey("UNSEEN")
    assert format_command(cmd) == line


def test_thread_command_round_trip() -> None:
    line = b"A283 THREAD ORDEREDSUBJECT US-ASCII ALL\r\n"
    cmd = parse_command(line)
    assert cmd == c.Thread("A283", "ORDEREDSUBJECT", "US-ASCII", (SearchKey("ALL"),), False)
    assert format_command(cmd) == line


@pytest.mark.parametrize(
    "line",
    [
        b"a SORT (DATE) ALL",  # charset is mandatory: ALL read as charset, no key left
        b"a SORT (BOGUS) UTF-8 ALL",
        b"a SORT () UTF-8 ALL",
        b"a SORT (REVERSE) UTF-8 ALL",
        b"a THREAD JWZ UTF-8 ALL",
        b"a UID THREAD REFERENCES UTF-8",
    ],
)
def test_bad_sort_and_thread_commands_are_bad(line: bytes) -> None:
    with pytest.raises(ImapError) as err:
        parse_command(line)
    assert err.value.status == "BAD"


def test_sort_response_round_trip() -> None:
    wire = b"* SORT 5 3 4 1 2\r\n"
    resp = parse_response(wire)
    assert resp == SortResult((5, 3, 4, 1, 2))
    assert format_response(resp) == wire
    assert parse_response(b"* SORT") == SortResult(())
    assert format_response(SortResult((2,), 7)) == b"* SORT 2 (MODSEQ 7)\r\n"


def test_thread_response_of_the_rfc() -> None:
    # RFC 5256 §4 example
    wire = b"* THREAD (2)(3 6 (4 23)(44 7 96))\r\n"
    resp = parse_response(wire)
    assert isinstance(resp, ThreadResult)
    two, three = resp.threads
    assert two == ThreadNode(2)
    six = three.children[0]
    assert three.number == 3 and six.number == 6
    assert [k.number for k in six.children] == [4, 44]
    assert three.numbers() == [3, 6, 4, 23, 44, 7, 96]
    assert format_response(resp) == wire


def test_thread_with_dummy_root_and_empty_answer() -> None:
    wire = b"* THREAD ((3)(5 6))(7)\r\n"
    resp = parse_response(wire)
    assert isinstance(resp, ThreadResult)
    assert resp.threads[0].number is None
    assert format_response(resp) == wire
    assert parse_response(b"* THREAD") == ThreadResult(())
    assert format_response(ThreadResult(())) == b"* THREAD\r\n"


@pytest.mark.parametrize("wire", [b"* THREAD ()", b"* THREAD ((1)2)", b"* THREAD (1"])
def test_bad_thread_responses(wire: bytes) -> None:
    with pytest.raises(ResponseParseError):
        parse_response(wire)


def _trees() -> st.SearchStrategy[ThreadNode]:
    numbers = st.integers(1, 2**32 - 1)
    leaf = st.builds(ThreadNode, numbers)
    return st.recursive(
        leaf,
        lambda kids: st.builds(ThreadNode, numbers, st.lists(kids, max_size=3).map(tuple)),
        max_leaves=12,
    )


@given(st.lists(_trees(), max_size=4))
def test_thread_trees_round_trip(trees: list[ThreadNode]) -> None:
    resp = ThreadResult(tuple(trees))
    assert parse_response(format_response(resp)) == resp


@pytest.mark.parametrize(
    ("subject", "base", "reply"),
    [
        ("Hello", "Hello", False),
        ("Re: Hello", "Hello", True),
        ("RE: re: Fwd:  Hello  ", "Hello", True),
        ("Fw: Hello (fwd)", "Hello", True),
        ("Hello (fwd) (FWD)", "Hello", True),
        ("[list] Re: Hello", "Hello", True),
        ("Re[2]: Hello", "Hello", True),
        ("Re [list]: Hello", "Hello", True),
        ("[list] Hello", "Hello", False),
        ("[list]", "[list]", False),  # removing the blob would leave nothing
        ("[a][b] Hello", "Hello", False),
        ("[Fwd: Re: Hello]", "Hello", True),
        ("[fwd: [fwd: Hello]]", "Hello", True),
        ("Hello\tthere\r\n  you", "Hello there you", False),
        ("Reply to this", "Reply to this", False),
        ("", "", False),
        ("   ", "", False),
    ],
)
def test_base_subject(subject: str, base: str, reply: bool) -> None:
    assert base_subject(subject) == (base, reply)


def test_ascii_casemap_folds_only_ascii() -> None:
    assert ascii_casemap("héllo Wörld") == "HéLLO WöRLD"


_SUBJECT_PARTS = st.sampled_from(
    ["Re:", "re :", "Fwd:", "fw:", "[list]", "[", "]", "(fwd)", " ", "\t", "hello", "x",
     "[fwd:", "RE[2]:", ":", "é"]
)  # fmt: skip


@given(st.lists(_SUBJECT_PARTS, max_size=8).map("".join))
def test_base_subject_is_a_fixed_point(subject: str) -> None:
    base, _reply = base_subject(subject)
    assert base_subject(base)[0] == base
    assert base == base.strip(" ")  # no leading or trailing blanks survive
