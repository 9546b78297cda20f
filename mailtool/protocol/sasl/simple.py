"""PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login-00): the two
mechanisms that send the password itself, so only over TLS (or loopback).

The server halves check the password through ``verify(username, password)``,
the account store's business (argon2 hashes, rate limits, delays).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .base import Done, SaslAuthFailed, SaslMalformed, check_length, decode_utf8

#: RFC 4616 §2: authzid, authcid and passwd are each at most 255 octets
MAX_PLAIN_FIELD = 255

Verify = Callable[[str, str], bool]


def _field(data: bytes, what: str) -> str:
    if len(data) > MAX_PLAIN_FIELD:
        raise SaslMalformed(f"{what} longer than {MAX_PLAIN_FIELD} octets")
    return decode_utf8(data, what)


class PlainServer:
    """RFC 4616 server: one message ``[authzid] NUL authcid NUL passwd``."""

    name = "PLAIN"
    plaintext = True

    def __init__(self, verify: Verify) -> None:
        self._verify = verify
        self._started = False

    def step(self, response: bytes | None) -> bytes | Done:
        """``None`` on the first call means "no initial response": we send an
        empty challenge (RFC 4616 §2, RFC 4422 §5 ¶3)."""
        if response is None and not self._started:
            self._started = True
            return b""
        self._started = True
        if response is None:
            raise SaslMalformed("PLAIN expects a response")
        check_length(response, 3 * MAX_PLAIN_FIELD + 2)
        parts = response.split(b"\0")
        if len(parts) != 3:
            raise SaslMalformed("PLAIN message must have exactly two NULs")
        authzid = _field(parts[0], "authzid")
        authcid = _field(parts[1], "authcid")
        password = _field(parts[2], "password")
        if not authcid or not password:
            raise SaslMalformed("PLAIN authcid and password must not be empty")
        if not self._verify(authcid, password):
            raise SaslAuthFailed(f"invalid credentials for {authcid!r}")
        return Done(authcid, authzid or None)


@dataclass
class PlainClient:
    """RFC 4616 client: sends everything in the (initial) response."""

    username: str
    password: str = field(repr=False)
    authzid: str | None = None
    name = "PLAIN"
    done: bool = False

    def initial_response(self) -> bytes:
        self.done = True  # PLAIN says everything at once
        return self.message()

    def message(self) -> bytes:
        return b"\0".join(
            s.encode("utf-8") for s in (self.authzid or "", self.username, self.password)
        )

    def step(self, challenge: bytes) -> bytes:
        """The server sent an (empty) challenge: answer with the message."""
        if self.done:
            raise SaslMalformed("PLAIN has no further challenge")
        self.done = True
        return self.message()


_USERNAME_CHALLENGE = b"Username:"
_PASSWORD_CHALLENGE = b"Password:"


class LoginServer:
    """The LOGIN server: challenges ``Username:`` then ``Password:``. An initial
    response, which some clients send, is the username."""

    name = "LOGIN"
    plaintext = True

    def __init__(self, verify: Verify) -> None:
        self._verify = verify
        self._username: str | None = None
        self._started = False

    def step(self, response: bytes | None) -> bytes | Done:
        first = not self._started
        self._started = True
        if response is None:
            if not first:
                raise SaslMalformed("LOGIN expects a response")
            return _USERNAME_CHALLENGE
        check_length(response, MAX_PLAIN_FIELD)
        if self._username is None:
            self._username = decode_utf8(response, "username")
            if not self._username:
                raise SaslMalformed("LOGIN username must not be empty")
            return _PASSWORD_CHALLENGE
        password = decode_utf8(response, "password")
        if not password or not self._verify(self._username, password):
            raise SaslAuthFailed(f"invalid credentials for {self._username!r}")
        return Done(self._username, None)


@dataclass
class LoginClient:
    """The LOGIN client: answers the two prompts in order (it does not read them:
    servers word them differently)."""

    username: str
    password: str = field(repr=False)
    name = "LOGIN"
    done: bool = False
    _answered: int = 0

    def initial_response(self) -> bytes | None:
        return None  # the prompts drive the exchange

    def step(self, challenge: bytes) -> bytes:
        if self._answered >= 2:
            raise SaslMalformed("LOGIN has only two challenges")
        self._answered += 1
        self.done = self._answered == 2
        return (self.username if self._answered == 1 else self.password).encode("utf-8")
