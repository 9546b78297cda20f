"""Clients nobody here wrote: aioimaplib, mbsync (isync) syncing 1,000 messages both
ways, mutt reading and deleting over IMAPS in batch mode."""

from __future__ import annotations

import asyncio
import os
import re
import ssl
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.mra.imap.conftest import PASSWORD, USER, Imap, message
from tests.peers import require_tool

pytestmark = pytest.mark.peer


@pytest.fixture
def tls_imap(
    imap_server: Callable[..., Imap], certificate_authority: Any, tmp_path: Path
) -> tuple[Imap, Path]:
    """A server with a certificate for 127.0.0.1 from a test CA; returns the CA file.

    mbsync and mutt do SCRAM through Cyrus SASL, which refuses more than 65,536
    iterations (its MAX_ITERATION_COUNTER): the default config must suit them."""
    cert = certificate_authority.issue_cert("localhost", "127.0.0.1", common_name="localhost")
    cert_file, key_file, ca_file = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(cert_file)
    cert.private_key_pem.write_to_path(key_file)
    certificate_authority.cert_pem.write_to_path(ca_file)
    imap = imap_server(config={"tls": {"cert": str(cert_file), "key": str(key_file)}})
    return imap, ca_file


def fill_inbox(imap: Imap, n: int) -> None:
    """Write ``n`` messages straight into the Maildir and index them in one go (fast);
    on PostgreSQL, APPEND them through the store."""
    mail = imap.mail()
    if imap.backend != "sqlite":
        for i in range(n):
            mail.folder("INBOX").append(message(f"bulk {i}", body=f"body {i}"))
        return
    new = mail.maildir.path("INBOX") / "new"
    stamp = int(time.time())
    for i in range(n):
        (new / f"{stamp}.M{i:05d}P1.fill").write_bytes(message(f"bulk {i}", body=f"body {i}"))
    mail.folder("INBOX").sync(force=True)


def test_aioimaplib(imap: Imap) -> None:
    import aioimaplib

    imap.mail().folder("INBOX").append(message("for aioimaplib"))

    async def run() -> None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        client = aioimaplib.IMAP4_SSL("127.0.0.1", imap.tls_port, ssl_context=ctx)
        await client.wait_hello_from_server()
        assert (await client.login(imap.user, PASSWORD)).result == "OK"
        assert (await client.select("INBOX")).result == "OK"
        resp = await client.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert resp.result == "OK" and any(b"for aioimaplib" in bytes(x) for x in resp.lines)
        idle = await client.idle_start(timeout=5)
        imap.mail().folder("INBOX").append(message("pushed"))  # another process: index poll
        pushed = await client.wait_server_push(timeout=5)
        client.idle_done()
        await asyncio.wait_for(idle, 5)
        assert any(b"EXISTS" in (x if isinstance(x, bytes) else str(x).encode()) for x in pushed)
        assert (await client.logout()).result == "OK"

    asyncio.run(run())


MBSYNCRC = """\
IMAPAccount remote
Host localhost
Port {port}
User {user}
Pass "{password}"
SSLType IMAPS
CertificateFile {ca}

IMAPStore remote
Account remote

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns INBOX
Create Both
Expunge Both
SyncState *
Sync All
"""


