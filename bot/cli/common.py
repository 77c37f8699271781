"""What every `sheli` command shares: the wired Sheli of this invocation and JSON output."""

from __future__ import annotations

import json
from typing import Any

import click

from bot.bootstrap import NoParser, Sheli, bootstrap, is_embedded_sqlite
from handlers import messages as msg


class Refusal(click.ClickException):
    """A refusal an operator reads: one Chinese line on stderr, exit status 1 (no English
    "Error:", no usage text)."""

    def show(self, file: Any = None) -> None:
        line = msg.CLI_ERROR.format(message=self.format_message())
        click.echo(line, file=file, err=file is None)


class BadOption(Refusal):
    """A bad option value: one Chinese line, exit status 2 as click gives usage errors."""

    exit_code = 2


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
