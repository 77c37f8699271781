"""`sheli summary`: the weekly summary for the branch secretary."""

from __future__ import annotations

from typing import Any

import click

from bot.cli.common import BadOption, Refusal, echo_json, sheli_of
from handlers import messages as msg
from handlers import read_models
from handlers.commands import SendWeeklySummary


class WeekParam(click.ParamType):
    """An ISO week such as 2026-W47, written the canonical way."""

    name = "week"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        from handlers.summary import BadWeek, week_label

        try:
            return week_label(str(value))
        except BadWeek as exc:
            self.fail(str(exc), param, ctx)


@click.command()
@click.option("--week", type=WeekParam(), default=None, help="An ISO week such as 2026-W47.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "xlsx"]), default="text")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Where to write the xlsx (its figures, its text and its tickets).",
)
@click.option(
    "--send",
    is_flag=True,
    help="Push it now: to summary.recipients (several communities: each community's summary to "
    "its secretaries, the comparison to summary.recipients).",
)
@click.option(
    "--community",
    "community",
    default=None,
    metavar="KEY",
    help="One community's summary (its tickets only).",
)
@click.pass_context
def summary(
    ctx: click.Context,
    week: str | None,
    fmt: str,
    output: str | None,
    send: bool,
    community: str | None,
) -> None:
    """The weekly summary for the branch secretary (default: the last full week).

    On a site of several communities, without --community the comparison of the communities
    follows the site's summary (JSON: "comparison")."""
    from bot.outbox import deliver_due
    from handlers.site_summary import render_comparison
    from handlers.summary import render_summary

    sheli = sheli_of(ctx)
    if fmt == "xlsx" and not output:
        raise BadOption(msg.CLI_SUMMARY_NEEDS_OUTPUT)
    if community is not None and (send or fmt == "xlsx"):
        option = "--send" if send else "--format xlsx"
        raise BadOption(msg.CLI_SUMMARY_COMMUNITY_WITH.format(option=option))
    comparison = None
    if send:
        if not sheli.policy.summary_recipients:
            raise Refusal(msg.CLI_SUMMARY_NO_RECIPIENTS)
        figures = sheli.handle(SendWeeklySummary(week))
        counts = deliver_due(sheli.uow, sheli.sender, sheli.clock, sheli.outbox_settings)
    else:
        figures = sheli.read(read_models.week_summary, week, community)
    if community is None:
        comparison = sheli.read(read_models.site_comparison, figures.week)
    if fmt == "json":
        data = figures.to_json()
        if comparison is not None:
            data["comparison"] = comparison.to_json()
        echo_json(data)
    elif fmt == "xlsx" and output:
        from bot.exports import write_summary

        write_summary(sheli, figures.week, output)
        click.echo(msg.CLI_SUMMARY_SAVED.format(week=figures.week, path=output), err=True)
    else:
        which = "" if week else msg.CLI_SUMMARY_LAST_FULL
        click.echo(
            msg.CLI_SUMMARY_SHOWING.format(
                week=figures.week, first=figures.first_day, last=figures.last_day, which=which
            ),
            err=True,
        )
        click.echo(render_summary(figures, sheli.policy))
        if comparison is not None:
            click.echo(msg.CLI_SUMMARY_SITE_FOLLOWS)
            click.echo(render_comparison(comparison, sheli.policy))
        current = sheli.read(read_models.current_week_label)
        quiet = not (figures.new_tickets or figures.resolved or figures.visits_concluded)
        if quiet and figures.week != current:
            click.echo(msg.CLI_SUMMARY_EMPTY.format(current=current), err=True)
    if send:
        click.echo(
            msg.CLI_SUMMARY_QUEUED.format(
                n=len(sheli.policy.summary_recipients),
                sent=counts["sent"],
                retry=counts["retry"],
                dead=counts["dead"],
            ),
            err=True,
        )
