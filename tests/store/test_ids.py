"""Unique-not-secret identifiers: right shape, and a forked child never repeats its parent."""

from __future__ import annotations

import os
import re

from mailtool.store import ids
from mailtool.store.maildir import unique_name


def test_tokens_have_the_asked_length_and_differ():
    tokens = {ids.token_hex(5) for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{10}", t) for t in tokens)


def test_a_forked_child_has_its_own_pid_and_sequence():
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(write, f"{ids.pid()} {ids.token_hex(8)} {unique_name()}".encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    pid, token, name = os.read(read, 4096).decode().split()
    os.close(read)
    assert int(pid) == child != ids.pid() == os.getpid()
    assert token != ids.token_hex(8)  # the parent's next token: reseeded in the child
    assert f"P{child}Q" in name
