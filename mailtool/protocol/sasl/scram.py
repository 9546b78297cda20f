"""SCRAM-SHA-256 (RFC 7677, RFC 5802), without channel binding.

The server never sees the password: it keeps :class:`ScramCredentials` (salt,
iteration count, StoredKey, ServerKey) next to the argon2 hash, made by
:func:`scram_credentials` when the password is set. Both halves verify the
other: the server checks the ClientProof, the client checks ServerSignature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from .base import Done, SaslAuthFailed, SaslMalformed, check_length, decode_utf8
from .saslprep import saslprep

#: RFC 7677 §4: at least 4096 iterations (what a client accepts at least)
MIN_ITERATIONS = 4096
#: what keys are made with (RFC 7677 §4 and §5 ask for more than the minimum: an
#: offline attacker with the stored keys pays this per guess, and so does every
#: client at every login, ~20-40 ms of PBKDF2-SHA-256 in C); unknown users are
#: offered this count too. 16 times the old 4,096, and the most that clients built
#: on Cyrus SASL accept (its MAX_ITERATION_COUNTER): mbsync and mutt refuse
#: 100,000 ("iteration-count is too big") and do not fall back to PLAIN
DEFAULT_ITERATIONS = 65_536
#: a client refuses more than this: a hostile server could make it burn CPU
MAX_ITERATIONS = 1_000_000
#: length of a SCRAM message we accept (they are short: names, nonces, proofs)
MAX_SCRAM_MESSAGE = 4096
#: octets of randomness in the nonces we make
NONCE_BYTES = 24
_HASH = "sha256"
_HASH_LEN = 32


@dataclass(frozen=True)
class ScramCredentials:
    """What the account store keeps for SCRAM (RFC 5802 §3): no password."""

    salt: bytes
    iterations: int
    stored_key: bytes = field(repr=False)
    server_key: bytes = field(repr=False)


def _hmac(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, _HASH).digest()


def _normalize(password: str) -> bytes:
    # RFC 5802 §2.2 Normalize() is SASLprep; a password SASLprep refuses is used
    # as its raw UTF-8 (as PostgreSQL does), so any password still works.
    try:
        return saslprep(password).encode("utf-8")
    except SaslMalformed:
        return password.encode("utf-8")


def salted_password(password: str, salt: bytes, iterations: int) -> bytes:
    """RFC 5802 §3: SaltedPassword := Hi(Normalize(password), salt, i), Hi = PBKDF2."""
    return hashlib.pbkdf2_hmac(_HASH, _normalize(password), salt, iterations)


def _keys(salted: bytes) -> tuple[bytes, bytes, bytes]:
    client_key = _hmac(salted, b"Client Key")
    return client_key, hashlib.sha256(client_key).digest(), _hmac(salted, b"Server Key")


def scram_credentials(
    password: str, salt: bytes | None = None, iterations: int = DEFAULT_ITERATIONS
) -> ScramCredentials:
    """Derive the stored SCRAM keys for ``password`` (a random 16-octet salt by default)."""
    if iterations < 1:
        raise ValueError("iterations must be positive")
    salt = secrets.token_bytes(16) if salt is None else salt
    _, stored_key, server_key = _keys(salted_password(password, salt, iterations))
    return ScramCredentials(salt, iterations, stored_key, server_key)


def _nonce() -> str:
    # printable, no ',' (RFC 5802 §7 "printable"): base64 without '=' qualifies
    return base64.b64encode(secrets.token_bytes(NONCE_BYTES)).decode("ascii")


def _attributes(message: str) -> list[tuple[str, str]]:
    """``a=value,b=value`` -> pairs, order kept (RFC 5802 §7)."""
    out = []
    for part in message.split(","):
        if len(part) < 2 or part[1] != "=" or not part[0].isalpha() or not part[0].isascii():
            raise SaslMalformed("SCRAM attribute must be a letter, '=' and a value")
        out.append((part[0], part[2:]))
    return out


def _expect(pairs: list[tuple[str, str]], index: int, name: str) -> str:
    if len(pairs) <= index or pairs[index][0] != name:
        raise SaslMalformed(f"SCRAM message lacks attribute {name!r}")
    return pairs[index][1]


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SaslMalformed(f"SCRAM {what} is not base64") from None


def _decode_saslname(name: str) -> str:
    """RFC 5802 §5.1: ``=2C`` is ',' and ``=3D`` is '='; any other '=' is an error."""
    if "," in name:
        raise SaslMalformed("',' in SCRAM name")
    parts = name.split("=")
    out = [parts[0]]
    for part in parts[1:]:
        if part[:2] == "2C":
            out.append("," + part[2:])
        elif part[:2] == "3D":
            out.append("=" + part[2:])
        else:
            raise SaslMalformed("invalid '=' escape in SCRAM name")
    return "".join(out)


def _encode_saslname(name: str) -> str:
    return name.replace("=", "=3D").replace(",", "=2C")


def _valid_nonce(nonce: str) -> bool:
    # RFC 5802 §7: printable = %x21-2B / %x2D-7E (no ',')
    return bool(nonce) and all("\x21" <= c <= "\x7e" and c != "," for c in nonce)


def _parse_gs2(message: str) -> tuple[str, str | None, str]:
    """gs2-header and client-first-message-bare of a client-first-message."""
    flag, sep1, rest = message.partition(",")
    authz, sep2, bare = rest.partition(",")
    if not sep1 or not sep2:
        raise SaslMalformed("SCRAM client-first-message lacks its gs2 header")
    if flag.startswith("p="):
        raise SaslMalformed("SCRAM channel binding is not supported (no -PLUS)")
    # 'y': the client could bind but thinks we cannot — true, we advertise no -PLUS
    if flag not in ("n", "y"):
        raise SaslMalformed("SCRAM gs2 channel binding flag must be n or y")
    authzid = None
    if authz:
        if not authz.startswith("a="):
            raise SaslMalformed("SCRAM gs2 authzid must be a=")
        authzid = _decode_saslname(authz[2:])
    return f"{flag},{authz},", authzid, bare


ScramLookup = Callable[[str], "ScramCredentials | None"]
MockSalt = Callable[[str], bytes]
_MOCK_KEY = secrets.token_bytes(32)


def mock_salt(key: bytes, username: str) -> bytes:
    """The salt offered for an unknown ``username``: HMAC of a server secret, so it
    is the same at every attempt (and, with a kept secret, after a restart) and
    differs between names, as a real user's salt would."""
    return _hmac(key, username.encode("utf-8"))[:16]


