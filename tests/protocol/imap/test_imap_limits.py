"""Bounded cost: hostile inputs are refused by a named limit, in linear time, and the
protocol layer keeps to its import rules (DESIGN.md "Which layer may import which")."""

from __future__ import annotations

import ast
import pathlib
import sys

import pytest

from mailtool.protocol.imap.command_parser import parse_command
from mailtool.protocol.imap.errors import ImapError, TooDeep, TooManyItems
from mailtool.protocol.imap.limits import Limits
from mailtool.protocol.imap.response_parser import parse_response
from mailtool.protocol.imap.values import parse_value

PACKAGE = pathlib.Path(__file__).parents[3] / "mailtool" / "protocol" / "imap"


def test_deep_search_nesting_is_refused() -> None:
    with pytest.raises(TooDeep) as exc:
        parse_command(b"a SEARCH " + b"NOT " * 100 + b"ALL", limits=Limits(max_depth=50))
    assert exc.value.response.tag == "a" and exc.value.response.status == "BAD"
    with pytest.raises(TooDeep):
        parse_command(b"a SEARCH " + b"(" * 100 + b"ALL" + b")" * 100)


def test_too_many_items_are_refused() -> None:
    with pytest.raises(TooManyItems):
        parse_command(
            b"a FETCH " + b",".join(b"1" for _ in range(50)) + b" FLAGS",
            limits=Limits(max_items=20),
        )
    with pytest.raises(TooManyItems):
        parse_response(b"* SEARCH" + b" 1" * 50, limits=Limits(max_items=20))


def test_huge_numbers_are_parse_errors_not_bigints() -> None:
    with pytest.raises(ImapError):
        parse_command(b"a FETCH " + b"9" * 5000 + b" FLAGS")
    with pytest.raises(ImapError):
        parse_value(b"{" + b"9" * 5000 + b"}\r\n")


@pytest.mark.parametrize(
    "payload",
    [
        b'a LOGIN "' + b"\\" * 200_000,
        b"a SEARCH " + b"OR " * 30 + b"ALL " * 30_000,
        b"* 1 FETCH (" + b"FLAGS () " * 30_000,
        b"a FETCH 1:2," * 30_000,
    ],
)
def test_large_hostile_inputs_finish(payload: bytes) -> None:
    # no timing assertion (DESIGN.md); quadratic behaviour would hit the test timeout
    for parse in (parse_command, parse_response):
        try:
            parse(payload)
        except ImapError:
            pass


ALLOWED_TOP = {"mailtool"} | set(sys.stdlib_module_names)
FORBIDDEN = {"asyncio", "socket", "ssl", "selectors", "subprocess", "io", "os", "pathlib"}


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_protocol_imap_imports_only_stdlib_and_errors(path: pathlib.Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert top in ALLOWED_TOP, f"{path.name} imports {name}"
            assert top not in FORBIDDEN, f"{path.name} imports {name}"
            if top == "mailtool":
                assert name == "mailtool.errors" or name.startswith("mailtool.protocol.imap"), (
                    f"{path.name} imports {name}"
                )
