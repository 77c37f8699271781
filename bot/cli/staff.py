"""`sheli staff …`: the six staff roles and who fills them."""

from __future__ import annotations

import click

from bot.cli.common import echo_json, sheli_of
from handlers import communities, read_models
from handlers import messages as msg
from handlers.commands import AddStaff, IssueBindCode, SetStaffActive
from handlers.ports import Context
from handlers.times import human_duration
from storage.uow import AbstractUnitOfWork


@click.group()
def staff() -> None:
    """The six staff roles and who fills them."""


@staff.command("add")
@click.option(
    "--role", required=True, help="Role key (e.g. property_steward) or its Chinese name (物业管家)."
)
@click.option("--name", required=True)
@click.option("--openid", default=None, help="Bind directly instead of printing a bind code.")
@click.option(
    "--community",
    default=None,
    help="The community they serve (its key); without it, the site-wide pool.",
)
@click.pass_context
def staff_add(
    ctx: click.Context, role: str, name: str, openid: str | None, community: str | None
) -> None:
    """Add a staff member; prints a one-time bind code on the last line."""
    sheli = sheli_of(ctx)
    member, code = sheli.handle(AddStaff(role=role, name=name, openid=openid, community=community))
    role_name = sheli.policy.role_name(member.role)
    if member.community is not None:
        role_name += "，" + sheli.read(_community_name, member.community)
    click.echo(msg.CLI_STAFF_ADDED.format(id=member.id, name=member.name, role=role_name))
    if code:
        ttl = human_duration(sheli.policy.bind_code_ttl)
        click.echo(msg.CLI_BIND_CODE.format(ttl=ttl, code=code))
        click.echo(code)
    else:
        click.echo(msg.CLI_STAFF_BOUND.format(openid=member.openid))


@staff.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def staff_list(ctx: click.Context, fmt: str) -> None:
    """Staff by role with their open load."""
    sheli = sheli_of(ctx)
    rows = sheli.read(read_models.staff_rows)
    if fmt == "json":
        echo_json(rows)
        return
    if not rows:
        click.echo(msg.CLI_STAFF_NONE)
    # On a site of several communities each line says whose member it is (or 全站: the pool).
    names = sheli.read(lambda uow, _ctx: uow.communities.names())
    for row in rows:
        state = msg.CLI_STAFF_BOUND_STATE if row["bound"] else msg.CLI_STAFF_UNBOUND_STATE
        state += "" if row["active"] else msg.CLI_STAFF_INACTIVE_STATE
        line = msg.CLI_STAFF_LINE.format(
            id=row["id"],
            role=row["role_name"],
            name=row["name"],
            load=row["open_tickets"],
            state=state,
        )
        if len(names) > 1:
            key = row["community"]
            where = msg.COMMUNITY_SITE_POOL if key is None else names.get(key, key)
            line += msg.CLI_STAFF_COMMUNITY.format(community=where)
        click.echo(line)


def _community_name(uow: AbstractUnitOfWork, ctx: Context, key: str) -> str:
    return communities.name_of(uow, key)


def _set_active(ctx: click.Context, staff_id: int, active: bool) -> None:
    member = sheli_of(ctx).handle(SetStaffActive(staff_id, active))
    done = msg.CLI_STAFF_REACTIVATED if active else msg.CLI_STAFF_DEACTIVATED
    click.echo(done.format(id=member.id, name=member.name))


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
