"""A throwaway GnuPG home with keys made by gpg itself, for the PGP tests.

Keys have no passphrase (``--quick-gen-key`` with an empty ``--passphrase``);
the agent gpg starts for the home is stopped at teardown (``gpgconf --kill``).
A short path under /tmp: the agent's socket path must fit in 108 bytes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def require(tool: str) -> None:
    if shutil.which(tool) is None:
        if os.environ.get("MAILTOOL_REQUIRE_PEERS") == "1":
            pytest.fail(f"{tool} is not installed (apt-get install gnupg / openssl)")
        pytest.skip(f"{tool} is not installed")


def gpg(home: Path, *args: str, data: bytes = b"", check: bool = True) -> bytes:
    out = subprocess.run(["gpg", "--homedir", str(home), "--batch", "--no-tty", *args],
                         input=data, capture_output=True, timeout=60, check=False)
    if check and out.returncode != 0:
        raise AssertionError(out.stderr.decode())
    return out.stdout


def make_key(home: Path, uid: str) -> None:
    gpg(home, "--passphrase", "", "--quick-gen-key", uid, "future-default", "default", "never")


def _home() -> Iterator[Path]:
    require("gpg")
    home = Path(tempfile.mkdtemp(prefix="mtgpg", dir="/tmp"))
    home.chmod(0o700)
    try:
        yield home
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"],
                       capture_output=True, timeout=30, check=False)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def gnupg_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """$GNUPGHOME with Alice's and Bob's keys (both ultimately trusted: made here)."""
    for home in _home():
        make_key(home, "Alice <alice@example.test>")
        make_key(home, "Bob <bob@example.test>")
        monkeypatch.setenv("GNUPGHOME", str(home))
        yield home


@pytest.fixture
def stranger_home() -> Iterator[Path]:
    """Another home with Mallory's key, which the first home does not know."""
    for home in _home():
        make_key(home, "Mallory <mallory@example.test>")
        yield home
