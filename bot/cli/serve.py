"""`sheli serve`, `sheli scheduler`, `sheli db upgrade`: running the service and its schema."""

from __future__ import annotations

import click

from bot.bootstrap import is_embedded_sqlite
from bot.cli.common import sheli_of


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option(
    "--no-scheduler", is_flag=True, help="Run the scheduler elsewhere (`sheli scheduler`)."
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, no_scheduler: bool) -> None:
    """Run the web service (gunicorn), with the scheduler in-process unless told otherwise."""
    from bot.server import run_server

    config = ctx.obj["config"]
    if is_embedded_sqlite(config):
        from storage.db import make_engine, upgrade

        upgrade(make_engine(config.database_url))
    run_server(config, host=host, port=port, workers=workers, scheduler=not no_scheduler)


@click.command()
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Run the scheduler alone (visits, SLA, summary, outbox) for multi-worker deployments."""
    from bot.scheduler import run_forever

    run_forever(sheli_of(ctx))


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Bring the database schema up to date."""
    from storage.db import current_revision, make_engine, upgrade

    engine = make_engine(ctx.obj["config"].database_url)
    try:
        upgrade(engine)
    except Exception as exc:
        raise click.ClickException(f"upgrade failed: {exc.__class__.__name__}: {exc}") from None
    click.echo(f"database at revision {current_revision(engine)}")
