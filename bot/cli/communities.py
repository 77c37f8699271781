"""`sheli community …`: the site's communities (集宿区), their QR codes, and moving a building.

A site that never adds one has only `default`; these commands are how a town's office runs
several on one deployment (issue 13).
"""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.common import Refusal, echo_json, sheli_of
from handlers import communities
from handlers import messages as msg
from handlers.commands import AddCommunity, MoveBuilding
from handlers.ports import Context
from storage.uow import AbstractUnitOfWork

# What showqrcode serves (WeChat: image/jpg) → the picture's file extension.
PICTURE_EXTENSIONS = {"image/jpeg": "jpg", "image/jpg": "jpg", "image/png": "png"}


@click.group()
def community() -> None:
    """The site's communities (集宿区): add, list, QR codes, moving a building."""


@community.command("add")
@click.argument("key")
@click.option(
    "--name", default=None, help="Its name as residents know it (张舍家园); needed when new."
)
@click.option(
    "--secretary",
    "secretaries",
    multiple=True,
    help="Openid of a branch secretary (repeatable): they get its summary and escalations.",
)
@click.option(
    "--active/--inactive",
    default=None,
    help="Take residents and tickets (a new community is active), or not.",
)
@click.pass_context
def community_add(
    ctx: click.Context,
    key: str,
    name: str | None,
    secretaries: tuple[str, ...],
    active: bool | None,
) -> None:
    """Add a community, or change an existing one's name, secretaries or state."""
    done = sheli_of(ctx).handle(AddCommunity(key, name, tuple(secretaries), active))
    click.echo(done)


def _masked(openid: str) -> str:
    """An openid shown so an operator recognises it without printing it whole."""
    return openid[:4] + "…" + openid[-2:] if len(openid) > 8 else openid[:2] + "…"


@community.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def community_list(ctx: click.Context, fmt: str) -> None:
    """Communities with their secretaries, buildings, active staff and residents."""
    views = sheli_of(ctx).read(communities.list_communities)
    if fmt == "json":
        echo_json(
            [
                {
                    "key": v.key,
                    "name": v.name,
                    "active": v.active,
                    "secretaries": len(v.secretaries),
                    "secretary_openids": [_masked(s) for s in v.secretaries],
                    "buildings": v.buildings,
                    "staff": v.staff,
                    "residents": v.residents,
                }
                for v in views
            ]
        )
        return
    if not views:
        click.echo(msg.CLI_COMMUNITY_NONE)
    for v in views:
        click.echo(
            msg.CLI_COMMUNITY_LINE.format(
                key=v.key,
                name=v.name,
                state=msg.CLI_COMMUNITY_ACTIVE if v.active else msg.CLI_COMMUNITY_INACTIVE,
                secretaries=len(v.secretaries),
                buildings=v.buildings,
                staff=v.staff,
                residents=v.residents,
            )
        )


def _community(uow: AbstractUnitOfWork, ctx: Context, key: str) -> tuple[str, str, bool]:
    """(key, name, active) of a known community; NotFound naming the known ones."""
    found = communities.require(uow, key)
    return found.key, found.name, found.active


@community.command("qrcode")
@click.argument("key")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Where to save the picture (default: qrcode-KEY.jpg here).",
)
@click.pass_context
def community_qrcode(ctx: click.Context, key: str, output: str | None) -> None:
    """A permanent QR code whose scene puts who follows through it in the community.

    In local mode (no wechat.app_id) it prints the scene string instead."""
    sheli = sheli_of(ctx)
    key, name, active = sheli.read(_community, key)
    scene = communities.scene_for(key)
    if sheli.config.local_mode:
        click.echo(msg.CLI_QRCODE_LOCAL.format(key=key, name=name, scene=scene))
        return
    if not active:
        raise Refusal(msg.CLI_QRCODE_INACTIVE.format(key=key, name=name))
    from wechatpy.exceptions import WeChatClientException

    from bot.wechat_client import SheliWeChatClient

    client = SheliWeChatClient.from_config(sheli.config, sheli.session_factory, sheli.clock)
    try:
        qrcode = client.permanent_qrcode(scene)
    except WeChatClientException as exc:
        raise Refusal(msg.CLI_QRCODE_FAILED.format(error=exc)) from None
    extension = PICTURE_EXTENSIONS.get(qrcode.content_type, "jpg")
    path = Path(output or f"qrcode-{key}.{extension}")
    try:
        path.write_bytes(qrcode.picture)
    except OSError as exc:
        raise Refusal(msg.CLI_QRCODE_CANNOT_SAVE.format(path=path, error=exc.strerror)) from None
    click.echo(msg.CLI_QRCODE_SAVED.format(key=key, name=name, path=path))
    click.echo(msg.CLI_QRCODE_SCENE.format(scene=scene))
    if qrcode.url:
        click.echo(msg.CLI_QRCODE_URL.format(url=qrcode.url))


@community.command("move-building")
@click.argument("building")
@click.argument("key")
@click.option(
    "--move-open",
    is_flag=True,
    help="Its open tickets go too (each one's trail says so); else they stay where they are.",
)
@click.pass_context
def community_move_building(ctx: click.Context, building: str, key: str, move_open: bool) -> None:
    """Put a building (3栋) in another community."""
    click.echo(sheli_of(ctx).handle(MoveBuilding(building, key, move_open)))
