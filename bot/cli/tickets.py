"""`sheli tickets …`: look at tickets and export them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any

import click

from bot.cli.common import BadOption, Refusal, echo_json, sheli_of
from bot.exports import csv_lines, ticket_rows, tickets_sheet, write_xlsx
from handlers import messages as msg
from handlers import read_models
from handlers.masking import mask_personal
from handlers.queries import ticket_json
from handlers.times import local_stamp, local_text, utc_offset
from storage.states import TicketStatus

STATUSES = [s.value for s in TicketStatus]


def _status(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value and value != "active" and value not in STATUSES:
        choices = "、".join(["active", *STATUSES])
        raise BadOption(msg.CLI_BAD_STATUS.format(status=value, choices=choices))
    return value or None


def filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The filters `tickets list` and `tickets export` share (the dashboard's tickets filter)."""
    options = [
        click.option(
            "--status",
            default=None,
            callback=_status,
            help="active (every status still in work), open, assigned, accepted, resolved, "
            "closed, cancelled, reopened",
        ),
        click.option("--intent", default=None, help="repair, mediation, legal_consult, …"),
        click.option("--role", default=None, help="A role key such as property_steward."),
        click.option("--building", default=None, help="A building such as 3栋."),
        click.option(
            "--since", type=click.DateTime(["%Y-%m-%d"]), default=None, help="From this local day."
        ),
        click.option(
            "--until", type=click.DateTime(["%Y-%m-%d"]), default=None, help="To this local day."
        ),
        click.option("--overdue", is_flag=True, help="Only active tickets past an SLA deadline."),
        click.option(
            "--community",
            default=None,
            help="A community key: only its tickets (sheli community list).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _filter(sheli: Any, **given: Any) -> read_models.TicketFilter:
    """The filter options as the dashboard's filter; an unknown --community is refused naming
    the known ones."""

    def day(value: Any) -> date | None:
        return value.date() if value is not None else None

    community = given["community"]
    if community is not None:
        community = sheli.read(read_models.community_key, community)
    return read_models.TicketFilter(
        status=given["status"],
        intent=given["intent"],
        role=given["role"],
        building=given["building"],
        since=day(given["since"]),
        until=day(given["until"]),
        overdue=given["overdue"],
        community=community,
    )


@click.group()
def tickets() -> None:
    """Look at tickets and export them."""


@tickets.command("list")
@filter_options
@click.option(
    "--limit",
    default=200,
    show_default=True,
    type=click.IntRange(1, 10_000),
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
def tickets_list(ctx: click.Context, limit: int, page: int, fmt: str, **filters: Any) -> None:
    """List tickets, newest first, one page of --limit at a time (times in site.timezone)."""
    sheli = sheli_of(ctx)
    policy = sheli.policy
    wanted = replace(_filter(sheli, **filters), page=page)
    rows = sheli.read(read_models.ticket_lines, wanted, limit)
    if fmt == "json":
        echo_json([ticket_json(t, policy) for t, _clock in rows])
        return
    if not rows:
        click.echo(msg.CLI_NO_TICKETS)
        return
    click.echo(_times_note(sheli))
    for ticket, clock in rows:
        who = ticket.assignee.name if ticket.assignee else msg.CLI_NOBODY
        click.echo(
            msg.CLI_TICKET_LINE.format(
                n=ticket.id,
                created=local_text(ticket.created_at, policy.timezone),
                status=msg.STATUS_NAMES.get(ticket.status, ticket.status),
                intent=msg.INTENT_NAMES.get(ticket.intent, ticket.intent),
                assignee=f"{policy.role_name(ticket.role)}{who}",
                location=ticket.location or msg.CLI_NONE,
                text=mask_personal(ticket.text)[:30],
                flags=msg.CLI_TICKET_OVERDUE.format(sla=clock.text)
                if clock and clock.overdue
                else "",
            )
        )


def _times_note(sheli: Any) -> str:
    timezone = sheli.policy.timezone
    return msg.TIMES_ARE_LOCAL.format(zone=timezone, offset=utc_offset(timezone))


@tickets.command("show")
@click.argument("number", type=str)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def tickets_show(ctx: click.Context, number: str, fmt: str) -> None:
    """One ticket with its audit trail (times in site.timezone, with the offset)."""
    try:
        n = int(number.strip().lstrip("#"))
    except ValueError:
        raise BadOption(msg.CLI_BAD_TICKET_NUMBER) from None
    sheli = sheli_of(ctx)
    if fmt == "json":
        data = sheli.read(read_models.find_ticket_record, n)
        if data is None:
            raise Refusal(msg.NO_SUCH_TICKET.format(n=n))
        echo_json(data)
        return
    page = sheli.read(read_models.ticket_page, n)  # NotFound: one clear line, exit 1
    ticket, timezone = page.ticket, sheli.policy.timezone
    who = ticket.assignee.name if ticket.assignee else msg.CLI_NOBODY
    click.echo(
        msg.CLI_TICKET_HEAD.format(
            n=ticket.id,
            intent=msg.INTENT_NAMES.get(ticket.intent, ticket.intent),
            status=msg.STATUS_NAMES.get(ticket.status, ticket.status),
            urgent=msg.CLI_URGENT if ticket.urgent else "",
            assignee=f"{sheli.policy.role_name(ticket.role)}{who}",
        )
    )
    click.echo(msg.CLI_TICKET_TEXT.format(text=mask_personal(ticket.text)))
    click.echo(
        msg.CLI_TICKET_FACTS.format(
            location=ticket.location or msg.CLI_NONE,
            phone=page.phone or msg.CLI_NONE,
            rating=ticket.rating or msg.CLI_NONE,
        )
    )
    if page.sla:
        click.echo(msg.CLI_TICKET_SLA.format(sla=page.sla.text))
    click.echo(msg.CLI_TICKET_TRAIL)
    for event in page.events:
        click.echo(
            msg.CLI_TICKET_EVENT.format(
                at=local_stamp(event.at, timezone, "%Y-%m-%d %H:%M:%S"),
                event=msg.AUDIT_EVENT_NAMES.get(event.kind, event.kind),
                actor=page.actors.get(event.actor, event.actor),
                detail=event.detail or "",
            ).rstrip()
        )


@tickets.command("export")
@filter_options
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None)
@click.pass_context
def tickets_export(ctx: click.Context, fmt: str, output: str | None, **filters: Any) -> None:
    """Every ticket matching the filters as CSV or xlsx (stdout without --output).

    Phones are masked as on every list; times are local, and the headers name the offset.
    """
    sheli = sheli_of(ctx)
    wanted = _filter(sheli, **filters)
    if fmt == "csv":
        header = sheli.read(read_models.export_header)
        lines = csv_lines(header, ticket_rows(sheli, wanted))
        if output is None:
            for line in lines:
                click.echo(line, nl=False)
            return
        with open(output, "w", encoding="utf-8", newline="") as target:
            written = sum(1 for line in lines if target.write(line)) - 1  # not the header
        click.echo(msg.CLI_EXPORTED.format(n=written, path=output), err=True)
        return
    sheet = tickets_sheet(sheli, wanted)
    if output is None:
        stdout = sys.stdout.buffer
        if stdout.isatty():
            raise Refusal(msg.CLI_XLSX_TO_TERMINAL)
        write_xlsx(stdout, [sheet])
        return
    write_xlsx(output, [sheet])
    click.echo(msg.CLI_EXPORTED.format(n=sheet.written, path=output), err=True)
