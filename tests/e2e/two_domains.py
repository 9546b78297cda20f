"""Two mail domains on one machine: dnsmasq serves their MX records, each domain's
server listens on its own loopback address with the same SMTP port, and each
relays to the other on that port (``[outbound] port``).

    a.test  MX 10 mx.a.test -> 127.0.0.2
    b.test  MX 10 mx.b.test -> 127.0.0.3
"""

from __future__ import annotations

import email
import imaplib
import smtplib
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from pathlib import Path
from typing import Any

from tests.harness import MailtoolServer, render_toml
from tests.peers.dnsmasq import DnsServer

A_IP, B_IP = "127.0.0.2", "127.0.0.3"
BASE_RECORDS = [
    "mx-host=a.test,mx.a.test,10",
    f"host-record=mx.a.test,{A_IP}",
    "mx-host=b.test,mx.b.test,10",
    f"host-record=mx.b.test,{B_IP}",
]
#: retries every second, so a test sees a retry without waiting minutes
FAST_QUEUE = {"retry_first": 1.0, "retry_factor": 1.0, "retry_max": 1.0, "poll_interval": 0.5}


def shared_port(*hosts: str) -> int:
    """A TCP port free on every one of ``hosts`` (127.0.0.x), so all can listen on it."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind((hosts[0], 0))
            port = s.getsockname()[1]
        ok = True
        for host in hosts:
            with socket.socket() as s:
                try:
                    s.bind((host, port))
                except OSError:
                    ok = False
                    break
        if ok:
            return port
    raise RuntimeError("no port free on all of " + ", ".join(hosts))


def domain_server(
    workdir: Path,
    ip: str,
    hostname: str,
    port: int,
    dns: DnsServer,
    queue: dict[str, Any] | None = None,
    **config: Any,
) -> MailtoolServer:
    """A mailtool for one domain: inbound SMTP on ``ip:port``, submission and IMAPS on
    ephemeral ports, relaying to ``port`` of the other domains' MX hosts."""
    cfg: dict[str, Any] = {
        "hostname": hostname,
        "listen": {"smtp": f"{ip}:{port}"},
        "dns": {"nameservers": [dns.address]},
        "outbound": {"port": port, "source_address": ip},
        "queue": {**FAST_QUEUE, **(queue or {})},
    }
    cfg.update(config)
    return MailtoolServer(workdir, host=ip, services=("smtp", "submission", "imaps"), config=cfg)


def start_with_users(server: MailtoolServer, users: dict[str, str]) -> MailtoolServer:
    """Create the users before the server listens, so no mail can arrive before them."""
    server.workdir.mkdir(parents=True, exist_ok=True)
    server.config_path.write_text(render_toml(server.config))
    for address, password in users.items():
        server.add_user(address, password)
    return server.start()


@contextmanager
def alice_and_bob(workdir: Path, dns: DnsServer) -> Iterator[tuple[MailtoolServer, MailtoolServer]]:
    """a.test's server with alice (password alice-pw), b.test's with bob (bob-pw)."""
    port = shared_port(A_IP, B_IP)
    a = domain_server(workdir / "a", A_IP, "mx.a.test", port, dns)
    b = domain_server(workdir / "b", B_IP, "mx.b.test", port, dns)
    try:
        start_with_users(a, {"alice@a.test": "alice-pw"})
        start_with_users(b, {"bob@b.test": "bob-pw"})
        yield a, b
    finally:
        b.stop()
        a.stop()


def insecure() -> ssl.SSLContext:
    """The servers use their generated self-signed certificates."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def submit(
    server: MailtoolServer, user: str, password: str, to: list[str], subject: str, extra: str = ""
) -> bytes:
    """``user`` sends a message on 587 with STARTTLS and AUTH, as a mail client would."""
    msg = (
        f"From: {user}\r\nTo: {', '.join(to)}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '.')}@{user.split('@')[1]}>\r\n{extra}"
        f"\r\nHello from {user}.\r\n"
    ).encode()
    with smtplib.SMTP(*server.address("submission"), timeout=30) as c:
        c.starttls(context=insecure())
        c.login(user, password)
        assert c.sendmail(user, to, msg) == {}
    return msg


def imap_messages(
    server: MailtoolServer, user: str, password: str, count: int = 1, timeout: float = 30
) -> list[email.message.EmailMessage]:
    """Wait until ``user``'s INBOX holds ``count`` messages, read over IMAPS."""
    deadline = time.monotonic() + timeout
    while True:
        imap = imaplib.IMAP4_SSL(*server.address("imaps"), ssl_context=insecure())
        try:
            imap.login(user, password)
            imap.select("INBOX", readonly=True)
            _, data = imap.uid("SEARCH", "ALL")
            uids = data[0].split()
            if len(uids) >= count:
                out = []
                for uid in uids:
                    _, parts = imap.uid("FETCH", uid, "(BODY.PEEK[])")
                    out.append(email.message_from_bytes(parts[0][1], policy=policy.default))
                return out
        finally:
            imap.logout()
        if time.monotonic() > deadline:
            raise AssertionError(f"{user}: {len(uids)} of {count} messages\n{server.log()}")
        time.sleep(0.2)
