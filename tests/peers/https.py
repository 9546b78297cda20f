"""A small HTTPS server on loopback (trustme certificate) serving fixed files
per Host header, e.g. MTA-STS policies (RFC 8461 §3.3) for diagnose tests.

    with HTTPSServer("127.0.0.12", leaf, {("mta-sts.good.test", "/.well-known/mta-sts.txt"):
                                          (200, "text/plain", b"version: STSv1...")}) as srv:
        srv.port
"""

from __future__ import annotations

import ssl
import tempfile
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Route = tuple[int, str, bytes]


class HTTPSServer:
    def __init__(
        self, host: str, cert: Any, routes: Mapping[tuple[str, str], Route], port: int = 0
    ) -> None:
        self.host = host
        self.cert = cert  # trustme.LeafCert
        self.routes = dict(routes)
        self.port = port
        self.requests: list[tuple[str, str]] = []
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> HTTPSServer:
        routes, requests = self.routes, self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host = (self.headers.get("Host") or "").split(":")[0].lower()
                requests.append((host, self.path))
                status, ctype, body = routes.get((host, self.path), (404, "text/plain", b"no"))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as tmp:
            pem = Path(tmp) / "leaf.pem"
            self.cert.private_key_and_cert_chain_pem.write_to_path(str(pem))
            ctx.load_cert_chain(str(pem))
        server = ThreadingHTTPServer((self.host, self.port), Handler)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HTTPSServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
