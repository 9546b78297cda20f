"""Run a real ``mailtool serve`` on 127.0.0.1 with ephemeral ports for a test.

The server is a subprocess (``python -m mailtool``), as users run it: tests see
real sockets, real signals and real start-up. Ports are 0 in the config; the
bound addresses come from ``DATA_DIR/run/listeners.json``.
"""

from __future__ import annotations

import json
import os
import pwd
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

SERVICES = (
    "smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s", "managesieve",
)  # fmt: skip


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def render_toml(data: Mapping[str, Any]) -> str:
    top = [f"{k} = {toml_value(v)}" for k, v in data.items() if not isinstance(v, Mapping)]
    tables = []
    for k, v in data.items():
        if isinstance(v, Mapping):
            tables.append(f"\n[{k}]")
            tables += [f"{sk} = {toml_value(sv)}" for sk, sv in v.items()]
    return "\n".join(top + tables) + "\n"


class MailtoolServer:
    """A ``mailtool serve`` subprocess with its own data dir and config."""

    def __init__(
        self,
        workdir: Path,
        *,
        host: str = "127.0.0.1",
        services: Iterable[str] = SERVICES,
        config: Mapping[str, Mapping[str, Any] | Any] | None = None,
        env: Mapping[str, str] | None = None,
        schema_ready: bool = False,
    ) -> None:
        self.workdir = Path(workdir)
        #: the PostgreSQL database has the current schema already (cloned from the
        #: fixture's template): no ``store init`` before each start
        self.schema_ready = schema_ready
        self.data_dir = self.workdir / "data"
        self.config_path = self.workdir / "mailtool.toml"
        self.host = host
        self.env = {**os.environ, **(env or {})}
        #: the interpreter of ``serve`` and ``cli`` (the privsep tests may need one the
        #: service user can read)
        self.python = sys.executable
        wanted = set(services)
        listen = {s: (f"{host}:0" if s in wanted else False) for s in SERVICES}
        cfg: dict[str, Any] = {
            "data_dir": str(self.data_dir),
            "hostname": "mail.test",
            "listen": listen,
            "security": {"plaintext_auth_on_loopback": False, "login_failure_delay": 0.1},
            # run as whoever runs the tests (as root: no privilege drop, whose data dir under
            # pytest's 0700 tmp would be out of the service user's reach); the privsep tests
            # name their own service user
            "server": {"user": pwd.getpwuid(os.geteuid()).pw_name},
            # one SMTP process, not the default's one per core: hundreds of servers start in
            # a run; tests/mta/test_smtp_workers.py runs several
            "limits": {"smtp_workers": 1},
        }
        for key, value in (config or {}).items():
            if isinstance(value, Mapping):
                cfg[key] = {**cfg.get(key, {}), **value}
            else:
                cfg[key] = value
        self.config = cfg
        # MAILTOOL_NAMESERVERS (set for the whole run by conftest's DNS guard) overrides
        # the config file, so a resolver the test names in the config goes there too
        nameservers = cfg.get("dns", {}).get("nameservers")
        if nameservers and not (env and "MAILTOOL_NAMESERVERS" in env):
            self.env["MAILTOOL_NAMESERVERS"] = ",".join(nameservers)
        self.proc: subprocess.Popen[bytes] | None = None
        self.listeners: dict[str, tuple[str, int]] = {}

    # ---------------------------------------------------------------- lifecycle

    @property
    def store_url(self) -> str:
        """The PostgreSQL backend's URL ("" on the SQLite + Maildir default)."""
        return str(self.config.get("store", {}).get("url", ""))

    def start(self, timeout: float = 30) -> MailtoolServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(render_toml(self.config))
        if self.store_url and not self.schema_ready:
            self.cli("store", "init")  # idempotent: a second node or a restart applies nothing
        listeners = self.data_dir / "run" / "listeners.json"
        listeners.unlink(missing_ok=True)
        self.log_path = self.workdir / f"serve-{int(time.time() * 1000)}.log"
        self.proc = subprocess.Popen(
            [self.python, "-m", "mailtool", "--config", str(self.config_path), "serve"],
            stdout=subprocess.DEVNULL,
            stderr=open(self.log_path, "wb"),  # noqa: SIM115 - the child owns it
            env=self.env,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mailtool serve exited {self.proc.returncode}:\n{self.log()}")
            if listeners.exists():
                data = json.loads(listeners.read_text())
                self.listeners = {k: _split(v) for k, v in data.items()}
                return self
            time.sleep(0.05)
        raise RuntimeError(f"mailtool serve did not start within {timeout}s:\n{self.log()}")

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def kill(self) -> None:
        """SIGKILL, for crash tests."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> MailtoolServer:
        self.stop()
        return self.start()

    def __enter__(self) -> MailtoolServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.stop()

    # ---------------------------------------------------------------- helpers

    def log(self) -> str:
        path = getattr(self, "log_path", None)
        return path.read_text(errors="replace") if path and path.exists() else ""

    def wait_log(self, text: str, count: int = 1, timeout: float = 20) -> str:
        """Wait until the log holds ``text`` ``count`` times (a worker process logs on
        its own schedule); returns the log."""
        deadline = time.monotonic() + timeout
        while (log := self.log()).count(text) < count:
            assert time.monotonic() < deadline, f"{text!r} x{count} not logged:\n{log}"
            assert self.proc is not None and self.proc.poll() is None, log
            time.sleep(0.05)
        return log

    def port(self, service: str) -> int:
        return self.listeners[service][1]

    def address(self, service: str) -> tuple[str, int]:
        return self.listeners[service]

    def cli(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run ``mailtool --config ... ARGS`` against this server's data dir."""
        result = subprocess.run(
            [self.python, "-m", "mailtool", "--config", str(self.config_path), *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"mailtool {' '.join(args)} exited {result.returncode}:\n"
                + result.stdout
                + result.stderr
            )
        return result

    def add_user(self, address: str, password: str = "secret") -> None:
        """Create the domain (if needed) and the user."""
        domain = address.rpartition("@")[2]
        self.cli("domain", "add", domain, check=False)
        self.cli("user", "add", address, "--password-stdin", input=password + "\n")


def _split(hostport: str) -> tuple[str, int]:
    host, _, port = hostport.rpartition(":")
    return host.strip("[]"), int(port)
