"""A test zone for authentication: a.test signs and publishes SPF/DMARC p=reject,
q.test publishes DMARC p=quarantine; keys are generated per test session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mailtool.dns import Resolver
from mailtool.mta.authn import keys
from tests.peers import free_port


def txt(name: str, value: str) -> str:
    """A dnsmasq txt-record line, the value split into 255-octet strings (RFC 1035)."""
    parts = ",".join(f'"{value[i : i + 255]}"' for i in range(0, len(value), 255))
    return f"txt-record={name},{parts}"


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DATA_DIR with an RSA and an Ed25519 key for a.test (made once: RSA is slow)."""
    data = tmp_path_factory.mktemp("dkim-data")
    keys.generate(data, "a.test", "mailtool", "rsa")
    keys.generate(data, "a.test", "mailtool-ed25519", "ed25519")
    return data


def zone(data_dir: Path, extra: tuple[str, ...] = ()) -> list[str]:
    records = [
        txt("a.test", "v=spf1 ip4:127.0.0.2 -all"),
        txt("_dmarc.a.test", "v=DMARC1; p=reject; rua=mailto:dmarc@a.test"),
        txt("q.test", "v=spf1 ip4:127.0.0.3 -all"),
        txt("_dmarc.q.test", "v=DMARC1; p=quarantine"),
        txt("evil.test", "v=spf1 ip4:127.0.0.9 -all"),
        "host-record=mx.a.test,127.0.0.2",
    ]
    for key in keys.load_keys(data_dir, "a.test"):
        records.append(txt(key.record_name, key.txt_record()))
    return records + list(extra)


@pytest.fixture
def auth_dns(dns_server: Callable[..., Any], key_dir: Path) -> Callable[..., Resolver]:
    """Factory: a resolver on a dnsmasq serving :func:`zone` plus ``extra`` lines."""

    def start(*extra: str) -> Resolver:
        server = dns_server(zone(key_dir, extra))
        return Resolver([server.address], timeout=3)

    return start


class Sink:
    """An aiosmtpd server (STARTTLS with ``cert`` when given) that keeps what it gets."""

    def __init__(self, cert: Any = None, tmp: Path | None = None) -> None:
        import ssl

        from aiosmtpd.controller import Controller

        ctx = None
        if cert is not None and tmp is not None:
            pem = tmp / "sink.pem"
            cert.private_key_and_cert_chain_pem.write_to_path(str(pem))
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(str(pem))
        self.messages: list[bytes] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port(),
                                     tls_context=ctx)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 2.0.0 ok"
