"""`sheli menu …`: the account's menu (bot/menu.json); click keys start Sheli's flows."""

from __future__ import annotations

import click

from bot.cli.common import echo_json, sheli_of


@click.group()
def menu() -> None:
    """The account's menu (bot/menu.json): click keys start Sheli's flows."""


@menu.command("show")
def menu_show() -> None:
    """Print the menu JSON, ready to paste into the WeChat console."""
    from bot.wechat_client import load_menu

    echo_json(load_menu())


@menu.command("push")
@click.pass_context
def menu_push(ctx: click.Context) -> None:
    """Create the menu through the WeChat API (needs wechat.app_id and app_secret)."""
    from bot.wechat_client import SheliWeChatClient, load_menu

    sheli = sheli_of(ctx)
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
