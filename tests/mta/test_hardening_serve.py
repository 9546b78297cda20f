"""Issue 15 point 2 on a real ``mailtool serve``: unfinished DATA transfers do not
grow the server's memory (they go to a spool file), and others are still served."""

from __future__ import annotations

import smtplib
import socket
import threading
import time
from pathlib import Path

CLIENTS = 10
SIZE = 20 * 1024 * 1024
LINE = b"y" * 998 + b"\r\n"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def open_data(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    f = sock.makefile("rb")
    assert f.readline().startswith(b"220")
    sock.sendall(b"EHLO client.test\r\n")
    while not (line := f.readline()).startswith(b"250 "):
        assert line.startswith(b"250-")
    for cmd in (b"MAIL FROM:<x@other.test>", b"RCPT TO:<alice@mail.test>", b"DATA"):
        sock.sendall(cmd + b"\r\n")
        assert f.readline()[:1] in (b"2", b"3")
    return sock


def send_unfinished(sock: socket.socket) -> None:
    """20 MB of content and never the final dot."""
    chunk = LINE * 1024
    sent = 0
    while sent < SIZE:
        sock.sendall(chunk)
        sent += len(chunk)


def spool_files(pid: int, tmp: Path) -> list[Path]:
    """The server's open descriptors on files under the queue's tmp/ (its DATA spools)."""
    out = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if str(fd.readlink()).startswith(str(tmp)):
                out.append(fd)
        except FileNotFoundError:
            continue
    return out


def test_ten_unfinished_20mb_data_transfers_stay_out_of_memory(mailtool_server):
    # before issue 15: +195 MB (every byte of DATA was kept in memory until the dot)
    server = mailtool_server(services=["smtp"])
    server.add_user("alice@mail.test")
    port = server.port("smtp")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:  # warm up: imports, caches
        c.sendmail("x@other.test", ["alice@mail.test"], b"Subject: warm\r\n\r\nup\r\n")
    assert server.proc is not None
    pid = server.proc.pid
    before = rss_mb(pid)
    socks = [open_data(port) for _ in range(CLIENTS)]
    senders = [threading.Thread(target=send_unfinished, args=(s,)) for s in socks]
    for t in senders:
        t.start()
    for t in senders:
        t.join(120)
    # another client is served meanwhile
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
        c.sendmail("x@other.test", ["alice@mail.test"], b"Subject: other\r\n\r\nserved\r\n")
    growth = rss_mb(pid) - before
    print(f"RSS growth with {CLIENTS} unfinished {SIZE >> 20} MB transfers: {growth:.1f} MB")
    assert growth < 20, f"server RSS grew by {growth:.1f} MB"
    tmp = server.data_dir / "queue" / "tmp"
    deadline = time.monotonic() + 30
    while len(spool_files(pid, tmp)) < CLIENTS:  # every transfer has passed the threshold
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # the server took all 200 MB: 10 spool files of 20 MB (it reads as fast as we send)
    while sum(f.stat().st_size for f in spool_files(pid, tmp)) < CLIENTS * SIZE * 0.99:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    growth = rss_mb(pid) - before
    print(f"... once all {CLIENTS * SIZE >> 20} MB are in spool files: {growth:.1f} MB")
    assert growth < 20, f"server RSS grew by {growth:.1f} MB"
    for s in socks:
        s.close()
    deadline = time.monotonic() + 30
    while spool_files(pid, tmp):  # the files go with their connections
        assert time.monotonic() < deadline
        time.sleep(0.05)

