"""atheris target: the SMTP client-side reply parser and EHLO reader on arbitrary bytes."""

from __future__ import annotations

from mailtool.errors import ProtocolError
from mailtool.protocol.smtp import ReplyParser, parse_ehlo, parse_reply
from tests.fuzz import corpus
from tests.fuzz.harness import fuzz


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


def seeds() -> list[bytes]:
    return list(corpus.SMTP_REPLIES)


def main() -> None:
    fuzz(test_one_input, seeds())


if __name__ == "__main__":
    main()
