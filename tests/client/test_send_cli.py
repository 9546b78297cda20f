"""``mailtool send``: real SMTP + IMAP; the never-lose path checked with imaplib."""

from __future__ import annotations

import email
import subprocess
import sys

from tests.tui.servers import OTHER, USER


def run_send(args: list[str], body: str, env_config) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailtool", "--config", str(env_config), "send", *args],
        input=body, capture_output=True, text=True, timeout=60,
    )


def _messages(server, folder: str) -> list[email.message.Message]:
    imap = server.check()
    if imap.select(folder)[0] != "OK":  # a folder that was never created holds nothing
        return []
    _typ, data = imap.uid("SEARCH", "ALL")
    out = []
    for uid in data[0].split():
        _t, fetched = imap.uid("FETCH", uid, "(BODY.PEEK[])")
        out.append(email.message_from_bytes(fetched[0][1]))
    imap.logout()
    return out


def test_send_delivers_files_in_sent_and_leaves_no_draft(mail_server, account_config, tmp_path):
    attachment = tmp_path / "report.csv"
    attachment.write_text("a,b\n1,2\n")
    result = run_send(["--to", OTHER, "--subject", "Hello Bob", "--attach", str(attachment)],
                      "See you at 5.\n", account_config)
    assert result.returncode == 0, result.stderr
    assert "Sending..." in result.stderr
    assert _messages(mail_server, "INBOX") == []  # Bcc-free: nothing went to alice
    found = mail_server.wait_for(OTHER, 'SUBJECT "Hello Bob"')
    assert found, "the message did not arrive in bob's INBOX"
    bob = mail_server.check(OTHER)
    bob.select("INBOX")
    _t, fetched = bob.uid("FETCH", found[0], "(BODY.PEEK[])")
    msg = email.message_from_bytes(fetched[0][1])
    assert msg["From"] == f"Alice <{USER}>"
    parts = {p.get_filename(): p for p in msg.walk() if p.get_filename()}
    assert parts["report.csv"].get_payload(decode=True) == b"a,b\n1,2\n"
    sent = _messages(mail_server, "Sent")
    assert [m["Subject"] for m in sent] == ["Hello Bob"]
    assert _messages(mail_server, "Drafts") == []


def test_smtp_failure_leaves_the_draft_in_drafts(mail_server, account_config):
    rcpt = mail_server.failing_recipient()
    result = run_send(["--to", rcpt, "--subject", "Important"], "Do not lose me.\n",
                      account_config)
    assert result.returncode != 0
    assert "not sent: 55" in result.stderr and "Drafts" in result.stderr
    drafts = _messages(mail_server, "Drafts")
    assert [m["Subject"] for m in drafts] == ["Important"]
    assert "Do not lose me." in drafts[0].get_payload()
    assert _messages(mail_server, "Sent") == []


def test_send_on_a_terminal_says_how_to_end_the_body(tmp_path):
    """Issue 21 bug 13: on a terminal it waited silently for the body."""
    from tests.terminal import screen_until

    config = tmp_path / "client.toml"
    config.write_text('[accounts.a]\nemail = "a@example.test"\nimap = "127.0.0.1:1"\n'
                      'smtp = "127.0.0.1:1"\npassword_command = "echo pw"\n')
    seen = screen_until([sys.executable, "-m", "mailtool", "--config", str(config), "send",
                         "--no-imap", "--to", "b@example.test"], b"Ctrl-D")
    assert b"Type the message body; end it with Ctrl-D" in seen, seen
