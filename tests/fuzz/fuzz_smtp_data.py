"""atheris target: the DATA reader. Chunking must not change the result, the
terminator must only ever be CRLF.CRLF, and stuffing must round-trip."""

from __future__ import annotations

from mailtool.errors import ProtocolError
from mailtool.protocol.smtp import DataReader, dot_stuff
from tests.fuzz import corpus
from tests.fuzz.harness import fuzz


def _read(data: bytes, step: int) -> tuple[bytes, tuple]:
    reader = DataReader(max_size=1 << 16)
    out = b"".join(reader.feed(data[i : i + step]) for i in range(0, len(data), step))
    state = (reader.done, reader.rest, reader.size, reader.bare_cr, reader.bare_lf)
    if reader.done:
        try:
            reader.finish()
        except ProtocolError:
            pass
    return out, state


def test_one_input(data: bytes) -> None:
    whole = _read(data, max(len(data), 1))
    step = (data[0] % 7 + 1) if data else 1
    assert _read(data, step) == whole
    done, rest = whole[1][0], whole[1][1]
    if done:  # the bytes consumed end with CRLF . CRLF and nothing earlier did
        consumed = data[: len(data) - len(rest)]
        assert consumed == b".\r\n" or consumed.endswith(b"\r\n.\r\n")
    reader = DataReader(max_size=1 << 16)
    content = reader.feed(dot_stuff(data) + b"X")
    assert reader.done and reader.rest == b"X"
    assert reader.bare_cr == reader.bare_lf == 0
    assert content.count(b"\r\n") >= data.count(b"\r\n")


def seeds() -> list[bytes]:
    return list(corpus.SMTP_DATA + corpus.messages()[:10])


def main() -> None:
    fuzz(test_one_input, seeds())


if __name__ == "__main__":
    main()
