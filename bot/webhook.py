"""The WeChat edge: verify → size limit → parse → dedupe → dispatch → render.

Everything WeChat-specific (signatures, safe mode, the 5-second window, `success`) lives here.
"""

from __future__ import annotations

import logging
import math
import re
import time
from typing import Any

from flask import Blueprint, Response, request
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from bot.logsafe import describe_error, log_error
from bot.web import current_sheli
from handlers import messages as msg
from handlers.inbound import ANSWERED_EVENTS, MESSAGE_KINDS, Inbound
from handlers.masking import pseudonym

log = logging.getLogger(__name__)
bp = Blueprint("wechat", __name__)

# Anything that declares a DTD or entities is refused before any XML parser sees it.
_FORBIDDEN = (b"<!doctype", b"<!entity", b"<!element", b"<!attlist")
# What the database can hold: an openid column is 64 characters, the dedupe key 128 ("msg:" +
# MsgId), a media id 128. Longer is malformed. (Only the events in ANSWERED_EVENTS are stored.)
MAX_OPENID = 64
MAX_MSG_ID = 124
MAX_MEDIA_ID = 128
MAX_EVENT_KEY = 128  # a menu key is at most 128 bytes
MAX_SCENE = 64  # a QR code's scene_str is at most 64 characters (a scene_id is a number)
MAX_NONCE = 64
# CreateTime is seconds since 1970; anything past 2106 (or before 1970) is not a WeChat time.
MAX_CREATE_TIME = 2**32


class Refused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


def _plain(status: int, text: str) -> Response:
    return Response(text, status=status, mimetype="text/plain")


def _check_timestamp(timestamp: str, window: float) -> None:
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        raise Refused(403, "bad timestamp") from None
    if abs(time.time() - sent) > window:
        raise Refused(403, "timestamp outside the replay window")


def _verify(args: Any, token: str, window: float, signature_required: bool = True) -> None:
    signature, timestamp, nonce = args.get("signature"), args.get("timestamp"), args.get("nonce")
    if not timestamp or not nonce:
        raise Refused(403, "missing timestamp or nonce")
    if len(nonce) > MAX_NONCE:
        raise Refused(403, "nonce too long")
    if signature or signature_required:
        try:
            check_signature(token, signature or "", timestamp, nonce)
        except InvalidSignatureException:
            raise Refused(403, "bad signature") from None
    _check_timestamp(timestamp, window)


def _crypto() -> WeChatCrypto | None:
    config = current_sheli().config
    key = config.get("wechat.aes_key")
    if not key:
        return None
    return WeChatCrypto(config.require("wechat.token"), key, config.get("wechat.app_id") or "")


def _reject_dtd(body: bytes) -> None:
    lowered = body.lower()
    if any(marker in lowered for marker in _FORBIDDEN):
        raise Refused(400, "XML with a DTD or entities is not accepted")


def _use_nonce(uow: Any, args: Any, window: float) -> None:
    """Record this request's (timestamp, nonce) for every worker; a second use is refused.

    WeChat re-delivers an unanswered message with a new timestamp and nonce (and the same
    MsgId, deduplicated later); only a byte-identical query string comes back with the old pair.
    """
    fresh = uow.nonces.use(
        int(args["timestamp"]), args["nonce"], oldest=int(time.time() - 2 * window)
    )
    if not fresh:
        raise Refused(403, "replayed timestamp and nonce")


def _refuse_replay(sheli: Any, args: Any, window: float) -> None:
    """The same in a transaction of its own (for requests that are not handled)."""
    with sheli.uow() as uow:
        _use_nonce(uow, args, window)
        uow.commit()


def _keep_nonce(sheli: Any, args: Any, window: float) -> None:
    """After a failed handling (rolled back with its nonce): record the nonce on its own."""
    try:
        _refuse_replay(sheli, args, window)
    except Exception as exc:  # the answer stands; the pair is still refused once seen again
        log.warning("could not record a webhook nonce (%s)", describe_error(exc))


def _cdata_safe(text: str) -> str:
    # wechatpy wraps content in CDATA without escaping; split any "]]>" across two sections.
    return text.replace("]]>", "]]]]><![CDATA[>")


@bp.get("/wechat")
def handshake() -> Response:
    """WeChat's URL check: echo `echostr` for a correctly signed request."""
    config = current_sheli().config
    try:
        _verify(
            request.args, config.require("wechat.token"), config.seconds("wechat.replay_window")
        )
    except Refused as refused:
        return _plain(refused.status, "forbidden")
    return _plain(200, request.args.get("echostr", ""))


