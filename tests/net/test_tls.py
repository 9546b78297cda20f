"""TLS: the embedded self-signed certificate, configured certificates, SIGHUP reload, TLS 1.2+."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path

import pytest

from mailtool.errors import ConfigError
from mailtool.net.tls import CertStore, client_context


async def _peer_cert_der(ctx_server: ssl.SSLContext, client: ssl.SSLContext) -> bytes:
    async def handle(reader, writer):
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx_server)
    port = server.sockets[0].getsockname()[1]
    try:
        _, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client, server_hostname="localhost"
        )
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        writer.close()
        return der
    finally:
        server.close()
        await server.wait_closed()


def test_self_signed_is_generated_once_with_matching_fingerprint(tmp_path):
    store = CertStore.open("", "", tmp_path, "mail.example.test")
    assert store.generated
    assert (tmp_path / "selfsigned.key").stat().st_mode & 0o077 == 0
    out = subprocess.run(
        ["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", str(store.cert)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip().split("=", 1)[1] == store.fingerprint
    text = subprocess.run(
        ["openssl", "x509", "-noout", "-text", "-in", str(store.cert)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "DNS:mail.example.test" in text
    again = CertStore.open("", "", tmp_path, "mail.example.test")
    assert not again.generated
    assert again.fingerprint == store.fingerprint


def test_configured_pair_is_used_and_reloaded(tmp_path, certificate_authority):
    ca = certificate_authority
    cert_path, key_path = tmp_path / "mail.crt", tmp_path / "mail.key"
    first = ca.issue_cert("localhost")
    first.cert_chain_pems[0].write_to_path(cert_path)
    first.private_key_pem.write_to_path(key_path)
    store = CertStore.open(str(cert_path), str(key_path), tmp_path, "ignored")
    assert not store.generated
    client = client_context()
    ca.configure_trust(client)

    der1 = asyncio.run(_peer_cert_der(store.context, client))
    assert (
        ssl.DER_cert_to_PEM_cert(der1).strip() == first.cert_chain_pems[0].bytes().decode().strip()
    )

    second = ca.issue_cert("localhost")
    second.cert_chain_pems[0].write_to_path(cert_path)
    second.private_key_pem.write_to_path(key_path)
    store.reload()  # what SIGHUP does: same context object, new certificate
    der2 = asyncio.run(_peer_cert_der(store.context, client))
    assert der2 != der1
    assert (
        ssl.DER_cert_to_PEM_cert(der2).strip() == second.cert_chain_pems[0].bytes().decode().strip()
    )


def test_tls_floor_is_1_2_and_1_2_clients_connect(tmp_path):
    # OpenSSL here cannot even offer TLS 1.0/1.1 as a client, so the floor is checked on the
    # context, and a client capped at TLS 1.2 proves 1.2 itself still works.
    store = CertStore.open("", "", tmp_path, "localhost")
    assert store.context.minimum_version == ssl.TLSVersion.TLSv1_2
    capped = client_context(verify=False)
    capped.maximum_version = ssl.TLSVersion.TLSv1_2
    assert asyncio.run(_peer_cert_der(store.context, capped))


def test_missing_configured_files_say_which(tmp_path: Path):
    with pytest.raises(ConfigError, match="no such file"):
        CertStore.open(str(tmp_path / "x.crt"), str(tmp_path / "x.key"), tmp_path, "h")
