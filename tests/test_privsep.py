"""Least privilege (issue 15 point 8): started as root, ``serve`` binds its ports and
then runs as ``[server] user``; the data dir is that user's, files 0600, directories
0700; CLI commands run as root act as the data dir's owner.

The root-only tests create a system user (``mailtool-test``) and run the server in a
directory under /tmp that user can reach (pytest's own tmp is root's 0700). They skip
when not root.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import signal
import smtplib
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailtool import privsep
from tests.harness import MailtoolServer, render_toml
from tests.peers import peers_required

TEST_USER = "mailtool-test"
ALICE = "alice@privsep.test"

root_only = pytest.mark.skipif(
    sys.platform != "linux" or os.geteuid() != 0, reason="needs root (privilege drop)"
)


def ids(pid: int) -> tuple[list[int], list[int], list[int]]:
    """(Uid, Gid, Groups) of a process from /proc/PID/status."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Uid", "Gid", "Groups"):
            fields[key] = [int(v) for v in value.split()]
    return fields["Uid"], fields["Gid"], fields["Groups"]


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def not_private(data_dir: Path, owner: tuple[int, int] | None = None) -> list[str]:
    """Every entry of the tree whose mode is not 0600 (files) / 0700 (directories), or
    whose owner is not ``owner``."""
    bad = []
    for path in [data_dir, *data_dir.rglob("*")]:
        try:
            st = path.lstat()
        except FileNotFoundError:  # a running server's transient file (an SQLite journal)
            continue
        if stat.S_ISLNK(st.st_mode):
            continue
        wanted = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
        if stat.S_IMODE(st.st_mode) != wanted:
            bad.append(f"{path} {oct(stat.S_IMODE(st.st_mode))}")
        if owner is not None and (st.st_uid, st.st_gid) != owner:
            bad.append(f"{path} owned by {st.st_uid}:{st.st_gid}")
    return bad


def deliver_and_read(server: MailtoolServer, password: str = "pw") -> None:
    """SMTP in, IMAP out: the server still works."""
    with smtplib.SMTP(*server.address("smtp"), timeout=30) as smtp:
        smtp.sendmail("someone@elsewhere.test", [ALICE], b"Subject: hi\r\n\r\nprivate\r\n")
    imap = imaplib.IMAP4(*server.address("imap"), timeout=30)
    try:
        imap.login(ALICE, password)
        imap.select("INBOX")
        _, data = imap.fetch("1", "(BODY.PEEK[TEXT])")
        assert b"private" in data[0][1]
    finally:
        imap.logout()


# ------------------------------------------------------------------ every user


def test_data_dir_files_are_private_after_a_delivery(mailtool_server):
    """Issue 15: ``accounts.db``, Maildir files, index, queue files were 0644 and
    directories 0755: any local user read all mail and all hashes."""
    server = mailtool_server(
        services=("smtp", "imap"), config={"security": {"plaintext_auth_on_loopback": True}}
    )
    server.add_user(ALICE, "pw")
    deliver_and_read(server)
    files = [p for p in server.data_dir.rglob("*") if p.is_file()]
    assert any(p.name == "accounts.db" for p in files)
    assert any(p.parent.name in ("new", "cur") for p in files)  # the message
    assert not_private(server.data_dir) == []


def test_serve_fixes_modes_left_by_older_versions(mailtool_server, tmp_path):
    data = tmp_path / "mt" / "data"
    old = data / "mail" / "old.test" / "bob" / "cur"
    old.mkdir(parents=True)
    (old / "1.msg").write_bytes(b"Subject: old\r\n\r\n")
    os.chmod(old / "1.msg", 0o644)
    for d in (data, data / "mail", old.parent, old):
        os.chmod(d, 0o755)
    server = mailtool_server(services=("smtp",))
    assert not_private(server.data_dir) == []
    assert "server.data_dir_fixed" in server.log()


# ------------------------------------------------------------------ root


def _can_run_as(user: privsep.ServiceUser, python: str, env: dict[str, str]) -> bool:
    probe = "import mailtool.server, mailtool.mta.service, mailtool.mra.imap.service, rich.console"
    try:
        done = subprocess.run(
            [python, "-c", probe], user=user.uid, group=user.gid, extra_groups=[], cwd="/",
            env=env, capture_output=True, timeout=60,
        )  # fmt: skip
    except OSError:  # the interpreter itself is out of reach
        return False
    return done.returncode == 0


