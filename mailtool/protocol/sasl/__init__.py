"""mailtool.protocol.sasl: SASL mechanisms (RFC 4422), each with a client and a
server half, as sans-I/O state machines, plus the base64 framing the three
mail protocols share.

Server side::

    mech = server_mechanism("PLAIN", verify=accounts.check_password)
    out = mech.step(decode_initial_response(arg))   # None: no initial response
    while not isinstance(out, Done):
        send_challenge(encode_challenge(out))
        out = mech.step(decode_response(await read_line()))
    # out.authcid / out.authzid; SaslError subclasses on failure
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from .base import (
    MAX_SASL_MESSAGE,
    Done,
    SaslAuthFailed,
    SaslCancelled,
    SaslError,
    SaslMalformed,
    SaslUnsupported,
)
from .framing import (
    MAX_SASL_LINE,
    decode_challenge,
    decode_initial_response,
    decode_response,
    encode_challenge,
    encode_response,
)
from .saslprep import saslprep
from .scram import (
    DEFAULT_ITERATIONS,
    MIN_ITERATIONS,
    ScramClient,
    ScramCredentials,
    ScramServer,
    mock_salt,
    salted_password,
    scram_credentials,
)
from .simple import LoginClient, LoginServer, PlainClient, PlainServer


class ServerMechanism(Protocol):
    name: str
    plaintext: bool  # sends the password itself: offer only over TLS

    def step(self, response: bytes | None) -> bytes | Done: ...


class ClientMechanism(Protocol):
    name: str
    done: bool

    def initial_response(self) -> bytes | None: ...

    def step(self, challenge: bytes) -> bytes: ...


#: mechanism names in our order of preference (strongest first)
MECHANISMS = ("SCRAM-SHA-256", "PLAIN", "LOGIN")


def server_mechanism(
    name: str,
    *,
    verify: Callable[[str, str], bool] | None = None,
    lookup: Callable[[str], ScramCredentials | None] | None = None,
    mock_salt: Callable[[str], bytes] | None = None,
    mock_iterations: int = DEFAULT_ITERATIONS,
) -> ServerMechanism:
    """A fresh server half for ``name`` (case-insensitive). PLAIN and LOGIN need
    ``verify(username, password)``, SCRAM-SHA-256 needs ``lookup(username)`` and
    takes ``mock_salt(username)`` and ``mock_iterations``, what unknown users are shown."""
    upper = name.upper()
    if upper in ("PLAIN", "LOGIN") and verify is not None:
        return PlainServer(verify) if upper == "PLAIN" else LoginServer(verify)
    if upper == "SCRAM-SHA-256" and lookup is not None:
        return ScramServer(lookup, mock_salt=mock_salt, mock_iterations=mock_iterations)
    raise SaslUnsupported(f"mechanism {name[:40]!r} is not available")


def client_mechanism(
    name: str, username: str, password: str, authzid: str | None = None
) -> ClientMechanism:
    """A fresh client half for ``name``."""
    upper = name.upper()
    if upper == "PLAIN":
        return PlainClient(username, password, authzid)
    if upper == "LOGIN":
        return LoginClient(username, password)
    if upper == "SCRAM-SHA-256":
        return ScramClient(username, password, authzid)
    raise SaslUnsupported(f"mechanism {name[:40]!r} is not available")


def choose_mechanism(offered: tuple[str, ...] | list[str]) -> str | None:
    """The best of our mechanisms the server offered, None if none."""
    upper = {m.upper() for m in offered}
    return next((m for m in MECHANISMS if m in upper), None)


__all__ = [
    "DEFAULT_ITERATIONS",
    "MAX_SASL_LINE",
    "MAX_SASL_MESSAGE",
    "MECHANISMS",
    "MIN_ITERATIONS",
    "ClientMechanism",
    "Done",
    "LoginClient",
    "LoginServer",
    "PlainClient",
    "PlainServer",
    "SaslAuthFailed",
    "SaslCancelled",
    "SaslError",
    "SaslMalformed",
    "SaslUnsupported",
    "ScramClient",
    "ScramCredentials",
    "ScramServer",
    "ServerMechanism",
    "choose_mechanism",
    "client_mechanism",
    "decode_challenge",
    "decode_initial_response",
    "decode_response",
    "encode_challenge",
    "encode_response",
    "mock_salt",
    "salted_password",
    "saslprep",
    "scram_credentials",
    "server_mechanism",
]
