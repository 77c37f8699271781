"""The `sheli` command line."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from bot.config import ConfigError, load_config


def _sheli(ctx: click.Context, upgrade_db: bool = False, need_parser: bool = False) -> Any:
    from bot.bootstrap import NoParser, bootstrap

    if "sheli" not in ctx.obj:
        config = ctx.obj["config"]
        parser = None if need_parser else NoParser()
        ctx.obj["sheli"] = bootstrap(
            config, parser=parser, upgrade_db=upgrade_db or _embedded(config)
        )
    return ctx.obj["sheli"]


def _embedded(config: Any) -> bool:
    from bot.bootstrap import is_embedded_sqlite

    return is_embedded_sqlite(config)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group()
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
    }


# --- serve / scheduler / db ---------------------------------------------------------------


@cli.command()
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
    if _embedded(config):
        from storage.db import make_engine, upgrade

        upgrade(make_engine(config.database_url))
    run_server(config, host=host, port=port, workers=workers, scheduler=not no_scheduler)


@cli.command()
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Run the scheduler alone (visits, SLA, summary, outbox) for multi-worker deployments."""
    from bot.scheduler import run_forever

    run_forever(_sheli(ctx))


@cli.group()
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


# --- staff ----------------------------------------------------------------------------------


@cli.group()
def staff() -> None:
    """The six staff roles and who fills them."""


