"""Clients nobody here wrote: fetchmail (995 and STLS, keep and no-keep) and getmail6.

Each downloads what the store delivered; the files they write must hold the
delivered bytes exactly (getmail hands its MDA LF line ends, the Unix form,
so its files are compared with the LF form of the same bytes).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.mra.pop3.conftest import PASSWORD, Pop3Env
from tests.peers import require_tool


def messages(tag: str) -> list[bytes]:
    """Three messages with the shapes that trip clients: dot lines, folded headers, no
    final blank line in the body, 8-bit content."""
    # getmail always writes Return-Path first: every message has one there, as the MDA's do
    head = "Return-Path: <a@example.test>\r\nFrom: a@example.test\r\nTo: b@pop.test\r\n"
    return [
        (head + f"Subject: {tag} one\r\nMessage-ID: <{tag}.1@example.test>\r\n\r\n"
         "plain body\r\n").encode(),
        (head + f"Subject: {tag} two,\r\n folded\r\nMessage-ID: <{tag}.2@example.test>\r\n"
         "\r\n.\r\n..\r\n.dot\r\nend\r\n").encode(),
        (head + f"Subject: {tag} three\r\nMessage-ID: <{tag}.3@example.test>\r\n"
         "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
         "\r\nGrüße\r\n\r\n").encode(),
    ]  # fmt: skip


def files_in(directory: Path) -> list[bytes]:
    return sorted(p.read_bytes() for p in directory.rglob("*") if p.is_file())


def run_fetchmail(env: Pop3Env, tmp: Path, user: str, *, implicit: bool, keep: bool) -> Path:
    fetchmail = require_tool("fetchmail")
    out = tmp / "out"
    out.mkdir(parents=True)
    rc = tmp / "fetchmailrc"
    port = env.tls_port if implicit else env.port
    tls = "ssl" if implicit else "sslproto tls1.2+"  # sslproto without ssl: STLS, required
    rc.write_text(
        "set no syslog\nset invisible\n"  # invisible: no Received header of its own
        f"poll 127.0.0.1 service {port} protocol pop3 uidl auth password\n"
        f'  user "{user}" there with password "{PASSWORD}" is root here\n'
        f"  {tls} no sslcertck {'keep' if keep else 'nokeep'} fetchall\n"
        # one file per message; "no stripcr" keeps CRLF
        f'  no stripcr mda "cat > $(mktemp {out}/m.XXXXXX)"\n'
    )
    rc.chmod(0o600)
    proc = subprocess.run(
        [fetchmail, "-f", str(rc), "-i", str(tmp / "fetchids"), "--nodetach", "-v"],
        env={**os.environ, "HOME": str(tmp), "FETCHMAILHOME": str(tmp)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    if not implicit:
        assert "POP3> STLS" in proc.stdout + proc.stderr  # -v shows the upgrade happened
    return out


def test_fetchmail_stls_keep_then_ssl_nokeep(pop3_env: Pop3Env, tmp_path: Path) -> None:
    """STLS + keep leaves the mail on the server; then 995 + no-keep fetches it all again
    (a fresh id file) and empties the maildrop."""
    user = pop3_env.new_user()
    sent = messages(user.split("@")[0])
    for data in sent:
        pop3_env.deliver(user, data)
    first = run_fetchmail(pop3_env, tmp_path / "a", user, implicit=False, keep=True)
    assert files_in(first) == sorted(sent)
    assert len(pop3_env.inbox(user).messages()) == 3
    second = run_fetchmail(pop3_env, tmp_path / "b", user, implicit=True, keep=False)
    assert files_in(second) == sorted(sent)
    assert pop3_env.inbox(user).messages() == []


def test_getmail6(pop3_env: Pop3Env, tmp_path: Path) -> None:
    getmail = require_tool("getmail")
    user = pop3_env.new_user()
    sent = messages(user.split("@")[0])
    for data in sent:
        pop3_env.deliver(user, data)
    out = tmp_path / "out"
    out.mkdir()
    rc = tmp_path / "getmailrc"
    rc.write_text(
        "[retriever]\ntype = SimplePOP3SSLRetriever\nserver = 127.0.0.1\n"
        f"port = {pop3_env.tls_port}\nusername = {user}\npassword = {PASSWORD}\n\n"
        # an external MDA, one file per message (getmail's Maildir refuses to run as root)
        "[destination]\ntype = MDA_external\npath = /bin/sh\n"
        f"arguments = ('-c', 'cat > $(mktemp {out}/m.XXXXXX)')\n"
        "allow_root_commands = true\nunixfrom = false\n\n"
        "[options]\nread_all = true\ndelete = true\ndelivered_to = false\n"
        "received = false\nverbose = 0\n"
    )
    proc = subprocess.run(
        [getmail, "--getmaildir", str(tmp_path), "--rcfile", str(rc)],
        env={**os.environ, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert files_in(out) == sorted(m.replace(b"\r\n", b"\n") for m in sent)
    assert pop3_env.inbox(user).messages() == []