@bp.post("/wechat")
def receive() -> Response:
    """A message or event from WeChat's servers; the passive reply goes back in the response."""
    sheli = current_sheli()
    config = sheli.config
    aes = request.args.get("encrypt_type") == "aes"
    window = config.seconds("wechat.replay_window")
    try:
        _verify(request.args, config.require("wechat.token"), window, signature_required=not aes)
        if not aes and config.get("wechat.safe_mode_only") and config.get("wechat.aes_key"):
            raise Refused(403, "plain request refused: wechat.safe_mode_only is set")
        max_body = int(config.get("wechat.max_body_bytes", 65536))
        if request.content_length is not None and request.content_length > max_body:
            raise Refused(413, "body too large")
        body = request.stream.read(max_body + 1)
        if len(body) > max_body:
            raise Refused(413, "body too large")
        _reject_dtd(body)
        crypto = _crypto() if aes else None
        if aes and crypto is None:
            raise Refused(400, "safe mode is not configured")
        if crypto is not None:
            try:
                body = crypto.decrypt_message(
                    body,
                    request.args.get("msg_signature", ""),
                    request.args["timestamp"],
                    request.args["nonce"],
                ).encode("utf-8")
            except (InvalidSignatureException, InvalidAppIdException):
                raise Refused(403, "bad message signature") from None
            except Exception:
                raise Refused(400, "cannot decrypt") from None
            _reject_dtd(body)
        # Signed (and in safe mode decrypted): now a reused (timestamp, nonce) is a replay. The
        # pair is recorded in the message's own transaction (one commit per message); a request
        # refused or ignored here records it in a transaction of its own.
        try:
            message = parse_message(body)
            if message is None:
                raise Refused(400, "empty body")
            inbound = _to_inbound(message)
        except Exception as exc:
            _refuse_replay(sheli, request.args, window)  # a replayed request is refused as such
            if isinstance(exc, Refused):
                raise
            if isinstance(exc, (ValueError, TypeError, AttributeError, KeyError, OverflowError)):
                raise Refused(400, "malformed fields") from None
            raise Refused(400, "malformed XML") from None
        if inbound is None:
            _refuse_replay(sheli, request.args, window)
            return _plain(200, "success")
    except Refused as refused:
        log.info("refused webhook request: %s", refused)
        return _plain(refused.status, str(refused) if refused.status != 403 else "forbidden")
    except (OperationalError, InterfaceError) as exc:
        log.error("database unavailable (%s); asking WeChat to retry", describe_error(exc))
        return _plain(503, "database unavailable")
    try:
        reply = sheli.handle(inbound, first=lambda uow: _use_nonce(uow, request.args, window))
    except Refused as refused:  # the nonce was used before: nothing was written
        log.info("refused webhook request: %s", refused)
        return _plain(refused.status, "forbidden")
    except DataError as exc:  # a value the database cannot store: retrying will not help
        log.warning(
            "message from %s refused by the database (%s)",
            pseudonym(inbound.openid),
            describe_error(exc),
        )
        _keep_nonce(sheli, request.args, window)
        return _plain(400, "a field the database cannot store")
    except DBAPIError as exc:
        log.error("database unavailable (%s); asking WeChat to retry", describe_error(exc))
        return _plain(503, "database unavailable")
    except Exception as exc:
        log_error(log, "failed to handle a message from %s", pseudonym(inbound.openid), exc=exc)
        _keep_nonce(sheli, request.args, window)
        reply = msg.SORRY
    if not reply:
        return _plain(200, "success")
    xml = TextReply(content=_cdata_safe(reply), message=message).render()
    if crypto is not None:
        xml = crypto.encrypt_message(xml, request.args["nonce"], request.args["timestamp"])
    return Response(xml, status=200, mimetype="application/xml")


