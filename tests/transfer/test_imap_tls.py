"""``import USER imap imaps://...`` from a mailtool server with a CA-signed certificate,
into a running server whose IDLE client sees the mail arrive."""

from __future__ import annotations

import imaplib
import json
import ssl
import subprocess
import sys

import pytest

trustme = pytest.importorskip("trustme")


def _append(port: int, ca: trustme.CA) -> None:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    imap = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx, timeout=30)
    imap.login("alice@a.test", "secret")
    imap.create("Archive/2024")
    for i, (folder, flags) in enumerate([("INBOX", "(\\Seen)"), ("INBOX", "(\\Flagged)"),
                                         ("Archive/2024", "(\\Answered $Done)")]):  # fmt: skip
        date = imaplib.Time2Internaldate(1_650_000_000 + i * 3600)
        msg = f"Subject: m{i}\r\nMessage-ID: <{i}@a.test>\r\n\r\nbody {i}\r\n".encode()
        imap.append(folder, flags, date, msg)
    imap.logout()


def _cli(data_dir, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mailtool", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_imaps_import_verifies_the_certificate_and_wakes_idle(mailtool_server, tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    (tmp_path / "chain.pem").write_bytes(b"".join(c.bytes() for c in cert.cert_chain_pems))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    tls = {"cert": str(tmp_path / "chain.pem"), "key": str(tmp_path / "key.pem")}
    old = mailtool_server("old", services=("imaps",), config={"tls": tls})
    old.add_user("alice@a.test")
    _append(old.port("imaps"), ca)
    new = mailtool_server("new", services=("imap",),
                          config={"security": {"plaintext_auth_on_loopback": True}})  # fmt: skip
    new.add_user("bob@b.test")

    url = f"imaps://alice%40a.test@127.0.0.1:{old.port('imaps')}"
    untrusted = _cli(new.data_dir, "import", "bob@b.test", "imap", url,
                     "--password-command", "echo secret")  # fmt: skip
    assert untrusted.returncode == 1 and "certificate" in untrusted.stderr

    idle = imaplib.IMAP4("127.0.0.1", new.port("imap"), timeout=30)
    idle.login("bob@b.test", "secret")
    idle.select("INBOX")
    idle.send(b"i1 IDLE\r\n")
    assert idle.readline().startswith(b"+")
    cafile = str(tmp_path / "ca.pem")
    done = _cli(new.data_dir, "import", "bob@b.test", "imap", url, "--cafile", cafile,
                "--password-command", "echo secret", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["folders"]["INBOX"]["imported"] == 2
    assert report["folders"]["Archive/2024"]["imported"] == 1
    seen = b""
    while b"EXISTS" not in seen:  # the running server's IDLE client is told (RFC 2177)
        seen += idle.readline()
    assert b"* 2 EXISTS" in seen or b"* 1 EXISTS" in seen
    idle.send(b"DONE\r\n")
    while not idle.readline().startswith(b"i1 "):
        pass
    idle.logout()

    _, data = _fetch(new.port("imap"), "Archive/2024")
    assert b"$Done" in data and b"\\Answered" in data
    again = _cli(new.data_dir, "import", "bob@b.test", "imap", url, "--insecure",
                 "--password-command", "echo secret", "--json")  # fmt: skip
    assert json.loads(again.stdout)["totals"] == {"imported": 0, "duplicates": 3, "failed": 0}


def _fetch(port: int, folder: str) -> tuple[str, bytes]:
    imap = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    imap.login("bob@b.test", "secret")
    imap.select(f'"{folder}"')
    typ, data = imap.fetch("1:*", "(FLAGS INTERNALDATE)")
    imap.logout()
    return typ, b" ".join(d for d in data if isinstance(d, bytes))
