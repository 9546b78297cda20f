"""atheris target: modified UTF-7 decoding raises only ParseError and round-trips."""

from __future__ import annotations

import sys

from mailtool.protocol.imap.errors import ParseError
from mailtool.protocol.imap.mutf7 import decode_mutf7, encode_mutf7


def test_one_input(data: bytes) -> None:
    try:
        name = decode_mutf7(data)
    except ParseError:
        return
    assert decode_mutf7(encode_mutf7(name)) == name


def main() -> None:
    import atheris

    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
