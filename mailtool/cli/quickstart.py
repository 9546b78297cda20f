"""``mailtool quickstart ADDRESS``: set up a server for a domain in one go (thin: prompt,
call :mod:`mailtool.quickstart`, render)."""

from __future__ import annotations

import sys

import click


@click.command()
@click.argument("address", required=False)
@click.option("--hostname", help="The mail host's name (default: mail.DOMAIN).")
@click.option("--ipv4", help="This server's public IPv4 address, for the DNS records.")
@click.option("--ipv6", help="This server's public IPv6 address, for the DNS records.")
@click.option("-y", "--yes", is_flag=True, help="Ask nothing: take every default.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the first user's password from stdin (default: generate one, shown once).",
)
@click.option(
    "--acme/--no-acme",
    default=None,
    help="Certificates from Let's Encrypt in the config written (default: on as root).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Do nothing but look the domain up (diagnose) and list the records still missing.",
)
@click.pass_context
def quickstart(
    ctx: click.Context,
    address: str | None,
    hostname: str | None,
    ipv4: str | None,
    ipv6: str | None,
    yes: bool,
    password_stdin: bool,
    acme: bool | None,
    check: bool,
) -> None:
    """Set up mail for ADDRESS's domain: config, data dir, domain, user, DKIM keys,
    service user (as root); then print the DNS records to publish and what is left.

    The config goes to /etc/mailtool/mailtool.toml as root, else to
    ~/.config/mailtool/mailtool.toml ($XDG_CONFIG_HOME): where every command looks
    first. It turns on the HTTPS listener (MTA-STS, autoconfig) and, as root, ACME
    certificates. Re-running never overwrites anything that exists.

    \b
    Examples:
      sudo mailtool quickstart you@example.com
      mailtool quickstart you@example.com --yes --password-stdin < pw.txt
      mailtool quickstart --check you@example.com
    """
    from mailtool import quickstart as qs

    root_obj = ctx.find_root().obj or {}
    if check:
        sys.exit(_check(ctx, address))
    if not address:
        if yes:
            raise click.UsageError("ADDRESS is needed with --yes")
        address = click.prompt("Your address (the first user; its domain gets set up)")
    plan = qs.make_plan(address, hostname=hostname, data_dir=root_obj.get("data_dir"), acme=acme)
    if root_obj.get("config_path"):
        from pathlib import Path

        plan.config_path = Path(root_obj["config_path"])
    if plan.config_path.exists():  # kept as it is: its host name is the server's
        from mailtool.config import load

        plan.hostname = load(plan.config_path).hostname
    elif not yes and not hostname:
        plan.hostname = click.prompt("Mail host name (its A record must point here)",
                                     default=plan.hostname).strip().lower()  # fmt: skip
    click.echo(f"config    {plan.config_path}")
    click.echo(f"data dir  {plan.data_dir}")
    click.echo(f"domain    {plan.domain}, first user {plan.address}, host {plan.hostname}")
    click.echo(f"ACME      {'on' if plan.acme else 'off'}")
    if not yes:
        click.confirm("Go on?", default=True, abort=True)
    password = None
    if password_stdin:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
        if not password:
            raise click.UsageError("the password on stdin is empty")
    outcome = qs.run(plan, password=password, data_dir_override=root_obj.get("data_dir"),
                     progress=lambda m: click.echo(f"... {m}", err=True))  # fmt: skip
    click.echo("")
    for what, state, detail in outcome.steps:
        click.echo(f"{what:<13} {state:<8} {detail}")
    if outcome.generated_password:
        click.echo("")
        click.secho(f"password for {plan.address}: {outcome.generated_password}", bold=True)
        click.echo("(shown once: note it now; change it with `mailtool user passwd`)")
    assert outcome.config is not None
    from mailtool.cli.dns_cmd import zone_for

    cfg = outcome.config
    snippet = zone_for(cfg, plan.domain, hostname=cfg.hostname, ipv4=ipv4, ipv6=ipv6)
    click.echo("\nDNS records to publish:\n")
    click.echo(snippet.to_zone(), nl=False)
    click.echo("\nNext steps:")
    for n, step in enumerate(qs.next_steps(plan, cfg), 1):
        click.echo(f"  {n}. {step}")


#: the diagnose groups that look at DNS records only (no connections to the server)
CHECK_GROUPS = ("routing", "policy")


def _check(ctx: click.Context, address: str | None) -> int:
    """Diagnose the domain's records; list what is missing or wrong. 0: nothing is."""
    import asyncio

    from mailtool.cli.common import load_config
    from mailtool.diagnose.context import Options
    from mailtool.diagnose.runner import diagnose
    from mailtool.dns import Resolver

    cfg = load_config(ctx)
    if address:
        domain = address.rpartition("@")[2].lower()
    else:
        from mailtool.cli.common import open_stores

        domains = open_stores(ctx, cfg).accounts.domains()
        if not domains:
            raise click.UsageError("no domain set up yet: give ADDRESS")
        domain = domains[0]
    resolver = Resolver(list(cfg.dns.nameservers) or None, timeout=5)
    options = Options(selectors=(cfg.dkim.selector, f"{cfg.dkim.selector}-ed25519"), timeout=5)
    report = asyncio.run(diagnose(domain, resolver, options, only=CHECK_GROUPS))
    problems = [f for f in report.findings if f.status.value in ("fail", "warn", "error")]
    if not problems:
        click.echo(f"{domain}: every record diagnose looks at is in place")
        return 0
    click.echo(f"{domain}: {len(problems)} record(s) missing or not right yet:")
    for f in problems:
        click.echo(f"  {f.status.value:<5} {f.id}: {f.observed or f.subject}")
        if f.fix:
            click.echo(f"        fix: {f.fix}")
    click.echo("(DNS changes can take up to the records' TTL to be seen; run again later)")
    return 1
