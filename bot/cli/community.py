"""`sheli events|rooms|resources …`: community data an operator imports and lists."""

from __future__ import annotations

import click

from bot.cli.common import Refusal, echo_json, sheli_of
from handlers import messages as msg
from handlers import read_models
from handlers.commands import ImportData
from handlers.importing import ImportRejected, read_file


def import_file(ctx: click.Context, path: str, what: str) -> None:
    """Import one file in one transaction; any bad row and nothing is imported.

    Every problem gets a line of its own on stderr (they are a report, not one refusal).
    """
    sheli = sheli_of(ctx)
    try:
        data = read_file(path)
        result = sheli.handle(ImportData(what, data, csv_file=path.lower().endswith(".csv")))
    except ImportRejected as rejected:
        for problem in rejected.problems:
            click.echo(problem, err=True)
        raise Refusal(msg.CLI_IMPORT_REFUSED.format(path=path, n=len(rejected.problems))) from None
    name = msg.IMPORT_KIND_NAMES.get(what, what)
    click.echo(msg.CLI_IMPORTED.format(path=path, what=name, result=result))


@click.group()
def events() -> None:
    """Community events (job fairs, legal clinics, markets) residents ask about and sign up for."""


@events.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def events_import(ctx: click.Context, file: str) -> None:
    """Add events from a YAML list or a CSV file (kind, title, starts_at, place, capacity, ...)."""
    import_file(ctx, file, "events")


@events.command("list")
@click.option("--all", "show_all", is_flag=True, help="Past events too.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def events_list(ctx: click.Context, show_all: bool, fmt: str) -> None:
    """Upcoming events with their sign-ups (活动n is what residents reply to 报名)."""
    rows = sheli_of(ctx).read(read_models.event_rows, include_past=show_all)
    if fmt == "json":
        echo_json(rows)
        return
    if not rows:
        click.echo(msg.CLI_EVENTS_NONE)
    for row in rows:
        seats = f"/{row['capacity']}" if row["capacity"] is not None else ""
        state = (
            msg.CLI_EVENT_CANCELLED
            if row["cancelled"]
            else msg.CLI_EVENT_PAST
            if row["past"]
            else ""
        )
        click.echo(
            msg.CLI_EVENT_LINE.format(
                id=row["id"],
                kind=row["kind_name"],
                start=row["local_start_stamp"],
                title=row["title"],
                place=row["place"] or msg.EVENT_PLACE_TBD,
                confirmed=row["confirmed"],
                seats=seats,
                waiting=row["waiting"],
                state=state,
            )
        )


@click.group()
def rooms() -> None:
    """Buildings and rooms with their capacity."""


@rooms.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def rooms_import(ctx: click.Context, file: str) -> None:
    """Add buildings and rooms from a CSV (building,room,capacity) or YAML file."""
    import_file(ctx, file, "rooms")


@click.group()
def resources() -> None:
    """Party-building resources: alliance units (共建单位) and volunteer teams."""


@resources.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def resources_import(ctx: click.Context, file: str) -> None:
    """Add alliance units and volunteers from a YAML file."""
    import_file(ctx, file, "resources")
