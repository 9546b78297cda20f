"""Helpers shared by command modules: loading the config, printing results."""

from __future__ import annotations

import json
from typing import Any

import click

from mailtool import config as config_mod


def load_config(ctx: click.Context) -> config_mod.Config:
    """The effective config for this invocation (global --config / --data-dir applied)."""
    obj = ctx.find_root().obj or {}
    return config_mod.load(obj.get("config_path"), data_dir=obj.get("data_dir"))


def json_option(func: Any) -> Any:
    """``--json``: machine-readable output on stdout."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(
        func
    )


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
