"""Local mode's WeChat stand-in in the browser: play a resident or a staff member.

What you type is signed and posted to the app's own `/wechat` exactly as WeChat's servers
would post it; messages Sheli sends on its own are read back from the outbox (the local inbox).
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import time
from typing import Any
from xml.etree import ElementTree

from flask import Blueprint, abort, current_app, jsonify, render_template, request

from bot.local_inbox import inbox_messages
from bot.media import UploadRefused, decode_upload, store_upload
from bot.outbox import deliver_due
from bot.scheduler import fetch_media, run_due
from bot.web import current_sheli
from handlers import messages as msg
from handlers import read_models
from handlers.commands import SeedDemoStaff
from handlers.conversation import MENU_KEYS

bp = Blueprint(
    "simulator",
    __name__,
    url_prefix="/simulator",
    template_folder="templates",
    static_folder="static",
)

DEMO_RESIDENTS = ("demo_resident_1", "demo_resident_2", "demo_resident_3")
_msg_ids = itertools.count(int(time.time() * 1000) % 10**9 * 1000)


@bp.before_request
def local_mode_only() -> None:
    """With a WeChat app id configured the simulator does not exist."""
    if not current_sheli().config.local_mode:
        abort(404)
    # A cross-site page cannot send application/json without a CORS preflight we never answer.
    if request.method == "POST" and not request.is_json:
        abort(415)


@bp.after_request
def security_headers(response: Any) -> Any:
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' blob:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def wechat_xml(openid: str, kind: str, fields: dict[str, Any]) -> str:
    """A message as WeChat's servers post it to the account's URL."""
    now = int(time.time())
    parts = [
        f"<ToUserName>{_cdata('gh_sheli_local')}</ToUserName>",
        f"<FromUserName>{_cdata(openid)}</FromUserName>",
        f"<CreateTime>{now}</CreateTime>",
        f"<MsgType>{_cdata(kind)}</MsgType>",
    ]
    for key, value in fields.items():
        parts.append(f"<{key}>{_cdata(value) if isinstance(value, str) else value}</{key}>")
    if kind != "event":
        parts.append(f"<MsgId>{next(_msg_ids)}</MsgId>")
    return "<xml>" + "".join(parts) + "</xml>"


def _fields(payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    kind = str(payload.get("type") or "text")
    if kind == "text":
        text = str(payload.get("text") or "").strip()
        if not text:
            abort(400, "text is empty")
        return "text", {"Content": text[:2000]}
    if kind == "location":
        label = str(payload.get("label") or "").strip() or msg.SIMULATOR_DEFAULT_PLACE
        return "location", {
            "Location_X": 22.543,
            "Location_Y": 114.057,
            "Scale": 15,
            "Label": label[:100],
        }
    if kind == "click":
        key = str(payload.get("key") or "")
        if key not in MENU_KEYS:
            abort(400, "unknown menu key")
        return "event", {"Event": "CLICK", "EventKey": key}
    if kind == "subscribe":
        return "event", {"Event": "subscribe"}
    if kind == "image":
        # Stored under media.dir now, as WeChat keeps what a user sends; the media id names it.
        sheli = current_sheli()
        data = decode_upload(str(payload.get("data") or ""))
        return "image", {
            "MediaId": store_upload(sheli.media_files, data, sheli.media_settings.max_bytes)
        }
    abort(400, "type must be text, location, click, subscribe or image")


def post_to_webhook(xml: str) -> tuple[int, str | None]:
    """Sign `xml` with wechat.token and post it through the app's own /wechat, like WeChat."""
    token = str(current_sheli().config.require("wechat.token"))
    timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    response = current_app.test_client().post(
        "/wechat",
        query_string={"signature": signature, "timestamp": timestamp, "nonce": nonce},
        data=xml.encode("utf-8"),
        content_type="text/xml",
    )
    body = response.get_data(as_text=True)
    if response.status_code != 200 or not body.startswith("<xml>"):
        return response.status_code, None
    return 200, ElementTree.fromstring(body).findtext("Content")


def _openid(value: Any) -> str:
    openid = str(value or "").strip()
    if not openid or len(openid) > 64 or any(c in openid for c in "<>&\"' "):
        abort(400, "openid: 1–64 characters, no spaces or markup")
    return openid


@bp.get("/")
def page() -> Any:
    sheli = current_sheli()
    return render_template(
        "simulator/simulator.html",
        residents=DEMO_RESIDENTS,
        staff=sheli.read(read_models.bound_staff),
        followup_delay=sheli.config.get("followup.delay"),
        role_names=sheli.policy.role_names,
        menu=msg.MENU_LABELS,
        site_name=sheli.policy.site_name,
    )


@bp.post("/send")
def send() -> Any:
    """{openid, type: text|location|click|subscribe|image, text|label|key|data} → the passive
    reply. An image's `data` is the picture as a data URL (or base64)."""
    # Room for a picture of up to 10 MB in base64 (other messages are small anyway).
    request.max_content_length = upload_limit()
    payload = request.get_json(silent=True) or {}
    openid = _openid(payload.get("openid"))
    try:
        kind, fields = _fields(payload)
    except UploadRefused as refusal:
        return jsonify(error=str(refusal), status=400), 400
    status, reply = post_to_webhook(wechat_xml(openid, kind, fields))
    if kind == "image":
        fetch_media(current_sheli())  # attach the stored picture now, not on the next job run
    return jsonify(status=status, reply=reply)


def upload_limit() -> int:
    """The largest request body that can carry one picture: its base64 and a little JSON."""
    return current_sheli().media_settings.max_bytes * 4 // 3 + 4096


@bp.get("/inbox/<openid>")
def inbox(openid: str) -> Any:
    """Messages Sheli queued for this person after outbox id `after`."""
    openid = _openid(openid)
    after = request.args.get("after", default=0, type=int)
    return jsonify(messages=inbox_messages(current_sheli(), openid, after))


@bp.get("/history/<openid>")
def history(openid: str) -> Any:
    """What this person wrote and the passive replies, oldest first (shown on switching)."""
    return jsonify(messages=current_sheli().read(read_models.history, _openid(openid)))


@bp.post("/seed")
def seed() -> Any:
    """One bound demo staff member per role that has nobody bound (openid demo_<role>)."""
    return jsonify(created=current_sheli().handle(SeedDemoStaff()))


@bp.post("/run-due")
def run_due_now() -> Any:
    """Run due visits, expiries and SLA checks now, then deliver the outbox."""
    sheli = current_sheli()
    duties = run_due(sheli)
    delivered = deliver_due(sheli.uow, sheli.sender, sheli.clock, sheli.outbox_settings)
    return jsonify(duties=duties, delivered=delivered)
