"""SheliWeChatClient: wechatpy's client with one base URL, timeouts, bounded token retries and a
token shared through the database, tested over HTTP against the fake WeChat API."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from wechatpy.exceptions import WeChatClientException

from bot.cli import cli
from bot.wechat_client import DatabaseTokenStorage, SheliWeChatClient, load_menu, menu_problems
from tests import fake_wechat_api
from tests.fake_wechat_api import APP_ID, APP_SECRET, FakeWeChatAPI
from tests.fakes import FakeClock

fake_wechat = fake_wechat_api.fake_wechat  # the fixture, for the tests below


def client_for(sheli: Any, api_url: str, timeout: float = 2.0) -> SheliWeChatClient:
    return SheliWeChatClient(
        APP_ID,
        APP_SECRET,
        api_base_url=api_url,
        timeout=timeout,
        session=DatabaseTokenStorage(sheli.session_factory, sheli.clock),
    )


def test_token_and_api_calls_go_to_the_configured_base_url(
    sheli: Any, fake_wechat: FakeWeChatAPI
) -> None:
    client = client_for(sheli, fake_wechat.url.rstrip("/"))
    client.message.send_text("o_a", "你好")
    assert fake_wechat.token_fetches == 1
    assert fake_wechat.texts_to("o_a") == ["你好"]
    with sheli.uow() as uow:
        assert uow.values.get(f"{APP_ID}_access_token", sheli.clock.now()) == "TOKEN-1"


def test_a_wrong_secret_is_an_error_not_a_loop(sheli: Any, fake_wechat: FakeWeChatAPI) -> None:
    fake_wechat.app_secret = "another"
    client = client_for(sheli, fake_wechat.url)
    with pytest.raises(WeChatClientException) as caught:
        client.message.send_text("o_a", "你好")
    assert caught.value.errcode == 40125
    assert fake_wechat.token_fetches == 1


def test_a_stale_token_is_refreshed_once_then_the_error_is_raised(
    sheli: Any, fake_wechat: FakeWeChatAPI
) -> None:
    client = client_for(sheli, fake_wechat.url)
    fake_wechat.reject_all_tokens = True
    started = time.monotonic()
    with pytest.raises(WeChatClientException) as caught:
        client.message.send_text("o_a", "你好")
    assert caught.value.errcode == 40001
    assert fake_wechat.token_fetches == 2
    assert time.monotonic() - started < 2


def test_an_expired_token_is_replaced_and_the_call_succeeds(
    sheli: Any, fake_wechat: FakeWeChatAPI
) -> None:
    client = client_for(sheli, fake_wechat.url)
    client.message.send_text("o_a", "一")
    fake_wechat.expire_tokens()
    client.message.send_text("o_a", "二")
    assert fake_wechat.texts_to("o_a") == ["一", "二"]
    assert fake_wechat.token_fetches == 2


def test_a_token_past_its_expiry_is_fetched_again(
    sheli: Any, fake_wechat: FakeWeChatAPI, clock: FakeClock
) -> None:
    fake_wechat.expires_in = 600
    client = client_for(sheli, fake_wechat.url)
    client.message.send_text("o_a", "一")
    clock.advance(minutes=9)  # past 600 s minus the two-minute safety margin
    client.message.send_text("o_a", "二")
    assert fake_wechat.token_fetches == 2


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        listener.close()


def test_the_token_fetch_has_a_timeout(sheli: Any, silent_server: str) -> None:
    client = client_for(sheli, silent_server, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(WeChatClientException, match="token fetch failed"):
        client.message.send_text("o_a", "你好")
    assert time.monotonic() - started < 3


def test_n_workers_starting_together_fetch_the_token_once(
    make_sheli: Any, fake_wechat: FakeWeChatAPI, db_url: str
) -> None:
    fake_wechat.token_latency = 0.3  # so every worker asks while the first fetch is in flight
    workers = 8
    shelis = [make_sheli(db_url) for _ in range(2)]  # two engines, like two hosts
    # Four clients on two engines, each used by two threads (as gunicorn's threads share one).
    shared = [client_for(shelis[i % 2], fake_wechat.url) for i in range(workers // 2)]
    clients = shared + shared
    start = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            start.wait()
            clients[i].message.send_text(f"o_{i}", f"消息{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert fake_wechat.token_fetches == 1
    assert len(fake_wechat.messages("custom")) == workers


def test_a_menu_is_created(sheli: Any, fake_wechat: FakeWeChatAPI) -> None:
    client = client_for(sheli, fake_wechat.url)
    client.menu.create({"button": [{"type": "click", "name": "报修", "key": "REPAIR"}]})
    assert fake_wechat.menus == [{"button": [{"type": "click", "name": "报修", "key": "REPAIR"}]}]


# --- the menu --------------------------------------------------------------------------------


def test_the_menu_offers_every_flow_sheli_handles() -> None:
    from handlers.conversation import MENU_KEYS

    menu = load_menu()
    keys = [
        entry["key"]
        for button in menu["button"]
        for entry in button.get("sub_button", [button])
        if entry.get("type") == "click"
    ]
    assert sorted(keys) == sorted(MENU_KEYS)
    assert menu_problems({"button": [{"type": "click", "name": "报修", "key": "FIX"}]}) == [
        "unknown click key 'FIX'; Sheli knows " + ", ".join(MENU_KEYS)
    ]
    assert menu_problems({"button": [{"name": "一个很长很长的菜单名", "sub_button": []}]})


def test_sheli_menu_show_and_push(
    make_sheli: Any, sqlite_url: str, fake_wechat: FakeWeChatAPI
) -> None:
    make_sheli(sqlite_url)  # a migrated database for the shared token
    runner = CliRunner()
    shown = runner.invoke(cli, ["menu", "show"], catch_exceptions=False)
    assert json.loads(shown.output) == load_menu()

    local = runner.invoke(cli, ["menu", "push"], env={"SHELI_DATABASE__URL": sqlite_url})
    assert local.exit_code == 1 and "local mode" in local.output

    env = {
        "SHELI_DATABASE__URL": sqlite_url,
        "SHELI_WECHAT__APP_ID": APP_ID,
        "SHELI_WECHAT__APP_SECRET": APP_SECRET,
        "SHELI_WECHAT__API_BASE_URL": fake_wechat.url,
    }
    pushed = runner.invoke(cli, ["menu", "push"], env=env, catch_exceptions=False)
    assert pushed.exit_code == 0, pushed.output
    assert fake_wechat.menus == [load_menu()]

    fake_wechat.down("500")
    failed = runner.invoke(cli, ["menu", "push"], env=env)
    assert failed.exit_code == 1 and "WeChat refused the menu" in failed.output
