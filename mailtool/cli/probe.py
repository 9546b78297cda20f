"""``mailtool probe``: talk to one SMTP, submission, IMAP or POP3 server and
show the whole conversation (thin: parse, call mailtool.client.probe_*, render)."""

from __future__ import annotations

import sys
from typing import Any

import click

from mailtool.cli.common import json_option, print_json
from mailtool.client.probe import QUIT_POINTS

#: service -> (plain/STARTTLS port, implicit TLS port)
DEFAULT_PORTS = {
    "smtp": (25, 465),
    "submission": (587, 465),
    "imap": (143, 993),
    "pop3": (110, 995),
}
USAGE_EXIT = 64  # EX_USAGE (sysexits.h)


class ScriptCommand(click.Command):
    """A command whose usage errors exit 64 (EX_USAGE), so that scripts can
    tell them from the command's own exit codes (probe: 2-32, diagnose: 1-3)."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            exc.exit_code = USAGE_EXIT
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            exc.exit_code = USAGE_EXIT
            raise


def split_hostport(value: str, default_port: int) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT``, ``[v6]:PORT`` -> (host, port)."""
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    else:
        host, port = value, ""
    if port and not port.isdigit():
        raise click.BadParameter(f"bad port in {value!r}", param_hint="HOST[:PORT]")
    return host, int(port) if port else default_port


def read_password(user: str | None, password_stdin: bool) -> str | None:
    """From stdin (first line) or a prompt; never from argv (it would show in ps)."""
    if user is None:
        return None
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt(f"Password for {user}", hide_input=True, err=True)


