"""RETR's send paths give the same bytes: sendfile(2) for a large message that needs no
stuffing, one read and one write for a small one, chunked stuffing for the rest.

The wire is read with a raw socket (poplib would un-stuff it) and compared with what the
reference stuffer makes of the message (RFC 1939 §3).
"""

from __future__ import annotations

import io
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailtool.mra.pop3.maildrop import Maildrop
from mailtool.mra.pop3.stream import SCAN_WINDOW, SENDFILE_MIN, sendable_as_is, stuff_whole
from mailtool.protocol.smtp.dotstuff import dot_stuff
from mailtool.store.mailstore import crlf_size
from tests.mra.pop3.conftest import PASSWORD, Pop3Env

LINE = b"x" * 70 + b"\r\n"
BIG = b"Subject: big\r\n\r\n" + LINE * (SENDFILE_MIN // len(LINE) + 10)


def _recv_until(sock: socket.socket, end: bytes, size_hint: int = 0) -> bytes:
    data = bytearray()
    while not data.endswith(end) or len(data) < size_hint:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise AssertionError(f"connection closed after {len(data)} bytes")
        data += chunk
    return bytes(data)


def retr_wire(env: Pop3Env, user: str, numbers: list[int], sizes: list[int]) -> list[bytes]:
    """The exact bytes of each RETR answer, over plaintext (sendfile's case)."""
    with socket.create_connection(("127.0.0.1", env.port), timeout=30) as sock:
        _recv_until(sock, b"\r\n")
        for command in (f"USER {user}", f"PASS {PASSWORD}"):
            sock.sendall(command.encode() + b"\r\n")
            assert _recv_until(sock, b"\r\n").startswith(b"+OK")
        out = []
        for number, size in zip(numbers, sizes, strict=True):
            sock.sendall(b"RETR %d\r\n" % number)
            out.append(_recv_until(sock, b"\r\n.\r\n", size))
        sock.sendall(b"QUIT\r\n")
        _recv_until(sock, b"\r\n")
    return out


def expected(data: bytes) -> bytes:
    """The status line with the index's size, then the reference stuffer's bytes."""
    return b"+OK %d octets\r\n" % crlf_size(data) + dot_stuff(data)


MESSAGES = {
    "small": b"Subject: s\r\n\r\n.leading dot\r\nbare\nLF\r\n",
    "big-clean": BIG,  # sendfile
    "big-leading-dot": BIG + b".dot line\r\n",
    "big-bare-lf": BIG + b"bare LF\n",
    "big-bare-cr": BIG + b"bare\rCR\r\n",
    "big-no-final-crlf": BIG + b"no line end",
}


def test_every_send_path_gives_the_stuffed_bytes(pop3_lenient: Pop3Env) -> None:
    user = pop3_lenient.new_user()
    for data in MESSAGES.values():
        pop3_lenient.deliver(user, data)
    sizes = [len(expected(d)) for d in MESSAGES.values()]
    wires = retr_wire(pop3_lenient, user, list(range(1, len(MESSAGES) + 1)), sizes)
    for (name, data), wire in zip(MESSAGES.items(), wires, strict=True):
        assert wire == expected(data), name


@pytest.mark.parametrize(("name", "sendable"), [
    ("big-clean", True), ("small", False), ("big-leading-dot", False),
    ("big-bare-lf", False), ("big-bare-cr", False), ("big-no-final-crlf", False),
])  # fmt: skip
def test_only_clean_large_files_are_sent_as_they_are(
    tmp_path: Path, name: str, sendable: bool
) -> None:
    data = MESSAGES[name]
    path = tmp_path / "m"
    path.write_bytes(data)
    with open(path, "rb", buffering=0) as fh:  # crlf_size: what the index keeps
        assert sendable_as_is(fh, crlf_size(data)) == (len(data) if sendable else 0)


def test_a_stream_that_is_no_file_is_never_sent_as_it_is() -> None:
    assert sendable_as_is(io.BytesIO(BIG), len(BIG)) == 0  # type: ignore[arg-type]


@pytest.mark.parametrize("seam", [b"\r\n.", b"\rx"])
def test_the_scan_sees_what_straddles_its_windows(tmp_path: Path, seam: bytes) -> None:
    """The file is mapped a window at a time; a "\\n." or a bare CR whose two octets
    are the last of one window and the first of the next still counts."""
    body = LINE * (2 * SCAN_WINDOW // len(LINE) + 1)
    cut = SCAN_WINDOW - len(seam) + 1  # the seam's last octet opens the second window
    data = body[:cut] + seam + body[cut:]
    assert data[SCAN_WINDOW - 1 : SCAN_WINDOW + 1] == seam[-2:]
    path = tmp_path / "m"
    path.write_bytes(data)
    with open(path, "rb", buffering=0) as fh:
        assert sendable_as_is(fh, crlf_size(data)) == 0
    path.write_bytes(body)
    with open(path, "rb", buffering=0) as fh:
        assert sendable_as_is(fh, crlf_size(body)) == len(body)


@given(st.lists(st.sampled_from([b"a", b".", b"\r", b"\n", b"\r\n", b"\r\n."]), max_size=30))
def test_whole_message_stuffing_matches_the_reference(parts: list[bytes]) -> None:
    data = b"".join(parts)
    assert stuff_whole(data, crlf_size(data)) == dot_stuff(data)
    assert stuff_whole(data, crlf_size(data), b"+OK 9 octets\r\n") == (
        b"+OK 9 octets\r\n" + dot_stuff(data)
    )


class _Folder:
    """What Maildrop reads of a folder: its status, its messages, its directory."""

    def __init__(self, path: Path | None, sizes: dict[str, int]) -> None:
        self.path = path
        self.sizes = sizes

    def status(self) -> SimpleNamespace:
        return SimpleNamespace(uidvalidity=7)

    def messages(self) -> list[SimpleNamespace]:
        return [
            SimpleNamespace(uid=uid, size=size, path=name)
            for uid, (name, size) in enumerate(self.sizes.items(), 1)
        ]


def test_a_small_message_file_is_read_whole_or_left_to_the_stream(tmp_path: Path) -> None:
    """Maildrop.read_whole: the file's bytes when it is smaller than the limit, else None
    (RETR then streams it from open_message): a file larger than the index's CRLF size,
    one not where the snapshot saw it, one over the limit, or no files at all."""
    small = b"Subject: s\r\n\r\nbody\r\n"
    lf = b"Subject: s\n\nLF body\n"
    (tmp_path / "cur").mkdir()
    for name, data in {"small": small, "lf": lf, "grown": small + b"more\r\n"}.items():
        (tmp_path / "cur" / name).write_bytes(data)
    sizes = {"cur/small": len(small), "cur/lf": crlf_size(lf), "cur/grown": len(small),
             "cur/gone": len(small)}  # fmt: skip
    drop = Maildrop(_Folder(tmp_path, sizes), lock=None)  # type: ignore[arg-type]
    small_entry, lf_entry, grown, gone = drop.entries
    assert drop.read_whole(small_entry, 1000) == small
    assert drop.read_whole(lf_entry, 1000) == lf  # on disk with LF: shorter than its size
    assert drop.read_whole(small_entry, len(small)) is None  # its size + 1 is over the limit
    assert drop.read_whole(grown, 1000) is None
    assert drop.read_whole(gone, 1000) is None
    nofiles = Maildrop(_Folder(None, sizes), lock=None)  # type: ignore[arg-type]
    assert nofiles.read_whole(nofiles.entries[0], 1000) is None


@pytest.mark.parametrize("pop3_lenient", ["sqlite"], indirect=True)  # renames Maildir files
def test_retr_finds_a_file_another_program_renamed(pop3_lenient: Pop3Env) -> None:
    """The snapshot's path is tried first; a message whose file another program renamed
    after the login (a flag added, as mutt does) is found by the store and sent whole."""
    user = pop3_lenient.new_user()
    small, big = MESSAGES["small"], MESSAGES["big-leading-dot"]
    for data in (small, big):
        pop3_lenient.deliver(user, data)
    with socket.create_connection(("127.0.0.1", pop3_lenient.port), timeout=30) as sock:
        _recv_until(sock, b"\r\n")
        for command in (f"USER {user}", f"PASS {PASSWORD}"):
            sock.sendall(command.encode() + b"\r\n")
            assert _recv_until(sock, b"\r\n").startswith(b"+OK")
        inbox = pop3_lenient.inbox(user)
        for info in inbox.messages():
            old = inbox.path / info.path
            old.rename(old.with_name(old.name.split(":")[0] + ":2,F"))
        for number, data in enumerate((small, big), 1):
            sock.sendall(b"RETR %d\r\n" % number)
            assert _recv_until(sock, b"\r\n.\r\n", len(expected(data))) == expected(data)
        sock.sendall(b"QUIT\r\n")
        _recv_until(sock, b"\r\n")
