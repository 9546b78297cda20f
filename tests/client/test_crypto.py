"""PGP (RFC 3156, inline) and S/MIME through gpg / openssl: messages made by those tools
are judged right by mailtool.client.crypto, and messages our composer signs or encrypts
are accepted by gpg itself."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from mailtool.client import crypto
from mailtool.client.compose import Draft, build, without_bcc
from tests.client import gpg as keys
from tests.client.gpg import gpg, require

gnupg_home = keys.gnupg_home  # the fixtures, for this module
stranger_home = keys.stranger_home

HEAD = (b"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: s\r\n"
        b"Message-ID: <1@example.test>\r\nMIME-Version: 1.0\r\n")
PART = (b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
        b"Meet at noon.\r\n-- \r\nBob\r\n")


def pgp_mime_signed(home: Path, signer: str, part: bytes = PART) -> bytes:
    """A PGP/MIME signed message assembled by hand, signed by gpg (RFC 3156 §5)."""
    sig = gpg(home, "--armor", "--detach-sign", "--local-user", signer, data=part)
    return (HEAD + b'Content-Type: multipart/signed; boundary="XX"; micalg=pgp-sha256;\r\n'
            b' protocol="application/pgp-signature"\r\n\r\nThis is signed.\r\n--XX\r\n' + part
            + b"\r\n--XX\r\nContent-Type: application/pgp-signature\r\n\r\n" + sig
            + b"\r\n--XX--\r\n")


def draft() -> Draft:
    return Draft(from_="Alice <alice@example.test>", to="bob@example.test", subject="plan",
                 body="Meet at noon. Trailing space here: \n-- \nAlice\n")


def first_part(raw: bytes) -> tuple[bytes, bytes]:
    """(signed bytes, signature) of a multipart/signed, cut by a regex (not our code)."""
    boundary = re.search(rb'boundary="([^"]+)"', raw).group(1)
    pieces = raw.split(b"\r\n--" + boundary + b"\r\n")  # no preamble: [headers, 1, 2--]
    return pieces[1], pieces[2].split(b"\r\n\r\n", 1)[1]


def test_pgp_mime_signature_made_by_gpg_is_good_bad_or_unknown(gnupg_home, stranger_home):
    good = pgp_mime_signed(gnupg_home, "bob@example.test")
    assert crypto.examine(good).status == ["PGP signed by Bob <bob@example.test> (good)"]
    tampered = good.replace(b"noon", b"nine")
    assert crypto.examine(tampered).status == [
        "PGP signed by Bob <bob@example.test> (bad signature)"]
    # LF line ends (a maildir copy) are still checked in canonical CRLF form
    assert "(good)" in crypto.examine(good.replace(b"\r\n", b"\n")).text
    unknown = pgp_mime_signed(stranger_home, "mallory@example.test")
    [line] = crypto.examine(unknown).status
    assert line.startswith("PGP signed by key ") and line.endswith("(unknown key)")


def test_inline_clearsigned_text_is_verified(gnupg_home):
    signed = gpg(gnupg_home, "--clearsign", "--local-user", "bob@example.test",
                 data=b"inline words\n")
    raw = HEAD + b"Content-Type: text/plain\r\n\r\n" + signed.replace(b"\n", b"\r\n")
    assert crypto.examine(raw).status == ["PGP signed by Bob <bob@example.test> (good)"]
    bad = raw.replace(b"inline words", b"inline wordz")
    assert "(bad signature)" in crypto.examine(bad).text


def test_encrypted_by_gpg_is_decrypted_pgp_mime_and_inline(gnupg_home):
    armour = gpg(gnupg_home, "--armor", "--encrypt", "--recipient", "alice@example.test",
                 data=PART)
    raw = (HEAD + b'Content-Type: multipart/encrypted; boundary="YY";\r\n'
           b' protocol="application/pgp-encrypted"\r\n\r\n--YY\r\n'
           b"Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--YY\r\n"
           b"Content-Type: application/octet-stream\r\n\r\n" + armour + b"\r\n--YY--\r\n")
    found = crypto.examine(raw)
    assert found.status == ["PGP encrypted (decrypted)"]
    assert b"Meet at noon." in found.decrypted and b"Subject: s" in found.decrypted
    inline = gpg(gnupg_home, "--armor", "--encrypt", "--recipient", "alice@example.test",
                 data=b"inline secret\n")
    found = crypto.examine(HEAD + b"Content-Type: text/plain\r\n\r\n" + inline)
    assert found.status == ["PGP encrypted (decrypted)"] and b"inline secret" in found.decrypted


def test_our_signature_is_accepted_by_gpg_after_the_send_path(gnupg_home):
    signed = crypto.sign(build(draft()), key="alice@example.test")
    wire = without_bcc(signed)  # what SMTP carries
    data, signature = first_part(wire)
    assert b"=20" in data  # RFC 3156 §5: trailing space quoted-printable encoded
    sig_file = gnupg_home / "sig.asc"
    sig_file.write_bytes(signature)
    out = subprocess.run(["gpg", "--batch", "--status-fd", "1", "--verify", str(sig_file), "-"],
                         input=data, capture_output=True, check=False)
    assert b"GOODSIG" in out.stdout, out.stderr
    assert crypto.examine(wire).status == ["PGP signed by Alice <alice@example.test> (good)"]


def test_our_encryption_is_decrypted_by_gpg_and_signed_inside(gnupg_home):
    msg = crypto.protect(build(draft()), sign_it=True, encrypt_it=True,
                         key="alice@example.test", recipients=["bob@example.test"])
    wire = without_bcc(msg)
    assert b"multipart/encrypted" in wire and b"Meet at noon" not in wire
    armour = wire[wire.index(b"-----BEGIN PGP MESSAGE"):]
    out = subprocess.run(["gpg", "--batch", "--status-fd", "2", "--decrypt"], input=armour,
                         capture_output=True, check=False)
    assert b"DECRYPTION_OKAY" in out.stderr and b"GOODSIG" in out.stderr
    assert b"Meet at noon." in out.stdout
    assert crypto.examine(wire).status == ["PGP encrypted (decrypted)",
                                           "PGP signed by Alice <alice@example.test> (good)"]


def test_no_key_for_a_recipient_is_a_crypto_error_and_gpg_missing_is_said(gnupg_home,
                                                                          monkeypatch):
    with pytest.raises(crypto.CryptoError):
        crypto.encrypt(build(draft()), ["nobody@example.test"])
    raw = pgp_mime_signed(gnupg_home, "bob@example.test")
    monkeypatch.setattr(crypto, "GPG", "gpg-not-installed-here")
    assert crypto.examine(raw).status == ["cannot check: gpg-not-installed-here is not installed"]


def test_plain_mail_runs_no_tool(monkeypatch):
    monkeypatch.setattr(crypto, "_run", lambda *a, **k: pytest.fail("ran a tool"))
    assert crypto.examine(HEAD + PART).status == []


@pytest.fixture
def smime(tmp_path: Path) -> tuple[bytes, Path]:
    """A message S/MIME-signed by openssl with a self-signed certificate."""
    require("openssl")
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days",
                    "2", "-subj", "/CN=Carol/emailAddress=carol@example.test"],
                   check=True, capture_output=True)
    out = subprocess.run(["openssl", "smime", "-sign", "-signer", cert, "-inkey", key,
                          "-from", "carol@example.test", "-to", "alice@example.test",
                          "-subject", "smime"], input=PART, capture_output=True, check=True)
    return out.stdout, cert


def test_smime_signature_good_untrusted_and_bad(smime):
    raw, cert = smime
    assert crypto.examine(raw, cafile=str(cert)).status == [
        "S/MIME signed by carol@example.test (good)"]
    assert crypto.examine(raw).status == [
        "S/MIME signed by carol@example.test (unknown key: certificate not trusted)"]
    assert crypto.examine(raw.replace(b"noon", b"nine")).status == ["S/MIME signature (bad)"]
