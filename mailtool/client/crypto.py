"""PGP and S/MIME for the reader and the composer, through the user's own tools.

Never our own crypto: PGP is the ``gpg`` binary (the user's keyring,
``$GNUPGHOME``, their agent), S/MIME verification is ``openssl cms``. This
module only cuts messages into the pieces those tools take and puts their
answers back together:

* :func:`examine` (reader): verifies PGP/MIME signatures (RFC 3156 §5),
  inline ``-----BEGIN PGP SIGNED MESSAGE-----`` text, S/MIME signatures
  (RFC 8551 §3.5, detached or opaque), and decrypts PGP/MIME (RFC 3156 §4)
  or inline-armoured mail; it returns status lines ("PGP signed by X (good)")
  and, for decrypted mail, the clear message to show.
* :func:`protect` (composer): signs (``multipart/signed``) and/or encrypts
  (``multipart/encrypted``) an outgoing message with ``gpg``.

The signed bytes of ``multipart/signed`` are cut out of the raw message as
they came over the wire (RFC 3156 §5: the first body part, MIME headers
included, with CRLF line ends), never re-serialized by the email package.
"""

from __future__ import annotations

import email.policy
import itertools
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from mailtool.client.reading import parse
from mailtool.errors import MailtoolError

GPG = "gpg"
OPENSSL = "openssl"
#: a gpg or openssl run never takes longer than this (an agent waiting for a pinentry
#: nobody answers must not hang the reader forever)
TOOL_TIMEOUT = 60.0
#: the largest message examined (a bigger one is shown as is, with a note)
MAX_EXAMINE = 50 * 1024 * 1024

_PGP_SIGNED = b"-----BEGIN PGP SIGNED MESSAGE-----"
_PGP_MESSAGE = b"-----BEGIN PGP MESSAGE-----"
_SMIME_SIG = ("application/pkcs7-signature", "application/x-pkcs7-signature")
_SMIME_MIME = ("application/pkcs7-mime", "application/x-pkcs7-mime")


class CryptoError(MailtoolError):
    """gpg or openssl is missing, or refused (no key for a recipient, bad passphrase)."""


@dataclass
class Examined:
    """What the reader shows: ``status`` lines, and the clear message when decrypted."""

    status: list[str] = field(default_factory=list)
    #: the decrypted message (RFC 3156 §4: a whole MIME entity), or None
    decrypted: bytes | None = None

    @property
    def text(self) -> str:
        return "  ·  ".join(self.status)


def looks_protected(raw: bytes) -> bool:
    """Cheap test before running any tool: does ``raw`` carry a signature or ciphertext?"""
    head = raw[:8192].lower()
    return (b"multipart/signed" in head or b"multipart/encrypted" in head
            or any(t.encode() in head for t in _SMIME_MIME)
            or _PGP_SIGNED in raw or _PGP_MESSAGE in raw)


# -- running the tools ---------------------------------------------------------------------


