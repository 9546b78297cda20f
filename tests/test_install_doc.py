"""docs/install.md's commands work (issue 20 point 6): every fenced shell block marked
``<!-- test: run -->`` (the line before the fence) runs, in the order of the page, as a
reader would type it, in a temp dir where it can run offline, and every command exits 0.

The temp dir stands for the reader's machine: a fresh HOME and XDG dirs (the system
config file redirected there too: the suite runs as root), ``.venv`` in the working
directory and ``mailtool`` on PATH being this venv's install, a data dir in tmp
(``MAILTOOL_DATA_DIR``, never /var/lib/mailtool), and a password on stdin for any prompt.
Blocks that need root's directories, the network or a real machine (apt-get, systemd,
DNS, ACME) are not marked.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "install.md"
MARKER = "<!-- test: run -->"
#: fenced blocks of shell commands; the prompt ("$ " or "# ") starts each command
SHELL_FENCES = ("console", "sh", "shell", "bash")
_FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
_PROMPT = re.compile(r"^[$#] ")
#: typed at every prompt (a password asked twice, with confirmation)
ANSWERS = "a long test password\n" * 4


@dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the opening fence
    commands: tuple[str, ...]


def shell_blocks(text: str) -> list[tuple[Block, bool]]:
    """Every fenced shell block of ``text`` and whether it is marked runnable."""
    lines = text.splitlines()
    out: list[tuple[Block, bool]] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m or not m.group(2):
            i += 1
            continue
        indent, lang, start = m.group(1), m.group(2), i
        i += 1
        body = []
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1
        if lang not in SHELL_FENCES:
            continue
        before = next((x.strip() for x in reversed(lines[:start]) if x.strip()), "")
        commands = tuple(_PROMPT.sub("", x, count=1) for x in body if _PROMPT.match(x))
        out.append((Block(start + 1, commands), before == MARKER))
    return out


def runnable_blocks() -> list[Block]:
    return [block for block, marked in shell_blocks(DOC.read_text()) if marked]


def test_the_parser_finds_marked_blocks_and_their_commands() -> None:
    text = (
        "x\n\n<!-- test: run -->\n```console\n$ echo one   # a comment\nsome output\n"
        "$ echo two\n```\n\n```console\n$ rm -rf /\n```\n\n    <!-- test: run -->\n"
        "    ```sh\n    # echo three\n    ```\n\n<!-- test: run -->\n```text\n$ no\n```\n"
    )
    found = shell_blocks(text)
    assert [(b.commands, marked) for b, marked in found] == [
        (("echo one   # a comment", "echo two"), True),
        (("rm -rf /",), False),
        (("echo three",), True),
    ]


def test_install_md_marks_the_blocks_that_can_run_offline() -> None:
    commands = [c for b in runnable_blocks() for c in b.commands]
    assert any("quickstart" in c for c in commands)
    assert any("user add" in c for c in commands)


@pytest.fixture
def reader(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The working directory and environment of someone following the page."""
    work = tmp_path / "work"
    home = tmp_path / "home"
    work.mkdir()
    home.mkdir()
    (work / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILTOOL_")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        MAILTOOL_SYSTEM_CONFIG=str(tmp_path / "etc" / "mailtool.toml"),
        MAILTOOL_DATA_DIR=str(tmp_path / "var-lib-mailtool"),
        PATH=f"{Path(sys.prefix) / 'bin'}{os.pathsep}{env.get('PATH', '')}",
    )
    return work, env


def test_the_marked_commands_of_install_md_succeed(reader: tuple[Path, dict[str, str]]) -> None:
    work, env = reader
    blocks = runnable_blocks()
    assert blocks
    for block in blocks:
        for command in block.commands:
            done = subprocess.run(["bash", "-c", command], cwd=work, env=env, input=ANSWERS,
                                  capture_output=True, text=True, timeout=120)  # fmt: skip
            assert done.returncode == 0, (
                f"docs/install.md:{block.line}: `{command}` exited {done.returncode}\n"
                f"{done.stdout}{done.stderr}"
            )
    # what the page says happened did happen, in the temp dirs
    assert (work / "data" / "accounts.db").is_file()  # domain add / user add
    assert (Path(env["MAILTOOL_DATA_DIR"]) / "accounts.db").is_file()  # quickstart
