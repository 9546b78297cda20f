"""atheris target: the response parser and the ResponseReader on arbitrary bytes."""

from __future__ import annotations

from mailtool.protocol.imap.errors import ImapError
from mailtool.protocol.imap.limits import Limits
from mailtool.protocol.imap.response_parser import parse_response
from mailtool.protocol.imap.response_reader import ResponseReader
from tests.fuzz import corpus
from tests.fuzz.harness import fuzz

LIMITS = Limits(max_line=4096, max_literal=4096, max_response=16384)


def test_one_input(data: bytes) -> None:
    try:
        parse_response(data, limits=LIMITS)
    except ImapError:
        pass
    reader = ResponseReader(LIMITS)
    reader.receive_data(data)
    try:
        for _event in reader.events():
            pass
    except ImapError:
        pass


def seeds() -> list[bytes]:
    return list(corpus.IMAP_RESPONSES)


def main() -> None:
    fuzz(test_one_input, seeds())


if __name__ == "__main__":
    main()
