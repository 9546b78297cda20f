"""atheris target: the response parser and the ResponseReader on arbitrary bytes."""

from __future__ import annotations

import sys

from mailtool.protocol.imap.errors import ImapError
from mailtool.protocol.imap.limits import Limits
from mailtool.protocol.imap.response_parser import parse_response
from mailtool.protocol.imap.response_reader import ResponseReader

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


def main() -> None:
    import atheris

    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
