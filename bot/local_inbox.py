"""Local mode's inbox as JSON: the messages Sheli queued for one person (read by `sheli chat`).

Registered only in local mode; in WeChat mode the outbox is private and this path is a 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request

from bot.web import current_sheli
from handlers import read_models

bp = Blueprint("local_inbox", __name__, url_prefix="/local")


@bp.before_request
def local_mode_only() -> None:
    """Belt and braces: refuse even if registered by mistake in WeChat mode."""
    if not current_sheli().config.local_mode:
        abort(404)


@bp.get("/inbox/<openid>")
def inbox(openid: str) -> Any:
    """`?after=<id>`: messages to `openid` with a larger outbox id, oldest first."""
    if not openid or len(openid) > 64:
        abort(404)
    after = request.args.get("after", default=0, type=int)
    return jsonify(openid=openid, messages=inbox_messages(current_sheli(), openid, after))


def inbox_messages(sheli: Any, openid: str, after: int = 0) -> list[dict[str, Any]]:
    """The outbox rows to `openid` after outbox id `after`, as JSON-ready dicts."""
    return sheli.read(read_models.inbox, openid, after)
