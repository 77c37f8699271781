"""Test helpers that talk to Sheli exactly as WeChat's servers do: signed XML, plain or AES."""

from __future__ import annotations

import hashlib
import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

from wechatpy.crypto import WeChatCrypto

from storage.models import OutboxMessage
from storage.uow import SqlAlchemyUnitOfWork

TOKEN = "sheli-test-token"
# wechatpy's own crypto test vectors (tests/test_crypto.py): token, EncodingAESKey and app id.
AES_TOKEN = "123456"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
AES_APP_ID = "wx49f0ab532d5d035a"

_ids = itertools.count(int(time.time() * 1000) % 10**9 * 1000)


def sign(token: str, timestamp: str, nonce: str, *extra: str) -> str:
    parts = sorted([token, timestamp, nonce, *extra])
    return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()


def cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def message_xml(
    openid: str,
    msg_type: str,
    fields: dict[str, Any],
    *,
    to: str = "gh_sheli",
    create_time: int | None = None,
) -> str:
    """A WeChat message or event as the platform posts it."""
    parts = [
        f"<ToUserName>{cdata(to)}</ToUserName>",
        f"<FromUserName>{cdata(openid)}</FromUserName>",
        f"<CreateTime>{create_time or int(time.time())}</CreateTime>",
        f"<MsgType>{cdata(msg_type)}</MsgType>",
    ]
    for key, value in fields.items():
        parts.append(f"<{key}>{cdata(str(value)) if isinstance(value, str) else value}</{key}>")
    return "<xml>" + "".join(parts) + "</xml>"


@dataclass
class Reply:
    status: int
    body: str
    text: str | None = None
    xml: dict[str, str] = field(default_factory=dict)


class WeChatServer:
    """Posts to /wechat like WeChat's servers: signs, optionally encrypts, decodes the reply."""

    def __init__(self, client: Any, token: str = TOKEN, crypto: WeChatCrypto | None = None):
        self.client = client
        self.token = token
        self.crypto = crypto

    def post(
        self,
        xml: str | bytes,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        extra_args: dict[str, str] | None = None,
        raw: bool = False,
        nonce: str | None = None,
    ) -> Reply:
        ts = str(timestamp or int(time.time()))
        # Fresh for every request, as WeChat's are (not from `random`: Hypothesis reseeds it).
        nonce = nonce or str(secrets.randbelow(10**9))
        args = {"timestamp": ts, "nonce": nonce, "openid": "x"}
        body = xml.encode("utf-8") if isinstance(xml, str) else xml
        if self.crypto is not None and not raw:
            encrypted = self.crypto.encrypt_message(body.decode("utf-8"), nonce, ts)
            tree = ElementTree.fromstring(encrypted)
            args["encrypt_type"] = "aes"
            args["msg_signature"] = tree.findtext("MsgSignature") or ""
            body = encrypted.encode("utf-8")
        args["signature"] = signature if signature is not None else sign(self.token, ts, nonce)
        args.update(extra_args or {})
        response = self.client.post(
            "/wechat", query_string=args, data=body, content_type="text/xml"
        )
        reply = Reply(response.status_code, response.get_data(as_text=True))
        if response.status_code == 200 and reply.body.startswith("<xml>"):
            xml_text = reply.body
            if self.crypto is not None and args.get("encrypt_type") == "aes":
                tree = ElementTree.fromstring(xml_text)
                xml_text = self.crypto.decrypt_message(
                    xml_text,
                    tree.findtext("MsgSignature"),
                    tree.findtext("TimeStamp"),
                    tree.findtext("Nonce"),
                )
            tree = ElementTree.fromstring(xml_text)  # raises if the reply is not valid XML
            reply.xml = {child.tag: child.text or "" for child in tree}
            reply.text = reply.xml.get("Content")
        return reply


class Person:
    """Somebody chatting with the official account; `say` returns the passive reply text."""

    def __init__(self, server: WeChatServer, openid: str, sheli: Any = None):
        self.server = server
        self.openid = openid
        self.sheli = sheli
        self._seen = 0

    def send(self, msg_type: str, fields: dict[str, Any], msg_id: int | None = None) -> Reply:
        if msg_type != "event":
            fields = {**fields, "MsgId": msg_id or next(_ids)}
        return self.server.post(message_xml(self.openid, msg_type, fields))

    def say(self, text: str) -> str:
        reply = self.send("text", {"Content": text})
        assert reply.status == 200, (reply.status, reply.body)
        return reply.text or ""

    def voice(self, recognition: str | None, media_id: str = "media-voice-1") -> str:
        fields: dict[str, Any] = {"MediaId": media_id, "Format": "amr"}
        if recognition is not None:
            fields["Recognition"] = recognition
        return self.send("voice", fields).text or ""

    def image(self, media_id: str = "media-image-1") -> str:
        return (
            self.send("image", {"PicUrl": "http://127.0.0.1/p.jpg", "MediaId": media_id}).text or ""
        )

    def location(self, label: str, x: float = 22.3, y: float = 114.2) -> str:
        return (
            self.send(
                "location", {"Location_X": x, "Location_Y": y, "Scale": 15, "Label": label}
            ).text
            or ""
        )

    def event(self, event: str, key: str | None = None) -> Reply:
        fields: dict[str, Any] = {"Event": event}
        if key is not None:
            fields["EventKey"] = key
        return self.send("event", fields)

    def inbox(self) -> list[str]:
        """Everything Sheli queued for this person so far (the outbox)."""
        with SqlAlchemyUnitOfWork(self.sheli.session_factory) as uow:
            return [m.body for m in uow.outbox.for_recipient(self.openid)]

    def new_messages(self) -> list[str]:
        """Messages queued for this person since the last call."""
        everything = self.inbox()
        fresh = everything[self._seen :]
        self._seen = len(everything)
        return fresh


def outbox_rows(sheli: Any) -> list[OutboxMessage]:
    with SqlAlchemyUnitOfWork(sheli.session_factory) as uow:
        return list(uow.session.query(OutboxMessage).order_by(OutboxMessage.id).all())
