"""A real DNS resolver on loopback (dnsmasq) serving ``*.test`` records for a test.

Records are dnsmasq option lines, e.g.::

    DnsServer(tmp_path, [
        "mx-host=a.test,mx.a.test,10",
        "host-record=mx.a.test,127.0.0.2",
        'txt-record=a.test,"v=spf1 ip4:127.0.0.2 -all"',
        "srv-host=_submission._tcp.a.test,mx.a.test,587,0,1",
        "ptr-record=2.0.0.127.in-addr.arpa,mx.a.test",
    ])

Every other name under ``test`` (and the reverse zone) answers NXDOMAIN; nothing
is forwarded anywhere.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from tests.peers import ProcessPeer, free_udp_tcp_port, require_tool


class DnsServer(ProcessPeer):
    def __init__(self, workdir: Path, records: Iterable[str], host: str = "127.0.0.1") -> None:
        self.binary = require_tool("dnsmasq")
        self.workdir = Path(workdir)
        self.records = list(records)
        self.host = host
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """``HOST:PORT``, the form MAILTOOL_NAMESERVERS and dns.nameservers take."""
        return f"{self.host}:{self.port}"

    def start(self) -> DnsServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "dnsmasq.conf"
        lines = [
            "no-resolv",
            "no-hosts",
            "no-poll",
            "bind-interfaces",
            f"listen-address={self.host}",
            "local=/test/",
            "local=/in-addr.arpa/",
            "domain-needed",
            "bogus-priv",
            "log-facility=-",
            "cache-size=0",
        ]
        conf.write_text("\n".join(lines + self.records) + "\n")
        self.port = free_udp_tcp_port(self.host)
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--keep-in-foreground",
                f"--conf-file={conf}",
                f"--port={self.port}",
                "--pid-file=",
                "--user=root",
                "--group=root",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / "dnsmasq.log", "wb"),  # noqa: SIM115 - closed by the child
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        import dns.message
        import dns.query

        query = dns.message.make_query("ready.test", "A")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                log = (self.workdir / "dnsmasq.log").read_text(errors="replace")
                raise RuntimeError(f"dnsmasq exited: {log}")
            try:
                dns.query.udp(query, self.host, port=self.port, timeout=0.5)
                return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("dnsmasq did not answer within 10 s")
