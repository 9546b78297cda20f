"""RETR/TOP bodies without a server: byte-stuffing, TOP's line count, bounded memory."""

from __future__ import annotations

import io
import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailtool.mra.pop3.maildrop import uidl_of
from mailtool.mra.pop3.stream import CHUNK_SIZE, TopLimiter, stuffed_chunks
from mailtool.protocol.pop3 import MultilineReader
from mailtool.store.locks import FileLock


def unstuff(wire: bytes) -> bytes:
    reader = MultilineReader()
    out = reader.feed(wire)
    assert reader.done and reader.rest == b""
    return out


def stream(data: bytes, body_lines: int | None = None, chunk_size: int = 7) -> bytes:
    return b"".join(stuffed_chunks(io.BytesIO(data), body_lines, chunk_size))


@given(st.lists(st.sampled_from([b"a", b".", b"..", b"\r\n", b"x y", b".\r\n"]), max_size=40),
       st.integers(1, 9))  # fmt: skip
def test_retr_round_trips_crlf_messages(parts: list[bytes], chunk: int) -> None:
    data = b"".join(parts) + b"\r\n"
    data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    wire = stream(data, chunk_size=chunk)
    assert wire.endswith(b"\r\n.\r\n")
    assert unstuff(wire) == data


def test_lf_only_files_go_out_with_crlf() -> None:
    assert stream(b"Subject: x\n\n.hi\nthere") == b"Subject: x\r\n\r\n..hi\r\nthere\r\n.\r\n"


@pytest.mark.parametrize("chunk", [1, 2, 5, 64])
def test_top_header_blank_line_and_n_body_lines(chunk: int) -> None:
    msg = b"A: 1\r\nB: 2\r\n\r\nl1\r\n.l2\r\nl3\r\n"
    assert unstuff(stream(msg, 0, chunk)) == b"A: 1\r\nB: 2\r\n\r\n"
    assert unstuff(stream(msg, 2, chunk)) == b"A: 1\r\nB: 2\r\n\r\nl1\r\n.l2\r\n"
    assert unstuff(stream(msg, 50, chunk)) == msg
    assert unstuff(stream(b"A: 1\r\nno body", 3, chunk)) == b"A: 1\r\nno body\r\n"


def test_top_limiter_stops_reading() -> None:
    top = TopLimiter(1)
    assert top.feed(b"H: v\n\nbody1\nbody2\n") == b"H: v\n\nbody1\n"
    assert top.done and top.feed(b"more\n") == b""


def test_a_25_mb_retr_is_never_held_whole() -> None:
    """The streaming function's peak allocation stays a few chunks, far below the size."""
    line = b"x" * 76 + b"\r\n"
    size = 25 * 1024 * 1024
    data = b"Subject: big\r\n\r\n" + line * (size // len(line)) + b".dot\r\n"

    class File(io.RawIOBase):  # serves the bytes without tracemalloc seeing a copy
        def __init__(self) -> None:
            self.pos = 0

        def read(self, n: int = -1) -> bytes:
            piece = data[self.pos : self.pos + n]
            self.pos += len(piece)
            return piece

    total = 0
    tracemalloc.start()
    try:
        for piece in stuffed_chunks(File()):  # type: ignore[arg-type]
            total += len(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == len(data) + 1 + 3  # the stuffed dot, then ".\r\n"
    assert peak < 8 * CHUNK_SIZE < size // 10


def test_uidl_format_and_lock_conflict_in_one_process(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert uidl_of(1, 0x6B09F0F9) == "000000016B09F0F9"
    a, b = FileLock(tmp_path / "l"), FileLock(tmp_path / "l")
    assert a.acquire()
    assert not b.acquire()  # flock: two opens conflict even within one process
    a.release()
    assert b.acquire()
    b.release()
    b.release()  # idempotent
