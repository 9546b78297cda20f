"""SMTP / submission probe: greeting, EHLO, STARTTLS, EHLO again, optional
AUTH, optional recipient checks (never DATA) and an optional test message.

Used by ``mailtool probe smtp|submission`` and by diagnose's inbound
transport checks (relay refused, postmaster@ accepted: RFC 5321 §4.5.1).
"""

from __future__ import annotations

import email.utils
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from mailtool.protocol.sasl import PlainClient, encode_response
from mailtool.protocol.smtp import Reply, ReplyParser, SMTPProtocolError, dot_stuff, parse_ehlo

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


@dataclass
class SMTPOptions(ProbeOptions):
    """An SMTP probe also says EHLO with ``helo``, runs recipient checks (never
    DATA) and, with ``send``, delivers a test message."""

    helo: str = ""
    #: (name, MAIL FROM, RCPT TO) checks: the RCPT reply lands in result.replies[name],
    #: the MAIL reply in result.replies[name + ".mail"] (a refused sender: no RCPT asked)
    rcpt_checks: Sequence[tuple[str, str, str]] = ()
    send: bool = False
    mail_from: str = ""
    rcpt_to: Sequence[str] = ()


async def read_reply(client: LineClient, timeout: float | None = None) -> Reply:
    parser = ReplyParser()
    while True:
        line = await (client.read_line(timeout) if timeout else client.read_line())
        try:
            replies = parser.feed(line)
        except SMTPProtocolError as exc:
            raise ProbeFailed(Stage.CLOSED, f"not an SMTP reply: {exc}") from None
        if replies:
            return replies[0]


def reply_text(reply: Reply) -> str:
    """``"550 5.7.1 text"``: the form result.replies keeps."""
    return f"{reply.code} {reply.enhanced + ' ' if reply.enhanced else ''}{reply.text}"


async def command(
    client: LineClient, line: str, stage: Stage, *, shown: str | None = None, expect: int = 2
) -> Reply:
    client.stage = stage  # a reply that never comes fails this stage
    await client.send(line, shown=shown)
    reply = await read_reply(client)
    if reply.code // 100 != expect:
        raise ProbeFailed(stage, f"{shown or line.split()[0]} answered {reply.code} {reply.text}")
    return reply


async def _ehlo(client: LineClient, helo: str, stage: Stage) -> tuple[str, tuple[str, ...]]:
    reply = await command(client, f"EHLO {helo}", stage)
    ehlo = parse_ehlo(reply)
    return ehlo.domain, tuple(ehlo.extensions.lines())


def _auth_offered(caps: tuple[str, ...]) -> bool:
    return any(c.upper().split()[0] == "AUTH" for c in caps)


async def _dialog(
    client: LineClient,
    result: ProbeResult,
    *,
    verify: bool,
    opts: SMTPOptions,
    host: str,
    port: int,
) -> None:
    greeting = await open_and_greet(client, result, opts, verify, lambda t: read_reply(client, t))
    result.greeting = greeting.text
    if greeting.code != 220:
        raise ProbeFailed(Stage.GREETING, f"greeting was {greeting.code} {greeting.text}")
    helo = opts.helo or socket.getfqdn() or "probe.mailtool.invalid"
    stop_after(opts, "banner")
    result.hello_name, caps = await _ehlo(client, helo, Stage.HELLO)

    async def ehlo_again() -> tuple[str, ...]:
        result.hello_name, tls_caps = await _ehlo(client, helo, Stage.HELLO_AFTER_TLS)
        return tls_caps

    await upgrade_to_tls(
        client,
        result,
        opts,
        verify,
        caps,
        verb="STARTTLS",
        offered=any(c.upper() == "STARTTLS" for c in caps),
        # RFC 3207 §4 / RFC 8314 §3: a password before TLS can be read on the wire
        plaintext_login=_auth_offered(caps),
        start=lambda: command(client, "STARTTLS", Stage.TLS),
        again=ehlo_again,
    )
    if opts.user is not None:
        await _auth(client, result, opts)
    stop_after(opts, "auth")
    for name, mail_from, rcpt in opts.rcpt_checks:
        await _check(client, result, name, mail_from, rcpt)
    if opts.send:
        await _send(client, result, opts)
    elif opts.quit_after in ("mail", "rcpt"):
        await _envelope(client, result, opts)  # MAIL and RCPT without DATA, then stop
    await client.send("QUIT")
    try:
        await read_reply(client, 5)
    except ProbeFailed:
        pass


