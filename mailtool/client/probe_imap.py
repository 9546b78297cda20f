"""IMAP probe: greeting, CAPABILITY, STARTTLS, CAPABILITY again, optional
LOGIN, LOGOUT (RFC 9051 §6.1, §6.2). Responses are read with the shared
parser of :mod:`mailtool.protocol.imap`.
"""

from __future__ import annotations

from mailtool.protocol.imap.errors import ImapError
from mailtool.protocol.imap.response_parser import parse_response
from mailtool.protocol.imap.responses import Capability
from mailtool.protocol.imap.status import StatusResponse

from .probe import (
    LineClient,
    ProbeFailed,
    ProbeOptions,
    ProbeResult,
    Stage,
    open_and_greet,
    start_probe,
    stop_after,
    upgrade_to_tls,
)


def quote(text: str) -> str:
    """An IMAP quoted string (RFC 9051 §4.3)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Session:
    def __init__(self, client: LineClient) -> None:
        self.client = client
        self.counter = 0

    async def read(self, timeout: float | None = None) -> object:
        line = await (self.client.read_line(timeout) if timeout else self.client.read_line())
        try:
            return parse_response(line)
        except ImapError:
            return line  # a response our parser does not know: keep going

    async def run(self, command: str, stage: Stage, *, shown: str | None = None):
        """Send a tagged command; (untagged responses, tagged status)."""
        self.counter += 1
        tag = f"P{self.counter}"
        self.client.stage = stage
        await self.client.send(f"{tag} {command}", shown=f"{tag} {shown}" if shown else None)
        untagged = []
        while True:
            resp = await self.read()
            if isinstance(resp, StatusResponse) and resp.tag == tag:
                if resp.status != "OK":
                    verb = (shown or command).split()[0]
                    raise ProbeFailed(stage, f"{verb} answered {resp.status} {resp.text}")
                return untagged, resp
            untagged.append(resp)

    async def capabilities(self, stage: Stage) -> tuple[str, ...]:
        untagged, tagged = await self.run("CAPABILITY", stage)
        for resp in untagged:
            if isinstance(resp, Capability):
                return resp.capabilities
        return _code_caps(tagged)


def _code_caps(resp: object) -> tuple[str, ...]:
    code = getattr(resp, "code", None)
    if code is not None and code.name == "CAPABILITY":
        return tuple(code.value or ())
    return ()


async def _dialog(
    client: LineClient,
    result: ProbeResult,
    *,
    verify: bool,
    opts: ProbeOptions,
    host: str,
    port: int,
) -> None:
    session = _Session(client)
    greeting = await open_and_greet(client, result, opts, verify, session.read)
    if not isinstance(greeting, StatusResponse) or greeting.status not in ("OK", "PREAUTH"):
        raise ProbeFailed(Stage.GREETING, f"greeting was not * OK: {greeting!r}")
    result.greeting = greeting.text
    stop_after(opts, "banner")
    caps = await session.capabilities(Stage.HELLO)
    upper = {c.upper() for c in caps}
    await upgrade_to_tls(
        client,
        result,
        opts,
        verify,
        caps,
        verb="STARTTLS",
        offered="STARTTLS" in upper,
        # RFC 9051 §6.2.3 / RFC 8314 §3: LOGINDISABLED until TLS
        plaintext_login="LOGINDISABLED" not in upper,
        start=lambda: session.run("STARTTLS", Stage.TLS),
        again=lambda: session.capabilities(Stage.HELLO_AFTER_TLS),
    )
    if opts.user is not None:
        try:
            await session.run(
                f"LOGIN {quote(opts.user)} {quote(opts.password or '')}",
                Stage.AUTH,
                shown=f"LOGIN {quote(opts.user)} ********",
            )
            result.authenticated = True
        except ProbeFailed:
            result.authenticated = False
            raise
    stop_after(opts, "auth")
    await session.run("LOGOUT", Stage.CLOSED)


async def probe_imap(host: str, port: int, opts: ProbeOptions | None = None) -> ProbeResult:
    """Probe an IMAP server; never raises for server behaviour."""
    return await start_probe("imap", _dialog, host, port, opts or ProbeOptions(), bye="Q LOGOUT")
