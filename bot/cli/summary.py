"""`sheli summary`: the weekly summary for the branch secretary."""

from __future__ import annotations

from typing import Any

import click

from bot.cli.common import echo_json, sheli_of
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
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--send", is_flag=True, help="Push it to summary.recipients now.")
@click.pass_context
def summary(ctx: click.Context, week: str | None, fmt: str, send: bool) -> None:
    """The weekly summary for the branch secretary (default: last full week)."""
    from bot.outbox import deliver_due
    from handlers.summary import render_summary

    sheli = sheli_of(ctx)
    if send:
        if not sheli.policy.summary_recipients:
            raise click.ClickException(
                "summary.recipients is empty: set it in config.yaml or SHELI_SUMMARY__RECIPIENTS"
            )
        figures = sheli.handle(SendWeeklySummary(week))
        counts = deliver_due(sheli.uow, sheli.sender, sheli.clock, sheli.outbox_settings)
    else:
        figures = sheli.read(read_models.week_summary, week)
    if fmt == "json":
        echo_json(figures.to_json())
    else:
        click.echo(render_summary(figures, sheli.policy))
    if send:
        click.echo(
            f"queued for {len(sheli.policy.summary_recipients)} recipient(s), at most once per "
            f"week each; outbox: sent {counts['sent']}, retry {counts['retry']}, "
            f"dead {counts['dead']}",
            err=True,
        )
