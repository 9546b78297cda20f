"""A line client that records everything it says and hears: the engine of
``mailtool probe`` and of diagnose's transport and client-access checks.

It speaks no protocol itself (probe_smtp, probe_imap and probe_pop3 do); it
connects, writes lines, reads lines, upgrades to TLS, and keeps a
:class:`Transcript` with timings. Secrets are never recorded: a line sent with
``shown=`` is recorded as that text instead.

Stages and exit codes follow swaks (``man swaks``, "EXIT CODES") so scripts
written for swaks read ours the same way.
"""

from __future__ import annotations

import asyncio
import enum
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .probe_tls import TLSInfo, probe_context, tls_info

GREETING_TIMEOUT = 30.0  # RFC 5321 §4.5.3.2.1 allows 5 min; ≥ 20 s catches greet-pause
COMMAND_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
MAX_LINE = 8192


class Stage(enum.IntEnum):
    """Where a probe failed; the value is the process exit code (as swaks)."""

    OK = 0
    CONNECT = 2
    CLOSED = 6
    GREETING = 21
    HELLO = 22  # EHLO / CAPABILITY / CAPA
    MAIL = 23
    RCPT = 24
    DATA = 25
    DATA_END = 26
    AUTH = 28
    TLS = 29
    HELLO_AFTER_TLS = 32


class ProbeFailed(Exception):
    """Internal: a stage failed; the probe stops and records it."""

    def __init__(self, stage: Stage, message: str) -> None:
        super().__init__(message)
        self.stage = stage


#: ``--quit-after`` points, in dialog order (swaks' --quit-after: CONNECT, BANNER,
#: FIRST-HELO, TLS, AUTH, MAIL, RCPT); "ehlo" is CAPABILITY (IMAP) / CAPA (POP3)
QUIT_POINTS = ("connect", "banner", "ehlo", "tls", "auth", "mail", "rcpt")


class QuitAfter(Exception):
    """Internal: the dialog reached ``--quit-after``; it says goodbye and stops."""


def stop_after(opts: ProbeOptions, point: str) -> None:
    """Raise :class:`QuitAfter` when ``point`` is where the user asked to stop."""
    if opts.quit_after == point:
        raise QuitAfter(point)


@dataclass
class ProbeOptions:
    """What every probe accepts. ``tls``: "auto" (STARTTLS/STLS when offered),
    "starttls" (required), "tls" (implicit TLS, RFC 8314), "none"."""

    tls: str = "auto"
    server_name: str | None = None  # SNI, and the name the certificate should carry
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    greeting_timeout: float = GREETING_TIMEOUT
    cafile: str | None = None
    #: a certificate that does not verify is fatal (exit 29), not reported and retried
    tls_verify: bool = False
    quit_after: str | None = None  # one of QUIT_POINTS

    def __post_init__(self) -> None:
        if self.quit_after is not None and self.quit_after not in QUIT_POINTS:
            raise ValueError(f"quit_after must be one of {', '.join(QUIT_POINTS)}")

    @property
    def mode(self) -> str:
        return {"tls": "tls", "none": "plain"}.get(self.tls, "starttls")


@dataclass(frozen=True)
class Line:
    """One transcript line. ``kind``: ``->`` sent, ``<-`` received (``~>`` /
    ``<~`` over TLS), ``===`` what the probe did, ``***`` an error."""

    at: float  # seconds since the probe started
    kind: str
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"at": round(self.at, 4), "kind": self.kind, "text": self.text}


@dataclass
class Transcript:
    lines: list[Line] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def add(self, kind: str, text: str) -> None:
        self.lines.append(Line(time.monotonic() - self.started, kind, text))

    def note(self, text: str) -> None:
        self.add("===", text)

    def error(self, text: str) -> None:
        self.add("***", text)

    def text(self) -> str:
        return "\n".join(f"{ln.kind:>3} {ln.text}" for ln in self.lines)

    def __rich__(self) -> Any:
        from rich.text import Text

        styles = {
            "->": "cyan",
            "~>": "cyan",
            "<-": "green",
            "<~": "green",
            "===": "dim",
            "***": "bold red",
        }
        out = Text()
        for ln in self.lines:
            out.append(f"{ln.at * 1000:8.1f}ms ", style="dim")
            out.append(f"{ln.kind:>3} {ln.text}\n", style=styles.get(ln.kind, ""))
        return out


