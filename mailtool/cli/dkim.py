"""``mailtool dkim keygen|list``: DKIM signing keys (thin: parse, call mta.authn.keys, render)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from mailtool.cli.common import json_option, load_config, print_json

if TYPE_CHECKING:
    from mailtool.config import Config
    from mailtool.mta.authn.keys import DkimKey, KeyStore


@contextlib.contextmanager
def configured_keys(cfg: Config) -> Iterator[KeyStore]:
    """The configured backend's DKIM keys (data dir files, or the PostgreSQL table)."""
    from mailtool.store.backends import Stores

    stores = Stores(cfg, application_name="mailtool-cli")
    try:
        stores.check()
        yield stores.dkim_keys
    finally:
        stores.close()


@click.group()
def dkim() -> None:
    """DKIM keys that sign mail your users submit.

    Keys live in DATA_DIR/dkim/DOMAIN/SELECTOR.key (with [store] url, in the
    PostgreSQL database every node reads); once a domain has a key,
    `mailtool serve` signs every message submitted with a From address of that
    domain, and `mailtool dns records DOMAIN` prints the TXT record to publish.

    \b
    Examples:
      mailtool dkim keygen example.org
      mailtool dkim keygen example.org --algorithm ed25519 --selector ed2026
      mailtool dkim list --json
    """


@dkim.command()
@click.argument("domain")
@click.option("--selector", help="Selector (default: dkim.selector, -ed25519 for Ed25519).")
@click.option(
    "--algorithm",
    "algorithms",
    type=click.Choice(["rsa", "ed25519"]),
    multiple=True,
    help="rsa (2048 bits) or ed25519 (RFC 8463); repeat for both (default: dkim.algorithms).",
)
@json_option
@click.pass_context
def keygen(
    ctx: click.Context,
    domain: str,
    selector: str | None,
    algorithms: tuple[str, ...],
    as_json: bool,
) -> None:
    """Generate a DKIM key for DOMAIN and print the TXT record to publish.

    An existing selector is never overwritten: rotate by generating a key
    under a new selector, publishing it, and removing the old key file once
    the new record is visible.

    \b
    Examples:
      mailtool dkim keygen example.org
      mailtool dkim keygen example.org --algorithm rsa --selector s2026
    """
    from mailtool.mta.authn import keys

    cfg = load_config(ctx)
    chosen = algorithms or cfg.dkim.algorithms
    if selector and len(chosen) > 1:
        raise click.UsageError("--selector names one key: give one --algorithm with it")
    made = []
    with configured_keys(cfg) as where:
        for algorithm in chosen:
            name = selector or cfg.dkim.selector + ("-ed25519" if algorithm == "ed25519" else "")
            made.append(keys.generate(where, domain, name, algorithm))  # type: ignore[arg-type]
    if as_json:
        print_json([_json(k) for k in made])
        return
    from mailtool.dns.zone import quote_txt

    for key in made:
        click.echo(f"; {key.algorithm} key {key.selector} for {key.domain}; publish:")
        # RFC 1035 §3.3.14: a character-string is at most 255 octets; zone parsers refuse more
        click.echo(f"{key.record_name}. IN TXT {quote_txt(key.txt_record())}")


@dkim.command("list")
@json_option
@click.pass_context
def list_keys(ctx: click.Context, as_json: bool) -> None:
    """List the DKIM keys and their TXT records.

    \b
    Examples:
      mailtool dkim list
    """
    from mailtool.mta.authn import keys

    with configured_keys(load_config(ctx)) as where:
        found = [k for d in keys.all_domains(where) for k in keys.load_keys(where, d)]
    if as_json:
        print_json([_json(k) for k in found])
        return
    if not found:
        click.echo("no DKIM keys (mailtool dkim keygen DOMAIN)")
    from mailtool.dns.zone import quote_txt

    for key in found:
        click.echo(f"{key.record_name}  {key.algorithm}  {quote_txt(key.txt_record())}")


def _json(key: DkimKey) -> dict[str, object]:
    value = key.txt_record()
    return {
        "domain": key.domain,
        "selector": key.selector,
        "algorithm": key.algorithm,
        "name": key.record_name,
        "txt": value,
        # the character-strings of the record (RFC 1035 §3.3.14: at most 255 octets each)
        "txt_strings": [value[i : i + 255] for i in range(0, len(value), 255)],
    }
