"""atheris target: SMTP command lines, MAIL FROM / RCPT TO and paths on arbitrary bytes."""

from __future__ import annotations

from mailtool.errors import ProtocolError
from mailtool.protocol.smtp import (
    command_reader,
    parse_command,
    parse_mail_from,
    parse_path,
    parse_rcpt_to,
)
from tests.fuzz import corpus
from tests.fuzz.harness import fuzz


def test_one_input(data: bytes) -> None:
    reader = command_reader()
    reader.receive_data(data)
    for _ in range(len(data) + 1):
        try:
            line = reader.next_line()
        except ProtocolError:
            continue
        if line is None:
            break
        try:
            cmd = parse_command(line)
        except ProtocolError:
            continue
        for smtputf8 in (False, True):
            try:
                mail = parse_mail_from(cmd.argument)
                assert parse_mail_from(mail.format()) == mail
            except ProtocolError:
                pass
            try:
                rcpt = parse_rcpt_to(cmd.argument, smtputf8=smtputf8)
                assert parse_rcpt_to(rcpt.format(), smtputf8=smtputf8) == rcpt
            except ProtocolError:
                pass
            try:
                parse_path(cmd.argument, reverse=smtputf8, smtputf8=smtputf8)
            except ProtocolError:
                pass


def seeds() -> list[bytes]:
    return list(corpus.SMTP_COMMANDS)


def main() -> None:
    fuzz(test_one_input, seeds())


if __name__ == "__main__":
    main()
