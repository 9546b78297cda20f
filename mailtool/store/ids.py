"""Identifiers that must be unique, not secret: file names, queue ids.

``secrets`` asks the kernel for every token (a ``getrandom`` system call) and
``os.getpid`` is a system call too; a busy SMTP server made several of each
per message. Here a per-process generator seeded from the OS once (and again
in a forked child, so parent and child never share a sequence) gives the
random part, and the pid is read once per process.
"""

from __future__ import annotations

import os
import random

_rng = random.Random()  # seeded from os.urandom
_pid = os.getpid()


def _after_fork() -> None:
    global _pid
    _pid = os.getpid()
    _rng.seed()


os.register_at_fork(after_in_child=_after_fork)


def pid() -> int:
    """This process's id, without a system call."""
    return _pid


def token_hex(nbytes: int) -> str:
    """``2 * nbytes`` random hex digits (for uniqueness; use ``secrets`` for secrets)."""
    return f"{_rng.getrandbits(nbytes * 8):0{nbytes * 2}x}"
