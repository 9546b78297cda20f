"""Running a command on a pseudo-terminal, for what a CLI does only when a person is there."""

from __future__ import annotations

import os
import pty
from collections.abc import Mapping


def screen_until(argv: list[str], marker: bytes, env: Mapping[str, str] | None = None) -> bytes:
    """Start ``argv`` with its stdin/stdout/stderr on a terminal, read what it prints until
    ``marker`` appears (or it exits), then kill it; returns what it printed."""
    pid, fd = pty.fork()
    if pid == 0:  # the child
        os.execve(argv[0], argv, dict(env if env is not None else os.environ))
    seen = b""
    try:
        while marker not in seen:
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)
    return seen
