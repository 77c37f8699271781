"""A fake WeChat API on 127.0.0.1 for tests that drive wechatpy's real client over HTTP.

It issues access tokens, accepts customer-service (text, image, voice) and template messages and
menus, makes permanent QR codes (`qrcode/create`) and serves their pictures (`showqrcode`, which
on WeChat lives on mp.weixin.qq.com), records what it received, and can be told to fail the ways
WeChat does: down (connection refused or HTTP 500), 40001 for every token, 45015 for chosen
openids, 45047 for everyone, or slow (a message accepted but answered after the client gave up).

Its media store serves what users "sent" (`add_media`: real PNG or AMR bytes by media id, as
`media/get` does), takes uploads (`media/upload`), and can fail a download: WeChat's error JSON
instead of the bytes, HTTP 500, or an answer slower than the client waits. Media ids it expired,
or never knew, get 40007 (invalid media_id), for a download and for an image message alike.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests.servers import serve_in_thread, stop

APP_ID = "wxtest"
APP_SECRET = "s"


def png_bytes(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (220, 60, 40)) -> bytes:
    """A real PNG (8-bit RGB, one colour), small enough for a test and valid for any viewer."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width  # filter type 0, then the pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def amr_bytes(frames: int = 50) -> bytes:
    """A real AMR-NB recording (WeChat's voice format): one second of 12.2 kbit/s silence frames."""
    return b"#!AMR\n" + (b"\x3c" + bytes(31)) * frames


@dataclass
class Received:
    """One message the fake accepted: `kind` is "custom" (text), "image", "voice" or "template";
    for an image or voice message, `text` is its media id."""

    kind: str
    openid: str
    text: str
    payload: dict[str, Any]


