"""Let's Encrypt's test ACME server (Debian's ``pebble``) on loopback, for a test.

    with PebbleServer(tmp_path, dns="127.0.0.1:5353", http_port=8080) as pebble:
        pebble.directory      # https://127.0.0.1:PORT/dir, for [tls] acme_directory
        pebble.cafile         # the CA of pebble's own HTTPS, for [tls] acme_cafile
        pebble.root_pem()     # the root that signs what it issues (management /roots/0)

Pebble validates challenges for real (``PEBBLE_VA_ALWAYS_VALID=0``), at once
(``PEBBLE_VA_NOSLEEP=1``), resolving names with the given resolver (our dnsmasq
fixture, mapping the test names to 127.0.0.1) and connecting to ``http_port`` for
http-01 (RFC 8555 §8.3). It never rejects a good nonce (``PEBBLE_WFE_NONCEREJECT=0``):
the suite tests issuance, not badNonce retries. Its HTTPS certificate comes from trustme.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.peers import ProcessPeer, free_port, require_tool


class PebbleServer(ProcessPeer):
    def __init__(self, workdir: Path, *, dns: str, http_port: int, tls_port: int = 0) -> None:
        self.binary = require_tool("pebble")
        self.workdir = Path(workdir)
        self.dns = dns
        self.http_port = http_port
        self.tls_port = tls_port or free_port()
        self.port = 0
        self.management_port = 0
        self.cafile = str(self.workdir / "pebble-https-ca.pem")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def directory(self) -> str:
        return f"https://127.0.0.1:{self.port}/dir"

    def start(self) -> PebbleServer:
        import trustme

        self.workdir.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA()
        leaf = ca.issue_cert("127.0.0.1", "localhost")
        ca.cert_pem.write_to_path(self.cafile)
        cert, key = self.workdir / "pebble-cert.pem", self.workdir / "pebble-key.pem"
        leaf.cert_chain_pems[0].write_to_path(str(cert))
        leaf.private_key_pem.write_to_path(str(key))
        self.port, self.management_port = free_port(), free_port()
        config = {
            "pebble": {
                "listenAddress": f"127.0.0.1:{self.port}",
                "managementListenAddress": f"127.0.0.1:{self.management_port}",
                "certificate": str(cert),
                "privateKey": str(key),
                "httpPort": self.http_port,
                "tlsPort": self.tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
            }
        }
        conf = self.workdir / "pebble-config.json"
        conf.write_text(json.dumps(config, indent=2))
        env = {**os.environ, "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_VA_ALWAYS_VALID": "0",
               "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"}  # fmt: skip
        self.proc = subprocess.Popen(
            [self.binary, "-config", str(conf), "-dnsserver", self.dns, "-strict=false"],
            stdout=open(self.workdir / "pebble.log", "wb"),  # noqa: SIM115 - closed by the child
            stderr=subprocess.STDOUT,
            env=env,
        )
        self._wait_ready()
        return self

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cafile)

    def _get(self, url: str) -> bytes:
        with urllib.request.urlopen(url, context=self._context(), timeout=5) as response:
            return bytes(response.read())

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"pebble exited: {self.log}")
            try:
                self._get(self.directory)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"pebble did not answer within 20 s: {self.log}")

    @property
    def log(self) -> str:
        return (self.workdir / "pebble.log").read_text(errors="replace")

    def root_pem(self) -> str:
        """The root CA of the certificates pebble issues (new at every start)."""
        return self._get(f"https://127.0.0.1:{self.management_port}/roots/0").decode()
