"""atheris target: modified UTF-7 decoding raises only ParseError and round-trips."""

from __future__ import annotations

from mailtool.protocol.imap.errors import ParseError
from mailtool.protocol.imap.mutf7 import decode_mutf7, encode_mutf7
from tests.fuzz import corpus
from tests.fuzz.harness import fuzz


def test_one_input(data: bytes) -> None:
    try:
        name = decode_mutf7(data)
    except ParseError:
        return
    assert decode_mutf7(encode_mutf7(name)) == name


def seeds() -> list[bytes]:
    return list(corpus.MAILBOX_NAMES)


def main() -> None:
    fuzz(test_one_input, seeds())


if __name__ == "__main__":
    main()