def _run(argv: list[str], data: bytes = b"", *, ok_codes: tuple[int, ...] = (0,),
         gnupghome: str | None = None) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ)
    if gnupghome:
        env["GNUPGHOME"] = gnupghome
    try:
        out = subprocess.run(argv, input=data, capture_output=True, timeout=TOOL_TIMEOUT,
                             env=env, check=False)
    except FileNotFoundError:
        raise CryptoError(f"{argv[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise CryptoError(f"{argv[0]} did not answer in {TOOL_TIMEOUT:.0f} s") from None
    if out.returncode not in ok_codes:
        raise CryptoError(f"{argv[0]}: {_last_line(out.stderr)}")
    return out


def _last_line(stderr: bytes) -> str:
    lines = [ln for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "failed"


def _gpg(args: list[str], data: bytes = b"", *, gnupghome: str | None = None,
         ok_codes: tuple[int, ...] = (0,)) -> tuple[bytes, list[list[str]]]:
    """Run gpg; returns (stdout, status lines split in words) (gpg's --status-fd format)."""
    with tempfile.TemporaryDirectory(prefix="mailtool-gpg-") as tmp:
        status = Path(tmp) / "status"
        out = _run([GPG, "--batch", "--no-tty", "--status-file", str(status), *args], data,
                   ok_codes=ok_codes, gnupghome=gnupghome)
        lines = status.read_text("utf-8", "replace").splitlines() if status.exists() else []
    return out.stdout, [ln.split()[1:] for ln in lines if ln.startswith("[GNUPG:] ")]


def _signature_verdict(status: list[list[str]]) -> str | None:
    """gpg's status lines -> "PGP signed by X (good|bad|unknown key)" (doc/DETAILS)."""
    for words in status:
        kind, rest = words[0], words[1:]
        who = " ".join(rest[1:]) or (rest[0] if rest else "?")
        if kind == "GOODSIG":
            return f"PGP signed by {who} (good)"
        if kind in ("EXPSIG", "EXPKEYSIG", "REVKEYSIG"):
            why = {"EXPSIG": "expired signature", "EXPKEYSIG": "expired key",
                   "REVKEYSIG": "revoked key"}[kind]
            return f"PGP signed by {who} (good, {why})"
        if kind == "BADSIG":
            return f"PGP signed by {who} (bad signature)"
        if kind == "ERRSIG":
            code = rest[5] if len(rest) > 5 else ""
            key = rest[0] if rest else "?"
            if code == "9":  # NO_PUBKEY
                return f"PGP signed by key {key} (unknown key)"
            return f"PGP signed by key {key} (cannot check: error {code})"
    return None


def gpg_verify(data: bytes, signature: bytes, *, gnupghome: str | None = None) -> str:
    """Check a detached signature over ``data``; returns the status line."""
    with tempfile.TemporaryDirectory(prefix="mailtool-gpg-") as tmp:
        sig = Path(tmp) / "sig.asc"
        sig.write_bytes(signature)
        # exit 1 = a bad signature, 2 = no key: the status lines say which
        _out, status = _gpg(["--verify", str(sig), "-"], data, gnupghome=gnupghome,
                            ok_codes=(0, 1, 2))
    return _signature_verdict(status) or "PGP signature: no signature found"


# -- cutting the raw message ---------------------------------------------------------------


def _crlf(data: bytes) -> bytes:
    """RFC 3156 §5: signed data is in canonical form, CRLF line ends."""
    return re.sub(rb"\r?\n", b"\r\n", data)


def split_multipart(raw: bytes, boundary: str) -> list[bytes]:
    """The body parts of a multipart entity, byte-exact (RFC 2046 §5.1.1): the CRLF
    before each delimiter belongs to the delimiter, not to the part."""
    delim = re.compile(rb"(?:\r?\n|^)--" + re.escape(boundary.encode()) + rb"(--)?[ \t]*\r?\n?",
                       re.M)
    header_end = re.search(rb"\r?\n\r?\n", raw)
    body_start = header_end.end() if header_end else 0
    marks = list(delim.finditer(raw, body_start))
    out = []
    for this, nxt in itertools.pairwise(marks):
        if this.group(1):  # the close delimiter: epilogue follows
            break
        out.append(raw[this.end():nxt.start()])
    return out


def _armoured(text: bytes, marker: bytes) -> bytes | None:
    start = text.find(marker)
    if start < 0:
        return None
    end_marker = b"-----END PGP MESSAGE-----" if marker == _PGP_MESSAGE \
        else b"-----END PGP SIGNATURE-----"
    end = text.find(end_marker, start)
    return text[start:end + len(end_marker)] + b"\n" if end > 0 else None


# -- the reader's side ---------------------------------------------------------------------


def examine(raw: bytes, *, gnupghome: str | None = None, cafile: str | None = None) -> Examined:
    """Verify / decrypt ``raw``; see the module docstring. Never raises: a tool's
    failure becomes a status line."""
    result = Examined()
    if len(raw) > MAX_EXAMINE or not looks_protected(raw):
        return result
    try:
        _examine(raw, parse(raw), result, gnupghome, cafile, depth=0)
    except CryptoError as exc:
        result.status.append(f"cannot check: {exc}")
    return result


def _examine(raw: bytes, msg: EmailMessage, result: Examined, gnupghome: str | None,
             cafile: str | None, depth: int) -> None:
    ctype = msg.get_content_type()
    protocol = str(msg.get_param("protocol", "")).lower()
    boundary = msg.get_boundary()
    if ctype == "multipart/signed" and boundary:
        pieces = split_multipart(raw, boundary)
        if len(pieces) >= 2 and protocol == "application/pgp-signature":
            signature = msg.get_payload(1).get_payload(decode=True) or pieces[1]
            result.status.append(gpg_verify(_crlf(pieces[0]), signature, gnupghome=gnupghome))
        elif len(pieces) >= 2 and protocol in _SMIME_SIG:
            result.status.append(smime_verify(raw, cafile=cafile))
        return
    if ctype == "multipart/encrypted" and protocol == "application/pgp-encrypted" \
            and len(msg.get_payload()) >= 2:
        data = msg.get_payload(1).get_payload(decode=True) or b""
        _decrypt(data, result, gnupghome, cafile, depth, msg)
        return
    if ctype in _SMIME_MIME and "signed-data" in str(msg.get_param("smime-type", "")).lower():
        result.status.append(smime_verify(raw, cafile=cafile))
        return
    # inline PGP (RFC 4880 §7 cleartext signature, or an armoured message in text/plain)
    part = msg.get_body(preferencelist=("plain",))
    if part is None:
        return
    text = part.get_payload(decode=True) or b""
    if (block := _armoured(text, _PGP_MESSAGE)) is not None:
        _decrypt(block, result, gnupghome, cafile, depth, msg, inline=True)
    elif _PGP_SIGNED in text:
        _out, status = _gpg(["--verify"], text[text.find(_PGP_SIGNED):], gnupghome=gnupghome,
                            ok_codes=(0, 1, 2))
        result.status.append(_signature_verdict(status) or "PGP signature: none found")


def _decrypt(data: bytes, result: Examined, gnupghome: str | None, cafile: str | None,
             depth: int, outer: EmailMessage, *, inline: bool = False) -> None:
    clear, status = _gpg(["--decrypt"], data, gnupghome=gnupghome, ok_codes=(0, 1, 2))
    if not any(w[0] == "DECRYPTION_OKAY" for w in status):
        missing = [w[1] for w in status if w[0] == "NO_SECKEY" and len(w) > 1]
        result.status.append("PGP encrypted: cannot decrypt" +
                             (f" (no secret key {', '.join(missing)})" if missing else ""))
        return
    result.status.append("PGP encrypted (decrypted)")
    if (verdict := _signature_verdict(status)) is not None:  # signed and encrypted at once
        result.status.append(verdict)
    # the outer headers (From, Subject ...) stay; the content is the clear text
    head = b"".join(f"{k}: {v}\r\n".encode("utf-8", "replace") for k, v in outer.items()
                    if not k.lower().startswith("content-") and k.lower() != "mime-version")
    if inline:
        shown = EmailMessage(policy=email.policy.default)
        shown.set_content(clear.decode("utf-8", "replace"))
        del shown["MIME-Version"]
        entity = shown.as_bytes()
    else:  # RFC 3156 §4: the clear text is a whole MIME entity
        entity = clear
    result.decrypted = head + b"MIME-Version: 1.0\r\n" + entity
    if depth < 2 and not inline and looks_protected(entity):  # signed inside encrypted
        _examine(entity, parse(entity), result, gnupghome, cafile, depth + 1)


def smime_verify(raw: bytes, *, cafile: str | None = None) -> str:
    """RFC 8551 §3.5 / §3.4.2: check an S/MIME signature with ``openssl cms``.
    Good with a trusted chain; "unknown key" when the signature matches but the
    certificate is not trusted; bad otherwise."""
    with tempfile.TemporaryDirectory(prefix="mailtool-smime-") as tmp:
        signer = Path(tmp) / "signer.pem"
        base = [OPENSSL, "cms", "-verify", "-inform", "SMIME", "-out", os.devnull,
                "-signer", str(signer)]
        trusted = _run([*base, *(["-CAfile", cafile] if cafile else [])], raw, ok_codes=(0, 1,
                                                                                       2, 4))
        if trusted.returncode == 0:
            return f"S/MIME signed by {_cert_name(signer)} (good)"
        intact = _run([*base, "-noverify"], raw, ok_codes=(0, 1, 2, 4))
        if intact.returncode == 0:
            return f"S/MIME signed by {_cert_name(signer)} (unknown key: certificate not trusted)"
        return "S/MIME signature (bad)"


def _cert_name(pem: Path) -> str:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        cert = x509.load_pem_x509_certificate(pem.read_bytes())
    except (OSError, ValueError):
        return "?"
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        emails = san.value.get_values_for_type(x509.RFC822Name)
        if emails:
            return emails[0]
    except x509.ExtensionNotFound:
        pass
    names = cert.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS) or \
        cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


# -- the composer's side -------------------------------------------------------------------


def _content_entity(msg: EmailMessage, *, transport_safe: bool) -> EmailMessage:
    """The body of ``msg`` as an entity of its own: the Content-* headers and content,
    no envelope headers. ``transport_safe``: text parts in quoted-printable, so no relay
    can alter the signed bytes (RFC 3156 §5: 7bit only, trailing spaces encoded)."""
    inner = parse(msg.as_bytes())
    for name in {k.lower() for k in inner}:
        if not name.startswith("content-"):
            del inner[name]
    if transport_safe:
        for part in inner.walk():
            cte = str(part.get("Content-Transfer-Encoding", "7bit")).lower()
            if (part.get_content_maintype() == "text" and not part.is_multipart()
                    and cte in ("7bit", "8bit", "binary")):
                part.set_content(part.get_content(), subtype=part.get_content_subtype(),
                                 cte="quoted-printable",
                                 disposition=part.get_content_disposition(),
                                 filename=part.get_filename())
                del part["MIME-Version"]
    return inner


def _envelope_of(msg: EmailMessage, content_type: str) -> EmailMessage:
    outer = EmailMessage(policy=email.policy.SMTP)
    for k, v in msg.items():
        if not k.lower().startswith("content-") and k.lower() != "mime-version":
            outer[k] = v
    outer["MIME-Version"] = "1.0"
    outer["Content-Type"] = content_type
    return outer


def _leaf(content_type: str, payload: str, **headers: str) -> EmailMessage:
    from email.message import MIMEPart

    part = MIMEPart(policy=email.policy.SMTP)
    part["Content-Type"] = content_type
    for k, v in headers.items():
        part[k.replace("_", "-")] = v
    part.set_payload(payload)
    return part  # type: ignore[return-value]


def _local_user(key: str) -> list[str]:
    return ["--local-user", key] if key else []


def sign(msg: EmailMessage, *, key: str = "", gnupghome: str | None = None) -> EmailMessage:
    """RFC 3156 §5: ``multipart/signed`` with a detached signature by ``key`` (empty:
    gpg's default key) over the first part's canonical bytes."""
    inner = _content_entity(msg, transport_safe=True)
    outer = _envelope_of(msg, 'multipart/signed; micalg="pgp-sha256"; '
                              'protocol="application/pgp-signature"')
    signature = _leaf('application/pgp-signature; name="signature.asc"', "",
                      Content_Description="OpenPGP digital signature",
                      Content_Disposition='attachment; filename="signature.asc"')
    outer.set_payload([inner, signature])
    outer.set_boundary(f"=-=mailtool-signed-{os.urandom(12).hex()}=-=")
    # the signed bytes are cut out of the message exactly as it will be sent
    signed = _crlf(split_multipart(outer.as_bytes(), outer.get_boundary() or "")[0])
    armour, _status = _gpg(["--armor", "--detach-sign", "--digest-algo", "SHA256",
                            *_local_user(key)], signed, gnupghome=gnupghome)
    signature.set_payload(armour.decode("ascii"))
    return parse(outer.as_bytes())


def encrypt(msg: EmailMessage, recipients: list[str], *, key: str = "", also_sign: bool = False,
            gnupghome: str | None = None) -> EmailMessage:
    """RFC 3156 §4 (§6.2 when ``also_sign``: one OpenPGP message signed and encrypted):
    ``multipart/encrypted`` to every recipient and to ``key`` (the sender keeps a readable
    copy in Sent). gpg refuses a recipient without a valid key: :class:`CryptoError`."""
    inner = _content_entity(msg, transport_safe=False).as_bytes(policy=email.policy.SMTP)
    argv = ["--armor", "--encrypt"]
    for who in [*recipients, *([key] if key else [])]:
        argv += ["--recipient", who]
    if also_sign:
        argv += ["--sign", *_local_user(key)]
    armour, _status = _gpg(argv, inner, gnupghome=gnupghome)
    outer = _envelope_of(msg, 'multipart/encrypted; protocol="application/pgp-encrypted"')
    outer.set_payload([
        _leaf("application/pgp-encrypted", "Version: 1\r\n",
              Content_Description="PGP/MIME version identification"),
        _leaf('application/octet-stream; name="encrypted.asc"', armour.decode("ascii"),
              Content_Description="OpenPGP encrypted message",
              Content_Disposition='inline; filename="encrypted.asc"'),
    ])
    outer.set_boundary(f"=-=mailtool-encrypted-{os.urandom(12).hex()}=-=")
    return parse(outer.as_bytes())


def protect(msg: EmailMessage, *, sign_it: bool, encrypt_it: bool, key: str = "",
            recipients: list[str] | None = None,
            gnupghome: str | None = None) -> EmailMessage:
    """The composer's toggles applied to ``msg`` (unchanged when both are off)."""
    if encrypt_it:
        return encrypt(msg, recipients or [], key=key, also_sign=sign_it, gnupghome=gnupghome)
    if sign_it:
        return sign(msg, key=key, gnupghome=gnupghome)
    return msg
