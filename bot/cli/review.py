"""`sheli nlu review | label | export`: the review queue of messages Sheli did not understand.

These join the `nlu` group of nlu/cli.py (which knows nothing of the database); `labelled`
hands that group the labelled examples, so `sheli nlu train` and `parse` learn from them too.
"""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.common import echo_json, sheli_of
from handlers import messages as msg
from handlers.commands import Actor, LabelMessage
from handlers.review import ReviewRow, labelled_rows, review_page
from handlers.times import local_text
from nlu.trainingdata import write_rasa_yaml

# Who labels from the command line, as the audit columns write it.
CLI_OPERATOR = Actor.operator("cli")
EXPORT_COMMENT = (
    "Messages labelled in Sheli's review queue (`sheli nlu export`).\n"
    "The texts are masked; each line was read and labelled by a person."
)


def labelled(ctx: click.Context) -> list[tuple[str, str]]:
    """The labelled examples from the configured database."""
    return sheli_of(ctx).read(labelled_rows)


def _line(row: ReviewRow, timezone: str) -> str:
    guess = f"{row.intent} {row.confidence:.2f}"
    if row.runner_up:
        guess += f" / {row.runner_up} {row.runner_up_confidence or 0:.2f}"
    reason = msg.REVIEW_REASON_NAMES.get(row.reason, row.reason)
    label = f"  → {row.labelled_intent}" if row.labelled_intent else ""
    when = local_text(row.created_at, timezone, "%m-%d %H:%M")
    return f"{row.id:>5}  {when}  {guess}  [{reason}]  {row.text}{label}"


@click.command("review")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1, max=500))
@click.option("--page", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--all", "show_all", is_flag=True, help="Labelled messages too.")
@click.pass_context
def review(ctx: click.Context, fmt: str, limit: int, page: int, show_all: bool) -> None:
    """Messages Sheli did not understand or was unsure of, newest first, each with an id.

    Label one with `sheli nlu label ID INTENT`.
    """
    sheli = sheli_of(ctx)
    found = sheli.read(review_page, "all" if show_all else "todo", page, limit)
    if fmt == "json":
        echo_json(found.to_json())
        return
    if not found.rows:
        click.echo(msg.REVIEW_NOTHING)
    for row in found.rows:
        click.echo(_line(row, sheli.policy.timezone))
    click.echo(
        f"{found.unlabelled} unlabelled · page {found.page}/{found.pages} · "
        f"labelled this week: {found.labelled_this_week}"
    )


@click.command("label")
@click.argument("review_id", type=int)
@click.argument("intent")
@click.pass_context
def label(ctx: click.Context, review_id: int, intent: str) -> None:
    """Label message REVIEW_ID with INTENT (a key such as repair, or its Chinese name).

    It is a training example from then on: running services retrain within one
    scheduler tick, and `sheli nlu train` uses it.
    """
    row = sheli_of(ctx).handle(LabelMessage(review_id, intent, CLI_OPERATOR))
    name = msg.REVIEW_INTENT_NAMES.get(row.labelled_intent, row.labelled_intent)
    click.echo(msg.REVIEW_LABELLED.format(id=row.id, name=name))


@click.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def export(ctx: click.Context, file: Path) -> None:
    """Write the labelled messages to FILE as Rasa NLU YAML.

    `make rasa-retrain` trains Rasa on var/nlu/labelled.yml; a reviewed export can also be
    committed beside the training data.
    """
    pairs = labelled(ctx)
    try:
        count = write_rasa_yaml(pairs, file, comment=EXPORT_COMMENT)
    except OSError as error:
        raise click.ClickException(f"cannot write {file}: {error.strerror or error}") from None
    click.echo(f"wrote {count} labelled example(s) to {file}")


COMMANDS = (review, label, export)