def _text(value: Any, name: str, limit: int | None = None) -> str | None:
    """A field that must be one piece of text (not nested or repeated XML), at most `limit` long."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Refused(400, f"{name} is not a single text value")
    if limit is not None and len(value) > limit:
        raise Refused(400, f"{name} is longer than {limit} characters")
    return value


def _coordinate(value: Any, name: str, bound: float) -> float:
    text = _text(value, name)
    try:
        number = float(text or 0)
    except ValueError:
        raise Refused(400, f"{name} is not a number") from None
    if not math.isfinite(number) or abs(number) > bound:
        raise Refused(400, f"{name} is not a coordinate")
    return number


def _create_time(message: Any) -> str:
    raw = _text(message._data.get("CreateTime"), "CreateTime")
    if not raw:
        return ""
    if not re.fullmatch(r"[0-9]{1,10}", raw.strip()) or int(raw) >= MAX_CREATE_TIME:
        raise Refused(400, "CreateTime is not a time")
    return str(int(raw))


# wechatpy renames a follow through a QR code ("subscribe" with an EventKey "qrscene_…") to
# "subscribe_scan" and strips the prefix; a follow from a product scan is a follow too.
_FOLLOWS = {"subscribe_scan": "subscribe", "subscribe_scan_product": "subscribe"}


def _to_inbound(message: Any) -> Inbound | None:
    """WeChat's message object → the handlers' Inbound; None for what Sheli ignores.

    Every field is checked here, so bad input is a 400 and never reaches the database. The raw
    MsgType and Event are read, not wechatpy's class: events and message kinds wechatpy does not
    know (subscribe_msg_popup_event, file…) are otherwise all "unknown".
    """
    openid = _text(message._data.get("FromUserName"), "FromUserName", MAX_OPENID)
    if not openid:
        raise Refused(400, "message without FromUserName")
    _text(message._data.get("ToUserName"), "ToUserName")
    kind = (_text(message._data.get("MsgType"), "MsgType") or "").lower()
    created = _create_time(message)
    if kind == "event":
        return _event(message, openid, created)
    raw_id = _text(message._data.get("MsgId"), "MsgId", MAX_MSG_ID)
    if raw_id and not re.fullmatch(r"[0-9]+", raw_id.strip()):
        raise Refused(400, "MsgId is not a number")
    msg_id = int(raw_id) if raw_id else 0
    key = f"msg:{msg_id}" if msg_id else f"msg:{openid}:{created}"
    if kind == "text":
        text = _text(message._data.get("Content"), "Content") or ""
        return Inbound(openid=openid, kind="text", dedupe_key=key, text=text)
    if kind == "voice":
        return Inbound(
            openid=openid,
            kind="voice",
            dedupe_key=key,
            text=_text(message._data.get("Recognition"), "Recognition") or None,
            media_id=_text(message._data.get("MediaId"), "MediaId", MAX_MEDIA_ID),
        )
    if kind == "image":
        return Inbound(
            openid=openid,
            kind="image",
            dedupe_key=key,
            media_id=_text(message._data.get("MediaId"), "MediaId", MAX_MEDIA_ID),
            picture_url=_text(message._data.get("PicUrl"), "PicUrl"),
        )
    if kind == "location":
        return Inbound(
            openid=openid,
            kind="location",
            dedupe_key=key,
            location_label=_text(message._data.get("Label"), "Label"),
            latitude=_coordinate(message._data.get("Location_X"), "Location_X", 90),
            longitude=_coordinate(message._data.get("Location_Y"), "Location_Y", 180),
        )
    if kind in ("video", "shortvideo"):
        _text(message._data.get("ThumbMediaId"), "ThumbMediaId", MAX_MEDIA_ID)
        return Inbound(
            openid=openid,
            kind=kind,
            dedupe_key=key,
            media_id=_text(message._data.get("MediaId"), "MediaId", MAX_MEDIA_ID),
        )
    if kind in ("link", "file"):
        for name in ("Title", "Description", "Url", "FileKey", "FileMd5", "FileTotalLen"):
            _text(message._data.get(name), name)
        return Inbound(openid=openid, kind=kind, dedupe_key=key)
    return Inbound(
        openid=openid, kind="other" if kind not in MESSAGE_KINDS else kind, dedupe_key=key
    )


def _event(message: Any, openid: str, created: str) -> Inbound | None:
    """A follow (with or without a QR scene), a SCAN or a menu click; None for every other event:
    system notifications nobody wrote (TEMPLATESENDJOBFINISH, subscribe_msg_popup_event, kf
    sessions, verification notices…), location reports, menu VIEW and scan/photo buttons (their
    result arrives as a message of its own), unsubscribe. They get "success" and no chat text."""
    raw = (_text(message._data.get("Event"), "Event") or "").lower()
    event = _FOLLOWS.get(raw, raw)
    if event not in ANSWERED_EVENTS:
        return None
    value = _text(message._data.get("EventKey"), "EventKey", MAX_EVENT_KEY) or None
    _text(message._data.get("Ticket"), "Ticket")
    event_key = scene = None
    if event == "click":
        event_key = value
    elif raw != "subscribe_scan_product" and value:  # a follow or a SCAN through a QR code
        scene = value.removeprefix("qrscene_")
        if len(scene) > MAX_SCENE:
            raise Refused(400, f"the QR scene is longer than {MAX_SCENE} characters")
    # WeChat's rule is FromUserName + CreateTime; the event and its key are added so two
    # different menu clicks within one second are not mistaken for a re-delivery.
    key = f"event:{openid}:{created}:{event}:{event_key or scene or ''}"[:128]
    return Inbound(
        openid=openid,
        kind="event",
        dedupe_key=key,
        event=event,
        event_key=event_key,
        scene=scene,
    )
