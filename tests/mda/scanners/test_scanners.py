"""clamd INSTREAM and spamd SPAMC/1.5 against the real daemons, and the [scan] policy."""

from __future__ import annotations

import asyncio
import base64

import pytest

from mailtool.config import ScanConfig
from mailtool.mda.filtering import DEFAULT_GLOBAL_SCRIPT, run_filters
from mailtool.mda.scanners import ScannerDown
from mailtool.mda.scanners import clamd as clamd_client
from mailtool.mda.scanners import spamd as spamd_client
from mailtool.mda.scanners.policy import ACCEPT, REJECT, TEMPFAIL, Scanner, add_headers
from mailtool.mda.sieve import Envelope
from tests.mda.scanners.conftest import EICAR, GTUBE, SIGNATURE
from tests.peers import free_port

HEAD = (
    b"From: a@example.org\r\nTo: b@example.com\r\nSubject: test\r\nMessage-ID: <1@example.org>\r\n"
)
CLEAN = HEAD + b"\r\nJust a friendly note about lunch tomorrow.\r\n"


def with_attachment(payload: bytes) -> bytes:
    return (
        HEAD + b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b"--XX\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(payload) + b"--XX--\r\n"
    )


def run(coro):
    return asyncio.run(coro)


# ---------------------------------------------------------------- clamd


@pytest.mark.peer
def test_clamd_finds_eicar_in_an_attachment(clamd):
    result = run(clamd_client.scan(with_attachment(EICAR), clamd.address, 30))
    assert result.infected and result.signature.startswith(SIGNATURE)
    assert not run(clamd_client.scan(with_attachment(b"harmless"), clamd.address, 30)).infected


@pytest.mark.peer
def test_clamd_over_a_unix_socket(clamd):
    assert run(clamd_client.scan(HEAD + b"\r\n" + EICAR + b"\r\n", clamd.socket_path, 30)).infected


@pytest.mark.peer
def test_policy_rejects_a_virus_with_554_and_the_signature(clamd):
    verdict = run(Scanner(ScanConfig(clamd=clamd.address)).scan(with_attachment(EICAR)))
    assert verdict.action == REJECT
    assert verdict.reply.startswith(f"554 5.7.1 virus found: {SIGNATURE}")
    clean = run(Scanner(ScanConfig(clamd=clamd.address), "mx.test").scan(CLEAN))
    assert clean.action == ACCEPT
    assert ("X-Virus-Scanned", "clamav at mx.test") in clean.headers


# ---------------------------------------------------------------- spamd


@pytest.mark.peer
def test_spamd_scores_gtube(spamd):
    result = run(spamd_client.scan(HEAD + b"\r\n" + GTUBE + b"\r\n", spamd, 60))
    assert result.spam and result.score >= 1000 and "GTUBE" in result.symbols
    ham = run(spamd_client.scan(CLEAN, spamd, 60))
    assert not ham.spam and ham.score < 5


@pytest.mark.peer
def test_policy_rejects_gtube_above_the_reject_threshold(spamd):
    verdict = run(Scanner(ScanConfig(spamd=spamd)).scan(HEAD + b"\r\n" + GTUBE + b"\r\n"))
    assert verdict.action == REJECT and verdict.reply.startswith("550 5.7.1 ")


@pytest.mark.peer
def test_junk_threshold_tags_and_the_global_rule_files_into_junk(spamd):
    cfg = ScanConfig(spamd=spamd, reject_threshold=5000, junk_threshold=5)
    message = HEAD + b"\r\n" + GTUBE + b"\r\n"
    verdict = run(Scanner(cfg, "mx.test").scan(message))
    assert verdict.action == ACCEPT and verdict.junk
    headers = dict(verdict.headers)
    assert headers["X-Spam-Flag"] == "YES"
    assert "GTUBE" in headers["X-Spam-Status"] and headers["X-Spam-Status"].startswith("Yes,")
    assert headers["X-Scan-Results"].startswith("mx.test; spamd=spam score=")
    tagged = add_headers(message, verdict.headers)
    decision = run_filters(None, DEFAULT_GLOBAL_SCRIPT, Envelope("a@example.org", "b@example.com"),
                           tagged)  # fmt: skip
    assert [d.folder for d in decision.deliveries] == ["Junk"]
    ham = run(Scanner(cfg).scan(CLEAN))
    assert dict(ham.headers)["X-Spam-Flag"] == "NO" and not ham.junk


# ---------------------------------------------------------------- scanner down


def test_scanner_down_is_451_by_default():
    dead = f"127.0.0.1:{free_port()}"
    for cfg in (ScanConfig(clamd=dead), ScanConfig(spamd=dead)):
        verdict = run(Scanner(cfg).scan(CLEAN))
        assert verdict.action == TEMPFAIL and verdict.reply.startswith("451 4.7.1 ")


def test_scanner_down_accept_and_tag():
    dead = f"127.0.0.1:{free_port()}"
    cfg = ScanConfig(clamd=dead, spamd=dead, on_failure="accept-and-tag")
    verdict = run(Scanner(cfg, "mx.test").scan(CLEAN))
    headers = dict(verdict.headers)
    assert verdict.action == ACCEPT
    assert headers["X-Spam-Status"].startswith("Unknown")
    assert headers["X-Scan-Results"] == "mx.test; clamav=temperror; spamd=temperror"


def test_a_silent_scanner_times_out():
    async def scenario() -> None:
        async def hang(reader, writer):
            await asyncio.sleep(3600)

        server = await asyncio.start_server(hang, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            with pytest.raises(ScannerDown, match="no answer"):
                await clamd_client.scan(CLEAN, f"127.0.0.1:{port}", 0.2)
            with pytest.raises(ScannerDown, match="no answer"):
                await spamd_client.scan(CLEAN, f"127.0.0.1:{port}", 0.2)

    run(scenario())


def test_nonsense_replies_are_scanner_down():
    with pytest.raises(ScannerDown):
        clamd_client.parse_reply(b"INSTREAM size limit exceeded. ERROR\0")
    with pytest.raises(ScannerDown):
        spamd_client.parse_reply(b"SPAMD/1.0 76 Bad header line\r\n\r\n")
    with pytest.raises(ScannerDown):
        spamd_client.parse_reply(b"")


def test_no_scanner_configured_accepts_untouched():
    verdict = run(Scanner(ScanConfig()).scan(CLEAN))
    assert verdict.action == ACCEPT and verdict.headers == []


def test_add_headers_drops_forged_ones():
    forged = (
        b"X-Spam-Flag: NO\r\nX-Spam-Status: No,\r\n folded tests=NONE\r\n"
        b"X-Virus-Scanned: clean, honest\r\nSubject: hi\r\n\r\nbody X-Spam-Flag: NO\r\n"
    )
    out = add_headers(forged, [("X-Spam-Flag", "YES")])
    assert out == b"X-Spam-Flag: YES\r\nSubject: hi\r\n\r\nbody X-Spam-Flag: NO\r\n"
