"""atheris target: MIME split, ENVELOPE, BODYSTRUCTURE, sections, RFC 2047 on any bytes.

Any input must give a structure that formats and parses back as IMAP values;
the only exceptions allowed are ProtocolError subclasses (UnknownCTE from BINARY).
"""

from __future__ import annotations

from mailtool.errors import ProtocolError
from mailtool.protocol import mime
from mailtool.protocol.imap.values import format_value, parse_value
from tests.fuzz import corpus
from tests.fuzz.harness import fuzz


def test_one_input(data: bytes) -> None:
    msg = mime.parse(data)
    for value in (mime.envelope(msg), mime.bodystructure(msg), mime.bodystructure(msg, False)):
        assert parse_value(format_value(value)) == (value, b"")
    header = mime.section(msg, (), "HEADER")
    text = mime.section(msg, (), "TEXT")
    assert header is not None and text is not None
    assert header + text == msg.raw.replace(b"\x00", b"\x80")
    for path in ((1,), (1, 1), (2,), (2, 1), (1, 2, 1)):
        for spec in (None, "MIME", "HEADER", "TEXT"):
            if mime.section(msg, path, spec) is None:
                break
        try:
            mime.binary(msg, path)
        except ProtocolError:
            pass
    mime.decode_header(data.decode("utf-8", "surrogateescape"))


def seeds() -> list[bytes]:
    return list(corpus.messages())


def main() -> None:
    fuzz(test_one_input, seeds())


if __name__ == "__main__":
    main()
