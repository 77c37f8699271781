"""Local mode's inbox as JSON: the messages Sheli queued for one person (read by `sheli chat`),
and local mode's stand-in for WeChat's media store: pictures uploaded by `sheli chat /image`
(`POST /local/media`), and the stored photos and voice notes a forward links to.

Registered only in local mode; in WeChat mode the outbox is private and this path is a 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request

from bot.media import UploadRefused, decode_upload, media_response, store_upload
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


@bp.post("/media")
def upload_media() -> Any:
    """{data: base64 or a data URL} → {media_id} for an image message, like WeChat's upload.

    JSON only: a page of another site cannot send it without a CORS preflight we never answer.
    """
    sheli = current_sheli()
    if not request.is_json:
        abort(415)
    request.max_content_length = sheli.media_settings.max_bytes * 4 // 3 + 4096
    payload = request.get_json(silent=True) or {}
    try:
        data = decode_upload(str(payload.get("data") or ""))
        media_id = store_upload(sheli.media_files, data, sheli.media_settings.max_bytes)
    except UploadRefused as refusal:
        return jsonify(error=str(refusal), status=400), 400
    return jsonify(media_id=media_id)


@bp.get("/media/<int:attachment_id>")
def media(attachment_id: int) -> Any:
    """A stored photo or voice note (what a forward in the inbox links to); 404 until fetched."""
    return media_response(current_sheli(), attachment_id)


def inbox_messages(sheli: Any, openid: str, after: int = 0) -> list[dict[str, Any]]:
    """The outbox rows to `openid` after outbox id `after`, as JSON-ready dicts."""
    return sheli.read(read_models.inbox, openid, after)
