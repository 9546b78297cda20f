"""``mailtool dns``: DNS records for mail (thin: parse, call mailtool.dns, render)."""

from __future__ import annotations

import dataclasses
from typing import Any

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
    cfg = load_config(ctx)
    snippet = zone_for(
        cfg,
        domain,
        hostname=hostname,
        ipv4=ipv4,
        ipv6=ipv6,
        dkim_key=dkim_key,
        dkim_selector=dkim_selector,
        report_address=report_address,
    )
    if as_json:
        print_json(snippet.to_json())
    else:
        click.echo(snippet.to_zone(), nl=False)


def zone_for(
    cfg: Any,
    domain: str,
    *,
    hostname: str | None = None,
    ipv4: str | None = None,
    ipv6: str | None = None,
    dkim_key: str | None = None,
    dkim_selector: str = "mailtool",
    report_address: str | None = None,
) -> Any:
    """The records ``domain`` needs for the server ``cfg`` describes, and only what that
    server serves: SRV records for its enabled listeners on their ports; MTA-STS and
    autoconfig names only with ``[listen] https``, the policy being the one it serves
    (``mailtool.web.content``). Shared by ``dns records`` and ``quickstart``."""
    from mailtool.cli.dkim import configured_keys
    from mailtool.dns.zone import mail_records
    from mailtool.mta.authn.keys import load_keys
    from mailtool.web.content import advertised, mta_sts_policy

    our_keys = []
    if not dkim_key:
        with configured_keys(cfg) as where:  # data dir files, or the PostgreSQL table
            our_keys = load_keys(where, domain)
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
    ports = advertised(cfg)
    https = cfg.listen.https is not False
    kept = []
    for record in snippet.records:
        label = record.name.split(".", 1)[0].lower()
        if record.rtype == "SRV":
            service = label.lstrip("_")
            if service not in ports:
                continue  # RFC 6186 §4: no record for a service we do not run
            prio, weight, _port, target = record.value.split()
            record = dataclasses.replace(record, value=f"{prio} {weight} {ports[service]} {target}")
        elif label in ("_mta-sts", "mta-sts", "autoconfig", "autodiscover") and not https:
            continue  # nothing would serve them: [listen] https is off
        kept.append(record)
    snippet.records = kept
    if https:
        snippet.mta_sts_policy = mta_sts_policy(cfg, hostname)
    else:
        snippet.mta_sts_policy = ""
        snippet.notes = [n for n in snippet.notes if "MTA-STS" not in n]
        snippet.notes.append(
            "no MTA-STS or autoconfig records: [listen] https is off, nothing would serve them"
        )
    return snippet
