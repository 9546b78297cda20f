"""Opening an attachment with the system handler: [tui] open_command set to a script
that records what it was given; the file must be private (0600 in a 0700 directory)."""

from __future__ import annotations

import stat
import sys
from email.message import EmailMessage
from pathlib import Path

from tests.tui.pilot import make_app, open_only_message, until
from tests.tui.servers import USER

PDF = b"%PDF-1.4 pretend\n"
RECORDER = """\
import os, stat, sys
path = sys.argv[-1]
mode = stat.S_IMODE(os.stat(path).st_mode)
dmode = stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode)
with open(sys.argv[1], "w") as out:
    out.write(f"{path}\\n{mode:o}\\n{dmode:o}\\n{os.getsid(0) == os.getpid()}\\n")
"""


async def test_open_an_attachment_with_the_configured_handler(mail_server, account_config,
                                                              tmp_path):
    script, record = tmp_path / "opener.py", tmp_path / "record.txt"
    script.write_text(RECORDER)
    account_config.write_text(account_config.read_text() + "\n[tui]\n"
                              f'open_command = "{sys.executable} {script} {record}"\n')
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "bob@example.test", USER, "Report"
    msg.set_content("See attached.")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="report.pdf")
    mail_server.deliver(msg.as_bytes())
    app = make_app(account_config)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_only_message(pilot, "See attached.")
        await pilot.press("P")
        await until(pilot, lambda: type(app.screen).__name__ == "PickerScreen", "parts")
        picker = app.screen
        assert picker.title_text == "Open part:"
        await until(pilot, lambda: picker.query("#choices"), "parts listed")
        index = next(i for i, (label, _v) in enumerate(picker.choices) if "report.pdf" in label)
        picker.query_one("#choices").highlighted = index
        await pilot.press("enter")
        await until(pilot, lambda: record.exists() and record.read_text().count("\n") == 4,
                    "the handler ran")
        await until(pilot, lambda: any("opened report.pdf" in str(n.message)
                                       for n in app._notifications), "notified")
    path, mode, dir_mode, own_session = record.read_text().split("\n")[:4]
    opened = Path(path)
    assert opened.name == "report.pdf"
    assert opened.read_bytes() == PDF
    assert (mode, dir_mode) == ("600", "700")
    assert stat.S_IMODE(opened.stat().st_mode) == 0o600
    assert own_session == "True"  # detached: a session of its own
    opened.unlink()
    opened.parent.rmdir()


def test_a_part_name_cannot_leave_the_private_directory():
    from mailtool.tui.screens.opener import write_private

    msg = EmailMessage()
    msg.set_content("body")
    msg.add_attachment(b"x", maintype="application", subtype="octet-stream",
                       filename="../../escape.bin")
    index = next(i for i, p in enumerate(msg.walk()) if p.get_filename())
    path = write_private(msg, index)
    try:
        assert path.name == "escape.bin" and path.parent.name.startswith("mailtool-open-")
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    finally:
        path.unlink()
        path.parent.rmdir()
