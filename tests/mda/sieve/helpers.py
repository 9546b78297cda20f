"""Small builders shared by the Sieve tests."""

from __future__ import annotations

from typing import Any

import pytest

from mailtool.mda.sieve import Envelope, SieveSyntaxError, parse, run


def msg(headers: dict[str, str] | list[tuple[str, str]], body: str = "hello\r\n") -> bytes:
    items = headers.items() if isinstance(headers, dict) else headers
    head = "".join(f"{k}: {v}\r\n" for k, v in items)
    return (head + "\r\n" + body).encode()


def sieve(
    script: str,
    message: bytes,
    sender: str = "sender@example.org",
    recipient: str = "me@example.com",
    **options: Any,
) -> list[Any]:
    return run(script, Envelope(sender, recipient), message, **options)


def folders(actions: list[Any]) -> list[str]:
    return [a.folder for a in actions if hasattr(a, "folder")]


def assert_syntax_error(script: str, line: int, column: int, text: str) -> None:
    """``script`` is refused with an error naming ``line``, ``column`` and saying ``text``."""
    with pytest.raises(SieveSyntaxError) as info:
        parse(script)
    assert (info.value.line, info.value.column) == (line, column)
    assert text in info.value.message


def assert_refused(script: str, fragment: str) -> None:
    """``script`` is refused with a message containing ``fragment``, naming line and column."""
    with pytest.raises(SieveSyntaxError) as info:
        parse(script)
    assert fragment in str(info.value) and info.value.line > 0 and info.value.column > 0
