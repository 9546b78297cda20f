"""atheris target: POP3 commands, status lines, multi-line bodies and CAPA."""

from __future__ import annotations

from mailtool.errors import ProtocolError
from mailtool.protocol import pop3
from tests.fuzz import corpus
from tests.fuzz.harness import fuzz


def test_one_input(data: bytes) -> None:
    try:
        cmd = pop3.parse_command(data)
    except ProtocolError:
        pass
    else:
        assert pop3.parse_command(cmd.format()) == cmd
    for in_auth in (False, True):
        try:
            resp = pop3.parse_response(data, in_auth=in_auth)
        except ProtocolError:
            pass
        else:
            assert pop3.parse_response(resp.format(), in_auth=in_auth) is not None
    reader = pop3.MultilineReader(max_size=4096)
    body = reader.feed(data)
    pop3.Capabilities.parse(pop3.split_lines(body))
    enc = pop3.MultilineEncoder()
    wire = enc.feed(data) + enc.end()
    back = pop3.MultilineReader(max_size=1 << 20)
    back.feed(wire)
    assert back.done and back.rest == b""


def seeds() -> list[bytes]:
    return list(corpus.POP3_WIRE)


def main() -> None:
    fuzz(test_one_input, seeds())


if __name__ == "__main__":
    main()