@pytest.fixture(scope="module")
def service_user() -> privsep.ServiceUser:
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("needs root (privilege drop)")
    return privsep.service_user(TEST_USER, create=True)


@pytest.fixture(scope="module")
def python_env(service_user) -> tuple[str, dict[str, str]]:
    """An interpreter the service user can import mailtool with, and its environment.

    This venv's Python may live where that user cannot go (a pyenv under root's 0700
    home): then the system's Python of the same version, on this venv's site-packages."""
    env = dict(os.environ)
    if _can_run_as(service_user, sys.executable, env):
        return sys.executable, env
    system = "/usr/bin/python3"
    site = next(p for p in sys.path if p.endswith("site-packages"))
    repo = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([site, repo])
    same = subprocess.run(
        [system, "-c", f"import sys; assert sys.version_info[:2] == {sys.version_info[:2]}"],
        capture_output=True,
    ) if os.access(system, os.X_OK) else None  # fmt: skip
    if same is not None and same.returncode == 0 and _can_run_as(service_user, system, env):
        return system, env
    message = f"{service_user.name} cannot run {sys.executable} (nor {system})"
    if peers_required():
        pytest.fail(message + " and MAILTOOL_REQUIRE_PEERS=1", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def reachable_dir() -> Iterator[Path]:
    """A work dir the service user can enter (its data dir inside is chowned to it)."""
    path = Path(tempfile.mkdtemp(prefix="mailtool-privsep-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def privsep_server(service_user, python_env, reachable_dir) -> Iterator[object]:
    started: list[MailtoolServer] = []

    def start(config: dict | None = None, services=("smtp", "imap")) -> MailtoolServer:
        server = MailtoolServer(
            reachable_dir / f"mt{len(started)}",
            services=services,
            config={
                "server": {"user": service_user.name},
                "security": {"plaintext_auth_on_loopback": True},
                **(config or {}),
            },
            env=python_env[1],
        )
        server.workdir.mkdir(exist_ok=True)
        server.workdir.chmod(0o755)
        server.python = python_env[0]
        started.append(server.start())
        return server

    yield start
    for server in started:
        assert server.stop() == 0, server.log()


@root_only
def test_serve_started_as_root_runs_as_the_service_user(privsep_server, service_user):
    """Issue 15: started as root, serve stayed root (``ps -o user`` = root) and its files
    were world-readable. Now the main process and every SMTP worker run as the service
    user, every file is its own with 0600/0700, and the CLI run as root leaves no
    root-owned file behind."""
    server = privsep_server(config={"limits": {"smtp_workers": 2}})
    me = (service_user.uid, service_user.gid)
    processes = [server.proc.pid]
    deadline = time.monotonic() + 30
    while len(processes) < 2:
        assert time.monotonic() < deadline, server.log()
        processes = [server.proc.pid, *children(server.proc.pid)]
        time.sleep(0.05)
    deadline = time.monotonic() + 30
    for pid in processes:  # a worker drops once it has bound its own sockets
        while ids(pid)[0] != [me[0]] * 4:
            assert time.monotonic() < deadline, (pid, ids(pid), server.log())
            time.sleep(0.05)
        uid, gid, groups = ids(pid)
        assert (uid, gid) == ([me[0]] * 4, [me[1]] * 4)
        assert 0 not in groups
    assert f"server.user user={service_user.name}" in server.log()

    # the CLI, run as root: accounts, a Sieve script (from a file only root can read:
    # read before the command becomes the data dir's owner), DKIM keys
    server.add_user(ALICE, "pw")
    script = server.workdir / "filter.sieve"
    script.write_text('require "fileinto";\nif header :contains "subject" "x" { keep; }\n')
    script.chmod(0o600)
    server.cli("sieve", "set", ALICE, str(script))
    server.cli("dkim", "keygen", "privsep.test")
    deliver_and_read(server)
    assert not_private(server.data_dir, owner=me) == []
    names = {p.relative_to(server.data_dir).parts[0] for p in server.data_dir.rglob("*")}
    assert {"accounts.db", "mail", "queue", "tls", "run", "sieve", "dkim"} <= names, names
    # the delivered message (in cur/ once an IMAP SELECT has claimed it as \Recent)
    assert any(p.parent.name in ("new", "cur") and p.is_file()
               for p in (server.data_dir / "mail").rglob("*"))


@root_only
def test_files_left_by_root_are_handed_to_the_service_user(
    privsep_server, service_user, reachable_dir
):
    """A data dir from an older version, or written by root before the first serve:
    chowned and made private at start; a symbolic link in it is not followed."""
    data = reachable_dir / "mt0" / "data"
    (data / "mail").mkdir(parents=True)
    (data / "mail" / "left.txt").write_text("root's")
    os.chmod(data / "mail" / "left.txt", 0o644)
    outside = reachable_dir / "outside.txt"
    outside.write_text("not the data dir's")
    os.chmod(outside, 0o644)
    (data / "mail" / "link").symlink_to(outside)
    server = privsep_server()
    assert not_private(server.data_dir, owner=(service_user.uid, service_user.gid)) == []
    st = outside.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o644)


@root_only
def test_sighup_after_the_drop_reloads_a_readable_certificate_and_says_why_not(
    privsep_server, reachable_dir, certificate_authority
):
    server = privsep_server()
    server.proc.send_signal(signal.SIGHUP)
    server.wait_log("tls.reload ")  # the self-signed pair in the data dir is the user's

    cert, key = reachable_dir / "mail.crt", reachable_dir / "mail.key"
    issued = certificate_authority.issue_cert("mail.test")
    issued.cert_chain_pems[0].write_to_path(cert)
    issued.private_key_pem.write_to_path(key)
    os.chmod(key, 0o600)  # root's: read before the drop, not after
    other = privsep_server(config={"tls": {"cert": str(cert), "key": str(key)}})
    assert "tls.reload_unavailable" in other.log() and str(key) in other.log()
    other.proc.send_signal(signal.SIGHUP)
    other.wait_log("tls.reload_failed")
    assert "Traceback" not in other.log()
    with smtplib.SMTP(*other.address("smtp"), timeout=30) as smtp:  # still serving
        assert smtp.noop()[0] == 250


def _serve_once(workdir: Path, python_env, config: dict) -> subprocess.CompletedProcess[str]:
    server = MailtoolServer(workdir, services=("smtp",), config=config, env=python_env[1])
    workdir.mkdir()
    workdir.chmod(0o755)
    server.config_path.write_text(render_toml(server.config))
    return subprocess.run(
        [python_env[0], "-m", "mailtool", "--config", str(server.config_path), "serve"],
        capture_output=True, text=True, timeout=60, env=python_env[1],
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


@root_only
def test_a_missing_user_with_create_user_false_exits_1_with_the_command(
    python_env, reachable_dir
):
    name = f"mtabsent{os.getpid()}"
    done = _serve_once(
        reachable_dir / "w", python_env, {"server": {"user": name, "create_user": False}}
    )
    assert done.returncode == 1, done.stderr
    assert "useradd --system" in done.stderr and name in done.stderr
    assert "Traceback" not in done.stderr
    assert not (reachable_dir / "w" / "data").exists()  # refused before writing anything
    with pytest.raises(KeyError):
        pwd.getpwnam(name)


@root_only
def test_a_missing_user_is_created_as_a_system_user(python_env, reachable_dir):
    name = f"mtnew{os.getpid()}"
    try:
        server = MailtoolServer(
            reachable_dir / "w", services=("smtp",), config={"server": {"user": name}},
            env=python_env[1],
        )  # fmt: skip
        server.workdir.mkdir()
        server.workdir.chmod(0o755)
        server.python = python_env[0]
        with server:
            entry = pwd.getpwnam(name)
            assert f"server.user_created user={name}" in server.log()
            assert entry.pw_uid < 1000 and entry.pw_shell.endswith(("nologin", "false"))
            assert not Path(entry.pw_dir).exists()
            assert ids(server.proc.pid)[0] == [entry.pw_uid] * 4
    finally:
        subprocess.run(["userdel", name], capture_output=True)
