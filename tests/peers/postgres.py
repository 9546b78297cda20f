"""A private PostgreSQL cluster on loopback for the PostgreSQL store backend's tests.

``initdb`` + ``postgres`` in a temporary directory, as a non-root user (PostgreSQL refuses
root: as root the cluster runs as ``nobody``), on a free port, trust authentication on
127.0.0.1 only. One cluster per test session (per xdist worker); every test gets a fresh
database from :meth:`PostgresCluster.create_database`.

    with PostgresCluster() as pg:
        url = pg.create_database()       # postgresql://mailtool@127.0.0.1:PORT/t1

Durability settings are the defaults except ``fsync = off``: the tests kill serve nodes,
never the machine, and fsync on this disk would triple the suite's time. The benchmarks
run their own cluster with fsync on.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.peers import ProcessPeer, free_port, require_tool

#: the role the tests connect as (a superuser of the private cluster)
ROLE = "mailtool"


def pg_bindir() -> str:
    """Debian's versioned bin dir (postgres and initdb are not on PATH there)."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(f"{candidate}/postgres", os.X_OK):
            return candidate
    found = shutil.which("postgres")
    if found:
        return str(Path(found).resolve().parent)
    require_tool("postgres")  # skips (or fails under MAILTOOL_REQUIRE_PEERS=1)
    raise AssertionError("unreachable")


class PostgresCluster(ProcessPeer):
    """One private cluster; ``url(dbname)``, ``create_database()``, ``restart()``."""

    _counter = itertools.count(1)

    def __init__(self, *, fsync: bool = False, host: str = "127.0.0.1") -> None:
        self.bindir = pg_bindir()
        self.host = host
        self.port = free_port(host)
        self.fsync = fsync
        self.root = Path(tempfile.mkdtemp(prefix="mailtool-pg-"))
        self.data = self.root / "data"
        self.log_path = self.root / "postgres.log"
        # PostgreSQL will not run as root: use nobody, who must own the cluster's files
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = "nobody"
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def _run_as(self) -> dict[str, Any]:
        return {"user": self.user} if self.user else {}

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{ROLE}@{self.host}:{self.port}/{dbname}"

    def start(self) -> PostgresCluster:
        if not self.data.exists():
            subprocess.run(
                [f"{self.bindir}/initdb", "-D", str(self.data), "-U", ROLE, "--auth=trust",
                 "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                check=True, capture_output=True, **self._run_as(),
            )
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.log_path, entry.pw_uid, entry.pw_gid)
        self.proc = subprocess.Popen(
            [f"{self.bindir}/postgres", "-D", str(self.data),
             "-c", f"port={self.port}", "-c", f"listen_addresses={self.host}",
             "-c", f"unix_socket_directories={self.root}",
             "-c", f"fsync={'on' if self.fsync else 'off'}",
             "-c", "full_page_writes=off" if not self.fsync else "full_page_writes=on",
             "-c", "max_connections=300", "-c", "shared_buffers=64MB"],
            stdout=log, stderr=log, **self._run_as(),
        )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 30) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited {self.proc.returncode}:\n{self.log()}")
            try:
                with psycopg.connect(self.url(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise RuntimeError(f"postgres did not start within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        # SIGINT: PostgreSQL's "fast" shutdown (clients are disconnected, no recovery needed)
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self, down: float = 0.0) -> None:
        """Stop, stay down ``down`` seconds, start again on the same port."""
        self.stop()
        time.sleep(down)
        self.start()

    def create_database(self, name: str | None = None, *, template: str | None = None) -> str:
        """A new database, empty or a copy of ``template``; returns its URL."""
        import psycopg

        name = name or f"t{os.getpid()}_{next(self._counter)}"
        copy = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