def mbsync(rc: Path) -> list[str]:
    """Run one sync with the network trace on; returns the IMAP commands it sent."""
    result = subprocess.run(
        [require_tool("mbsync"), "-Dn", "-c", str(rc), "sync"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return re.findall(r">>> \d+ (.*)$", result.stdout, re.M)


def transfers(commands: list[str]) -> list[str]:
    """Commands that move mail or change it (a sync with nothing to do sends none)."""
    words = ("BODY.PEEK[]", "APPEND", "STORE", "EXPUNGE", "MOVE", "COPY")
    return [c for c in commands if any(w in c for w in words)]


def local_files(local: Path) -> dict[str, str]:
    """subject number -> Maildir info flags of the local copy."""
    out = {}
    for sub in ("cur", "new"):
        for f in (local / "INBOX" / sub).iterdir():
            m = re.search(rb"Subject: bulk (\d+)", f.read_bytes())
            if m:
                out[m.group(1).decode()] = f.name.partition(":2,")[2]
    return out


def test_mbsync_two_way_1000_messages(tls_imap: tuple[Imap, Path], tmp_path: Path) -> None:
    require_tool("mbsync")
    imap, ca = tls_imap
    fill_inbox(imap, 1000)
    local = tmp_path / "local"
    local.mkdir()
    rc = tmp_path / "mbsyncrc"
    rc.write_text(
        MBSYNCRC.format(port=imap.tls_port, user=USER, password=PASSWORD, ca=ca, local=local)
    )
    sent = mbsync(rc)
    assert len([c for c in sent if "BODY.PEEK[]" in c]) == 1000
    assert len(local_files(local)) == 1000
    assert transfers(mbsync(rc)) == []  # a second sync transfers nothing

    # server side: flag 0-9, delete 10-19 (IMAP, as another client would)
    c = imap.connect(USER)
    c.select("INBOX")
    _, [found] = c.uid("SEARCH", "SUBJECT", '"bulk 1"')
    c.store("1:10", "+FLAGS", "(\\Flagged)")
    c.store("11:20", "+FLAGS", "(\\Deleted)")
    c.expunge()
    # local side: mark 100-109 seen, delete 200-209
    for sub in ("cur", "new"):
        for f in list((local / "INBOX" / sub).iterdir()):
            m = re.search(rb"Subject: bulk (\d+)", f.read_bytes())
            n = int(m.group(1)) if m else -1
            if 100 <= n < 110:
                base = f.name.partition(":2,")[0]
                letters = "".join(sorted(set(f.name.partition(":2,")[2] + "S")))
                os.rename(f, local / "INBOX" / "cur" / f"{base}:2,{letters}")
            elif 200 <= n < 210:
                f.unlink()
    sent = mbsync(rc)
    assert any("STORE" in c for c in sent)
    files = local_files(local)
    assert len(files) == 1000 - 20
    assert all("F" in files[str(i)] for i in range(10))
    assert not any(str(i) in files for i in range(10, 20))
    c.noop()
    _, [count] = c.search(None, "ALL")
    assert len(count.split()) == 1000 - 20
    _, data = c.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    subjects_seen = {
        int(re.search(rb"bulk (\d+)", d[1]).group(1))  # type: ignore[union-attr]
        for d in data
        if isinstance(d, tuple) and b"\\Seen" in d[0]
    }
    assert subjects_seen == set(range(100, 110))
    assert transfers(mbsync(rc)) == []
    c.logout()
    assert found  # the SUBJECT search found the bulk messages


MUTTRC = """\
set ssl_ca_certificates_file = "{ca}"
set ssl_force_tls = yes
set imap_user = "{user}"
set imap_pass = "{password}"
set folder = "imaps://127.0.0.1:{port}/"
set spoolfile = "+INBOX"
set record = ""
set postponed = "+Drafts"
set mbox_type = Maildir
set header_cache = ""
set message_cachedir = ""
set delete = yes
set quit = yes
set confirmappend = no
set wait_key = no
"""


def test_mutt_reads_and_deletes_over_imaps(tls_imap: tuple[Imap, Path], tmp_path: Path) -> None:
    mutt = require_tool("mutt")
    imap, ca = tls_imap
    inbox = imap.mail(USER).folder("INBOX")
    inbox.append(message("keep me"))
    inbox.append(message("delete me"))
    rc = tmp_path / "muttrc"
    rc.write_text(MUTTRC.format(ca=ca, user=USER, password=PASSWORD, port=imap.tls_port))
    # batch mode: mutt under a pseudo-terminal (script), driven by push; it reads the
    # list, deletes the message matching ~s "delete me", syncs and quits
    keys = "<delete-pattern>~s delete<enter><sync-mailbox><quit>"
    cmd = f"{mutt} -n -F {rc} -e 'push \"{keys}\"'"
    env = {**os.environ, "TERM": "vt100", "HOME": str(tmp_path)}
    result = subprocess.run(
        ["script", "-qec", cmd, "/dev/null"],
        capture_output=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert b"keep me" in result.stdout  # the index screen listed the messages
    c = imap.connect(USER)
    c.select("INBOX")
    _, data = c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    subjects = [d[1] for d in data if isinstance(d, tuple)]
    assert subjects == [b"Subject: keep me\r\n\r\n"]
    c.logout()
