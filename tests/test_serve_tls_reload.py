"""A configured certificate is served as is and re-read on SIGHUP, without a restart."""

from __future__ import annotations

import signal
import socket
import ssl
import time

from mailtool.net.tls import client_context


def served_certificate(host: str, port: int, ca) -> bytes:
    ctx = client_context()
    ca.configure_trust(ctx)
    with (
        socket.create_connection((host, port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="mail.test") as tls,
    ):
        return tls.getpeercert(binary_form=True)


def pem_to_der(pem: bytes) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem.decode())


def test_configured_certificate_is_used_and_reloaded_on_sighup(
    tmp_path, mailtool_server, certificate_authority
):
    ca = certificate_authority
    cert_path, key_path = tmp_path / "mail.crt", tmp_path / "mail.key"
    first = ca.issue_cert("mail.test")
    first.cert_chain_pems[0].write_to_path(cert_path)
    first.private_key_pem.write_to_path(key_path)
    server = mailtool_server(
        services=("submissions",),
        config={"tls": {"cert": str(cert_path), "key": str(key_path)}},
    )
    host, port = server.address("submissions")
    assert served_certificate(host, port, ca) == pem_to_der(first.cert_chain_pems[0].bytes())
    assert not (server.data_dir / "tls" / "selfsigned.crt").exists()

    second = ca.issue_cert("mail.test")
    second.cert_chain_pems[0].write_to_path(cert_path)
    second.private_key_pem.write_to_path(key_path)
    server.proc.send_signal(signal.SIGHUP)
    wanted = pem_to_der(second.cert_chain_pems[0].bytes())
    deadline = time.monotonic() + 10
    while served_certificate(host, port, ca) != wanted:
        assert time.monotonic() < deadline, "certificate not reloaded after SIGHUP"
        time.sleep(0.1)
    assert server.proc.poll() is None
    assert "tls.reload" in server.log()
