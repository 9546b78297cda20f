"""A private Dovecot on loopback: the reference IMAP/POP3 server we compare against.

::

    with Dovecot(tmp_path, users={"alice": "pw"}) as dc:
        imap = imaplib.IMAP4("127.0.0.1", dc.imap_port)
        imap.login("alice", "pw")
        ...
        dc.maildir("alice")  # Path of alice's Maildir

Nothing from /etc/dovecot is read: the config is rendered into ``tmpdir``
(plaintext auth on loopback, passwd-file users, Maildir, no TLS).  Ports are
free ephemeral loopback ports; ``dovecot -F`` runs in the foreground as our
child, so we stop exactly the PID we started.  Dovecot refuses to deliver mail
as root: when we are root, mail belongs to the system user ``vmail`` (created
with ``useradd --system`` if missing).  Runtime sockets and Maildirs live in a
short private directory under /tmp (unix socket paths are limited to 108
bytes and must be reachable by Dovecot's unprivileged users), removed on stop.

``dovecot_factory`` is the pytest fixture: it skips the test when Dovecot is not
installed (fails under ``MAILTOOL_REQUIRE_PEERS=1``) and stops every instance.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.peers import free_port, require_tool

MAIL_USER = "vmail"
START_TIMEOUT = 20.0

_CONFIG = """\
# rendered by tests/peers/dovecot.py; nothing from /etc/dovecot
instance_name = mailtool-test-{tag}
base_dir = {run}/run
state_dir = {run}/state
protocols = {protocols}
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {logdir}/dovecot.log
info_log_path = {logdir}/dovecot-info.log
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 0
mail_location = maildir:{run}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {run}/users.passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={run}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
  unix_listener lmtp {{
    mode = 0
  }}
}}
protocol imap {{
  mail_max_userip_connections = 1000
}}
"""


def ensure_mail_user(name: str = MAIL_USER) -> pwd.struct_passwd:
    """The system user that owns the Maildirs, created when missing (needs root)."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                name,
            ],
            check=True,
        )
        return pwd.getpwnam(name)


class Dovecot:
    """One private Dovecot instance; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        tmpdir: Path | str,
        users: Mapping[str, str] | None = None,
        imap: bool = True,
        pop3: bool = True,
        lmtp: bool = False,
        extra_config: str = "",
    ) -> None:
        self.binary = require_tool("dovecot")
        self.conf_dir = Path(tmpdir)
        self.users = dict(users or {"alice": "pw"})
        self.protocols = [p for p, on in (("imap", imap), ("pop3", pop3), ("lmtp", lmtp)) if on]
        self.imap_port = self.pop3_port = self.lmtp_port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.run_dir: Path | None = None
        #: appended to the rendered config ({run} is the runtime directory)
        self.extra_config = extra_config

    @property
    def log(self) -> str:
        path = self.conf_dir / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def maildir(self, user: str) -> Path:
        assert self.run_dir is not None, "not started"
        return self.run_dir / "mail" / user

    def _ports(self) -> None:
        # three distinct ports, each free when we looked (bind port 0, read, close)
        ports: set[int] = set()
        while len(ports) < 3:
            ports.add(free_port())
        self.imap_port, self.pop3_port, self.lmtp_port = sorted(ports)

    def start(self) -> Dovecot:
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        run = Path(tempfile.mkdtemp(prefix="mtdc-", dir="/tmp"))
        self.run_dir = run
        os.chmod(run, 0o755)
        if os.geteuid() == 0:
            owner = ensure_mail_user()
            internal, internal_group, login = "dovecot", "dovecot", "dovenull"
        else:  # an unprivileged Dovecot runs everything as ourselves
            owner = pwd.getpwuid(os.getuid())
            internal = internal_group = login = owner.pw_name
        for sub in ("mail", "home"):
            (run / sub).mkdir()
            if os.geteuid() == 0:
                os.chown(run / sub, owner.pw_uid, owner.pw_gid)
        # read by the auth process (user dovecot), so not in tmpdir (pytest's is 0700)
        (run / "users.passwd").write_text(
            "".join(f"{u}:{{PLAIN}}{pw}::::::\n" for u, pw in self.users.items())
        )
        self._ports()
        conf = self.conf_dir / "dovecot.conf"
        conf.write_text(
            _CONFIG.format(
                tag=run.name,
                run=run,
                logdir=self.conf_dir,
                protocols=" ".join(self.protocols),
                internal_user=internal,
                internal_group=internal_group,
                login_user=login,
                uid=owner.pw_uid,
                gid=owner.pw_gid,
                imap_port=self.imap_port,
                pop3_port=self.pop3_port,
                lmtp_port=self.lmtp_port,
            )
            + self.extra_config.replace("{run}", str(run))
        )
        self.proc = subprocess.Popen(
            [self.binary, "-F", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.conf_dir / "dovecot.stderr", "wb"),  # noqa: SIM115 - child owns it
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        wanted = [
            port
            for proto, port in (
                ("imap", self.imap_port),
                ("pop3", self.pop3_port),
                ("lmtp", self.lmtp_port),
            )
            if proto in self.protocols
        ]
        deadline = time.monotonic() + START_TIMEOUT
        assert self.proc is not None
        while wanted:
            if self.proc.poll() is not None:
                err = (self.conf_dir / "dovecot.stderr").read_text(errors="replace")
                raise RuntimeError(f"dovecot exited ({self.proc.returncode}): {err}{self.log}")
            try:
                with socket.create_connection(("127.0.0.1", wanted[0]), timeout=1):
                    wanted.pop(0)
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"dovecot did not listen on {wanted}: {self.log}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()  # our child's PID only
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.run_dir is not None:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            self.run_dir = None

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture
def dovecot_factory(tmp_path: Path) -> Iterator[Callable[..., Dovecot]]:
    """Factory fixture: ``dovecot_factory(users=..., imap=..., pop3=...)`` -> started Dovecot."""
    started: list[Dovecot] = []

    def start(name: str = "dovecot", **kwargs: Any) -> Dovecot:
        dc = Dovecot(tmp_path / name, **kwargs).start()
        started.append(dc)
        return dc

    yield start
    for dc in started:
        dc.stop()
