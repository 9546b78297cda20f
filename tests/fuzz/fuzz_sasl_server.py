"""atheris target: the SASL server halves and the base64 framing. The input is
split on NUL-NUL into successive client messages."""

from __future__ import annotations

from mailtool.errors import ProtocolError
from mailtool.protocol.sasl import (
    PlainServer,
    ScramServer,
    decode_initial_response,
    decode_response,
    scram_credentials,
)
from tests.fuzz import corpus
from tests.fuzz.harness import fuzz

CREDS = scram_credentials("pencil", b"salt" * 4, 4096)


def test_one_input(data: bytes) -> None:
    messages = data.split(b"\0\0")[:4]
    for server in (
        PlainServer(lambda u, p: p == "pencil"),
        ScramServer(lambda n: CREDS if n == "user" else None),
    ):
        try:
            for message in messages:
                server.step(message)
        except ProtocolError:
            pass
    for decode in (decode_response, decode_initial_response):
        try:
            decode(data)
        except ProtocolError:
            pass


def seeds() -> list[bytes]:
    return list(corpus.SASL)


def main() -> None:
    fuzz(test_one_input, seeds())


if __name__ == "__main__":
    main()