@staff.command("add")
@click.option("--role", required=True, help="Role key, e.g. property_steward.")
@click.option("--name", required=True)
@click.option("--openid", default=None, help="Bind directly instead of printing a bind code.")
@click.pass_context
def staff_add(ctx: click.Context, role: str, name: str, openid: str | None) -> None:
    """Add a staff member; prints a one-time bind code on the last line."""
    from handlers.staff import add_staff

    sheli = _sheli(ctx)
    with sheli.uow() as uow:
        try:
            member, code = add_staff(
                uow, sheli.policy, role=role, name=name, openid=openid, now=sheli.clock.now()
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        uow.commit()
    click.echo(f"added staff #{member.id} {member.name} ({sheli.policy.role_name(member.role)})")
    if code:
        click.echo(
            f"send 「绑定 {code}」 to the official account within {sheli.policy.bind_code_ttl}"
        )
        click.echo(code)
    else:
        click.echo(f"bound to {openid}")


@staff.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def staff_list(ctx: click.Context, fmt: str) -> None:
    """Staff by role with their open load."""
    from handlers.queries import staff_json

    sheli = _sheli(ctx)
    with sheli.uow() as uow:
        load = uow.staff.open_load()
        rows = [staff_json(s, sheli.policy, load.get(s.id, 0)) for s in uow.staff.list()]
    if fmt == "json":
        _echo_json(rows)
        return
    for row in rows:
        state = ("bound" if row["bound"] else "unbound") + ("" if row["active"] else ", inactive")
        click.echo(
            f"{row['id']:>3} {row['role_name']:<8} {row['name']:<10} open={row['open_tickets']} ({state})"
        )


def _set_active(ctx: click.Context, staff_id: int, active: bool) -> None:
    from handlers.staff import set_active

    sheli = _sheli(ctx)
    with sheli.uow() as uow:
        try:
            member = set_active(uow, staff_id, active)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        uow.commit()
    click.echo(f"staff #{member.id} {member.name} is now {'active' if active else 'inactive'}")


@staff.command("deactivate")
@click.argument("staff_id", type=int)
@click.pass_context
def staff_deactivate(ctx: click.Context, staff_id: int) -> None:
    """Stop giving new tickets to a staff member."""
    _set_active(ctx, staff_id, False)


@staff.command("reactivate")
@click.argument("staff_id", type=int)
@click.pass_context
def staff_reactivate(ctx: click.Context, staff_id: int) -> None:
    """Give tickets to a staff member again."""
    _set_active(ctx, staff_id, True)


@staff.command("code")
@click.argument("staff_id", type=int)
@click.pass_context
def staff_code(ctx: click.Context, staff_id: int) -> None:
    """Issue a new one-time bind code (e.g. for a new phone)."""
    from handlers.staff import new_bind_code

    sheli = _sheli(ctx)
    with sheli.uow() as uow:
        member = uow.staff.get(staff_id)
        if member is None:
            raise click.ClickException(f"no staff member with id {staff_id}")
        member.openid = None
        code = new_bind_code(uow, member, sheli.policy, sheli.clock.now())
        uow.commit()
    click.echo(code)


# --- tickets --------------------------------------------------------------------------------


@cli.group()
def tickets() -> None:
    """Look at tickets."""


@tickets.command("list")
@click.option(
    "--status", default=None, help="open, assigned, accepted, resolved, closed, cancelled, reopened"
)
@click.option("--intent", default=None)
@click.option("--role", default=None)
@click.option("--overdue", is_flag=True, help="Only tickets past an SLA deadline.")
@click.option("--limit", default=200, show_default=True, type=int)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def tickets_list(
    ctx: click.Context,
    status: str | None,
    intent: str | None,
    role: str | None,
    overdue: bool,
    limit: int,
    fmt: str,
) -> None:
    """List tickets, newest first."""
    from handlers.queries import ticket_json, ticket_line
    from storage.states import TicketStatus

    if status and status not in {s.value for s in TicketStatus}:
        raise click.BadParameter(f"unknown status {status!r}", param_hint="--status")
    sheli = _sheli(ctx)
    with sheli.uow() as uow:
        rows = uow.tickets.list(
            status=status, intent=intent, role=role, newest_first=True, limit=limit
        )
        if overdue:
            rows = [t for t in rows if t.accept_breach_level or t.resolve_breach_level]
        if fmt == "json":
            _echo_json([ticket_json(t, sheli.policy) for t in rows])
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
    from handlers.queries import ticket_detail

    try:
        n = int(number.lstrip("#"))
    except ValueError:
        raise click.BadParameter("a ticket number such as 12 or #12", param_hint="NUMBER") from None
    sheli = _sheli(ctx)
    with sheli.uow() as uow:
        ticket = uow.tickets.get(n)
        if ticket is None:
            raise click.ClickException(f"no ticket #{n}")
        data = ticket_detail(uow, ticket, sheli.policy)
    if fmt == "json":
        _echo_json(data)
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


# --- weekly summary ---------------------------------------------------------------------------


class _WeekParam(click.ParamType):
    name = "week"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        from handlers.summary import BadWeek, week_label

        try:
            return week_label(str(value))
        except BadWeek as exc:
            self.fail(str(exc), param, ctx)


@cli.command()
@click.option("--week", type=_WeekParam(), default=None, help="An ISO week such as 2026-W47.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--send", is_flag=True, help="Push it to summary.recipients now.")
@click.pass_context
def summary(ctx: click.Context, week: str | None, fmt: str, send: bool) -> None:
    """The weekly summary for the branch secretary (default: last full week)."""
    from bot.outbox import deliver_due
    from handlers.summary import compute_summary, render_summary, send_weekly_summary, week_of

    sheli = _sheli(ctx)
    now = sheli.clock.now()
    if send:
        if not sheli.policy.summary_recipients:
            raise click.ClickException(
                "summary.recipients is empty: set it in config.yaml or SHELI_SUMMARY__RECIPIENTS"
            )
        figures = send_weekly_summary(sheli.deps, now, week)
        counts = deliver_due(
            sheli.deps.uow_factory, sheli.sender, sheli.clock, sheli.outbox_settings
        )
    else:
        with sheli.uow() as uow:
            period = week_of(week, now, sheli.policy.timezone)
            figures = compute_summary(uow, sheli.policy, period, now)
    if fmt == "json":
        _echo_json(figures.to_json())
    else:
        click.echo(render_summary(figures, sheli.policy))
    if send:
        click.echo(
            f"queued for {len(sheli.policy.summary_recipients)} recipient(s), at most once per "
            f"week each; outbox: sent {counts['sent']}, retry {counts['retry']}, "
            f"dead {counts['dead']}",
            err=True,
        )


# --- dashboard --------------------------------------------------------------------------------


@cli.group()
def dashboard() -> None:
    """The operators' web dashboard (/dashboard/)."""


@dashboard.command("hash-password")
def dashboard_hash_password() -> None:
    """Ask for a password and print its hash for SHELI_DASHBOARD__PASSWORD_HASH."""
    from werkzeug.security import generate_password_hash

    password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise click.ClickException("use at least 8 characters")
    click.echo(generate_password_hash(password))


# --- outbox, menu, chat -----------------------------------------------------------------------


@cli.group()
def outbox() -> None:
    """Messages Sheli sends on its own: what is pending, sent, given up."""


@outbox.command("status")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def outbox_status_command(ctx: click.Context, fmt: str) -> None:
    """Counts by status, and the newest dead messages with their last error."""
    from bot.outbox import outbox_status

    with _sheli(ctx).uow() as uow:
        status = outbox_status(uow)
    if fmt == "json":
        _echo_json(status)
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

    sheli = _sheli(ctx)
    with sheli.uow() as uow:
        try:
            retry_message(uow, message_id, sheli.clock.now())
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        uow.commit()
    click.echo(f"outbox #{message_id} is pending again")


@cli.group()
def menu() -> None:
    """The account's menu (bot/menu.json): click keys start Sheli's flows."""


@menu.command("show")
def menu_show() -> None:
    """Print the menu JSON, ready to paste into the WeChat console."""
    from bot.wechat_client import load_menu

    _echo_json(load_menu())


@menu.command("push")
@click.pass_context
def menu_push(ctx: click.Context) -> None:
    """Create the menu through the WeChat API (needs wechat.app_id and app_secret)."""
    from bot.wechat_client import SheliWeChatClient, load_menu

    sheli = _sheli(ctx)
    if sheli.config.local_mode:
        raise click.ClickException("local mode: set wechat.app_id and app_secret to push a menu")
    try:
        data = load_menu()
    except ValueError as exc:
        raise click.ClickException(f"bot/menu.json: {exc}") from None
    client = SheliWeChatClient.from_config(sheli.config, sheli.session_factory, sheli.clock)
    try:
        client.menu.create(data)
    except Exception as exc:
        raise click.ClickException(f"WeChat refused the menu: {exc}") from None
    click.echo("menu pushed")


@cli.command()
@click.option("--as", "openid", required=True, help="The openid to play, e.g. o_resident_1.")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True)
@click.pass_context
def chat(ctx: click.Context, openid: str, url: str) -> None:
    """Chat with a running Sheli (local mode) from the terminal, as WeChat would."""
    from bot.chat import run_chat

    run_chat(url, openid, str(ctx.obj["config"].require("wechat.token")))


