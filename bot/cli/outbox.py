"""`sheli outbox …`: messages Sheli sends on its own: what is pending, sent, given up."""

from __future__ import annotations

from typing import Any

import click

from bot.cli.common import Refusal, echo_json, sheli_of
from handlers import messages as msg
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
    click.echo(
        "  ".join(
            msg.CLI_OUTBOX_COUNTS.format(name=msg.OUTBOX_STATUS_NAMES.get(key, key), n=value)
            for key, value in status["counts"].items()
        )
    )
    for m in status["dead"]:
        click.echo(
            msg.CLI_OUTBOX_DEAD.format(
                id=m["id"], recipient=m["recipient"], attempts=m["attempts"], error=m["last_error"]
            )
        )


@outbox.command("retry")
@click.argument("message_id", type=int)
@click.pass_context
def outbox_retry(ctx: click.Context, message_id: int) -> None:
    """Queue a dead message again (e.g. after the resident wrote in, or a template was set)."""
    from bot.outbox import retry_message

    sheli = sheli_of(ctx)
    with sheli.uow() as uow:
        message = uow.outbox.get(message_id)
        if message is None:
            raise Refusal(msg.CLI_OUTBOX_NO_MESSAGE.format(id=message_id))
        status = msg.OUTBOX_STATUS_NAMES.get(message.status, message.status)
        try:
            retry_message(uow, message_id, sheli.clock.now())
        except ValueError:  # not dead
            raise Refusal(msg.CLI_OUTBOX_NOT_DEAD.format(id=message_id, status=status)) from None
        uow.commit()
    click.echo(msg.CLI_OUTBOX_RETRIED.format(id=message_id))
