"""One ManageSieve session (RFC 5804): capabilities, STARTTLS, AUTHENTICATE, scripts.

Passwords need TLS (RFC 5804 §2.1), or a loopback peer when
``security.plaintext_auth_on_loopback`` is set; before that the SASL
capability is empty, which tells clients to STARTTLS first. Scripts are
validated with the same Sieve parser the MDA runs (PUTSCRIPT/CHECKSCRIPT
answer NO with the line and column), and bounded by ``sieve.max_script_size``
and ``sieve.max_scripts``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from mailtool.errors import AlreadyExists, MailtoolError, NotFound, StoreError, StoreUnavailable
from mailtool.mra.managesieve.wire import (
    BadCommand,
    BadLiteral,
    Command,
    quoted,
    read_command,
    read_tokens,
)
from mailtool.mra.managesieve.wire import response as resp
from mailtool.net.connection import (
    ConnectionClosed,
    DeadlineExceeded,
    LineTooLong,
    ReadTimeout,
    WriteTimeout,
)
from mailtool.net.limits import is_loopback
from mailtool.net.log import log_event
from mailtool.net.login import THROTTLED, LoginRefused
from mailtool.protocol.sasl import (
    MAX_SASL_LINE,
    Done,
    SaslAuthFailed,
    SaslCancelled,
    SaslError,
    decode_initial_response,
    decode_response,
    encode_challenge,
)

if TYPE_CHECKING:
    from mailtool.mra.managesieve.service import ManageSieveServer
    from mailtool.net.connection import Connection

SASL_MECHANISMS = ("SCRAM-SHA-256", "PLAIN")
#: commands allowed before and after login (RFC 5804 §2)
ANY_STATE = {"CAPABILITY", "LOGOUT", "NOOP"}
UNAUTHENTICATED = ANY_STATE | {"STARTTLS", "AUTHENTICATE"}
AUTHENTICATED = ANY_STATE | {
    "HAVESPACE", "PUTSCRIPT", "LISTSCRIPTS", "SETACTIVE", "GETSCRIPT", "DELETESCRIPT",
    "RENAMESCRIPT", "CHECKSCRIPT",
}  # fmt: skip
#: number of string arguments each command takes: (min, max)
ARITY = {
    "CAPABILITY": (0, 0), "LOGOUT": (0, 0), "NOOP": (0, 1), "STARTTLS": (0, 0),
    "AUTHENTICATE": (1, 2), "HAVESPACE": (2, 2), "PUTSCRIPT": (2, 2), "LISTSCRIPTS": (0, 0),
    "SETACTIVE": (1, 1), "GETSCRIPT": (1, 1), "DELETESCRIPT": (1, 1), "RENAMESCRIPT": (2, 2),
    "CHECKSCRIPT": (1, 1),
}  # fmt: skip


#: octets of a GETSCRIPT answer written before waiting for the client to read
OUTPUT_PIECE = 256 * 1024


class _Close(Exception):
    pass


class Session:
    def __init__(self, server: ManageSieveServer, conn: Connection) -> None:
        self.server = server
        self.conn = conn
        self.user: str | None = None
        self.bad_commands = 0
        self.waiting = False  # between commands: safe to drop at shutdown

    # ---------------------------------------------------------------- wire

    def send(self, data: bytes) -> None:
        self.conn.write(data)

    @property
    def plaintext_ok(self) -> bool:
        return self.conn.tls or (
            self.server.config.security.plaintext_auth_on_loopback
            and is_loopback(self.conn.peer_ip)
        )

    def capabilities(self) -> bytes:
        """RFC 5804 §1.7."""
        sasl = " ".join(SASL_MECHANISMS) if self.plaintext_ok else ""
        lines = [
            b'"IMPLEMENTATION" "mailtool"',
            b'"SASL" ' + quoted(sasl),
            b'"SIEVE" ' + quoted(" ".join(sorted(self.server.sieve.EXTENSIONS))),
            # RFC 5804 §1.7: the notification methods, with enotify (RFC 5436: mailto)
            *([b'"NOTIFY" "mailto"'] if "enotify" in self.server.sieve.EXTENSIONS else []),
            b'"MAXREDIRECTS" ' + quoted(str(self.server.config.sieve.max_redirects)),
            b'"VERSION" "1.0"',
        ]
        if not self.conn.tls:
            lines.insert(3, b'"STARTTLS"')
        if self.user is not None:
            lines.append(b'"OWNER" ' + quoted(self.user))
        return b"".join(line + b"\r\n" for line in lines)

    # ---------------------------------------------------------------- loop

    async def run(self) -> None:
        server = self.server
        # a deadline, not an idle timer: trickled bytes and commands cannot extend it
        self.conn.set_deadline(server.login_timeout)
        self.send(self.capabilities() + resp("OK", f"{server.hostname} ManageSieve ready"))
        try:
            await self.conn.drain()
            while True:
                self.waiting = True
                try:
                    cmd = await read_command(
                        self.conn, max_line=server.max_line, max_literal=self.max_literal,
                        timeout=server.idle_timeout,
                    )  # fmt: skip
                except BadLiteral as exc:
                    self.send(resp("BYE", str(exc)))
                    await self.conn.drain()
                    return
                except (BadCommand, LineTooLong) as exc:
                    await self.bad(str(exc) or "line too long")
                    continue
                finally:
                    self.waiting = False
                if cmd is None:
                    continue
                await self.dispatch(cmd)
                await self.conn.drain()
        except DeadlineExceeded:
            self.conn.outcome = "login-timeout"
            log_event("managesieve.login_timeout", id=self.conn.id, peer=self.conn.peer_ip)
            self.send(resp("BYE", "Login timeout"))
        except ReadTimeout:
            self.conn.outcome = "idle-timeout"
            self.send(resp("BYE", "idle for too long"))
        except WriteTimeout:
            self.conn.outcome = "write-timeout"  # it stopped reading our answers
        except (_Close, ConnectionClosed, ConnectionError):
            pass

    @property
    def max_literal(self) -> int:
        """Scripts after login; before it only a SASL string, so a client that never
        logs in cannot make us hold ``sieve.max_script_size`` per connection."""
        return self.server.max_literal if self.user is not None else MAX_SASL_LINE

    def shutdown(self) -> None:
        """The server is stopping: a session waiting for a command gets BYE and is
        dropped now (RFC 5804 §1.3 TRYLATER); one in a command finishes within the
        listener's grace period."""
        if self.waiting:
            self.send(resp("BYE", "Server shutting down", "TRYLATER"))
            self.conn.abort()

    async def bad(self, text: str) -> None:
        self.bad_commands += 1
        if self.bad_commands >= self.server.max_bad_commands:
            self.send(resp("BYE", "too many bad commands"))
            await self.conn.drain()
            raise _Close
        self.send(resp("NO", text))
        await self.conn.drain()

    async def dispatch(self, cmd: Command) -> None:
        allowed = AUTHENTICATED if self.user is not None else UNAUTHENTICATED
        if cmd.name not in ARITY:
            await self.bad(f"unknown command {cmd.name[:40]}")
            return
        if cmd.name not in allowed:
            await self.bad(f"{cmd.name} is not valid {'after' if self.user else 'before'} login")
            return
        low, high = ARITY[cmd.name]
        if not low <= len(cmd.args) <= high:
            await self.bad(f"{cmd.name} takes {low}-{high} arguments")
            return
        try:
            await getattr(self, f"do_{cmd.name.lower()}")(*cmd.args)
        except NotFound as exc:
            self.send(resp("NO", str(exc), "NONEXISTENT"))
        except AlreadyExists as exc:
            self.send(resp("NO", str(exc), "ALREADYEXISTS"))
        except StoreUnavailable as exc:  # RFC 5804 §1.3: TRYLATER, a temporary failure
            log_event("managesieve.store_unavailable", id=self.conn.id, error=str(exc),
                      level=logging.WARNING)  # fmt: skip
            self.send(resp("NO", "Script store temporarily unavailable", "TRYLATER"))
        except StoreError as exc:
            self.send(resp("NO", str(exc)))

    # ---------------------------------------------------------------- any state

    async def do_capability(self) -> None:
        self.send(self.capabilities() + resp("OK", "Capability completed"))

    async def do_noop(self, tag: str | None = None) -> None:
        # RFC 5804 §2.15: the TAG response code echoes the argument
        code = "TAG " + quoted(tag).decode() if tag is not None and len(tag) < 200 else None
        self.send(resp("OK", "Done", code))

    async def do_logout(self) -> None:
        self.send(resp("OK", "Logout completed"))
        await self.conn.drain()
        raise _Close

    # ---------------------------------------------------------------- before login

    async def do_starttls(self) -> None:
        if self.conn.tls:
            self.send(resp("NO", "TLS is already active"))
            return
        self.send(resp("OK", "Begin TLS negotiation now"))
        await self.conn.drain()
        try:  # pipelined plaintext must not run inside TLS: start_tls drops it
            await self.conn.start_tls(self.server.tls_context)
        except (OSError, ValueError) as exc:
            log_event("managesieve.starttls_failed", id=self.conn.id, error=type(exc).__name__)
            raise _Close from None
        # RFC 5804 §2.2: capabilities again, now over TLS
        self.send(self.capabilities() + resp("OK", "TLS negotiation successful"))

    async def do_authenticate(self, mech_name: str, initial: str | None = None) -> None:
        mech_name = mech_name.upper()
        if not self.plaintext_ok:
            self.send(resp("NO", "Authentication needs TLS; use STARTTLS", "ENCRYPT-NEEDED"))
            return
        if mech_name not in SASL_MECHANISMS:
            self.send(resp("NO", f"unsupported mechanism {mech_name[:40]}"))
            return
        try:  # every step in the login gate's pool, throttled per (IP, account)
            async with self.server.login_gate.attempt(self.conn.peer_ip) as attempt:
                mech = attempt.mechanism(mech_name, self.server.accounts)
                out = await attempt.step(mech, decode_initial_response(initial))
                while not isinstance(out, Done):
                    # RFC 5804 §2.1: challenges and responses are strings
                    self.send(quoted(encode_challenge(out).decode()) + b"\r\n")
                    await self.conn.drain()
                    reply = await read_tokens(
                        self.conn, max_line=MAX_SASL_LINE + 4, max_literal=MAX_SASL_LINE,
                        timeout=self.server.idle_timeout,
                    )  # fmt: skip
                    if len(reply) != 1:
                        raise BadCommand("one string expected")
                    out = await attempt.step(mech, decode_response(reply[0]))
                if not await attempt.accept(out):
                    self.login_failed(out.authcid, "authzid")
                    return
        except LoginRefused as exc:
            # RFC 5804 §1.3: TRYLATER, a temporary condition; nothing was checked
            log_event("managesieve.login", id=self.conn.id, peer=self.conn.peer_ip,
                      outcome=exc.reason, level=logging.WARNING)  # fmt: skip
            why = "Too many failed logins" if exc.reason == THROTTLED else "Too many logins at once"
            self.send(resp("NO", f"{why}, try again later", "TRYLATER"))
            return
        except SaslCancelled:
            self.send(resp("NO", "Authentication cancelled"))
            return
        except (SaslAuthFailed, SaslError, BadCommand) as exc:
            self.login_failed(None, type(exc).__name__)  # a failure: counted by the gate
            return
        self.user = self.server.canonical_user(out.authcid)
        self.conn.user = self.user
        self.conn.set_deadline(None)  # logged in: the idle timer alone from now on
        log_event("managesieve.login", id=self.conn.id, peer=self.conn.peer_ip, user=self.user,
                  outcome="ok")  # fmt: skip
        self.send(resp("OK", "Logged in"))

    def login_failed(self, user: str | None, reason: str) -> None:
        log_event("managesieve.login", id=self.conn.id, peer=self.conn.peer_ip, user=user,
                  outcome=reason, level=logging.WARNING)  # fmt: skip
        self.send(resp("NO", "Authentication failed"))

    # ---------------------------------------------------------------- scripts

    @property
    def scripts(self) -> Any:
        return self.server.scripts

    def _room(self, name: str, size: int) -> str | None:
        """The QUOTA response code when ``name`` of ``size`` octets would not fit."""
        limits = self.server.config.sieve
        if size > limits.max_script_size:
            return "QUOTA/MAXSIZE"
        count, _bytes = self.scripts.usage(self.user)
        if count >= limits.max_scripts and not self.scripts.exists(self.user, name):
            return "QUOTA/MAXSCRIPTS"
        return None

    def _invalid(self, text: str) -> str | None:
        try:
            self.server.sieve.check(text)
        except MailtoolError as exc:
            return str(exc)
        return None

    async def do_havespace(self, name: str, size: str) -> None:
        if not (size.isascii() and size.isdigit()):  # RFC 5804 §2.5: number, ASCII digits
            await self.bad("HAVESPACE needs a number")
            return
        code = self._room(name, int(size))
        self.send(resp("NO", "Not enough space", code) if code else resp("OK"))

    async def do_putscript(self, name: str, text: str) -> None:
        code = self._room(name, len(text.encode()))
        if code:
            self.send(resp("NO", "Script does not fit", code))
            return
        error = self._invalid(text)
        if error:
            self.send(resp("NO", error))  # RFC 5804 §2.6: the reason, for the user
            return
        await asyncio.to_thread(self.scripts.put, self.user, name, text)
        log_event("managesieve.put", id=self.conn.id, user=self.user, script=name)
        self.send(resp("OK", "Script stored"))

    async def do_checkscript(self, text: str) -> None:
        error = self._invalid(text)
        self.send(resp("NO", error) if error else resp("OK", "Script is valid"))

    async def do_listscripts(self) -> None:
        # at most sieve.max_scripts names: one small write
        out = b"".join(
            quoted(info.name) + (b" ACTIVE" if info.active else b"") + b"\r\n"
            for info in self.scripts.list(self.user)
        )
        self.send(out + resp("OK", "Listscripts completed"))

    async def do_setactive(self, name: str) -> None:
        await asyncio.to_thread(self.scripts.activate, self.user, name or None)
        self.send(resp("OK", "Script activated" if name else "No script is active"))

    async def do_getscript(self, name: str) -> None:
        text = self.scripts.get(self.user, name)
        data = memoryview(text.encode())
        del text
        # as large as sieve.max_script_size allows: written in pieces, each drained,
        # so unsent output stays within limits.output_buffer (RFC 5804 §2.9)
        self.send(b"{%d}\r\n" % len(data))
        for start in range(0, len(data), OUTPUT_PIECE):
            self.send(bytes(data[start : start + OUTPUT_PIECE]))
            await self.conn.drain()
        self.send(b"\r\n" + resp("OK", "Getscript completed"))

    async def do_deletescript(self, name: str) -> None:
        if self.scripts.active_name(self.user) == name:
            self.send(resp("NO", "The active script cannot be deleted", "ACTIVE"))
            return
        await asyncio.to_thread(self.scripts.delete, self.user, name)
        self.send(resp("OK", "Script deleted"))

    async def do_renamescript(self, old: str, new: str) -> None:
        await asyncio.to_thread(self.scripts.rename, self.user, old, new)
        self.send(resp("OK", "Script renamed"))
