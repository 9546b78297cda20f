"""atheris target: parse_value on arbitrary bytes raises nothing but ImapError."""

from __future__ import annotations

from mailtool.protocol.imap.errors import ImapError
from mailtool.protocol.imap.values import format_value, parse_value
from tests.fuzz import corpus
from tests.fuzz.harness import fuzz


def test_one_input(data: bytes) -> None:
    try:
        value, _rest = parse_value(data)
    except ImapError:
        return
    # what we parsed we can write and read back
    assert parse_value(format_value(value))[0] == value


def seeds() -> list[bytes]:
    return list(corpus.IMAP_VALUES + corpus.IMAP_COMMANDS[:8])


def main() -> None:
    fuzz(test_one_input, seeds())


if __name__ == "__main__":
    main()
