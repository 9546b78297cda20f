"""Connection-level and authentication commands: CAPABILITY, NOOP, LOGOUT,
STARTTLS, LOGIN, AUTHENTICATE (RFC 9051 §6.1, §6.2; SASL-IR RFC 4959).

Passwords never cross a plaintext connection (LOGINDISABLED, RFC 9051 §6.2.3)
unless ``security.plaintext_auth_on_loopback`` allows it for loopback peers.
Every failure waits ``security.login_failure_delay`` and counts against the
peer's per-minute budget (``security.max_login_failures_per_ip``); when that
is spent, attempts are refused without checking the password.
"""

from __future__ import annotations

import asyncio
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
    server_mechanism,
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
    throttle = s.server.throttle
    throttle.succeeded(s.conn.peer_ip)
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


async def _check_allowed(s: Session) -> None:
    if not s.plaintext_ok:
        # RFC 9051 §6.2.3, RFC 5530: PRIVACYREQUIRED
        raise no("Use STARTTLS before sending a password", "PRIVACYREQUIRED")
    if not s.server.throttle.allowed(s.conn.peer_ip):
        log_event("imap.login", id=s.conn.id, peer=s.conn.peer_ip, outcome="throttled")
        await asyncio.sleep(s.server.throttle.delay)
        raise no("Too many failed logins; try again later", "UNAVAILABLE")


async def _failed(s: Session, user: str | None, reason: str) -> None:
    s.server.throttle.failed(s.conn.peer_ip)
    log_event(
        "imap.login", id=s.conn.id, peer=s.conn.peer_ip, user=user, outcome=reason,
        level=logging.WARNING,
    )  # fmt: skip
    await asyncio.sleep(s.server.throttle.delay)
    raise no("Authentication failed", "AUTHENTICATIONFAILED")


@command("LOGIN", states=NOT_AUTH)
async def login(s: Session, cmd: c.Login) -> Done:
    await _check_allowed(s)
    accounts = s.server.accounts
    good = await asyncio.to_thread(accounts.verify_password, cmd.username, cmd.password)
    if not good:
        await _failed(s, cmd.username, "bad-credentials")
    return await _finish_login(s, _canonical(s, cmd.username))


def _canonical(s: Session, user: str) -> str:
    try:
        return str(s.server.accounts.get_user(user).address)
    except Exception:
        return user


@command("AUTHENTICATE", states=NOT_AUTH)
async def authenticate(s: Session, cmd: c.Authenticate) -> Done:
    await _check_allowed(s)
    accounts = s.server.accounts
    if cmd.mechanism not in ("PLAIN", "SCRAM-SHA-256"):
        raise no(f"Mechanism {cmd.mechanism[:40]} is not supported", "CANNOT")
    try:
        mech = server_mechanism(
            cmd.mechanism, verify=accounts.verify_password, lookup=accounts.scram_credentials
        )
    except SaslUnsupported:
        raise no("Mechanism not supported", "CANNOT") from None
    response: bytes | None = cmd.initial_response
    try:
        while True:
            out = await asyncio.to_thread(mech.step, response)
            if isinstance(out, SaslDone):
                break
            s.send(ContinuationRequest(encode_challenge(out).decode("ascii")))
            await s.flush()
            line = await s.read_continuation()
            response = decode_response(line)
    except SaslCancelled:
        raise bad("AUTHENTICATE cancelled") from None
    except SaslAuthFailed:
        await _failed(s, None, "bad-credentials")
        raise AssertionError("unreachable") from None
    except SaslError as exc:
        s.server.throttle.failed(s.conn.peer_ip)
        raise bad(f"Malformed SASL message: {exc}") from None
    user = out.authcid
    if out.authzid and out.authzid.lower() != user.lower():
        await _failed(s, user, "authzid")
    return await _finish_login(s, _canonical(s, user))


__all__ = ["authenticate", "capability", "login", "logout", "noop", "starttls"]