@dataclass
class FakeWeChatAPI:
    app_id: str = APP_ID
    app_secret: str = APP_SECRET
    expires_in: int = 7200
    token_latency: float = 0.0  # seconds the token endpoint takes, to make fetches overlap
    # Seconds a customer-service message takes to be answered *after* it was accepted: set it
    # above the client's timeout for a WeChat that delivers but answers too late.
    custom_latency: float = 0.0
    received: list[Received] = field(default_factory=list)
    menus: list[dict[str, Any]] = field(default_factory=list)
    token_fetches: int = 0
    # Failure switches.
    outage: str | None = None  # None, "refused" or "500"
    reject_all_tokens: bool = False  # every API call answers 40001
    refuse_custom: dict[str, int] = field(default_factory=dict)  # openid → errcode (e.g. 45015)
    custom_errcode: int | None = None  # every customer-service message fails (e.g. 45047)
    template_errcode: int | None = None
    # The media store: media id → (bytes, content type); what media/get serves.
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    media_gets: list[str] = field(default_factory=list)  # media ids asked for, in order
    uploads: list[tuple[str, bytes, str]] = field(default_factory=list)  # (type, bytes, media id)
    media_errcode: dict[str, int] = field(default_factory=dict)  # media id → error JSON instead
    media_outage: bool = False  # media/get answers HTTP 500
    media_latency: float = 0.0  # seconds media/get takes before answering
    # Permanent QR codes made by `qrcode/create`: ticket → the request's JSON; `showqrcode`
    # serves each one's picture (a real PNG) by its ticket, without an access token.
    qrcodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    qrcode_errcode: int | None = None  # qrcode/create refuses (e.g. 48001: no permission)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, bool] = {}  # token → still valid
        self._numbers = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> FakeWeChatAPI:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = serve_in_thread(server)
        return self

    def stop(self) -> None:
        if self._server is not None:
            stop(self._server)
            self._server = None

    def down(self, how: str = "refused") -> None:
        """Stop answering: "refused" closes the port, "500" answers every request with HTTP 500."""
        self.outage = how
        if how == "refused":
            self.stop()

    def up(self) -> None:
        """Answer again (on the same port)."""
        self.outage = None
        if self._server is None:
            self.start()

    def expire_tokens(self) -> None:
        """Every token issued so far now gets 42001 (expired)."""
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, False)

    # --- what it saw -------------------------------------------------------------------------

    def texts_to(self, openid: str) -> list[str]:
        """Bodies of the customer-service messages accepted for `openid`, in arrival order."""
        with self._lock:
            return [m.text for m in self.received if m.openid == openid and m.kind == "custom"]

    def messages(self, kind: str | None = None) -> list[Received]:
        with self._lock:
            return [m for m in self.received if kind is None or m.kind == kind]

    # --- the API -----------------------------------------------------------------------------

    def issue_token(self, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if self.token_latency:
            time.sleep(self.token_latency)
        with self._lock:
            self.token_fetches += 1
            if query.get("grant_type") != "client_credential":
                return 200, {"errcode": 40002, "errmsg": "invalid grant_type"}
            if query.get("appid") != self.app_id:
                return 200, {"errcode": 40013, "errmsg": "invalid appid"}
            if query.get("secret") != self.app_secret:
                return 200, {"errcode": 40125, "errmsg": "invalid appsecret"}
            token = f"TOKEN-{next(self._numbers)}"
            self._tokens[token] = True
            return 200, {"access_token": token, "expires_in": self.expires_in}

    def check_token(self, token: str | None) -> dict[str, Any] | None:
        with self._lock:
            valid = self._tokens.get(token or "")
        if self.reject_all_tokens or valid is None:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}
        if not valid:
            return {"errcode": 42001, "errmsg": "access_token expired"}
        return None

    def add_media(self, media_id: str, data: bytes, content_type: str) -> None:
        """A file a user sent: `media/get?media_id=…` serves it until `expire_media`."""
        with self._lock:
            self.media[media_id] = (data, content_type)

    def expire_media(self, media_id: str) -> None:
        """WeChat deleted it (three days passed): 40007 from now on."""
        with self._lock:
            self.media.pop(media_id, None)

    def media_sent_to(self, openid: str) -> list[tuple[str, str]]:
        """(msgtype, media id) of the image and voice messages accepted for `openid`."""
        with self._lock:
            return [
                (m.kind, m.text)
                for m in self.received
                if m.openid == openid and m.kind in ("image", "voice")
            ]

    def media_get(self, query: dict[str, str]) -> tuple[int, dict[str, Any] | tuple[bytes, str]]:
        """`media/get`: the bytes and their type, or WeChat's error JSON."""
        media_id = query.get("media_id", "")
        with self._lock:
            self.media_gets.append(media_id)
            found = self.media.get(media_id)
            code = self.media_errcode.get(media_id)
        if self.media_latency:
            time.sleep(self.media_latency)
        if self.media_outage:
            return 500, {"error": "fake media outage"}
        if code is not None:
            return 200, {"errcode": code, "errmsg": f"fake media error {code}"}
        if found is None:
            return 200, {"errcode": 40007, "errmsg": "invalid media_id"}
        return 200, found

    def media_upload(self, media_type: str, data: bytes, content_type: str) -> dict[str, Any]:
        """`media/upload`: keep the file and give it a new media id."""
        if media_type not in ("image", "voice", "video", "thumb") or not data:
            return {"errcode": 40004, "errmsg": "invalid media type"}
        with self._lock:
            media_id = f"UPLOADED-{next(self._numbers)}"
            self.media[media_id] = (data, content_type)
            self.uploads.append((media_type, data, media_id))
        return {"type": media_type, "media_id": media_id, "created_at": int(time.time())}

    def custom_send(self, data: dict[str, Any]) -> dict[str, Any]:
        openid = str(data.get("touser", ""))
        code = self.refuse_custom.get(openid) or self.custom_errcode
        if code:
            return {"errcode": code, "errmsg": f"fake refusal {code}"}
        msgtype = str(data.get("msgtype") or "text")
        if msgtype in ("image", "voice"):
            media_id = str((data.get(msgtype) or {}).get("media_id", ""))
            with self._lock:
                known = media_id in self.media
            if not known:
                return {"errcode": 40007, "errmsg": "invalid media_id"}
            with self._lock:
                self.received.append(Received(msgtype, openid, media_id, data))
            return {"errcode": 0, "errmsg": "ok"}
        text = str((data.get("text") or {}).get("content", ""))
        with self._lock:
            self.received.append(Received("custom", openid, text, data))
        if self.custom_latency:
            time.sleep(self.custom_latency)
        return {"errcode": 0, "errmsg": "ok"}

    def template_send(self, data: dict[str, Any]) -> dict[str, Any]:
        if self.template_errcode:
            return {"errcode": self.template_errcode, "errmsg": "fake template refusal"}
        fields = data.get("data") or {}
        text = " | ".join(str(v.get("value", "")) for v in fields.values())
        with self._lock:
            self.received.append(Received("template", str(data.get("touser", "")), text, data))
            number = len(self.received)
        return {"errcode": 0, "errmsg": "ok", "msgid": number}

    def menu_create(self, data: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(data.get("button"), list) or not data["button"]:
            return {"errcode": 40016, "errmsg": "invalid button size"}
        with self._lock:
            self.menus.append(data)
        return {"errcode": 0, "errmsg": "ok"}

    def qrcode_create(self, data: dict[str, Any]) -> dict[str, Any]:
        """`qrcode/create`: a permanent string scene (QR_LIMIT_STR_SCENE) of 1 to 64 characters."""
        if self.qrcode_errcode:
            return {"errcode": self.qrcode_errcode, "errmsg": "fake qrcode refusal"}
        scene = ((data.get("action_info") or {}).get("scene") or {}).get("scene_str")
        if data.get("action_name") != "QR_LIMIT_STR_SCENE" or not 1 <= len(str(scene or "")) <= 64:
            return {"errcode": 40053, "errmsg": "invalid action info"}
        with self._lock:
            ticket = f"TICKET-{next(self._numbers)}"
            self.qrcodes[ticket] = data
        return {"ticket": ticket, "url": f"http://weixin.qq.com/q/{ticket}"}

    def qrcode_picture(self, ticket: str) -> bytes | None:
        """The picture of the QR code with this ticket (None: no such ticket)."""
        with self._lock:
            known = ticket in self.qrcodes
        return png_bytes(8, 8, (0, 0, 0)) if known else None


_POSTS = {
    "/cgi-bin/message/custom/send": FakeWeChatAPI.custom_send,
    "/cgi-bin/message/template/send": FakeWeChatAPI.template_send,
    "/cgi-bin/menu/create": FakeWeChatAPI.menu_create,
    "/cgi-bin/qrcode/create": FakeWeChatAPI.qrcode_create,
}


def _handler(api: FakeWeChatAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return None

        def _answer(self, status: int, data: dict[str, Any]) -> None:
            body = json.dumps(data, ensure_ascii=False).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (custom_latency)

        def _query(self) -> tuple[str, dict[str, str]]:
            parsed = urlparse(self.path)
            return parsed.path, {k: v[0] for k, v in parse_qs(parsed.query).items()}

        def _answer_file(self, data: bytes, content_type: str, media_id: str) -> None:
            extension = content_type.rsplit("/", 1)[-1]
            try:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header(
                    "Content-disposition", f'attachment; filename="{media_id}.{extension}"'
                )
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (media_latency)

        def do_GET(self) -> None:
            if api.outage:
                return self._answer(500, {"error": "fake outage"})
            path, query = self._query()
            if path == "/cgi-bin/media/get":
                refusal = api.check_token(query.get("access_token"))
                if refusal:
                    return self._answer(200, refusal)
                status, answer = api.media_get(query)
                if isinstance(answer, tuple):
                    return self._answer_file(*answer, query.get("media_id", ""))
                return self._answer(status, answer)
            if path == "/cgi-bin/showqrcode":  # mp.weixin.qq.com's, with no access token
                picture = api.qrcode_picture(query.get("ticket", ""))
                if picture is None:  # WeChat answers an unknown ticket with an HTTP 404
                    return self._answer(404, {"errcode": 404, "errmsg": "no such ticket"})
                return self._answer_file(picture, "image/png", query.get("ticket", ""))
            if path != "/cgi-bin/token":
                return self._answer(404, {"errcode": 404, "errmsg": "not found"})
            self._answer(*api.issue_token(query))

        def _upload(self, query: dict[str, str], raw: bytes) -> None:
            # multipart/form-data with one file field "media", as wechatpy's media.upload posts it
            head = f"Content-Type: {self.headers.get('Content-Type', '')}\r\n\r\n".encode()
            form = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
            for part in form.iter_parts() if form.is_multipart() else ():
                if part.get_param("name", header="content-disposition") == "media":
                    data = part.get_payload(decode=True) or b""
                    kind = query.get("type", "")
                    return self._answer(200, api.media_upload(kind, data, part.get_content_type()))
            self._answer(200, {"errcode": 41005, "errmsg": "media data missing"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if api.outage:
                return self._answer(500, {"error": "fake outage"})
            path, query = self._query()
            if path == "/cgi-bin/media/upload":
                refusal = api.check_token(query.get("access_token"))
                return self._answer(200, refusal) if refusal else self._upload(query, raw)
            endpoint = _POSTS.get(path)
            if endpoint is None:
                return self._answer(404, {"errcode": 404, "errmsg": "not found"})
            refusal = api.check_token(query.get("access_token"))
            if refusal:
                return self._answer(200, refusal)
            try:
                data = json.loads(raw.decode("utf-8"))
            except ValueError:
                return self._answer(200, {"errcode": 47001, "errmsg": "data format error"})
            self._answer(200, endpoint(api, data))

    return Handler


@pytest.fixture
def fake_wechat() -> Iterator[FakeWeChatAPI]:
    """A fake WeChat API on 127.0.0.1 (appid "wxtest", secret "s"); `.url` is its base URL."""
    api = FakeWeChatAPI().start()
    try:
        yield api
    finally:
        api.stop()
