"""Opening an attachment with the system's handler (``xdg-open`` or ``[tui] open_command``).

The part is written to a fresh private directory (``mkdtemp``: mode 0700) as a
file only its owner can read (0600), because an attachment may be as private
as the mail it came in, and ``/tmp`` is shared. The handler runs detached (its
own session, no terminal I/O), so a viewer that stays open neither blocks nor
draws over the TUI. The file is left for the handler: it may read it long
after it was started.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from email.message import EmailMessage
from pathlib import Path

DEFAULT_OPENER = "xdg-open"


def write_private(msg: EmailMessage, index: int) -> Path:
    """Part ``index`` (as numbered by ``reading.parts``) in a new 0700 dir, mode 0600."""
    for i, part in enumerate(msg.walk()):
        if i != index:
            continue
        name = Path(part.get_filename() or "").name  # never a path outside the directory
        if name in ("", ".", ".."):
            name = f"part-{index}.bin"
        path = Path(tempfile.mkdtemp(prefix="mailtool-open-")) / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(part.get_payload(decode=True) or b"")
        return path
    raise IndexError(index)


def launch(command: str, path: Path | str) -> subprocess.Popen[bytes]:
    """Run ``command PATH`` (a file or a URL) detached; ``command`` is split like a shell
    line, not run by one."""
    argv = shlex.split(command) if command.strip() else [DEFAULT_OPENER]
    return subprocess.Popen(
        [*argv, str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True,
    )


def open_part(msg: EmailMessage, index: int, command: str = "") -> Path:
    """Write the part privately and hand it to the handler; returns the file's path."""
    path = write_private(msg, index)
    launch(command, path)
    return path