class ScramServer:
    """Server half. ``lookup(username)`` returns the user's credentials or None;
    an unknown user gets a stable fake salt (``mock_salt(username)``, by default
    from a key made at import, which changes at restart: servers pass one derived
    from a kept secret) and ``mock_iterations``, and fails at the proof, so the
    exchange does not tell which users exist (RFC 5802 §9)."""

    name = "SCRAM-SHA-256"
    plaintext = False

    def __init__(
        self,
        lookup: ScramLookup,
        *,
        nonce: str | None = None,
        mock_salt: MockSalt | None = None,
        mock_iterations: int = DEFAULT_ITERATIONS,
    ) -> None:
        self._lookup = lookup
        self._mock_salt = mock_salt or _default_mock_salt
        self._mock_iterations = mock_iterations
        self._server_nonce = nonce or _nonce()
        self._state = "start"
        self._creds: ScramCredentials | None = None
        self._username = ""
        self._authzid: str | None = None
        self._gs2 = ""
        self._nonce = ""
        self._auth_prefix = ""

    def step(self, response: bytes | None) -> bytes | Done:
        if response is None:
            if self._state != "start":
                raise SaslMalformed("SCRAM expects a response")
            self._state = "first"
            return b""  # no initial response: empty challenge, then client-first
        check_length(response, MAX_SCRAM_MESSAGE)
        text = decode_utf8(response, "SCRAM message")
        if self._state in ("start", "first"):
            return self._client_first(text)
        if self._state == "final":
            return self._client_final(text)
        if self._state == "verified":
            if response:
                raise SaslMalformed("SCRAM expects an empty response after server-final")
            self._state = "done"
            return Done(self._username, self._authzid)
        raise SaslMalformed("SCRAM exchange is over")

    def _client_first(self, text: str) -> bytes:
        self._gs2, self._authzid, bare = _parse_gs2(text)
        pairs = _attributes(bare)
        if pairs and pairs[0][0] == "m":
            raise SaslMalformed("SCRAM mandatory extension not supported")  # RFC 5802 §5.1
        self._username = _decode_saslname(_expect(pairs, 0, "n"))
        client_nonce = _expect(pairs, 1, "r")
        if not self._username or not _valid_nonce(client_nonce):
            raise SaslMalformed("SCRAM username or nonce is invalid")
        self._creds = self._lookup(self._username)
        salt = self._creds.salt if self._creds else self._mock_salt(self._username)
        iterations = self._creds.iterations if self._creds else self._mock_iterations
        self._nonce = client_nonce + self._server_nonce
        server_first = f"r={self._nonce},s={base64.b64encode(salt).decode()},i={iterations}"
        self._auth_prefix = f"{bare},{server_first},"
        self._state = "final"
        return server_first.encode("ascii")

    def _client_final(self, text: str) -> bytes:
        without_proof, sep, proof_attr = text.rpartition(",")
        pairs = _attributes(without_proof) if sep else []
        channel = _expect(pairs, 0, "c")
        nonce = _expect(pairs, 1, "r")
        if not proof_attr.startswith("p="):
            raise SaslMalformed("SCRAM client-final-message lacks its proof")
        proof = _b64(proof_attr[2:], "proof")
        if _b64(channel, "channel binding") != self._gs2.encode("utf-8"):
            raise SaslMalformed("SCRAM channel binding does not match the gs2 header")
        if not hmac.compare_digest(nonce.encode(), self._nonce.encode()):
            raise SaslMalformed("SCRAM nonce does not match")
        auth_message = (self._auth_prefix + without_proof).encode("utf-8")
        self._state = "failed"
        if self._creds is None or len(proof) != _HASH_LEN:
            raise SaslAuthFailed(f"invalid credentials for {self._username!r}")
        signature = _hmac(self._creds.stored_key, auth_message)
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if not hmac.compare_digest(hashlib.sha256(client_key).digest(), self._creds.stored_key):
            raise SaslAuthFailed(f"invalid credentials for {self._username!r}")
        self._state = "verified"
        server_signature = _hmac(self._creds.server_key, auth_message)
        return b"v=" + base64.b64encode(server_signature)


