"""`sheli outbox …`: messages Sheli sends on its own: what is pending, sent, given up."""

from __future__ import annotations

from typing import Any

import click

from bot.cli.common import echo_json, sheli_of
from handlers.ports import Context
from storage.uow import AbstractUnitOfWork


@click.group()
def outbox() -> None:
    """Messages Sheli sends on its own: what is pending, sent, given up."""


def _status(uow: AbstractUnitOfWork, ctx: Context) -> dict[str, Any]:
    from bot.outbox import outbox_status

    return outbox_status(uow)


@outbox.command("status")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def outbox_status_command(ctx: click.Context, fmt: str) -> None:
    """Counts by status, and the newest dead messages with their last error."""
    status = sheli_of(ctx).read(_status)
    if fmt == "json":
        echo_json(status)
        return
    click.echo("  ".join(f"{key} {value}" for key, value in status["counts"].items()))
    for m in status["dead"]:
        click.echo(f"dead #{m['id']} to {m['recipient']} ({m['attempts']}x): {m['last_error']}")


@outbox.command("retry")
@click.argument("message_id", type=int)
@click.pass_context
def outbox_retry(ctx: click.Context, message_id: int) -> None:
    """Queue a dead message again (e.g. after the resident wrote in, or a template was set)."""
    from bot.outbox import retry_message

    sheli = sheli_of(ctx)
    with sheli.uow() as uow:
        try:
            retry_message(uow, message_id, sheli.clock.now())
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        uow.commit()
    click.echo(f"outbox #{message_id} is pending again")
