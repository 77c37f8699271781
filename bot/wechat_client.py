"""wechatpy's client, made safe for a service: one configurable base URL, timeouts, bounded retries,
and an access token shared by every worker through the database."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import requests
from sqlalchemy.orm import Session, sessionmaker
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from handlers.ports import Clock
from storage.uow import SqlAlchemyUnitOfWork

# Errors that mean "your access token is stale": refetch once, then give up.
TOKEN_ERRORS = (40001, 40014, 42001)


class DatabaseTokenStorage(SessionStorage):  # type: ignore[misc]
    """wechatpy session storage over the key_values table, so all workers share one token."""

    def __init__(self, session_factory: sessionmaker[Session], clock: Clock):
        self.session_factory = session_factory
        self.clock = clock

    def get(self, key: str, default: Any = None) -> Any:
        with SqlAlchemyUnitOfWork(self.session_factory) as uow:
            value = uow.values.get(key, self.clock.now())
        return default if value is None else value

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


class SheliWeChatClient(WeChatClient):  # type: ignore[misc]
    """WeChatClient whose API and token URLs both come from `api_base_url`.

    wechatpy 1.8.18 hard-codes the token URL, fetches it without a timeout and retries a stale
    token forever; here the token fetch has a timeout and a stale token is refetched once.
    """

    max_token_retries = 1

    def __init__(
        self,
        appid: str,
        secret: str,
        *,
        api_base_url: str,
        timeout: float,
        session: SessionStorage | None = None,
    ):
        super().__init__(appid, secret, session=session, timeout=timeout)
        self.base_url = api_base_url.rstrip("/") + "/"
        self.API_BASE_URL = self.base_url + "cgi-bin/"
        self._depth = threading.local()

    def fetch_access_token(self) -> dict[str, Any]:
        return self._fetch_access_token(
            url=self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )

    def _fetch_access_token(self, url: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            res = self._http.get(url=url, params=params, timeout=self.timeout)
            res.raise_for_status()
            result = res.json()
        except (requests.RequestException, ValueError) as exc:
            raise WeChatClientException(
                None, f"token fetch failed: {exc.__class__.__name__}", client=self
            ) from exc
        if result.get("errcode"):
            raise WeChatClientException(result["errcode"], result.get("errmsg"), client=self)
        expires_in = int(result.get("expires_in", 7200))
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        self.expires_at = int(time.time()) + expires_in
        return dict(result)

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        depth = getattr(self._depth, "value", 0)
        if depth > self.max_token_retries:
            raise WeChatClientException(
                42001, "access token still rejected after a refresh", client=self
            )
        self._depth.value = depth + 1
        try:
            return super()._request(method, url_or_endpoint, **kwargs)
        finally:
            self._depth.value = depth
