"""Debian peer tools (dnsmasq, swaks, mutt, postfix, dovecot, ...) used by interop tests.

A missing tool skips its test, except under ``MAILTOOL_REQUIRE_PEERS=1`` (set by
``.ci/run``), where it fails: CI must never pass by skipping the interop tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from typing import Any

import pytest

#: tool -> the Debian package that provides it, for the skip/fail message
PACKAGES = {
    "dnsmasq": "dnsmasq-base",
    "swaks": "swaks",
    "mbsync": "isync",
    "mutt": "mutt",
    "fetchmail": "fetchmail",
    "getmail": "getmail6",
    "postfix": "postfix",
    "smtp-source": "postfix",
    "dovecot": "dovecot-imapd",
    "sieve-connect": "sieve-connect",
    "sieve-test": "dovecot-sieve",
    "clamd": "clamav-daemon",
    "spamd": "spamd",
    "systemd-analyze": "systemd",
    "pebble": "pebble",
    "postgres": "postgresql",
    "initdb": "postgresql",
    "haproxy": "haproxy",
}

SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")


def peers_required() -> bool:
    return os.environ.get("MAILTOOL_REQUIRE_PEERS") == "1"


def require_tool(name: str) -> str:
    """The tool's path; skip the test (fail under MAILTOOL_REQUIRE_PEERS=1) when absent."""
    path = shutil.which(name) or next(
        (f"{d}/{name}" for d in SBIN if os.access(f"{d}/{name}", os.X_OK)), None
    )
    if path:
        return path
    package = PACKAGES.get(name, name)
    message = f"{name} not installed (apt-get install {package})"
    if peers_required():
        pytest.fail(message + " and MAILTOOL_REQUIRE_PEERS=1", pytrace=False)
    pytest.skip(message)


def free_port(host: str = "127.0.0.1") -> int:
    """A currently free TCP port, for peers that cannot bind port 0 themselves."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def free_udp_tcp_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP (DNS listens on both)."""
    for _ in range(50):
        port = free_port(host)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free UDP+TCP port on loopback")


class ProcessPeer:
    """A peer that is one subprocess (``self.proc``): stop it, and the context manager.
    Subclasses define ``start() -> Self``."""

    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Any:
        raise NotImplementedError

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
