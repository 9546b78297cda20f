"""``mailtool diagnose DOMAIN``: the whole mail set-up of a domain, checked
(thin: parse options, call mailtool.diagnose.runner.diagnose, render)."""

from __future__ import annotations

import sys

import click

from mailtool.cli.common import json_option, load_config, print_json
from mailtool.cli.probe import ScriptCommand

GROUP_NAMES = ("routing", "policy", "transport", "client", "reputation", "cross")


def parse_port_map(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict:
    """``25=2525,587=2587`` (repeatable) -> {25: 2525, 587: 2587}."""
    mapping = {}
    for value in values:
        for item in filter(None, (v.strip() for v in value.split(","))):
            src, sep, dst = item.partition("=")
            if not (sep and src.isdigit() and dst.isdigit()):
                raise click.BadParameter(f"{item!r} is not PORT=PORT", ctx, param)
            mapping[int(src)] = int(dst)
    return mapping


@click.command(cls=ScriptCommand)
@click.argument("domain")
@click.option("--only", multiple=True, type=click.Choice(GROUP_NAMES), help="Run only GROUP.")
@click.option("--skip", multiple=True, type=click.Choice(GROUP_NAMES), help="Skip GROUP.")
@click.option(
    "--nameserver",
    "nameservers",
    multiple=True,
    metavar="HOST[:PORT]",
    help="Resolver to ask (repeatable; env MAILTOOL_NAMESERVERS, dns.nameservers).",
)
@click.option("--selector", "selectors", multiple=True, help="DKIM selector (repeatable).")
@click.option(
    "--dnsbl", "dnsbls", multiple=True, help="DNSBL zone (repeatable; default: 3 big lists)."
)
@click.option(
    "--port-map",
    "port_map",
    multiple=True,
    callback=parse_port_map,
    metavar="PORT=PORT,...",
    help="Connect to another port (test set-ups).",
)
@click.option(
    "--cafile",
    type=click.Path(exists=True, dir_okay=False),
    help="Extra trusted CA for certificate checks (private PKI, tests).",
)
@click.option(
    "--allow-private",
    is_flag=True,
    help="Private/loopback MX addresses are info, not failures (internal set-ups).",
)
@click.option(
    "--timeout", default=10.0, show_default=True, help="Seconds per DNS query and command."
)
@click.option(
    "--greeting-timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(20),
    help="Seconds to wait for an SMTP greeting (at least 20: greet-pause).",
)
@click.option("--strict", is_flag=True, help="Exit 1 when there are warnings.")
@json_option
@click.pass_context
def diagnose(
    ctx: click.Context,
    domain: str,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    nameservers: tuple[str, ...],
    selectors: tuple[str, ...],
    dnsbls: tuple[str, ...],
    port_map: dict[int, int],
    cafile: str | None,
    allow_private: bool,
    timeout: float,
    greeting_timeout: float,
    strict: bool,
    as_json: bool,
) -> None:
    """Check a domain's mail set-up: routing, sender policy, inbound transport,
    client access, reputation, and cross-checks between them.

    Every finding has a stable id, a status (pass, info, warn, fail, error =
    could not test, skip), what was observed and expected, the RFC, how to fix
    it and a dig/openssl/swaks command that shows it. docs/diagnose.md lists
    every check and the JSON schema.

    \b
    Groups: routing, policy, transport, client, reputation, cross.
    Exit codes: 0 all good, 1 warnings (with --strict), 2 failures,
                3 inconclusive (some checks could not run), 64 usage error.

    \b
    Examples:
      mailtool diagnose example.org
      mailtool diagnose example.org --only policy --json
      mailtool diagnose example.org --selector s2024 --strict
      mailtool diagnose good.test --nameserver 127.0.0.1:5353 --port-map 25=2525 --allow-private
    """
    import asyncio

    from mailtool.diagnose.context import DEFAULT_DNSBLS, Options
    from mailtool.diagnose.runner import diagnose as run_diagnose
    from mailtool.dns import Resolver

    cfg = load_config(ctx)
    servers = list(nameservers) or list(cfg.dns.nameservers) or None
    options = Options(
        selectors=selectors,
        dnsbls=dnsbls or DEFAULT_DNSBLS,
        port_map=port_map,
        cafile=cafile,
        allow_private=allow_private,
        timeout=timeout,
        greeting_timeout=greeting_timeout,
    )
    resolver = Resolver(servers, timeout=timeout)
    if as_json:
        report = asyncio.run(run_diagnose(domain, resolver, options, only=only, skip=skip))
        print_json(report.to_json(strict))
    else:
        from rich.console import Console

        err = Console(stderr=True)
        with err.status(f"diagnosing {domain}...") as status:
            report = asyncio.run(
                run_diagnose(
                    domain,
                    resolver,
                    options,
                    only=only,
                    skip=skip,
                    progress=lambda msg: status.update(f"diagnosing {domain}: {msg}"),
                )
            )
        report.print(Console(highlight=False))
    sys.exit(report.exit_code(strict))
