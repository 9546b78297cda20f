"""atheris target: the SMTP client-side reply parser and EHLO reader on arbitrary bytes."""

from __future__ import annotations

import sys

from mailtool.errors import ProtocolError
from mailtool.protocol.smtp import ReplyParser, parse_ehlo, parse_reply


def test_one_input(data: bytes) -> None:
    try:
        replies = ReplyParser().feed(data)
    except ProtocolError:
        replies = []
    for reply in replies:
        assert parse_reply(reply.format()) == (reply, b"")
        if reply.code == 250:
            parse_ehlo(reply)
    try:
        parse_reply(data)
    except ProtocolError:
        pass


def main() -> None:
    import atheris

    atheris.instrument_all()  # coverage feedback for the already-imported parsers
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
