"""atheris target: parse_value on arbitrary bytes raises nothing but ImapError."""

from __future__ import annotations

import sys

from mailtool.protocol.imap.errors import ImapError
from mailtool.protocol.imap.values import format_value, parse_value


def test_one_input(data: bytes) -> None:
    try:
        value, _rest = parse_value(data)
    except ImapError:
        return
    # what we parsed we can write and read back
    assert parse_value(format_value(value))[0] == value


def main() -> None:
    import atheris

    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