class LineClient:
    """An asyncio connection with a transcript, for CRLF line protocols."""

    def __init__(self, transcript: Transcript, *, cafile: str | None = None) -> None:
        self.transcript = transcript
        self.cafile = cafile
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.tls: TLSInfo | None = None
        self.timings: dict[str, float] = {}
        #: what the dialog is waiting for: a read that times out failed *this* stage
        self.stage = Stage.CLOSED

    @property
    def encrypted(self) -> bool:
        return self.tls is not None

    async def connect(
        self,
        host: str,
        port: int,
        *,
        implicit_tls: bool = False,
        server_name: str | None = None,
        verify: bool = True,
        timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self.transcript.note(f"Trying {host}:{port}...")
        t0 = time.monotonic()
        try:
            self.reader, self.writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, limit=MAX_LINE * 4), timeout
            )
        except (TimeoutError, OSError) as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)
            raise ProbeFailed(Stage.CONNECT, f"cannot connect to {host}:{port}: {reason}") from exc
        self.timings["connect"] = time.monotonic() - t0
        self.transcript.note(f"Connected to {host}:{port}.")
        if implicit_tls:
            # RFC 8314 §3.2: the handshake right after the TCP connection; timed apart
            # from it so that "connect" and "tls" mean the same as with STARTTLS
            await self.starttls(server_name, verify=verify, timeout=timeout)

    def _record_tls(self, verified: bool, server_name: str | None) -> None:
        assert self.writer is not None
        sslobj = self.writer.get_extra_info("ssl_object")
        self.tls = tls_info(sslobj, verified=verified, verify_error=None, server_name=server_name)
        t = self.tls
        self.transcript.note(
            f"TLS started with {t.version} {t.cipher} ({t.bits} bits); "
            f"handshake {self.timings['tls'] * 1000:.1f} ms"
        )
        if t.cert:
            self.transcript.note(f"TLS peer subject: {t.cert.subject}")
            self.transcript.note(f"TLS peer names: {', '.join(t.cert.names) or '(none)'}")
            self.transcript.note(
                f"TLS peer issuer: {t.cert.issuer}; valid until {t.cert.not_after:%Y-%m-%d}"
            )
        self.transcript.note(
            "TLS certificate chain verified" if verified else "TLS chain NOT verified"
        )

    async def starttls(
        self, server_name: str | None, *, verify: bool = True, timeout: float = COMMAND_TIMEOUT
    ) -> None:
        """The TLS handshake on the open connection; ``timings["tls"]`` is the
        handshake alone, and the transcript's "TLS started" line says the same."""
        assert self.writer is not None
        self.stage = Stage.TLS
        t0 = time.monotonic()
        ctx = probe_context(verify=verify, cafile=self.cafile)
        try:
            await asyncio.wait_for(
                self.writer.start_tls(ctx, server_hostname=server_name or None), timeout
            )
        except ssl.SSLError as exc:
            raise ProbeFailed(Stage.TLS, f"TLS handshake failed: {_ssl_reason(exc)}") from exc
        except (TimeoutError, OSError, ConnectionError) as exc:
            raise ProbeFailed(Stage.TLS, f"TLS handshake failed: {exc!r}") from exc
        self.timings["tls"] = time.monotonic() - t0
        self._record_tls(verify, server_name)

    async def send(self, line: str, *, shown: str | None = None) -> None:
        assert self.writer is not None
        self.transcript.add("~>" if self.encrypted else "->", line if shown is None else shown)
        try:
            self.writer.write(line.encode("utf-8") + b"\r\n")
            await self.writer.drain()
        except (OSError, ConnectionError) as exc:
            raise ProbeFailed(Stage.CLOSED, f"connection lost while sending: {exc}") from exc

    async def send_raw(self, data: bytes, *, shown: str) -> None:
        """Message content: recorded as a summary line, not byte for byte."""
        assert self.writer is not None
        self.transcript.add("~>" if self.encrypted else "->", shown)
        self.writer.write(data)
        await self.writer.drain()

    async def read_line(self, timeout: float = COMMAND_TIMEOUT) -> bytes:
        assert self.reader is not None
        try:
            line = await asyncio.wait_for(self.reader.readuntil(b"\n"), timeout)
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                self.transcript.add("<-", exc.partial.decode("utf-8", "replace"))
            raise ProbeFailed(Stage.CLOSED, "connection closed by the server") from None
        except asyncio.LimitOverrunError:
            raise ProbeFailed(Stage.CLOSED, "line too long from the server") from None
        except TimeoutError:
            # the stage waited for (21 for a server that never greets), not "closed"
            where = self.stage.name.lower().replace("_", " ")
            raise ProbeFailed(self.stage, f"no answer within {timeout:g} s ({where})") from None
        except (OSError, ConnectionError) as exc:
            raise ProbeFailed(Stage.CLOSED, f"connection lost: {exc}") from None
        self.transcript.add(
            "<~" if self.encrypted else "<-", line.rstrip(b"\r\n").decode("utf-8", "replace")
        )
        return line

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await asyncio.wait_for(self.writer.wait_closed(), 2)
            except (TimeoutError, OSError, ConnectionError, ssl.SSLError):
                pass
            self.writer = None


