"""A Postfix peer signing with OpenDKIM (Debian's opendkim, as Postfix's milter) with
a key made by ``mailtool dkim keygen`` and published in the dnsmasq zone: the
message Postfix relays verifies with our checks (dkim=pass, spf=pass, dmarc=pass).

OpenDKIM is an independent DKIM implementation (C, libopendkim), so this checks
our verifier and our key format against someone else's signer.
"""

from __future__ import annotations

import asyncio
import shutil
import smtplib
import subprocess
import time
from pathlib import Path

import pytest

from mailtool.config import AuthConfig
from mailtool.dns import Resolver
from mailtool.mta.authn import keys
from mailtool.mta.authn.inbound import check_inbound
from tests.mta.authn.conftest import Sink, txt
from tests.peers import free_port, require_tool
from tests.peers.postfix import Postfix

MESSAGE = (
    b"From: Paul <paul@pf.test>\r\nTo: bob@b.test\r\nSubject: from postfix\r\n"
    b"Message-ID: <pf1@pf.test>\r\nDate: Fri, 27 Nov 2026 12:00:00 +0000\r\n\r\nhello\r\n"
)


class OpenDKIM:
    """opendkim in the foreground as a signing milter on a loopback port."""

    def __init__(self, workdir: Path, key: keys.DkimKey) -> None:
        self.binary = require_tool("opendkim")
        self.workdir = workdir
        self.port = free_port()
        workdir.mkdir(parents=True, exist_ok=True)
        workdir.chmod(0o755)
        keyfile = workdir / "signing.key"
        keyfile.write_bytes(key.private_pem)
        shutil.chown(keyfile, "opendkim")
        keyfile.chmod(0o600)
        self.conf = workdir / "opendkim.conf"
        self.conf.write_text(
            "\n".join(
                [
                    "Mode s",
                    f"Domain {key.domain}",
                    f"Selector {key.selector}",
                    f"KeyFile {keyfile}",
                    f"Socket inet:{self.port}@127.0.0.1",
                    "Canonicalization relaxed/relaxed",
                    "InternalHosts 127.0.0.0/8",
                    "UserID opendkim",
                    "Syslog no",
                    "Background no",
                    "RequireSafeKeys false",
                    "",
                ]
            )
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> OpenDKIM:
        self.log = open(self.workdir / "opendkim.log", "wb")  # noqa: SIM115 - closed in stop
        self.proc = subprocess.Popen(
            [self.binary, "-f", "-x", str(self.conf)], stdout=self.log, stderr=self.log
        )
        import socket

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.workdir / "opendkim.log").read_text())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("opendkim did not listen")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        self.log.close()


@pytest.fixture
def signing_postfix(tmp_path: Path, dns_server):
    key = keys.generate(tmp_path / "data", "pf.test", "pf2026", "rsa")
    dns = dns_server(
        [
            txt(key.record_name, key.txt_record()),
            txt("pf.test", "v=spf1 ip4:127.0.0.1 -all"),
            txt("_dmarc.pf.test", "v=DMARC1; p=reject"),
        ]
    )
    sink = Sink()
    sink.controller.start()
    milter = OpenDKIM(Path(f"/tmp/mailtool-opendkim-{free_port()}"), key).start()
    postfix = Postfix(
        hostname="mx.pf.test",
        options={
            "mynetworks": "127.0.0.0/8",
            "relayhost": f"[127.0.0.1]:{sink.controller.port}",
            "smtpd_milters": f"inet:127.0.0.1:{milter.port}",
            "milter_default_action": "tempfail",
        },
    ).start()
    try:
        yield postfix, sink, Resolver([dns.address], timeout=3)
    finally:
        postfix.stop()
        milter.stop()
        shutil.rmtree(milter.workdir, ignore_errors=True)
        sink.controller.stop()


def test_postfix_with_opendkim_verifies_here(signing_postfix) -> None:
    postfix, sink, resolver = signing_postfix
    with smtplib.SMTP(postfix.host, postfix.port, timeout=10) as client:
        client.sendmail("paul@pf.test", ["bob@b.test"], MESSAGE)
    deadline = time.monotonic() + 20
    while not sink.messages and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sink.messages, postfix.log()
    relayed = sink.messages[0].replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    assert b"DKIM-Signature:" in relayed and b"d=pf.test" in relayed
    verdict = asyncio.run(
        check_inbound(relayed, peer_ip="127.0.0.1", helo="mx.pf.test",
                      mail_from="paul@pf.test", resolver=resolver, hostname="mx.b.test",
                      config=AuthConfig())
    )
    header = verdict.header_to_prepend.decode()
    assert "dkim=pass header.d=pf.test header.s=pf2026" in header
    assert "spf=pass" in header and "dmarc=pass header.from=pf.test" in header
    assert verdict.reject is None
