"""aioimaplib as a byte transport: connect (TLS / STARTTLS / plain), send, collect.

aioimaplib gives us the asyncio protocol, tags, literal reading and IDLE. Three
of its habits do not fit a client that must not lose data, so this module
adjusts them in a subclass instead of working around them everywhere:

* it removes *every* ``"* "`` from an untagged line (a subject ``"a * b"``
  became ``"ab"``): we strip only the leading one;
* it routes untagged responses by name, dropping those it cannot match
  (``ESEARCH`` for ``SEARCH``, ``* 3 EXISTS`` during ``FETCH``): we send one
  command at a time (:class:`Transport` holds a lock), so every untagged
  response belongs to the command in flight;
* after a literal it decides whether the line continues by counting
  parentheses, which breaks on a ``(`` inside a quoted subject: we know a line
  after a literal always continues the same response (RFC 9051 §9, ``literal``
  is never the last token of a response).

:func:`assemble` then puts each response back together, literals inline as on
the wire, so the sans-I/O parsers in :mod:`mailtool.protocol.imap` can read it.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aioimaplib
from aioimaplib import aioimaplib as _aio

from mailtool.errors import MailtoolError
from mailtool.net.tls import client_context
from mailtool.protocol.imap.values import Writer

_LITERAL_END = re.compile(rb"\{(\d+)\+?\}$")


class ImapClientError(MailtoolError):
    """The server answered NO or BAD, or the connection failed."""

    def __init__(self, message: str, *, result: str = "NO") -> None:
        super().__init__(message)
        self.result = result


class ConnectionLost(ImapClientError):
    """The connection dropped; the caller reconnects."""


@dataclass
class Reply:
    """A completed command: its untagged responses (``*`` stripped) and tagged text."""

    lines: list[bytes]
    text: str


class _Command(_aio.Command):
    """A command whose response keeps lines after a literal together."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._after_literal = False

    def append_to_resp(self, line: bytes, result: str = "Pending") -> None:
        super().append_to_resp(line, result)
        self._after_literal = isinstance(line, bytearray)

    def wait_data(self) -> bool:
        return self.wait_literal_data() or self._after_literal


