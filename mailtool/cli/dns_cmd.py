"""``mailtool dns``: DNS records for mail (thin: parse, call mailtool.dns, render)."""

from __future__ import annotations

import click

from mailtool.cli.common import json_option, load_config, print_json
from mailtool.cli.probe import ScriptCommand


@click.group()
def dns() -> None:
    """DNS records a mail domain needs.

    \b
    Examples:
      mailtool dns records example.org
      mailtool dns records example.org --hostname mx.example.org --ipv4 203.0.113.7 --json
    """


def public_key_b64(path: str) -> str:
    """The base64 SubjectPublicKeyInfo of a PEM public or private key (DKIM p=)."""
    import base64

    from cryptography.hazmat.primitives import serialization

    data = open(path, "rb").read()  # noqa: SIM115 - small file, read once
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        key = serialization.load_pem_private_key(data, password=None).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


@dns.command(cls=ScriptCommand)
@click.argument("domain")
@click.option("--hostname", help="The mail host's name (default: config hostname, or mail.DOMAIN).")
@click.option("--ipv4", help="The mail host's public IPv4 address.")
@click.option("--ipv6", help="The mail host's public IPv6 address.")
@click.option(
    "--dkim-key",
    type=click.Path(exists=True, dir_okay=False),
    help="PEM key (public or private) to publish as the DKIM key "
    "(default: the keys of `mailtool dkim keygen`).",
)
@click.option("--dkim-selector", default="mailtool", show_default=True, help="DKIM selector.")
@click.option("--report-address", help="Where DMARC and TLS-RPT reports go (default postmaster@).")
@json_option
@click.pass_context
def records(
    ctx: click.Context,
    domain: str,
    hostname: str | None,
    ipv4: str | None,
    ipv6: str | None,
    dkim_key: str | None,
    dkim_selector: str,
    report_address: str | None,
    as_json: bool,
) -> None:
    """Print the DNS records DOMAIN needs for a mailtool server.

    MX, the host's A/AAAA, SPF, DMARC, DKIM (with --dkim-key), MTA-STS (TXT and
    the policy file to serve), TLS-RPT, SRV for mail clients, and autoconfig,
    as a zone-file snippet (or --json). Check the result later with
    `mailtool diagnose DOMAIN`.

    \b
    Examples:
      mailtool dns records example.org
      mailtool dns records example.org --hostname mx.example.org --ipv4 203.0.113.7
      mailtool dns records example.org --dkim-key dkim.pem --json
    """
    from mailtool.dns.zone import mail_records
    from mailtool.mta.authn.keys import load_keys

    cfg = load_config(ctx)
    our_keys = [] if dkim_key else load_keys(cfg.data_path, domain)
    if not hostname:
        configured = cfg.hostname
        usable = "." in configured and not configured.startswith("localhost")
        hostname = configured if usable else f"mail.{domain}"
    snippet = mail_records(
        domain,
        hostname,
        ipv4=ipv4,
        ipv6=ipv6,
        dkim_selector=dkim_selector,
        dkim_public_key=public_key_b64(dkim_key) if dkim_key else None,
        dkim_records=[(k.selector, k.txt_record()) for k in our_keys],
        report_address=report_address,
    )
    if as_json:
        print_json(snippet.to_json())
    else:
        click.echo(snippet.to_zone(), nl=False)