@click.command(cls=ScriptCommand)
@click.argument("service", type=click.Choice(list(DEFAULT_PORTS)))
@click.argument("target", metavar="HOST[:PORT]")
@click.option("--starttls", "tls", flag_value="starttls", help="Require STARTTLS/STLS.")
@click.option("--tls", "tls", flag_value="tls", help="Implicit TLS (default port 465/993/995).")
@click.option("--no-tls", "tls", flag_value="none", help="Never start TLS.")
@click.option("--server-name", help="Name for SNI and the certificate check (default: HOST).")
@click.option("--cafile", type=click.Path(exists=True, dir_okay=False), help="Extra trusted CA.")
@click.option("--user", help="Log in as this user (password from a prompt or --password-stdin).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin's first line.")
@click.option("--helo", default="", help="Name to say in EHLO (smtp, submission).")
@click.option("--send", is_flag=True, help="smtp/submission: send a test message.")
@click.option(
    "--from",
    "mail_from",
    default=None,
    help="Envelope sender (MAIL FROM); without --send: MAIL and RCPT, then stop.",
)
@click.option(
    "--to",
    "rcpt_to",
    multiple=True,
    help="Recipient (RCPT TO, repeatable); without --send: MAIL and RCPT, then stop.",
)
@click.option(
    "--quit-after",
    type=click.Choice(QUIT_POINTS, case_sensitive=False),
    help="Stop (QUIT/LOGOUT) after this stage, as swaks: connect, banner, ehlo "
    "(CAPABILITY/CAPA), tls, auth, mail, rcpt (mail and rcpt: smtp/submission).",
)
@click.option(
    "--tls-verify",
    is_flag=True,
    help="A certificate that does not verify is fatal (exit 29) instead of being "
    "reported and the probe retried without verification.",
)
@click.option(
    "--timeout", default=30.0, show_default=True, help="Seconds to wait for the greeting."
)
@json_option
def probe(
    service: str,
    target: str,
    tls: str | None,
    server_name: str | None,
    cafile: str | None,
    user: str | None,
    password_stdin: bool,
    helo: str,
    send: bool,
    mail_from: str | None,
    rcpt_to: tuple[str, ...],
    quit_after: str | None,
    tls_verify: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Show the conversation with one mail server, as swaks does.

    Prints every line sent (->, ~> over TLS) and received (<-, <~), the TLS
    version, cipher and certificate, the capabilities, and timings. Passwords
    are never shown (AUTH/LOGIN/PASS lines are redacted).

    \b
    Exit codes (the stage that failed, as swaks):
       0 ok                    2 cannot connect       6 connection closed
      21 greeting             22 EHLO/CAPABILITY/CAPA 23 MAIL FROM
      24 no RCPT accepted     25 DATA refused         26 message refused
      28 login/AUTH failed    29 TLS failed           32 EHLO after TLS
      64 usage error
    A server that stops answering fails the stage it was in (one that never
    greets: 21). With --tls-verify an unverified certificate is exit 29.

    \b
    Examples:
      mailtool probe smtp mx.example.org
      mailtool probe submission mail.example.org:587 --starttls --user alice
      mailtool probe imap mail.example.org --tls
      mailtool probe pop3 127.0.0.1:2110 --no-tls --json
      mailtool probe smtp mx.example.org --from postmaster@example.org --to x@example.net
      mailtool probe smtp mx.example.org --quit-after tls --tls-verify
      echo "$PW" | mailtool probe submission 127.0.0.1:2587 --user a@x.test --password-stdin \\
          --send --from a@x.test --to b@x.test
    """
    import asyncio

    quit_after = envelope_plan(service, send, mail_from, rcpt_to, quit_after)
    plain_port, tls_port = DEFAULT_PORTS[service]
    host, port = split_hostport(target, tls_port if tls == "tls" else plain_port)
    password = read_password(user, password_stdin)
    result = asyncio.run(
        run(
            service,
            host,
            port,
            tls=tls or "auto",
            server_name=server_name or host,
            cafile=cafile,
            user=user,
            password=password,
            helo=helo,
            send=send,
            mail_from=mail_from or "",
            rcpt_to=rcpt_to,
            greeting_timeout=timeout,
            quit_after=quit_after,
            tls_verify=tls_verify,
        )
    )
    if as_json:
        print_json(result.to_json())
    else:
        from rich.console import Console

        Console(highlight=False).print(result)
    sys.exit(result.exit_code)


def envelope_plan(
    service: str, send: bool, mail_from: str | None, rcpt_to: tuple[str, ...], quit: str | None
) -> str | None:
    """The --quit-after point, checked against --send/--from/--to: an option the
    probe would not use is a usage error, never silently ignored."""
    smtp = service in ("smtp", "submission")
    envelope = mail_from is not None or bool(rcpt_to)
    if quit:
        quit = quit.lower()
    if not smtp and (send or envelope or quit in ("mail", "rcpt")):
        raise click.UsageError(
            "--send, --from, --to and --quit-after mail|rcpt need smtp/submission"
        )
    if send:
        if mail_from is None or not rcpt_to:
            raise click.UsageError("--send needs --from and at least one --to")
        if quit:
            raise click.UsageError("--send runs to the end; leave out --quit-after")
        return None
    if envelope:
        if quit is None:
            return "rcpt" if rcpt_to else "mail"  # MAIL/RCPT, then stop (no DATA)
        if QUIT_POINTS.index(quit) < QUIT_POINTS.index("mail"):
            raise click.UsageError(f"--from/--to are used after --quit-after {quit}: drop one")
        if quit == "rcpt" and not rcpt_to:
            raise click.UsageError("--quit-after rcpt needs at least one --to")
    elif quit in ("mail", "rcpt"):
        raise click.UsageError(f"--quit-after {quit} needs --from (and --to for rcpt)")
    return quit


async def run(service: str, host: str, port: int, **kw: Any) -> Any:
    """Dispatch to the client probe for ``service``."""
    from mailtool.client.probe import ProbeOptions

    if service in ("smtp", "submission"):
        from mailtool.client.probe_smtp import SMTPOptions, probe_smtp

        return await probe_smtp(host, port, SMTPOptions(**kw), service=service)
    keys = ("tls", "server_name", "cafile", "user", "password", "greeting_timeout")
    base = {k: kw[k] for k in (*keys, "quit_after", "tls_verify")}
    if service == "imap":
        from mailtool.client.probe_imap import probe_imap

        return await probe_imap(host, port, ProbeOptions(**base))
    from mailtool.client.probe_pop3 import probe_pop3

    return await probe_pop3(host, port, ProbeOptions(**base))
