"""A private HAProxy (Debian ``haproxy``) on loopback, in TCP mode, in front of mailtool
nodes, sending the PROXY protocol header (``send-proxy-v2`` or ``send-proxy``).

    proxy = HAProxy(tmp_path / "haproxy", {"smtp": [node_a.address("smtp"),
                                                    node_b.address("smtp")]}, proxy="v2").start()
    smtplib.SMTP("127.0.0.1", proxy.port("smtp"), source_address=("127.0.0.5", 0))
    proxy.sessions("smtp")  # {"n0": 1, "n1": 1}: connections each node was given

Each service is one ``listen`` section on a free port of ``host`` with the nodes as
``roundrobin`` servers, no health checks (nothing reaches a node but the test's own
connections, so the rotation is the test's to count). HAProxy connects to the nodes from
``source`` (default 127.0.0.3), which is what the nodes' ``[listen] proxy_from`` must
name; clients should bind another loopback address (127.0.0.5) so the address the nodes
see is visibly the client's. Implicit-TLS services (imaps, submissions...) pass through
untouched: the header goes before the TLS handshake, as with a real deployment.
Timeouts are long enough for IMAP IDLE.
"""

from __future__ import annotations

import contextlib
import csv
import io
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from tests.peers import ProcessPeer, free_port, require_tool

#: HAProxy's server keyword for each header version
SEND_PROXY = {"v2": "send-proxy-v2", "v1": "send-proxy"}
#: the address HAProxy connects to the nodes from (their ``[listen] proxy_from``)
SOURCE = "127.0.0.3"


class HAProxy(ProcessPeer):
    def __init__(
        self,
        workdir: Path,
        backends: Mapping[str, Sequence[tuple[str, int]]],
        *,
        proxy: str = "v2",
        host: str = "127.0.0.1",
        source: str = SOURCE,
    ) -> None:
        if proxy not in SEND_PROXY:
            raise ValueError(f"proxy must be one of {', '.join(SEND_PROXY)}")
        self.binary = require_tool("haproxy")
        self.workdir = Path(workdir)
        self.backends = {name: list(nodes) for name, nodes in backends.items()}
        self.proxy = proxy
        self.host = host
        self.source = source
        self.ports: dict[str, int] = {}
        self.stats_socket = self.workdir / "stats.sock"

    def port(self, service: str) -> int:
        """HAProxy's port for ``service`` (on :attr:`host`)."""
        return self.ports[service]

    def address(self, service: str) -> tuple[str, int]:
        return self.host, self.ports[service]

    def config(self) -> str:
        lines = [
            "global",
            "    maxconn 512",
            f"    stats socket {self.stats_socket} mode 600 level admin",
            "defaults",
            "    mode tcp",
            "    timeout connect 5s",
            "    timeout client 30m",
            "    timeout server 30m",
            "    timeout tunnel 30m",
        ]
        for name, nodes in self.backends.items():
            lines += [
                f"listen {name}",
                f"    bind {self.host}:{self.ports[name]}",
                "    balance roundrobin",
                f"    source {self.source}",
            ]
            lines += [f"    server n{i} {host}:{port} {SEND_PROXY[self.proxy]}"
                      for i, (host, port) in enumerate(nodes)]
        return "\n".join(lines) + "\n"

    def start(self) -> HAProxy:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ports = {name: free_port(self.host) for name in self.backends}
        cfg = self.workdir / "haproxy.cfg"
        cfg.write_text(self.config())
        check = subprocess.run([self.binary, "-c", "-q", "-f", str(cfg)], capture_output=True,
                               text=True)  # fmt: skip
        if check.returncode != 0:
            raise RuntimeError(f"haproxy refused its config:\n{check.stdout}{check.stderr}")
        self.log_path = self.workdir / "haproxy.log"
        self.proc = subprocess.Popen(
            [self.binary, "-db", "-f", str(cfg)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.log_path, "wb"),  # noqa: SIM115 - closed by the child
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        # the stats socket answers once the listeners are bound; probing the service
        # ports instead would reach a node and move the round robin
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"haproxy exited:\n{self.log()}")
            with contextlib.suppress(OSError):
                if "Name: HAProxy" in self.command("show info"):
                    return
            time.sleep(0.05)
        raise RuntimeError(f"haproxy did not start within 10 s:\n{self.log()}")

    def command(self, line: str) -> str:
        """One command on the stats socket (``show info``, ``show stat``...)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.stats_socket))
            sock.sendall(line.encode() + b"\n")
            out = b""
            while chunk := sock.recv(65536):
                out += chunk
        return out.decode(errors="replace")

    def sessions(self, service: str) -> dict[str, int]:
        """Connections HAProxy has passed to each node of ``service`` so far ("n0", ...)."""
        rows = csv.DictReader(io.StringIO(self.command("show stat").lstrip("# ")))
        return {row["svname"]: int(row["stot"]) for row in rows
                if row["pxname"] == service and row["svname"] not in ("FRONTEND", "BACKEND")}

    def log(self) -> str:
        path = getattr(self, "log_path", None)
        return path.read_text(errors="replace") if path and path.exists() else ""


@contextlib.contextmanager
def haproxy_factory(workdir: Path) -> Iterator[Callable[..., HAProxy]]:
    """What the ``haproxy`` fixture yields: ``start(backends, proxy="v2", ...)``; every
    HAProxy started is stopped at the end."""
    started: list[HAProxy] = []

    def start(backends: Mapping[str, Sequence[tuple[str, int]]], **kwargs: object) -> HAProxy:
        proxy = HAProxy(workdir / f"haproxy{len(started)}", backends, **kwargs)  # type: ignore[arg-type]
        started.append(proxy)
        return proxy.start()

    try:
        yield start
    finally:
        for proxy in started:
            proxy.stop()
