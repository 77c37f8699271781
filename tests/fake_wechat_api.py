"""A fake WeChat API on 127.0.0.1 for tests that drive wechatpy's real client over HTTP.

It issues access tokens, accepts customer-service and template messages and menus, records what it
received, and can be told to fail the ways WeChat does: down (connection refused or HTTP 500),
40001 for every token, 45015 for chosen openids, 45047 for everyone, or slow (a message accepted
but answered after the client gave up).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests.servers import serve_in_thread, stop

APP_ID = "wxtest"
APP_SECRET = "s"


@dataclass
class Received:
    """One message the fake accepted: `kind` is "custom" or "template"."""

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

    def custom_send(self, data: dict[str, Any]) -> dict[str, Any]:
        openid = str(data.get("touser", ""))
        code = self.refuse_custom.get(openid) or self.custom_errcode
        if code:
            return {"errcode": code, "errmsg": f"fake refusal {code}"}
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


_POSTS = {
    "/cgi-bin/message/custom/send": FakeWeChatAPI.custom_send,
    "/cgi-bin/message/template/send": FakeWeChatAPI.template_send,
    "/cgi-bin/menu/create": FakeWeChatAPI.menu_create,
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

        def do_GET(self) -> None:
            if api.outage:
                return self._answer(500, {"error": "fake outage"})
            path, query = self._query()
            if path != "/cgi-bin/token":
                return self._answer(404, {"errcode": 404, "errmsg": "not found"})
            self._answer(*api.issue_token(query))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if api.outage:
                return self._answer(500, {"error": "fake outage"})
            path, query = self._query()
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
