"""COMPRESS=DEFLATE (RFC 4978) against a real server: a raw client and imaplib,
each with a zlib wrapper (no installed client speaks it: isync 1.4 does not)."""

from __future__ import annotations

import imaplib
import zlib
from pathlib import Path
from typing import Any

from tests.mra.imap.conftest import PASSWORD, Imap, client_tls, message
from tests.mra.imap.wireclient import Reply, Wire


def deflate(w: Wire) -> Reply:
    """COMPRESS DEFLATE, then switch the raw client to raw DEFLATE both ways."""
    reply = w.cmd("COMPRESS DEFLATE")
    assert reply.status == "OK", reply
    assert not w.buf  # RFC 4978 §3: nothing uncompressed after the tagged OK
    z, unz = zlib.compressobj(wbits=-15), zlib.decompressobj(wbits=-15)
    sendall = w.sock.sendall

    def send(data: bytes) -> None:
        sendall(z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH))

    def fill() -> None:
        chunk = w.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        w.buf += unz.decompress(chunk)

    w.send = send  # type: ignore[method-assign]
    w._fill = fill  # type: ignore[method-assign]
    return reply


def test_compressed_session_serves_commands_and_a_second_compress_is_refused(imap: Imap):
    imap.mail().folder("INBOX").append(message("squeezed", "x" * 20_000))
    w = imap.wire()
    deflate(w)
    assert w.cmd("NOOP").status == "OK"
    sel = w.cmd("SELECT INBOX")
    assert sel.status == "OK" and sel.has(b"1 EXISTS")
    fetched = w.cmd("FETCH 1 BODY.PEEK[]")
    assert fetched.status == "OK" and b"x" * 20_000 in fetched.untagged[0]
    again = w.cmd("COMPRESS DEFLATE")
    assert again.tagged.split(b" ", 3)[1:3] == [b"NO", b"[COMPRESSIONACTIVE]"]
    # a literal sent compressed is read whole (APPEND), the session goes on
    appended = w.cmd(b"APPEND INBOX {%d+}\r\n" % len(message("two")) + message("two"))
    assert appended.status == "OK"
    bye = w.cmd("LOGOUT")
    assert bye.status == "OK" and bye.has(b"* BYE")


def test_compress_is_for_logged_in_sessions_and_deflate_only(imap: Imap):
    w = imap.wire(login=False)
    caps = w.cmd("CAPABILITY").untagged[0]
    assert b"COMPRESS=DEFLATE" not in caps
    assert w.cmd("COMPRESS DEFLATE").status == "BAD"
    assert w.login(imap.user, PASSWORD).status == "OK"
    assert b"COMPRESS=DEFLATE" in w.cmd("CAPABILITY").untagged[0]
    assert w.cmd("COMPRESS GZIP").status == "BAD"
    assert w.cmd("COMPRESS").status == "BAD"
    # pipelined behind COMPRESS: refused, nothing switched (RFC 4978 §3: wait for OK)
    w.send(b"p1 COMPRESS DEFLATE\r\np2 NOOP\r\n")
    assert w.collect("p1").status == "BAD"
    assert w.collect("p2").status == "OK"
    deflate(w)
    assert w.cmd("NOOP").status == "OK"


class DeflateIMAP(imaplib.IMAP4_SSL):
    """imaplib with RFC 4978 on top: ``compress()`` then every byte is DEFLATE."""

    _z: Any = None

    def compress(self) -> str:
        imaplib.Commands.setdefault("COMPRESS", ("AUTH", "SELECTED"))
        typ, _ = self._simple_command("COMPRESS", "DEFLATE")
        if typ == "OK":
            self._z = zlib.compressobj(wbits=-15)
            self._unz = zlib.decompressobj(wbits=-15)
            self._in = b""
        return typ

    def send(self, data: bytes) -> None:
        if self._z is not None:
            data = self._z.compress(data) + self._z.flush(zlib.Z_SYNC_FLUSH)
        super().send(data)

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise imaplib.IMAP4.abort("socket error: EOF")
        self._in += self._unz.decompress(chunk)

    def read(self, size: int) -> bytes:
        if self._z is None:
            return super().read(size)
        while len(self._in) < size:
            self._more()
        data, self._in = self._in[:size], self._in[size:]
        return data

    def readline(self) -> bytes:
        if self._z is None:
            return super().readline()
        while b"\n" not in self._in:
            self._more()
        i = self._in.index(b"\n") + 1
        line, self._in = self._in[:i], self._in[i:]
        return line


def test_imaplib_with_a_zlib_wrapper(imap: Imap):
    c = DeflateIMAP("127.0.0.1", imap.tls_port, ssl_context=client_tls(), timeout=30)
    c.login(imap.user, PASSWORD)
    assert b"COMPRESS=DEFLATE" in c.capability()[1][0]
    assert c.compress() == "OK"
    for i in range(20):
        assert c.append("INBOX", None, None, message(f"m{i}", "body " * 500))[0] == "OK"
    assert c.select("INBOX") == ("OK", [b"20"])
    typ, data = c.fetch("1:*", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK"
    subjects = [part[1] for part in data if isinstance(part, tuple)]
    assert subjects[0].strip() == b"Subject: m0" and len(subjects) == 20
    assert c.logout()[0] == "BYE"


def _rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0])


def test_a_compressed_line_bomb_costs_the_server_no_memory(imap: Imap):
    """64 MB of one command line compress to ~64 KB: the server inflates it only as
    far as its buffers go, refuses the line, and its memory does not grow with it."""
    w = imap.wire()
    deflate(w)
    assert w.cmd("NOOP").status == "OK"
    pid = imap.server.proc.pid  # type: ignore[union-attr]
    before = _rss_kb(pid)
    z = zlib.compressobj(wbits=-15)
    chunk = b"a" * (1024 * 1024)
    sendall = w.sock.sendall
    try:
        sendall(z.compress(b"t99 NOOP "))
        for _ in range(64):
            sendall(z.compress(chunk))
        sendall(z.compress(b"\r\n") + z.flush(zlib.Z_SYNC_FLUSH))
    except OSError:
        pass  # the server may hang up on a line this long: allowed
    grown = _rss_kb(pid) - before
    assert grown < 16 * 1024, f"server RSS grew by {grown} KB"
    try:
        reply = w.line()
    except OSError:
        return  # closed after the BYE was lost with the reset: fine
    assert reply.startswith((b"* BYE", b"t99 BAD")), reply
