"""`sheli tickets …`: look at tickets."""

from __future__ import annotations

import click

from bot.cli.common import echo_json, sheli_of
from handlers import read_models
from handlers.queries import ticket_json, ticket_line
from storage.states import TicketStatus


@click.group()
def tickets() -> None:
    """Look at tickets."""


@tickets.command("list")
@click.option(
    "--status", default=None, help="open, assigned, accepted, resolved, closed, cancelled, reopened"
)
@click.option("--intent", default=None)
@click.option("--role", default=None)
@click.option("--overdue", is_flag=True, help="Only tickets past an SLA deadline.")
@click.option(
    "--limit",
    default=200,
    show_default=True,
    type=click.IntRange(1, 10000),
    help="Tickets per page.",
)
@click.option(
    "--page",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Which page (newest first).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def tickets_list(
    ctx: click.Context,
    status: str | None,
    intent: str | None,
    role: str | None,
    overdue: bool,
    limit: int,
    page: int,
    fmt: str,
) -> None:
    """List tickets, newest first, one page of --limit at a time."""
    if status and status not in {s.value for s in TicketStatus}:
        raise click.BadParameter(f"unknown status {status!r}", param_hint="--status")
    sheli = sheli_of(ctx)
    rows = sheli.read(
        read_models.ticket_rows,
        status=status,
        intent=intent,
        role=role,
        overdue=overdue,
        limit=limit,
        page=page,
    )
    if fmt == "json":
        echo_json([ticket_json(t, sheli.policy) for t in rows])
        return
    if not rows:
        click.echo("no tickets")
    for ticket in rows:
        click.echo(ticket_line(ticket, sheli.policy))


@tickets.command("show")
@click.argument("number", type=str)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def tickets_show(ctx: click.Context, number: str, fmt: str) -> None:
    """One ticket with its audit trail."""
    try:
        n = int(number.lstrip("#"))
    except ValueError:
        raise click.BadParameter("a ticket number such as 12 or #12", param_hint="NUMBER") from None
    data = sheli_of(ctx).read(read_models.find_ticket_record, n)
    if data is None:
        raise click.ClickException(f"no ticket #{n}")
    if fmt == "json":
        echo_json(data)
        return
    click.echo(
        f"#{data['id']} {data['intent']} {data['status']} → {data['role_name']} {data['assignee'] or '-'}"
    )
    click.echo(f"  text: {data['text']}")
    click.echo(
        f"  location: {data['location'] or '-'}  phone: {data['phone'] or '-'}  rating: {data['rating'] or '-'}"
    )
    for event in data["events"]:
        click.echo(
            f"  {event['at']}  {event['kind']:<16} {event['actor']}  {event['detail'] or ''}"
        )