# --- community data: events, rooms, resources -------------------------------------------------


def _import_file(ctx: click.Context, path: str, what: str) -> None:
    """Import one file in one transaction; any bad row and nothing is imported."""
    from handlers import events_import as imports

    sheli = _sheli(ctx)
    csv_file = path.lower().endswith(".csv")
    try:
        data = imports.read_file(path)
        result = imports.import_data(sheli.deps, what, data, csv_file=csv_file)
    except imports.ImportRejected as rejected:
        for problem in rejected.problems:
            click.echo(problem, err=True)
        raise click.ClickException(
            f"{path}: {len(rejected.problems)} problem(s), nothing was imported"
        ) from None
    click.echo(f"{what} from {path}: {result}")


@cli.group()
def events() -> None:
    """Community events (job fairs, legal clinics, markets) residents ask about and sign up for."""


@events.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def events_import_command(ctx: click.Context, file: str) -> None:
    """Add events from a YAML list or a CSV file (kind, title, starts_at, place, capacity, ...)."""
    _import_file(ctx, file, "events")


@events.command("list")
@click.option("--all", "show_all", is_flag=True, help="Past events too.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def events_list(ctx: click.Context, show_all: bool, fmt: str) -> None:
    """Upcoming events with their sign-ups (活动n is what residents reply to 报名)."""
    from handlers.community import event_rows

    sheli = _sheli(ctx)
    with sheli.uow() as uow:
        rows = event_rows(uow, sheli.policy, sheli.clock.now(), include_past=show_all)
    if fmt == "json":
        _echo_json(rows)
        return
    if not rows:
        click.echo("no events")
    for row in rows:
        seats = f"/{row['capacity']}" if row["capacity"] is not None else ""
        state = " (cancelled)" if row["cancelled"] else " (past)" if row["past"] else ""
        click.echo(
            f"活动{row['id']:<4} {row['kind']:<12} {row['local_start']}  {row['title']}"
            f"  @ {row['place'] or '-'}  signed up {row['confirmed']}{seats}"
            f", waiting {row['waiting']}{state}"
        )


@cli.group()
def rooms() -> None:
    """Buildings and rooms with their capacity."""


@rooms.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def rooms_import_command(ctx: click.Context, file: str) -> None:
    """Add buildings and rooms from a CSV (building,room,capacity) or YAML file."""
    _import_file(ctx, file, "rooms")


@cli.group()
def resources() -> None:
    """Party-building resources: alliance units (共建单位) and volunteer teams."""


@resources.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def resources_import_command(ctx: click.Context, file: str) -> None:
    """Add alliance units and volunteers from a YAML file."""
    _import_file(ctx, file, "resources")


def _attach_nlu() -> None:
    try:
        from nlu.cli import nlu
    except ImportError:  # pragma: no cover - nlu is part of the package
        return
    cli.add_command(nlu)


_attach_nlu()


def main() -> None:
    """Console entry point."""
    try:
        cli(obj={})
    except ConfigError as exc:
        click.echo(f"Error: bad configuration: {exc}", err=True)
        sys.exit(2)