def _ssl_reason(exc: ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verification failed: {exc.verify_message}"
    return exc.reason or str(exc)


def is_verify_failure(exc: ProbeFailed) -> bool:
    return isinstance(exc.__cause__, ssl.SSLCertVerificationError)


@dataclass
class ProbeResult:
    """What one probe found. ``stage`` is OK or where it failed; ``exit_code``
    is its number (swaks-compatible)."""

    service: str
    host: str
    port: int
    mode: str  # "plain", "starttls", "tls"
    transcript: Transcript
    stage: Stage = Stage.OK
    error: str | None = None
    greeting: str = ""
    hello_name: str = ""  # EHLO's first word: the name the server calls itself
    capabilities: tuple[str, ...] = ()  # before TLS
    tls_capabilities: tuple[str, ...] = ()  # after STARTTLS / on implicit TLS
    starttls_offered: bool = False
    plaintext_login_before_tls: bool = False
    tls: TLSInfo | None = None
    authenticated: bool | None = None  # None: no login tried
    replies: dict[str, str] = field(default_factory=dict)  # named checks -> "code text"
    timings: dict[str, float] = field(default_factory=dict)
    quit_after: str | None = None  # the --quit-after point the probe stopped at

    @property
    def exit_code(self) -> int:
        return int(self.stage)

    @property
    def ok(self) -> bool:
        return self.stage is Stage.OK

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "host": self.host,
            "port": self.port,
            "mode": self.mode,
            "ok": self.ok,
            "stage": self.stage.name.lower(),
            "exit_code": self.exit_code,
            "error": self.error,
            "greeting": self.greeting,
            "hello_name": self.hello_name,
            "capabilities": list(self.capabilities),
            "tls_capabilities": list(self.tls_capabilities),
            "starttls_offered": self.starttls_offered,
            "plaintext_login_before_tls": self.plaintext_login_before_tls,
            "tls": self.tls.to_json() if self.tls else None,
            "authenticated": self.authenticated,
            "replies": self.replies,
            "quit_after": self.quit_after,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "transcript": [ln.to_json() for ln in self.transcript.lines],
        }

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.text import Text

        if self.ok:
            stopped = f" (stopped after {self.quit_after})" if self.quit_after else ""
            summary = Text(
                f"{self.service} {self.host}:{self.port}: OK{stopped}", style="bold green"
            )
        else:
            summary = Text(
                f"{self.service} {self.host}:{self.port}: failed at {self.stage.name.lower()} "
                f"(exit {self.exit_code}): {self.error}",
                style="bold red",
            )
        parts: list[Any] = [self.transcript]
        caps = self.tls_capabilities or self.capabilities
        if caps:
            parts.append(Text("capabilities: " + ", ".join(caps), style="dim"))
        timings = ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in self.timings.items())
        if timings:
            parts.append(Text("timings: " + timings, style="dim"))
        parts.append(summary)
        return Group(*parts)


