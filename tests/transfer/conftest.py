"""Fixtures for import/export: a data dir with one user, the CLI, and a way to read back."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from mailtool.cli.main import cli
from mailtool.store.accounts import AccountStore
from mailtool.store.mailstore import MailStore
from mailtool.transfer.core import header_section, message_id
from tests.peers import require_tool
from tests.peers.dovecot import dovecot_factory  # noqa: F401 - fixture

USER = "alice@example.test"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    store = AccountStore.in_data_dir(path)
    store.add_domain("example.test")
    store.add_user(USER, "secret")
    store.close()
    return path


@pytest.fixture
def run(data_dir: Path) -> Callable[..., Result]:
    """``run("import", USER, "mbox", path)`` -> click Result (in process)."""

    def invoke(*args: str, ok: bool = True) -> Result:
        result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args])
        if ok:
            assert result.exit_code == 0, (result.output, result.exception)
        return result

    return invoke


def summary(result: Result) -> dict[str, Any]:
    return json.loads(result.stdout)


def mailbox(data_dir: Path, user: str = USER) -> dict[str, list[dict[str, Any]]]:
    """Folder -> messages (uid, flags, date, message-id, size) as the store has them."""
    store = MailStore(data_dir)
    try:
        mail = store.user(user)
        out: dict[str, list[dict[str, Any]]] = {}
        for name in mail.folders():
            folder = mail.folder(name)
            folder.sync()
            rows = []
            for info in folder.messages():
                data = folder.read_bytes(info.uid)
                rows.append({
                    "uid": info.uid, "flags": set(info.flags), "date": int(info.internal_date),
                    "id": message_id(header_section(data)), "size": info.size, "data": data,
                })  # fmt: skip
            out[name] = rows
        out["_uidvalidity"] = {n: mail.folder(n).status().uidvalidity for n in out}  # type: ignore[assignment]
        return out
    finally:
        store.close()


def run_mutt(workdir: Path, folder: Path, commands: str, *, timeout: float = 30) -> None:
    """Run Debian's mutt on ``folder`` in a pseudo-terminal (it needs one), with a
    muttrc that ``push``es ``commands`` and quits; waits for it to exit."""
    mutt = require_tool("mutt")
    muttrc = workdir / "muttrc"
    muttrc.write_text(
        "set mbox_type=mbox\nset confirmcreate=no\nset confirmappend=no\nset delete=no\n"
        "set move=no\nset quit=yes\nset mark_old=no\nset sort=mailbox-order\nset auto_tag=yes\n"
        f'push "{commands}<quit>"\n'
    )
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes mutt
        os.environ["TERM"] = "vt100"
        os.chdir(workdir)
        os.execv(mutt, [mutt, "-n", "-F", str(muttrc), "-f", str(folder)])
    try:
        while True:
            try:
                if not os.read(fd, 65536):
                    break
            except OSError:  # EIO: mutt closed the terminal
                break
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def mailtool_subprocess(data_dir: Path, *args: str) -> subprocess.Popen[bytes]:
    python = shutil.which("python3", path=str(Path(__file__).resolve().parents[2] / ".venv/bin"))
    return subprocess.Popen(
        [python or "python3", "-m", "mailtool", "--data-dir", str(data_dir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
