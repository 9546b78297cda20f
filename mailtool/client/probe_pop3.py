"""POP3 probe: greeting, CAPA, STLS, CAPA again, optional USER/PASS, QUIT
(RFC 1939, RFC 2449 CAPA, RFC 2595 §4 STLS). Lines are read with the shared
parser of :mod:`mailtool.protocol.pop3`.
"""

from __future__ import annotations

from mailtool.protocol.pop3 import Capabilities, POP3ProtocolError, Response, parse_response

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

MAX_CAPA_LINES = 256


async def _status(client: LineClient, stage: Stage, timeout: float | None = None) -> Response:
    line = await (client.read_line(timeout) if timeout else client.read_line())
    try:
        resp = parse_response(line)
    except POP3ProtocolError as exc:
        raise ProbeFailed(stage, f"not a POP3 response: {exc}") from None
    assert isinstance(resp, Response)
    return resp


async def _command(
    client: LineClient, line: str, stage: Stage, *, shown: str | None = None
) -> Response:
    client.stage = stage
    await client.send(line, shown=shown)
    resp = await _status(client, stage)
    if not resp.ok:
        raise ProbeFailed(stage, f"{(shown or line).split()[0]} answered -ERR {resp.text}")
    return resp


async def _capa(client: LineClient, stage: Stage) -> tuple[str, ...]:
    client.stage = stage
    await client.send("CAPA")
    if not (await _status(client, stage)).ok:
        return ()  # RFC 2449 §5: a server without CAPA says -ERR
    lines = []
    for _ in range(MAX_CAPA_LINES):
        line = (await client.read_line()).rstrip(b"\r\n").decode("utf-8", "replace")
        if line == ".":
            break
        lines.append(line[1:] if line.startswith(".") else line)
    return tuple(Capabilities.parse(lines).lines())


async def _dialog(
    client: LineClient,
    result: ProbeResult,
    *,
    verify: bool,
    opts: ProbeOptions,
    host: str,
    port: int,
) -> None:
    greeting = await open_and_greet(
        client, result, opts, verify, lambda t: _status(client, Stage.GREETING, t)
    )
    result.greeting = greeting.text
    if not greeting.ok:
        raise ProbeFailed(Stage.GREETING, f"greeting was -ERR {greeting.text}")
    stop_after(opts, "banner")
    caps = await _capa(client, Stage.HELLO)
    names = {c.split()[0].upper() for c in caps if c.strip()}
    await upgrade_to_tls(
        client,
        result,
        opts,
        verify,
        caps,
        verb="STLS",
        offered="STLS" in names,
        # RFC 2595 §4 / RFC 8314 §3: USER (or SASL PLAIN) offered before STLS
        plaintext_login="USER" in names
        or any(c.upper().startswith("SASL") and "PLAIN" in c.upper().split() for c in caps),
        start=lambda: _command(client, "STLS", Stage.TLS),
        again=lambda: _capa(client, Stage.HELLO_AFTER_TLS),
    )
    if opts.user is not None:
        try:
            await _command(client, f"USER {opts.user}", Stage.AUTH)
            await _command(client, f"PASS {opts.password or ''}", Stage.AUTH, shown="PASS ********")
            result.authenticated = True
        except ProbeFailed:
            result.authenticated = False
            raise
    stop_after(opts, "auth")
    await _command(client, "QUIT", Stage.CLOSED)


async def probe_pop3(host: str, port: int, opts: ProbeOptions | None = None) -> ProbeResult:
    """Probe a POP3 server; never raises for server behaviour."""
    return await start_probe("pop3", _dialog, host, port, opts or ProbeOptions())
