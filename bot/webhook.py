"""The WeChat edge: verify → size limit → parse → dedupe → dispatch → render.

Everything WeChat-specific (signatures, safe mode, the 5-second window, `success`) lives here.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, request
from sqlalchemy.exc import DBAPIError, OperationalError
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from bot.web import current_sheli
from handlers import messages as msg
from handlers.inbound import Inbound

log = logging.getLogger(__name__)
bp = Blueprint("wechat", __name__)

# Anything that declares a DTD or entities is refused before any XML parser sees it.
_FORBIDDEN = (b"<!doctype", b"<!entity", b"<!element", b"<!attlist")


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
    try:
        _verify(
            request.args,
            config.require("wechat.token"),
            config.seconds("wechat.replay_window"),
            signature_required=not aes,
        )
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
        try:
            message = parse_message(body)
        except Exception:
            raise Refused(400, "malformed XML") from None
        inbound = _to_inbound(message)
    except Refused as refused:
        log.info("refused webhook request: %s", refused)
        return _plain(refused.status, str(refused) if refused.status != 403 else "forbidden")
    if inbound is None:
        return _plain(200, "success")
    try:
        reply = sheli.handle(inbound)
    except (OperationalError, DBAPIError):
        log.exception("database unavailable; asking WeChat to retry")
        return _plain(503, "database unavailable")
    except Exception:
        log.exception("failed to handle message %s", inbound.dedupe_key)
        reply = msg.SORRY
    if not reply:
        return _plain(200, "success")
    xml = TextReply(content=_cdata_safe(reply), message=message).render()
    if crypto is not None:
        xml = crypto.encrypt_message(xml, request.args["nonce"], request.args["timestamp"])
    return Response(xml, status=200, mimetype="application/xml")


def _to_inbound(message: Any) -> Inbound | None:
    """WeChat's message object → the handlers' Inbound; None for what Sheli ignores."""
    openid = getattr(message, "source", None)
    if not openid:
        raise Refused(400, "message without FromUserName")
    kind = message.type
    created = getattr(message, "create_time", None)
    received = datetime.utcnow().replace(microsecond=0)
    msg_id = getattr(message, "id", None)
    if kind == "event":
        event = (getattr(message, "event", "") or "").lower()
        event_key = getattr(message, "key", None)
        # WeChat's rule is FromUserName + CreateTime; the event and its key are added so two
        # different menu clicks within one second are not mistaken for a re-delivery.
        stamp = int(created.timestamp()) if created else ""
        key = f"event:{openid}:{stamp}:{event}:{event_key or ''}"[:128]
        if event == "location":
            return None
        return Inbound(
            openid=openid,
            kind="event",
            dedupe_key=key,
            received_at=received,
            event=event,
            event_key=event_key,
        )
    key = (
        f"msg:{msg_id}" if msg_id else f"msg:{openid}:{int(created.timestamp()) if created else ''}"
    )
    if kind == "text":
        return Inbound(
            openid=openid,
            kind="text",
            dedupe_key=key,
            received_at=received,
            text=message.content or "",
        )
    if kind == "voice":
        return Inbound(
            openid=openid,
            kind="voice",
            dedupe_key=key,
            received_at=received,
            text=getattr(message, "recognition", None) or None,
            media_id=message.media_id,
        )
    if kind == "image":
        return Inbound(
            openid=openid,
            kind="image",
            dedupe_key=key,
            received_at=received,
            media_id=message.media_id,
            picture_url=message.image,
        )
    if kind == "location":
        return Inbound(
            openid=openid,
            kind="location",
            dedupe_key=key,
            received_at=received,
            location_label=message.label,
            latitude=float(message.location_x or 0),
            longitude=float(message.location_y or 0),
        )
    return Inbound(openid=openid, kind="other", dedupe_key=key, received_at=received)
