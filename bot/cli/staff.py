"""`sheli staff …`: the six staff roles and who fills them."""

from __future__ import annotations

import click

from bot.cli.common import echo_json, sheli_of
from handlers import read_models
from handlers.commands import AddStaff, IssueBindCode, SetStaffActive


@click.group()
def staff() -> None:
    """The six staff roles and who fills them."""


@staff.command("add")
@click.option(
    "--role", required=True, help="Role key (e.g. property_steward) or its Chinese name (物业管家)."
)
@click.option("--name", required=True)
@click.option("--openid", default=None, help="Bind directly instead of printing a bind code.")
@click.pass_context
def staff_add(ctx: click.Context, role: str, name: str, openid: str | None) -> None:
    """Add a staff member; prints a one-time bind code on the last line."""
    sheli = sheli_of(ctx)
    member, code = sheli.handle(AddStaff(role=role, name=name, openid=openid))
    click.echo(f"added staff #{member.id} {member.name} ({sheli.policy.role_name(member.role)})")
    if code:
        click.echo(
            f"send 「绑定 {code}」 to the official account within {sheli.policy.bind_code_ttl}"
        )
        click.echo(code)
    else:
        click.echo(f"bound to {member.openid}")


@staff.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def staff_list(ctx: click.Context, fmt: str) -> None:
    """Staff by role with their open load."""
    rows = sheli_of(ctx).read(read_models.staff_rows)
    if fmt == "json":
        echo_json(rows)
        return
    for row in rows:
        state = ("bound" if row["bound"] else "unbound") + ("" if row["active"] else ", inactive")
        click.echo(
            f"{row['id']:>3} {row['role_name']:<8} {row['name']:<10} open={row['open_tickets']} ({state})"
        )


def _set_active(ctx: click.Context, staff_id: int, active: bool) -> None:
    member = sheli_of(ctx).handle(SetStaffActive(staff_id, active))
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
    """Issue a new one-time bind code (e.g. for a new phone); the old account is unbound."""
    click.echo(sheli_of(ctx).handle(IssueBindCode(staff_id)))
