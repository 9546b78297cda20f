"""Connection-level and authentication commands: CAPABILITY, NOOP, LOGOUT,
STARTTLS, LOGIN, AUTHENTICATE (RFC 9051 §6.1, §6.2; SASL-IR RFC 4959).

Passwords never cross a plaintext connection (LOGINDISABLED, RFC 9051 §6.2.3)
unless ``security.plaintext_auth_on_loopback`` allows it for loopback peers.
Passwords are checked through the server's :class:`~mailtool.net.login.LoginGate`:
in its thread pool, never on the event loop; every failure waits
``security.login_failure_delay`` and counts against the peer's per-minute budgets
(per account, ``max_login_failures_per_account``, and in all,
``max_login_failures_per_ip``); when one is spent, or too many logins are in
progress, attempts get ``NO [UNAVAILABLE]`` without a password check.
"""

from __future__ import annotations

import logging

from mailtool.mra.imap import wire
from mailtool.mra.imap.session import (
    ANSWERED,
    ANY,
    NOT_AUTH,
    Closing,
    Done,
    Session,
    bad,
    command,
    no,
    ok,
)
from mailtool.net.log import log_event
from mailtool.net.login import THROTTLED, LoginRefused
from mailtool.protocol.imap import commands as c
from mailtool.protocol.imap.responses import Capability, ContinuationRequest
from mailtool.protocol.sasl import (
    Done as SaslDone,
)
from mailtool.protocol.sasl import (
    SaslAuthFailed,
    SaslCancelled,
    SaslError,
    SaslUnsupported,
    decode_response,
    encode_challenge,
)


@command("CAPABILITY", states=ANY)
async def capability(s: Session, cmd: c.Simple) -> Done:
    s.send(Capability(tuple(s.capabilities())))
    return ok("CAPABILITY completed")


@command("NOOP", states=ANY)
async def noop(s: Session, cmd: c.Simple) -> Done:
    # RFC 9051 §6.1.2: the pending updates go out after every command anyway
    return ok("NOOP completed")


@command("LOGOUT", states=ANY)
async def logout(s: Session, cmd: c.Simple) -> None:
    s.send(wire.status(None, "BYE", "Logging out"))
    s.send(wire.status(cmd.tag, "OK", "LOGOUT completed"))
    raise Closing


@command("STARTTLS", states=NOT_AUTH)
async def starttls(s: Session, cmd: c.Simple) -> Done:
    if s.conn.tls:
        raise bad("TLS is already active")
    s.send(wire.status(cmd.tag, "OK", "Begin TLS negotiation now"))
    await s.flush()
    # RFC 9051 §6.2.1 / RFC 2595 §3.1: whatever the client pipelined after
    # STARTTLS arrived in plaintext and must not be executed after the handshake
    # (conn.start_tls drops what the connection buffered; this, what we parsed)
    s.reader = s.new_reader()
    try:
        await s.conn.start_tls(s.server.tls_context)
    except (OSError, ValueError) as exc:
        log_event(
            "imap.starttls_failed", id=s.conn.id, peer=s.conn.peer_ip, error=type(exc).__name__
        )
        raise Closing from None
    return ANSWERED


async def _finish_login(s: Session, user: str) -> Done:
    if not s.server.claim_user(s, user):
        log_event("imap.login", id=s.conn.id, peer=s.conn.peer_ip, user=user, outcome="too-many")
        raise no("Too many sessions for this user", "LIMIT")
    try:
        mail = s.server.open_mail(user)
    except Exception:
        s.server.release_user(s)
        raise
    s.login(user, mail)
    log_event("imap.login", id=s.conn.id, peer=s.conn.peer_ip, user=user, outcome="ok")
    return ok("Logged in", "CAPABILITY", tuple(s.capabilities()))


def _check_allowed(s: Session) -> None:
    if not s.plaintext_ok:
        # RFC 9051 §6.2.3, RFC 5530: PRIVACYREQUIRED
        raise no("Use STARTTLS before sending a password", "PRIVACYREQUIRED")


def _refused(s: Session, exc: LoginRefused) -> Exception:
    """The gate would not check (throttled, or too many logins in progress): RFC 5530
    UNAVAILABLE, a temporary condition."""
    log_event("imap.login", id=s.conn.id, peer=s.conn.peer_ip, outcome=exc.reason,
              level=logging.WARNING)  # fmt: skip
    if exc.reason == THROTTLED:
        return no("Too many failed logins; try again later", "UNAVAILABLE")
    return no("Too many logins in progress; try again later", "UNAVAILABLE")


def _failed(s: Session, user: str | None, reason: str) -> Exception:
    """A failure the gate has counted (and waited the delay for)."""
    log_event(
        "imap.login", id=s.conn.id, peer=s.conn.peer_ip, user=user, outcome=reason,
        level=logging.WARNING,
    )  # fmt: skip
    return no("Authentication failed", "AUTHENTICATIONFAILED")


@command("LOGIN", states=NOT_AUTH)
async def login(s: Session, cmd: c.Login) -> Done:
    _check_allowed(s)
    try:
        async with s.server.login_gate.attempt(s.conn.peer_ip) as attempt:
            verify = s.server.accounts.verify_password
            await attempt.check_password(verify, cmd.username, cmd.password)
            attempt.succeeded()
    except LoginRefused as exc:
        raise _refused(s, exc) from None
    except SaslAuthFailed:
        raise _failed(s, cmd.username, "bad-credentials") from None
    return await _finish_login(s, _canonical(s, cmd.username))


def _canonical(s: Session, user: str) -> str:
    try:
        return str(s.server.accounts.get_user(user).address)
    except Exception:
        return user


@command("AUTHENTICATE", states=NOT_AUTH)
async def authenticate(s: Session, cmd: c.Authenticate) -> Done:
    _check_allowed(s)
    if cmd.mechanism not in ("PLAIN", "SCRAM-SHA-256"):
        raise no(f"Mechanism {cmd.mechanism[:40]} is not supported", "CANNOT")
    response: bytes | None = cmd.initial_response
    try:
        async with s.server.login_gate.attempt(s.conn.peer_ip) as attempt:
            mech = attempt.mechanism(cmd.mechanism, s.server.accounts)
            while True:
                out = await attempt.step(mech, response)  # in the gate's pool
                if isinstance(out, SaslDone):
                    break
                s.send(ContinuationRequest(encode_challenge(out).decode("ascii")))
                await s.flush()
                line = await s.read_continuation()
                response = decode_response(line)
            if not await attempt.accept(out):
                raise _failed(s, out.authcid, "authzid")
    except LoginRefused as exc:
        raise _refused(s, exc) from None
    except SaslCancelled:
        raise bad("AUTHENTICATE cancelled") from None
    except SaslAuthFailed:
        raise _failed(s, None, "bad-credentials") from None
    except SaslUnsupported:
        raise no("Mechanism not supported", "CANNOT") from None
    except SaslError as exc:
        raise bad(f"Malformed SASL message: {exc}") from None
    return await _finish_login(s, _canonical(s, out.authcid))


__all__ = ["authenticate", "capability", "login", "logout", "noop", "starttls"]