def _default_mock_salt(username: str) -> bytes:
    return mock_salt(_MOCK_KEY, username)


@dataclass
class ScramClient:
    """Client half: ``initial_response()`` is client-first, then ``step`` answers
    server-first with client-final and checks server-final (returning b"", the
    empty response protocols send after it). :attr:`done` is True once the
    server proved it knows the keys."""

    username: str
    password: str = field(repr=False)
    authzid: str | None = None
    nonce: str | None = None  # tests inject RFC 7677's; None makes a random one
    min_iterations: int = MIN_ITERATIONS
    name = "SCRAM-SHA-256"
    done: bool = False
    _state: str = "start"
    _server_key: bytes = field(default=b"", repr=False)
    _auth_message: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        self.nonce = self.nonce or _nonce()
        authz = f"a={_encode_saslname(self.authzid)}" if self.authzid else ""
        self._gs2 = f"n,{authz},"
        self._bare = f"n={_encode_saslname(self.username)},r={self.nonce}"

    def initial_response(self) -> bytes:
        self._state = "first-sent"
        return (self._gs2 + self._bare).encode("utf-8")

    def step(self, challenge: bytes) -> bytes:
        if self._state == "start":
            if challenge:
                raise SaslMalformed("SCRAM server spoke first with content")
            return self.initial_response()
        check_length(challenge, MAX_SCRAM_MESSAGE)
        text = decode_utf8(challenge, "SCRAM message")
        if self._state == "first-sent":
            return self._server_first(text)
        if self._state == "final-sent":
            self._server_final(text)
            return b""
        raise SaslMalformed("SCRAM exchange is over")

    def _server_first(self, text: str) -> bytes:
        pairs = _attributes(text)
        if pairs and pairs[0][0] == "m":
            raise SaslMalformed("SCRAM mandatory extension not supported")
        nonce = _expect(pairs, 0, "r")
        salt = _b64(_expect(pairs, 1, "s"), "salt")
        iterations_text = _expect(pairs, 2, "i")
        assert self.nonce is not None
        # RFC 5802 §5.1: the server's nonce must start with ours and add to it
        if not nonce.startswith(self.nonce) or len(nonce) == len(self.nonce):
            raise SaslMalformed("SCRAM server nonce does not extend the client nonce")
        if not _valid_nonce(nonce):
            raise SaslMalformed("SCRAM server nonce is invalid")
        if not (iterations_text.isascii() and iterations_text.isdigit()) or len(
            iterations_text
        ) > 9:
            raise SaslMalformed("SCRAM iteration count is not a number")
        iterations = int(iterations_text)
        if not self.min_iterations <= iterations <= MAX_ITERATIONS:
            raise SaslMalformed(f"SCRAM iteration count {iterations} out of bounds")
        client_key, stored_key, self._server_key = _keys(
            salted_password(self.password, salt, iterations)
        )
        channel = base64.b64encode(self._gs2.encode("utf-8")).decode("ascii")
        without_proof = f"c={channel},r={nonce}"
        self._auth_message = f"{self._bare},{text},{without_proof}".encode()
        signature = _hmac(stored_key, self._auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        self._state = "final-sent"
        return f"{without_proof},p={base64.b64encode(proof).decode('ascii')}".encode()

    def _server_final(self, text: str) -> None:
        self._state = "failed"
        if text.startswith("e="):
            raise SaslAuthFailed(f"server refused: {text[2:80]}")
        if not text.startswith("v="):
            raise SaslMalformed("SCRAM server-final-message lacks v=")
        expected = _hmac(self._server_key, self._auth_message)
        if not hmac.compare_digest(_b64(text[2:].split(",")[0], "verifier"), expected):
            raise SaslAuthFailed("SCRAM server signature is wrong: the server is not genuine")
        self._state = "done"
        self.done = True
