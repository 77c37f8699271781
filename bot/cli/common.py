"""What every `sheli` command shares: the wired Sheli of this invocation and JSON output."""

from __future__ import annotations

import json
from typing import Any

import click

from bot.bootstrap import NoParser, Sheli, bootstrap, is_embedded_sqlite


def sheli_of(ctx: click.Context, *, need_parser: bool = False) -> Sheli:
    """The Sheli this invocation runs against, built once; no NLU model unless asked for.

    The default file database under var/ is brought up to date on first use.
    """
    if "sheli" not in ctx.obj:
        config = ctx.obj["config"]
        ctx.obj["sheli"] = bootstrap(
            config,
            parser=None if need_parser else NoParser(),
            upgrade_db=is_embedded_sqlite(config),
        )
    sheli = ctx.obj["sheli"]
    assert isinstance(sheli, Sheli)
    return sheli


def echo_json(data: Any) -> None:
    """Print `data` as indented JSON, Chinese as it is."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))
