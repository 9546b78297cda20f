"""atheris target: the command parser and the CommandReader on arbitrary bytes."""

from __future__ import annotations

from mailtool.protocol.imap.command_formatter import format_command
from mailtool.protocol.imap.command_parser import parse_command
from mailtool.protocol.imap.command_reader import CommandReader
from mailtool.protocol.imap.errors import ImapError
from mailtool.protocol.imap.limits import Limits
from tests.fuzz import corpus
from tests.fuzz.harness import fuzz

LIMITS = Limits(max_line=4096, max_literal=4096, max_small_literal=1024)


def test_one_input(data: bytes) -> None:
    try:
        cmd = parse_command(data, limits=LIMITS)
    except ImapError:
        pass
    else:
        assert parse_command(format_command(cmd)) == cmd
    reader = CommandReader(LIMITS)
    reader.receive_data(data)
    try:
        for _event in reader.events():
            pass
    except ImapError:
        pass


def seeds() -> list[bytes]:
    return list(corpus.IMAP_COMMANDS)


def main() -> None:
    fuzz(test_one_input, seeds())


if __name__ == "__main__":
    main()
