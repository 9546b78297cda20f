"""``mailtool config show|check|docs``."""

from __future__ import annotations

import click

from mailtool import config as config_mod
from mailtool.cli.common import load_config


@click.group()
def config() -> None:
    """Show, check and document the configuration.

    \b
    Examples:
      mailtool config show
      mailtool config path
      mailtool --config /etc/mailtool.toml config check
    """


@config.command()
@click.pass_context
def show(ctx: click.Context) -> None:
    """Print the effective config as TOML, with every default filled in.

    \b
    Example:
      mailtool config show > mailtool.toml
    """
    click.echo(config_mod.to_toml(load_config(ctx)), nl=False)


@config.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.pass_context
def check(ctx: click.Context, file: str | None) -> None:
    """Validate FILE (or the config in use); exit 2 listing every bad key, each with
    the file, the key and what was expected. The TUI's [tui] keys are checked too.

    \b
    Example:
      mailtool config check /etc/mailtool.toml
    """
    import tomllib

    from mailtool.errors import ConfigError, ConfigErrors
    from mailtool.tui.actions import remap_errors

    root = ctx.find_root().obj or {}
    path = file or root.get("config_path")
    errors: list[ConfigError] = []
    try:
        cfg = config_mod.load(path, data_dir=root.get("data_dir"))
        source, keys = cfg.source, list(cfg.tui.keys)
    except ConfigErrors as exc:  # the file parsed: its [tui] keys can still be checked
        errors += exc.errors
        source, keys = exc.errors[0].file, []
        if source:
            with open(source, "rb") as fh:
                keys = list(tomllib.load(fh).get("tui", {}).get("keys", []))
    errors += remap_errors(keys, source)
    if errors:
        raise ConfigErrors(errors)
    click.echo(f"{source or 'built-in defaults'}: OK")


@config.command()
@click.pass_context
def path(ctx: click.Context) -> None:
    """Print the config file this command line uses, and where else one is looked for.

    \b
    Example:
      mailtool config path
    """
    root = ctx.find_root().obj or {}
    given = root.get("config_path")
    if given:
        click.echo(f"{given} (--config or {config_mod.ENV_CONFIG})")
        return
    found = config_mod.discover_config()
    click.echo(str(found) if found else "none: built-in defaults")
    for candidate in config_mod.config_search_path():
        state = "exists" if candidate.is_file() else "missing"
        click.echo(f"  searched {candidate} ({state})")


@config.command()
def docs() -> None:
    """Print the configuration reference (Markdown) generated from the code.

    \b
    Example:
      mailtool config docs > docs/configuration.md
    """
    click.echo(config_mod.reference_markdown(), nl=False)
