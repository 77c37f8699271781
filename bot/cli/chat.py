"""`sheli chat`: play a resident or a staff member against a running Sheli in local mode."""

from __future__ import annotations

import click


@click.command()
@click.option("--as", "openid", required=True, help="The openid to play, e.g. o_resident_1.")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True)
@click.pass_context
def chat(ctx: click.Context, openid: str, url: str) -> None:
    """Chat with a running Sheli (local mode) from the terminal, as WeChat would."""
    from bot.chat import run_chat

    run_chat(url, openid, str(ctx.obj["config"].require("wechat.token")))