async def run_probe(
    dialog: Any, result: ProbeResult, *, verify: bool = True, bye: str = "QUIT", **kw: Any
) -> ProbeResult:
    """Run ``dialog(client, result, verify=..., **kw)``; on a certificate
    verification failure, note it and run the dialog again without verification
    so the rest of the server can still be seen (the TLS info keeps the error)."""
    t0 = time.monotonic()
    client = LineClient(result.transcript, cafile=kw.pop("cafile", None))
    verify_error: str | None = None
    opts = kw.get("opts")
    fatal = bool(opts is not None and opts.tls_verify)  # --tls-verify: no second try
    try:
        try:
            await dialog(client, result, verify=verify, **kw)
        except ProbeFailed as exc:
            if fatal or not (verify and is_verify_failure(exc)):
                raise
            verify_error = str(exc).split(": ", 2)[-1]
            result.transcript.error(str(exc))
            result.transcript.note("retrying without certificate verification")
            await client.close()
            client = LineClient(result.transcript, cafile=client.cafile)
            await dialog(client, result, verify=False, **kw)
    except QuitAfter as point:
        result.quit_after = str(point)
        await quit_politely(client, bye, str(point))
    except ProbeFailed as exc:
        result.stage, result.error = exc.stage, str(exc)
        result.transcript.error(str(exc))
    finally:
        await client.close()
    if client.tls is not None:
        import dataclasses

        tls = client.tls
        if verify_error:
            tls = dataclasses.replace(tls, verified=False, verify_error=verify_error)
        result.tls = tls
    result.timings = {**client.timings, **result.timings, "total": time.monotonic() - t0}
    return result


async def start_probe(
    service: str, dialog: Any, host: str, port: int, opts: ProbeOptions, *, bye: str = "QUIT"
) -> ProbeResult:
    """The common entry of probe_smtp/imap/pop3: never raises for server behaviour.
    ``bye`` is the line that ends a session cut short by ``--quit-after``."""
    result = ProbeResult(service, host, port, opts.mode, Transcript())
    return await run_probe(
        dialog, result, bye=bye, opts=opts, host=host, port=port, cafile=opts.cafile
    )


async def open_and_greet(
    client: LineClient, result: ProbeResult, opts: ProbeOptions, verify: bool, read: Any
) -> Any:
    """Connect (implicit TLS when asked) and read the greeting with ``read(timeout)``,
    timing it. ``--quit-after connect`` stops before the greeting is read."""
    result.capabilities = result.tls_capabilities = ()
    await client.connect(
        result.host,
        result.port,
        implicit_tls=opts.tls == "tls",
        server_name=opts.server_name,
        verify=verify,
    )
    stop_after(opts, "connect")
    client.stage = Stage.GREETING
    t0 = time.monotonic()
    greeting = await read(opts.greeting_timeout)
    result.timings["greeting"] = time.monotonic() - t0
    return greeting


async def quit_politely(client: LineClient, line: str, point: str) -> None:
    """``--quit-after``: say goodbye (QUIT / LOGOUT) and read one line, if the
    server still listens; the probe has succeeded up to ``point``."""
    client.transcript.note(f"quitting after {point} (--quit-after)")
    if client.writer is None or point == "connect":
        return
    try:
        await client.send(line)
        await client.read_line(5)
    except ProbeFailed:
        pass


async def upgrade_to_tls(
    client: LineClient,
    result: ProbeResult,
    opts: ProbeOptions,
    verify: bool,
    caps: tuple[str, ...],
    *,
    verb: str,
    offered: bool,
    plaintext_login: bool,
    start: Callable[[], Awaitable[object]],
    again: Callable[[], Awaitable[tuple[str, ...]]],
) -> None:
    """Record the first capabilities; then STARTTLS/STLS (``start``), the
    handshake, and the capabilities asked ``again`` over TLS (RFC 3207 §4.2,
    RFC 2595 §3.1: what was learnt before TLS is forgotten)."""
    if client.encrypted:
        result.tls_capabilities = caps
        stop_after(opts, "ehlo")
        stop_after(opts, "tls")
        return
    result.capabilities = caps
    result.starttls_offered = offered
    result.plaintext_login_before_tls = plaintext_login
    stop_after(opts, "ehlo")
    if opts.tls == "starttls" and not offered:
        raise ProbeFailed(Stage.TLS, f"{verb} is not offered")
    if opts.tls in ("starttls", "auto") and offered:
        await start()
        await client.starttls(opts.server_name, verify=verify)
        stop_after(opts, "tls")
        result.tls_capabilities = await again()
    else:
        stop_after(opts, "tls")  # no TLS to start: this is where it would have been
