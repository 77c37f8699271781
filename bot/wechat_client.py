"""wechatpy's client, made safe for a service: one configurable base URL, timeouts, bounded retries,
and an access token shared by every worker through the database."""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy.orm import Session, sessionmaker
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from bot.config import Config
from handlers.ports import Clock
from storage.uow import SqlAlchemyUnitOfWork

log = logging.getLogger(__name__)

# Errors that mean "your access token is stale": refetch once, then give up until the next try.
TOKEN_ERRORS = (40001, 40014, 42001)
# The account's menu, in the JSON the WeChat console and `menu/create` take.
MENU_PATH = Path(__file__).resolve().parent / "menu.json"
# Where a QR code's picture is fetched by its ticket (no access token); wechatpy's `qrcode.show`
# hard-codes it, so it is `wechat.qrcode_show_url` here and tests point it at the fake API.
QRCODE_SHOW_URL = "https://mp.weixin.qq.com/cgi-bin/showqrcode"


@dataclass(frozen=True)
class QRCode:
    """A permanent QR code WeChat made: its ticket, the URL it encodes, and its picture."""

    ticket: str
    url: str
    picture: bytes
    content_type: str


class DatabaseTokenStorage(SessionStorage):  # type: ignore[misc]
    """wechatpy session storage over the key_values table, so all workers share one token.

    A lease (the leases table) lets one worker fetch a missing or stale token while the others
    wait for it, instead of every worker asking WeChat at once.
    """

    def __init__(self, session_factory: sessionmaker[Session], clock: Clock):
        self.session_factory = session_factory
        self.clock = clock

    def get(self, key: str, default: Any = None) -> Any:
        with SqlAlchemyUnitOfWork(self.session_factory) as uow:
            value = uow.values.get(key, self.clock.now())
        return value or default

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        # Refresh two minutes early so a token never expires in flight.
        expires = self.clock.now() + timedelta(seconds=max(int(ttl or 7200) - 120, 30))
        with SqlAlchemyUnitOfWork(self.session_factory) as uow:
            uow.values.set(key, str(value), expires)
            uow.commit()

    def delete(self, key: str) -> None:
        with SqlAlchemyUnitOfWork(self.session_factory) as uow:
            uow.values.set(key, "", self.clock.now())
            uow.commit()

    def acquire(self, name: str, holder: str, duration: timedelta) -> bool:
        """Take the lease `name` (True) unless another holder has it."""
        with SqlAlchemyUnitOfWork(self.session_factory) as uow:
            taken = uow.leases.acquire(name, holder, self.clock.now(), duration)
            uow.commit()
        return taken

    def release(self, name: str, holder: str) -> None:
        """Give the lease back."""
        with SqlAlchemyUnitOfWork(self.session_factory) as uow:
            uow.leases.release(name, holder)
            uow.commit()