async def _auth(client: LineClient, result: ProbeResult, opts: SMTPOptions) -> None:
    """AUTH PLAIN with an initial response (RFC 4954 §4); the line is redacted."""
    mechs = [
        m.upper()
        for c in (result.tls_capabilities or result.capabilities)
        if c.upper().startswith("AUTH ")
        for m in c.split()[1:]
    ]
    if "PLAIN" not in mechs:
        result.authenticated = False
        raise ProbeFailed(
            Stage.AUTH, f"AUTH PLAIN not offered (offered: {' '.join(mechs) or 'none'})"
        )
    message = PlainClient(opts.user or "", opts.password or "").initial_response()
    wire = encode_response(message, initial=True).decode()
    client.stage = Stage.AUTH
    await client.send(f"AUTH PLAIN {wire}", shown="AUTH PLAIN ********")
    reply = await read_reply(client)
    result.authenticated = reply.code == 235
    if reply.code != 235:
        raise ProbeFailed(Stage.AUTH, f"AUTH answered {reply.code} {reply.text}")


def test_message(mail_from: str, rcpt_to: Sequence[str]) -> bytes:
    """A small RFC 5322 message that says what it is."""
    lines = [
        f"From: <{mail_from}>",
        f"To: {', '.join(f'<{r}>' for r in rcpt_to)}",
        f"Date: {email.utils.formatdate(localtime=True)}",
        f"Message-ID: {email.utils.make_msgid(domain='mailtool.probe')}",
        "Subject: mailtool probe test message",
        "",
        "This is a test message sent by `mailtool probe smtp --send`.",
        "",
    ]
    return "\r\n".join(lines).encode()


async def _check(client: LineClient, result: ProbeResult, name: str, frm: str, rcpt: str) -> None:
    """One recipient check; a refused sender is recorded, not a failed probe
    (diagnose tells "the server refused our sender" from "it refused the recipient")."""
    client.stage = Stage.MAIL
    await client.send(f"MAIL FROM:<{frm}>")
    reply = await read_reply(client)
    result.replies[f"{name}.mail"] = reply_text(reply)
    if reply.code // 100 == 2:
        client.stage = Stage.RCPT
        await client.send(f"RCPT TO:<{rcpt}>")
        result.replies[name] = reply_text(await read_reply(client))
    await command(client, "RSET", Stage.MAIL)


async def _envelope(client: LineClient, result: ProbeResult, opts: SMTPOptions) -> None:
    """MAIL FROM and every RCPT TO (replies in result.replies["MAIL"], ["RCPT addr"]);
    ``--quit-after mail|rcpt`` stops here."""
    reply = await command(client, f"MAIL FROM:<{opts.mail_from}>", Stage.MAIL)
    result.replies["MAIL"] = reply_text(reply)
    stop_after(opts, "mail")
    accepted = 0
    for rcpt in opts.rcpt_to:
        client.stage = Stage.RCPT
        await client.send(f"RCPT TO:<{rcpt}>")
        reply = await read_reply(client)
        result.replies[f"RCPT {rcpt}"] = reply_text(reply)
        accepted += reply.code // 100 == 2
    if not accepted:
        raise ProbeFailed(Stage.RCPT, "no recipient accepted")
    stop_after(opts, "rcpt")


async def _send(client: LineClient, result: ProbeResult, opts: SMTPOptions) -> None:
    await _envelope(client, result, opts)
    await command(client, "DATA", Stage.DATA, expect=3)
    body = dot_stuff(test_message(opts.mail_from, opts.rcpt_to))
    await client.send_raw(body, shown=f"<{len(body)} bytes of message, then .>")
    client.stage = Stage.DATA_END
    reply = await read_reply(client)
    if reply.code // 100 != 2:
        raise ProbeFailed(Stage.DATA_END, f"message refused: {reply.code} {reply.text}")


async def probe_smtp(
    host: str, port: int, opts: SMTPOptions | None = None, *, service: str = "smtp"
) -> ProbeResult:
    """Probe an SMTP or submission server; never raises for server behaviour."""
    return await start_probe(service, _dialog, host, port, opts or SMTPOptions())
