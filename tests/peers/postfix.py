"""A private Postfix on loopback, as a peer to probe, relay to, or compare with.

Nothing from /etc/postfix is used (Postfix's own meta files aside): main.cf and
master.cf are rendered into ``workdir/etc`` with the queue, data and log under
``workdir``. SMTP listens on ``host:port`` (a free loopback port). Mail it
accepts for ``domains`` is discarded unless ``options`` says otherwise.

    with Postfix(host="127.0.0.2", domains=["good.test"],
                 tls=ca.issue_cert("mx.good.test")) as pf:
        ...  pf.host, pf.port, pf.log()

``options`` overrides or adds main.cf keys, e.g. ``{"mynetworks": "127.0.0.0/8"}``
to make it an open relay for loopback clients (a broken set-up for diagnose).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.peers import free_port, require_tool

MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command + args
{listen} inet n  -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    def __init__(
        self,
        workdir: Path | None = None,
        *,
        host: str = "127.0.0.1",
        hostname: str = "mx.postfix.test",
        domains: Iterable[str] = ("postfix.test",),
        tls: Any = None,  # a trustme.LeafCert: enables STARTTLS
        options: Mapping[str, str] | None = None,
        port: int = 0,  # 0: a free one (give one to share a port across 127.0.0.x hosts)
    ) -> None:
        self.binary = require_tool("postfix")
        # Postfix's daemons drop to the postfix user, which must reach the data
        # dir: pytest's tmp_path (under a 0700 directory) will not do.
        self.own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="mailtool-postfix-"))
        self.workdir.chmod(0o755)
        self.etc = self.workdir / "etc"
        self.host = host
        self.hostname = hostname
        self.domains = list(domains)
        self.tls = tls
        self.options = dict(options or {})
        self.port = port
        self.running = False

    def main_cf(self) -> dict[str, str]:
        w = self.workdir
        cf = {
            "compatibility_level": "3.6",
            "queue_directory": str(w / "queue"),
            "data_directory": str(w / "data"),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": self.hostname,
            "mydomain": self.hostname.split(".", 1)[-1],
            "myorigin": "$myhostname",
            "mydestination": "",
            # the address is in master.cf; inet_interfaces only has to be a local one
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            # not loopback: probes from 127.0.0.1 are strangers, so relay is refused
            "mynetworks": "192.0.2.1/32",
            "relayhost": "",
            "relay_domains": "",
            "local_recipient_maps": "",
            "local_transport": "error:local delivery disabled",
            "alias_maps": "",
            "alias_database": "",
            "biff": "no",
            "append_dot_mydomain": "no",
            "smtpd_banner": "$myhostname ESMTP",
            "virtual_mailbox_domains": " ".join(self.domains),
            "virtual_mailbox_maps": f"texthash:{self.etc / 'vmailbox'}",
            "virtual_transport": "discard:",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "maillog_file": str(w / "log" / "maillog"),
            "maillog_file_prefixes": f"/var, /dev/stdout, {w / 'log'}",
            "smtp_dns_support_level": "disabled",
        }
        if self.tls is not None:
            cf.update(
                smtpd_tls_security_level="may",
                smtpd_tls_chain_files=str(self.etc / "tls.pem"),
                smtpd_tls_loglevel="0",
            )
        cf.update(self.options)
        return cf

    def render(self) -> None:
        for sub in ("etc", "queue", "data", "log"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        subprocess.run(["chown", "postfix:postfix", str(self.workdir / "data")], check=True)
        (self.workdir / "data").chmod(0o700)
        (self.etc / "vmailbox").write_text(
            "".join(f"postmaster@{d} {d}/postmaster/\n" for d in self.domains)
        )
        if self.tls is not None:
            # key first, then its chain (smtpd_tls_chain_files)
            self.tls.private_key_and_cert_chain_pem.write_to_path(str(self.etc / "tls.pem"))
            (self.etc / "tls.pem").chmod(0o600)
        self.port = self.port or free_port(self.host)
        (self.etc / "main.cf").write_text(
            "".join(f"{k} = {v}\n" for k, v in self.main_cf().items())
        )
        (self.etc / "master.cf").write_text(MASTER_CF.format(listen=f"{self.host}:{self.port}"))

    def start(self) -> Postfix:
        self.render()
        run = subprocess.run(
            [self.binary, "-c", str(self.etc), "start"], capture_output=True, text=True
        )
        if run.returncode != 0:
            # Postfix writes fatal errors to stderr only on a terminal; ask postconf/check
            check = subprocess.run(
                ["script", "-qc", f"{self.binary} -c {self.etc} check", "/dev/null"],
                capture_output=True,
                text=True,
            )
            raise RuntimeError(
                f"postfix start failed: {run.stderr}{run.stdout}{check.stdout}\n{self.log()}"
            )
        self.running = True
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as sock:
                    sock.settimeout(5)
                    if sock.recv(512).startswith(b"220"):
                        sock.sendall(b"QUIT\r\n")
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"postfix did not greet on {self.host}:{self.port}\n{self.log()}")

    def log(self) -> str:
        path = self.workdir / "log" / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.running:
            subprocess.run([self.binary, "-c", str(self.etc), "stop"], capture_output=True)
            self.running = False
        if self.own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Postfix:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture
def postfix() -> Iterator[Callable[..., Postfix]]:
    """Factory fixture: ``postfix(host=..., tls=..., options=...)`` starts one;
    all are stopped at the end. Import it into a test module to use it."""
    started: list[Postfix] = []

    def start(**kwargs: Any) -> Postfix:
        server = Postfix(**kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