class SheliWeChatClient(WeChatClient):  # type: ignore[misc]
    """WeChatClient whose API and token URLs both come from `api_base_url`.

    wechatpy 1.8.18 hard-codes the token URL, fetches it without a timeout and, on a stale-token
    error, refetches and retries without limit. Here the token fetch has a timeout, one worker
    fetches while the others wait for its token, and a request is retried once after a refresh.
    """

    def __init__(
        self,
        appid: str,
        secret: str,
        *,
        api_base_url: str,
        timeout: float,
        session: SessionStorage | None = None,
        token_wait: float | None = None,
        qrcode_show_url: str = QRCODE_SHOW_URL,
    ):
        super().__init__(appid, secret, session=session, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = api_base_url.rstrip("/") + "/cgi-bin/"
        self.qrcode_show_url = qrcode_show_url
        # How long to wait for another worker's fetch: its connect and read timeouts, and a bit.
        self.token_wait = token_wait if token_wait is not None else 2 * timeout + 1

    @classmethod
    def from_config(
        cls, config: Config, session_factory: sessionmaker[Session], clock: Clock
    ) -> SheliWeChatClient:
        """The client for `wechat.*`, its token shared through the database."""
        return cls(
            str(config.require("wechat.app_id")),
            str(config.require("wechat.app_secret")),
            api_base_url=str(config.require("wechat.api_base_url")),
            timeout=config.seconds("wechat.token_timeout"),
            session=DatabaseTokenStorage(session_factory, clock),
            qrcode_show_url=str(config.get("wechat.qrcode_show_url") or QRCODE_SHOW_URL),
        )

    @property
    def access_token(self) -> str:
        """The shared token, fetched only when there is none."""
        return str(self.session.get(self.access_token_key) or self.refresh_access_token(None))

    def refresh_access_token(self, stale: str | None) -> str:
        """A token other than `stale`: another worker's fresh one, or one fetched here."""
        lease = f"wechat-token:{self.appid}"
        holder = uuid.uuid4().hex  # per call: threads sharing this client must not share it
        deadline = time.monotonic() + self.token_wait
        shared = isinstance(self.session, DatabaseTokenStorage)
        while True:
            current = self.session.get(self.access_token_key)
            if current and current != stale:
                return str(current)
            if not shared or self.session.acquire(
                lease, holder, timedelta(seconds=self.token_wait)
            ):
                try:
                    current = self.session.get(self.access_token_key)
                    if current and current != stale:
                        return str(current)
                    self.fetch_access_token()
                    return str(self.session.get(self.access_token_key))
                finally:
                    if shared:
                        self.session.release(lease, holder)
            if time.monotonic() > deadline:
                raise WeChatClientException(
                    None, "timed out waiting for another worker's access token", client=self
                )
            time.sleep(0.05)

    def fetch_access_token(self) -> dict[str, Any]:
        """Ask WeChat for a new token (with a timeout) and store it for every worker."""
        log.info("fetching a WeChat access token")
        try:
            res = self._http.get(
                url=self.API_BASE_URL + "token",
                params={
                    "grant_type": "client_credential",
                    "appid": self.appid,
                    "secret": self.secret,
                },
                timeout=self.timeout,
            )
            res.raise_for_status()
            result = res.json()
        except (requests.RequestException, ValueError) as exc:
            raise WeChatClientException(
                None, f"token fetch failed: {exc.__class__.__name__}", client=self
            ) from exc
        if not isinstance(result, dict) or not result.get("access_token"):
            code = result.get("errcode") if isinstance(result, dict) else None
            message = result.get("errmsg") if isinstance(result, dict) else "no access_token"
            raise WeChatClientException(code, message, client=self)
        expires_in = int(result.get("expires_in", 7200))
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        return dict(result)

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        params = kwargs.setdefault("params", {})
        try:
            return super()._request(method, url_or_endpoint, **kwargs)
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_ERRORS or not isinstance(params, dict):
                raise
            # wechatpy put the token it used into `params`; swap it for a fresh one, once.
            stale = params.get("access_token")
            log.info("WeChat rejected the access token (%s); refreshing once", exc.errcode)
            params["access_token"] = self.refresh_access_token(stale)
            return super()._request(method, url_or_endpoint, **kwargs)

    def permanent_qrcode(self, scene: str) -> QRCode:
        """A permanent QR code whose scene string is `scene` (wechatpy's `qrcode.create`, then
        its picture from `qrcode_show_url`). WeChatClientException says what failed."""
        created = self.qrcode.create(
            {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}}
        )
        ticket = str(created.get("ticket") or "")
        if not ticket:
            raise WeChatClientException(None, "qrcode/create gave no ticket", client=self)
        try:
            res = self._http.get(
                self.qrcode_show_url, params={"ticket": ticket}, timeout=self.timeout
            )
            res.raise_for_status()
        except requests.RequestException as exc:
            raise WeChatClientException(
                None, f"showqrcode failed: {exc.__class__.__name__}", client=self
            ) from exc
        content_type = res.headers.get("Content-Type", "").split(";")[0].strip()
        if not content_type.startswith("image/") or not res.content:
            raise WeChatClientException(None, "showqrcode gave no picture", client=self)
        return QRCode(ticket, str(created.get("url") or ""), res.content, content_type)


def load_menu(path: Path | None = None) -> dict[str, Any]:
    """The menu JSON (bot/menu.json unless `path`), checked; ValueError says what is wrong."""
    menu = json.loads((path or MENU_PATH).read_text(encoding="utf-8"))
    problems = menu_problems(menu)
    if problems:
        raise ValueError("; ".join(problems))
    return dict(menu)


def menu_problems(menu: Any) -> list[str]:
    """What WeChat (≤3 buttons of ≤5 entries, name lengths) or Sheli (known keys) would refuse."""
    from handlers.conversation import MENU_KEYS

    buttons = menu.get("button") if isinstance(menu, dict) else None
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        return ['the menu needs 1 to 3 buttons under "button"']
    problems = []
    for button in buttons:
        name = str(button.get("name") or "")
        if not 1 <= len(name.encode("utf-8")) <= 16:
            problems.append(f"button name {name!r}: 1 to 16 bytes (4 Chinese characters)")
        entries = button.get("sub_button")
        if entries is None:
            entries = [button]
        elif not 1 <= len(entries) <= 5:
            problems.append(f"button {name!r} needs 1 to 5 entries")
        for entry in entries:
            if entry is not button and len(str(entry.get("name") or "").encode("utf-8")) > 60:
                problems.append(f"entry name {entry.get('name')!r}: at most 60 bytes")
            if entry.get("type") == "click" and entry.get("key") not in MENU_KEYS:
                known = ", ".join(MENU_KEYS)
                problems.append(f"unknown click key {entry.get('key')!r}; Sheli knows {known}")
    return problems
