"""The `sheli` command line: one click group; its commands live in modules named after what
they act on (serve, staff, tickets, summary, community data, the site's communities, outbox, menu,
chat, dashboard, and `nlu` from nlu/cli.py).

Commands only translate: options in → `sheli.handle(command)` or `sheli.read(query)` → lines out.
A refusal (NotFound, NotAllowed, Invalid) becomes one clear line on stderr and exit status 1,
here in `SheliGroup`, and nowhere else.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from bot.cli import (
    chat,
    communities,
    community,
    dashboard,
    menu,
    outbox,
    review,
    serve,
    staff,
    summary,
    tickets,
)
from bot.cli.common import Refusal
from bot.config import ConfigError, load_config
from handlers.errors import DomainError


class SheliGroup(click.Group):
    """The top-level group: any DomainError a command lets through becomes a click error."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DomainError as refusal:
            raise Refusal(str(refusal)) from None


@click.group(cls=SheliGroup)
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Sheli (智慧舍里): the dormitory community's WeChat service."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
    ctx.ensure_object(dict)
    try:
        config = load_config()
    except ConfigError as exc:
        raise click.ClickException(f"bad configuration: {exc}") from None
    ctx.obj["config"] = config
    ctx.obj["nlu"] = {
        "backend": config.get("nlu.backend"),
        "rasa_url": config.get("nlu.rasa_url"),
        "threshold": float(config.get("nlu.threshold", 0.45)),
        # The service's model cache, so `sheli nlu train` warms what `sheli serve` loads.
        "cache_dir": str(config.nlu_cache_dir),
        # The review queue's labels, read only when a command asks for them.
        "labelled": lambda: review.labelled(ctx),
    }


for command in (
    serve.serve,
    serve.scheduler,
    serve.db,
    staff.staff,
    tickets.tickets,
    summary.summary,
    community.events,
    community.rooms,
    community.resources,
    communities.community,
    outbox.outbox,
    menu.menu,
    chat.chat,
    dashboard.dashboard,
):
    cli.add_command(command)


def _attach_nlu() -> None:
    try:
        from nlu.cli import nlu
    except ImportError:  # pragma: no cover - nlu is part of the package
        return
    for command in review.COMMANDS:  # review, label, export: they need the database
        nlu.add_command(command)
    cli.add_command(nlu)


_attach_nlu()


def main() -> None:
    """Console entry point."""
    try:
        cli(obj={})
    except ConfigError as exc:
        click.echo(f"Error: bad configuration: {exc}", err=True)
        sys.exit(2)
