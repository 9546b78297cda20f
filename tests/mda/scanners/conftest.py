"""Real scanners from Debian, started privately on loopback for this module.

clamd loads one signature we write ourselves (EICAR as an .ndb body
signature: nothing is downloaded); spamd runs the packaged rules with
``--local`` (no network tests). Each is started once per test module.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers import free_port, require_tool

#: the EICAR test file (eicar.org): harmless, recognised by every virus scanner
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
#: SpamAssassin's Generic Test for Unsolicited Bulk Email
GTUBE = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
SIGNATURE = "Mailtool-Test.EICAR"


def _wait_for(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited {proc.returncode}: {log.read_text(errors='replace')}")
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"did not listen within {timeout}s: {log.read_text(errors='replace')}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Clamd:
    def __init__(self, port: int, socket_path: Path) -> None:
        self.address = f"127.0.0.1:{port}"
        self.socket_path = str(socket_path)


@pytest.fixture(scope="module")
def clamd(tmp_path_factory) -> Iterator[Clamd]:
    binary = require_tool("clamd")
    root = tmp_path_factory.mktemp("clamd")
    (root / "db").mkdir()
    (root / "tmp").mkdir()
    (root / "db" / "mailtool.ndb").write_text(f"{SIGNATURE}:0:*:{EICAR.hex()}\n")
    port = free_port()
    sock = root / "clamd.sock"
    (root / "clamd.conf").write_text(
        "Foreground yes\n"
        f"DatabaseDirectory {root / 'db'}\n"
        f"TCPSocket {port}\nTCPAddr 127.0.0.1\n"
        f"LocalSocket {sock}\n"
        f"TemporaryDirectory {root / 'tmp'}\n"
        f"LogFile {root / 'clamd.log'}\n"
        "StreamMaxLength 10M\n"
    )
    log = root / "out.log"
    proc = subprocess.Popen([binary, "-c", str(root / "clamd.conf")], stdout=open(log, "wb"),  # noqa: SIM115
                            stderr=subprocess.STDOUT)  # fmt: skip
    try:
        _wait_for(port, proc, log)
        yield Clamd(port, sock)
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def spamd(tmp_path_factory) -> Iterator[str]:
    binary = require_tool("spamd")
    root = tmp_path_factory.mktemp("spamd")
    os.chmod(root, 0o755)  # spamd drops to nobody when started as root
    port = free_port()
    log = root / "spamd.log"
    args = [binary, f"--listen=127.0.0.1:{port}", "--local", "--nouser-config",
            "--max-children=1", f"--pidfile={root / 'spamd.pid'}", f"--syslog={log}"]  # fmt: skip
    if os.geteuid() == 0:
        args.append("--username=nobody")
    err = open(log.with_suffix(".err"), "wb")  # noqa: SIM115 - the child owns it
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err)
    try:
        _wait_for(port, proc, log.with_suffix(".err"))
        yield f"127.0.0.1:{port}"
    finally:
        _stop(proc)