class _Protocol(_aio.IMAP4ClientProtocol):
    """aioimaplib's protocol with exact untagged-line handling (see module docstring)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, conn_lost_cb: Callable | None) -> None:
        super().__init__(loop, conn_lost_cb)
        #: untagged responses that arrived with no command in flight
        self.unsolicited: list[bytes] = []

    def _untagged_response(self, line: bytes) -> _aio.Command | None:
        if line.startswith(b"* "):
            line = line[2:]
        cmd = self.pending_sync_command
        if cmd is None and self.pending_async_commands:
            cmd = next(iter(self.pending_async_commands.values()))
        if cmd is None:
            self.unsolicited.append(bytes(line))
            return None
        cmd.append_to_resp(line)
        return cmd

    def connection_lost(self, exc: Exception | None) -> None:
        # wake every command in flight: a dropped connection must never hang a caller
        pending = [self.pending_sync_command, *self.pending_async_commands.values()]
        self.pending_sync_command = None
        self.pending_async_commands = {}
        for cmd in pending:
            if cmd is not None:
                cmd._exception = ConnectionLost(f"connection lost: {exc or 'closed by server'}")
                cmd.close(b"connection lost", "BYE")
        self.idle_queue.put_nowait([b"BYE connection lost"])
        super().connection_lost(exc)

    async def capability(self) -> None:
        response = await self.execute(_Command("CAPABILITY", self.new_tag(), loop=self.loop))
        for line in response.lines[:-1]:  # the last one is the tagged text
            if isinstance(line, bytes) and line.upper().startswith(b"CAPABILITY "):
                self.capabilities = set(line.decode("ascii", "replace").split()[1:])
        self.imap_version = "IMAP4REV1"


class _IMAP4(aioimaplib.IMAP4):
    def __init__(self, *args: Any, server_hostname: str | None = None, **kwargs: Any) -> None:
        self._server_hostname = server_hostname  # the name TLS checks, when host is an address
        super().__init__(*args, **kwargs)

    def create_client(self, host, port, loop, conn_lost_cb=None, ssl_context=None) -> None:
        local_loop = loop if loop is not None else asyncio.get_running_loop()
        self.protocol = _Protocol(local_loop, conn_lost_cb)
        name = (self._server_hostname or host) if ssl_context is not None else None
        self._client_task = local_loop.create_task(
            local_loop.create_connection(lambda: self.protocol, host, port, ssl=ssl_context,
                                         server_hostname=name)
        )


def assemble(lines: list[bytes]) -> list[bytes]:
    """aioimaplib's response lines -> one bytes per untagged response, literals inline.

    The last element of a completed command's lines is the tagged text; callers
    drop it.
    """
    out: list[bytes] = []
    i = 0
    while i < len(lines):
        line = bytes(lines[i])
        i += 1
        while True:
            m = _LITERAL_END.search(line)
            if not m or i >= len(lines) or not isinstance(lines[i], bytearray):
                break
            line += b"\r\n" + bytes(lines[i])
            i += 1
            if i < len(lines) and not isinstance(lines[i], bytearray):
                line += bytes(lines[i])
                i += 1
        out.append(line)
    return out


def arg(value: str | bytes) -> str:
    """An astring argument as aioimaplib sends it (quoted when needed, never a literal)."""
    w = Writer(utf8=True)
    w.astring(value)
    data = w.getvalue()
    if b"{" in data[:1]:
        raise ImapClientError("argument too long or contains CR/LF", result="BAD")
    return data.decode("utf-8", "surrogateescape")


class Transport:
    """One IMAP connection: ``run(name, *args)`` sends a command and returns its
    untagged responses (assembled) after a tagged OK; NO/BAD raise."""

    def __init__(
        self,
        host: str,
        port: int,
        tls: str = "tls",
        *,
        verify: bool = True,
        cafile: str | None = None,
        timeout: float = 30.0,
        on_lost: Callable[[Exception | None], None] | None = None,
        address: str | None = None,
    ) -> None:
        self.host, self.port, self.tls = host, port, tls
        #: where to connect when our own resolver found ``host`` (TLS still checks ``host``)
        self.address = address
        self.verify, self.cafile, self.timeout = verify, cafile, timeout
        self._on_lost = on_lost
        self._lock = asyncio.Lock()
        self.imap: _IMAP4 | None = None
        self.lost = False
        #: the last commands sent, ``"UID FETCH 1:3 (FLAGS)"`` (LOGIN without its
        #: arguments): what this client asked for, for diagnostics and tests
        self.sent: deque[str] = deque(maxlen=500)
        #: the server answered our LOGOUT (a clean end, not a dropped connection)
        self.logged_out = False

    @property
    def protocol(self) -> _Protocol:
        assert self.imap is not None, "not connected"
        return self.imap.protocol  # type: ignore[return-value]

    @property
    def capabilities(self) -> set[str]:
        return {c.upper() for c in self.protocol.capabilities}

    def _context(self) -> ssl.SSLContext:
        return client_context(verify=self.verify, cafile=self.cafile)

    def _lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self._on_lost is not None:
            self._on_lost(exc)

    async def connect(self) -> None:
        ctx = self._context() if self.tls == "tls" else None
        self.imap = _IMAP4(
            self.address or self.host, self.port, timeout=self.timeout, conn_lost_cb=self._lost,
            ssl_context=ctx, server_hostname=self.host,
        )
        try:
            await self.imap.wait_hello_from_server()
        except (TimeoutError, OSError, ssl.SSLError, _aio.AioImapException) as exc:
            raise ConnectionLost(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        if self.tls == "starttls":
            await self._starttls()

    async def _starttls(self) -> None:
        # RFC 9051 §6.2.1: STARTTLS, then discard capabilities learnt before TLS
        if "STARTTLS" not in self.capabilities:
            # no plaintext fallback: the password must never cross an unencrypted link
            raise ImapClientError(
                f"{self.host}:{self.port} does not offer STARTTLS; refusing to log in "
                'without TLS (imap_tls = "starttls")', result="NO")
        await self.run("STARTTLS")
        loop = asyncio.get_running_loop()
        proto = self.protocol
        transport = await loop.start_tls(
            proto.transport, proto, self._context(), server_hostname=self.host
        )
        proto.transport = transport
        proto.capabilities = set()
        await proto.capability()

    async def run(
        self, name: str, *args: str, prefix: str | None = None, scrub: str | None = None
    ) -> Reply:
        """Send one command; return its untagged responses. Raises on NO/BAD/drop."""
        if self.imap is None or self.lost:
            raise ConnectionLost("not connected")
        async with self._lock:
            self.note(name, *args, prefix=prefix, secret=scrub is not None)
            proto = self.protocol
            cmd = _Command(
                name, proto.new_tag(), *args, prefix=prefix, loop=proto.loop, timeout=self.timeout
            )
            try:
                response = await proto.execute(cmd, scrub=scrub)
            except _aio.CommandTimeout as exc:
                raise ConnectionLost(f"{name} timed out") from exc
            except (_aio.AioImapException, OSError, AttributeError) as exc:
                raise ConnectionLost(f"{name}: {exc}") from exc
        lines = assemble(list(response.lines))
        text = lines.pop().decode("utf-8", "replace") if lines else ""
        if response.result != "OK":
            if self.lost:
                raise ConnectionLost(f"{name}: connection lost")
            raise ImapClientError(
                f"{name} failed: {response.result} {text}".strip(), result=response.result
            )
        return Reply(lines, text)

    async def append(self, mailbox: str, data: bytes, flags: str | None = None) -> bytes:
        """APPEND via aioimaplib (it sends the literal); returns the tagged text."""
        if self.imap is None or self.lost:
            raise ConnectionLost("not connected")
        async with self._lock:
            self.note("APPEND", mailbox)
            try:
                response = await self.imap.append(data, mailbox=mailbox, flags=flags)
            except (TimeoutError, _aio.AioImapException, OSError) as exc:
                raise ConnectionLost(f"APPEND: {exc}") from exc
        text = bytes(response.lines[-1]) if response.lines else b""
        if response.result != "OK":
            raise ImapClientError(
                f"APPEND failed: {response.result} {text.decode('utf-8', 'replace')}",
                result=response.result,
            )
        return text

    def note(self, name: str, *args: str, prefix: str | None = None,
             secret: bool = False) -> None:
        """Record a command in :attr:`sent` (never the arguments of one carrying a secret)."""
        words = [prefix, name] if prefix else [name]
        self.sent.append(" ".join(words if secret else [*words, *args]))

    def set_state(self, state: str) -> None:
        self.protocol.state = state

    async def close(self) -> None:
        if self.imap is None:
            return
        if not self.lost:
            try:
                if self.imap.has_pending_idle():
                    # LOGOUT would queue behind the IDLE until the 5 s timeout
                    self.imap.idle_done()
                await asyncio.wait_for(self.run("LOGOUT"), 5)
                self.logged_out = True
            except (TimeoutError, MailtoolError):
                pass
        transport = self.imap.protocol.transport
        if transport is not None:
            transport.close()
        self.lost = True
