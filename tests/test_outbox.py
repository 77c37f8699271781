"""The outbox in WeChat mode: wechatpy's real client over HTTP to a fake WeChat API.

Messages Sheli sends on its own are queued with the change that caused them and delivered by
`deliver_due`; an outage delays them, never loses or duplicates them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.app import create_app
from bot.bootstrap import Sheli
from bot.cli import cli
from bot.outbox import LocalInboxSender, deliver_due, outbox_status, retry_message
from handlers.notices import notify
from storage.models import OutboxMessage
from tests import fake_wechat_api
from tests.fake_wechat_api import APP_ID, APP_SECRET, FakeWeChatAPI
from tests.fakes import FakeClock
from tests.helpers import hire
from tests.wechat import Person, WeChatServer

fake_wechat = fake_wechat_api.fake_wechat  # the fixture, for the tests below

STEWARD = "o_steward_zhang"


@pytest.fixture
def wechat_mode(make_sheli: Any, fake_wechat: FakeWeChatAPI) -> Callable[..., Sheli]:
    """A Sheli in WeChat mode whose API is the fake; a property steward is bound."""

    def make(url: str | None = None, **overrides: Any) -> Sheli:
        sheli: Sheli = make_sheli(
            url,
            **{
                "wechat.app_id": APP_ID,
                "wechat.app_secret": APP_SECRET,
                "wechat.api_base_url": fake_wechat.url,
                "wechat.token_timeout": "2s",
                **overrides,
            },
        )
        hire(sheli, "property_steward", "张师傅", STEWARD)
        return sheli

    return make


def deliver(sheli: Sheli) -> dict[str, int]:
    return deliver_due(sheli.uow, sheli.sender, sheli.clock, sheli.outbox_settings)


def resident(sheli: Sheli, openid: str) -> Person:
    return Person(WeChatServer(create_app(sheli=sheli).test_client()), openid, sheli)


def queue(sheli: Sheli, *messages: tuple[str, str]) -> None:
    """Queue (recipient, text) pairs the way handlers do."""
    with sheli.uow() as uow:
        for recipient, text in messages:
            notify(uow, recipient, text, sheli.clock.now())
        uow.commit()


def rows(sheli: Sheli) -> list[OutboxMessage]:
    with sheli.uow() as uow:
        return list(uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def statuses(sheli: Sheli) -> dict[str, int]:
    with sheli.uow() as uow:
        return uow.outbox.count_by_status()


# --- the happy path --------------------------------------------------------------------------


def test_a_new_ticket_reaches_the_steward_through_wechat(
    wechat_mode: Any,
    fake_wechat: FakeWeChatAPI,
) -> None:
    sheli = wechat_mode()
    reply = resident(sheli, "o_resident_1").say("3栋502热水器坏了，洗不了澡")
    assert "#1" in reply
    assert fake_wechat.received == []  # queued, not sent inside the webhook

    assert deliver(sheli)["sent"] >= 1

    [task] = fake_wechat.texts_to(STEWARD)
    assert "#1" in task and "3栋502" in task and "接单 1" in task
    assert fake_wechat.token_fetches == 1
    assert statuses(sheli) == {"sent": len(fake_wechat.received)}
    assert {r.channel for r in rows(sheli)} == {"wechat"}
    assert deliver(sheli)["sent"] == 0  # nothing twice


def test_local_mode_delivers_into_the_inbox(sheli: Sheli, person: Any) -> None:
    assert isinstance(sheli.sender, LocalInboxSender)
    queue(sheli, ("o_someone", "你好，这是一条通知"))
    assert deliver(sheli)["sent"] == 1
    [row] = rows(sheli)
    assert (row.status, row.channel) == ("sent", "local")
    assert person("o_someone").inbox() == ["你好，这是一条通知"]


# --- an outage -------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["refused", "500"])
def test_an_outage_delays_messages_and_loses_none(
    wechat_mode: Any,
    fake_wechat: FakeWeChatAPI,
    clock: FakeClock,
    how: str,
) -> None:
    sheli = wechat_mode()
    fake_wechat.down(how)
    queue(sheli, ("o_a", "A1"), ("o_b", "B1"), ("o_a", "A2"))
    resident(sheli, "o_resident_1").say("3栋502热水器坏了")  # the steward's task, via the webhook
    queue(sheli, ("o_a", "A3"), ("o_b", "B2"))

    for _ in range(6):  # an hour of dispatcher passes against a dead API
        result = deliver(sheli)
        assert result["sent"] == 0
        assert result["retry"] <= 1  # a pass stops at the first sign of an outage
        clock.advance(minutes=10)
    assert fake_wechat.received == []
    assert statuses(sheli) == {"pending": 6}
    [first] = [r for r in rows(sheli) if r.attempts]
    assert (first.body, first.status) == ("A1", "pending")
    assert "unavailable" in (first.last_error or "") or "network" in (first.last_error or "")

    fake_wechat.up()
    clock.advance(hours=1)
    assert deliver(sheli)["sent"] == 6

    assert fake_wechat.texts_to("o_a") == ["A1", "A2", "A3"]
    assert fake_wechat.texts_to("o_b") == ["B1", "B2"]
    [task] = fake_wechat.texts_to(STEWARD)
    assert "#1" in task
    assert len(fake_wechat.received) == 6
    assert statuses(sheli) == {"sent": 6}
    clock.advance(hours=2)
    assert deliver(sheli)["sent"] == 0


def test_a_failed_message_holds_back_later_ones_to_the_same_person(
    wechat_mode: Any,
    fake_wechat: FakeWeChatAPI,
    clock: FakeClock,
) -> None:
    sheli = wechat_mode()
    fake_wechat.custom_errcode = 45009  # a WeChat error that is worth retrying
    queue(sheli, ("o_a", "A1"), ("o_b", "B1"))
    assert deliver(sheli) == {"sent": 0, "retry": 2, "dead": 0}
    fake_wechat.custom_errcode = None
    queue(sheli, ("o_a", "A2"), ("o_c", "C1"))

    assert deliver(sheli)["sent"] == 1  # C1; A2 waits behind A1, whose retry is not due yet
    assert fake_wechat.texts_to("o_c") == ["C1"]
    clock.advance(seconds=31)
    assert deliver(sheli)["sent"] == 3
    assert fake_wechat.texts_to("o_a") == ["A1", "A2"]
    assert fake_wechat.texts_to("o_b") == ["B1"]


def test_a_message_gives_up_after_max_attempts_of_wechat_errors(
    wechat_mode: Any,
    fake_wechat: FakeWeChatAPI,
    clock: FakeClock,
) -> None:
    sheli = wechat_mode(**{"outbox.max_attempts": 3})
    fake_wechat.custom_errcode = 45009
    queue(sheli, ("o_a", "A1"))
    outcomes = []
    for _ in range(5):
        outcomes.append(deliver(sheli))
        clock.advance(hours=1)
    assert [o["retry"] for o in outcomes] == [1, 1, 0, 0, 0]
    assert [o["dead"] for o in outcomes] == [0, 0, 1, 0, 0]
    [row] = rows(sheli)
    assert (row.status, row.attempts) == ("dead", 3)
    assert "45009" in (row.last_error or "")


# --- outside the 48-hour window --------------------------------------------------------------


def test_45015_without_a_template_is_recorded_dead_and_not_retried(
    wechat_mode: Any,
    fake_wechat: FakeWeChatAPI,
    clock: FakeClock,
) -> None:
    sheli = wechat_mode()
    fake_wechat.refuse_custom["o_quiet"] = 45015
    queue(sheli, ("o_quiet", "您的报修 #1 已完成"), ("o_b", "B1"))

    assert deliver(sheli) == {"sent": 1, "retry": 0, "dead": 1}
    clock.advance(hours=3)
    assert deliver(sheli) == {"sent": 0, "retry": 0, "dead": 0}

    dead, sent = rows(sheli)
    assert (dead.status, dead.attempts) == ("dead", 1)
    assert "45015" in (dead.last_error or "") and "template" in (dead.last_error or "")
    assert sent.status == "sent"
    assert fake_wechat.texts_to("o_b") == ["B1"]
    with sheli.uow() as uow:
        status = outbox_status(uow)
    assert status["counts"] == {"pending": 0, "sent": 1, "dead": 1}
    assert status["dead"][0]["recipient"] == "o_quiet"


@pytest.mark.parametrize("code", [45015, 45047])
def test_a_refused_customer_service_message_goes_as_a_template(
    wechat_mode: Any,
    fake_wechat: FakeWeChatAPI,
    code: int,
) -> None:
    sheli = wechat_mode(**{"wechat.template_id": "TPL-notice"})
    fake_wechat.refuse_custom["o_quiet"] = code
    queue(sheli, ("o_quiet", "您的报修 #1 已完成，请回复1-5评价"))

    assert deliver(sheli)["sent"] == 1
    [sent] = fake_wechat.messages("template")
    assert sent.openid == "o_quiet"
    assert sent.payload["template_id"] == "TPL-notice"
    assert "您的报修 #1 已完成" in sent.text
    [row] = rows(sheli)
    assert (row.status, row.channel) == ("sent", "template")
    assert str(code) in (row.last_error or "")


def test_a_refused_template_is_dead_too(
    wechat_mode: Any,
    fake_wechat: FakeWeChatAPI,
) -> None:
    sheli = wechat_mode(**{"wechat.template_id": "TPL-notice"})
    fake_wechat.custom_errcode = 45015
    fake_wechat.template_errcode = 43004  # the user unfollowed
    queue(sheli, ("o_gone", "通知"))
    assert deliver(sheli)["dead"] == 1
    [row] = rows(sheli)
    assert "43004" in (row.last_error or "")


def test_the_operator_puts_a_dead_message_back(
    wechat_mode: Any,
    fake_wechat: FakeWeChatAPI,
) -> None:
    sheli = wechat_mode()
    fake_wechat.refuse_custom["o_quiet"] = 45015
    queue(sheli, ("o_quiet", "通知"))
    deliver(sheli)
    [row] = rows(sheli)
    with sheli.uow() as uow:
        retry_message(uow, row.id, sheli.clock.now())
        uow.commit()
        with pytest.raises(ValueError, match="pending, not dead"):
            retry_message(uow, row.id, sheli.clock.now())
    del fake_wechat.refuse_custom["o_quiet"]  # the resident wrote again
    assert deliver(sheli)["sent"] == 1
    assert fake_wechat.texts_to("o_quiet") == ["通知"]


# --- the access token ------------------------------------------------------------------------


def test_a_token_wechat_keeps_rejecting_is_refreshed_once_then_retried_later(
    wechat_mode: Any,
    fake_wechat: FakeWeChatAPI,
    clock: FakeClock,
) -> None:
    sheli = wechat_mode()
    fake_wechat.reject_all_tokens = True
    queue(sheli, ("o_a", "A1"))

    assert deliver(sheli) == {"sent": 0, "retry": 1, "dead": 0}
    assert fake_wechat.token_fetches == 2  # the first token, and one refresh
    [row] = rows(sheli)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "40001" in (row.last_error or "")

    clock.advance(minutes=1)
    assert deliver(sheli)["retry"] == 1
    assert fake_wechat.token_fetches == 3  # one refresh per attempt, no loop

    fake_wechat.reject_all_tokens = False
    clock.advance(minutes=2)
    assert deliver(sheli)["sent"] == 1
    assert fake_wechat.texts_to("o_a") == ["A1"]


def test_the_token_is_shared_by_every_sheli_on_the_database(
    wechat_mode: Any,
    fake_wechat: FakeWeChatAPI,
    sqlite_url: str,
) -> None:
    first = wechat_mode(sqlite_url)
    queue(first, ("o_a", "A1"))
    deliver(first)
    assert fake_wechat.token_fetches == 1

    second = wechat_mode(sqlite_url)  # another worker: its own engine and client
    queue(second, ("o_a", "A2"))
    assert deliver(second)["sent"] == 1
    assert fake_wechat.token_fetches == 1

    fake_wechat.expire_tokens()  # WeChat says 42001: one of them refreshes, for both
    queue(second, ("o_a", "A3"))
    deliver(second)
    queue(first, ("o_a", "A4"))
    deliver(first)
    assert fake_wechat.token_fetches == 2
    assert fake_wechat.texts_to("o_a") == ["A1", "A2", "A3", "A4"]


# --- concurrency -----------------------------------------------------------------------------


def test_concurrent_dispatchers_never_send_a_message_twice(
    wechat_mode: Any,
    fake_wechat: FakeWeChatAPI,
    db_url: str,
) -> None:
    workers = [wechat_mode(db_url) for _ in range(3)]  # three processes' worth of engines
    expected = {f"o_{r}": [f"{r}{i}" for i in range(8)] for r in "abcde"}
    queue(workers[0], *[(f"o_{r}", f"{r}{i}") for i in range(8) for r in "abcde"])
    fake_wechat.custom_errcode = None
    errors: list[BaseException] = []
    start = threading.Barrier(len(workers) * 2)

    def dispatcher(sheli: Sheli) -> None:
        try:
            start.wait()
            for _ in range(40):
                if not statuses(sheli).get("pending"):
                    return
                deliver_due(sheli.uow, sheli.sender, sheli.clock, sheli.outbox_settings, 3)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=dispatcher, args=(s,)) for s in workers * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert statuses(workers[0]) == {"sent": 40}
    assert len(fake_wechat.received) == 40
    for openid, texts in expected.items():
        assert fake_wechat.texts_to(openid) == texts


# --- for operators ---------------------------------------------------------------------------


def test_sheli_outbox_status_and_retry(
    wechat_mode: Any,
    fake_wechat: FakeWeChatAPI,
    sqlite_url: str,
) -> None:
    sheli = wechat_mode(sqlite_url)
    fake_wechat.refuse_custom["o_quiet"] = 45015
    queue(sheli, ("o_quiet", "您的报修 #1 已完成"), ("o_b", "B1"), ("o_b", "B2"))
    deliver(sheli)
    queue(sheli, ("o_b", "B3"))
    runner = CliRunner()
    env = {
        "SHELI_DATABASE__URL": sqlite_url,
        "SHELI_WECHAT__APP_ID": APP_ID,
        "SHELI_WECHAT__APP_SECRET": APP_SECRET,
        "SHELI_WECHAT__API_BASE_URL": fake_wechat.url,
    }

    status = runner.invoke(cli, ["outbox", "status"], env=env, catch_exceptions=False)
    lines = status.output.splitlines()
    assert lines[0] == "待发送 1  已发送 2  发送失败 1"
    assert lines[1].startswith("发送失败 #1 发给 o_quiet（尝试 1 次）：wechat error 45015")
    as_json = runner.invoke(cli, ["outbox", "status", "--format", "json"], env=env)
    assert json.loads(as_json.output)["dead"][0]["id"] == 1

    refused = runner.invoke(cli, ["outbox", "retry", "2"], env=env)
    assert refused.exit_code == 1 and "消息 #2 的状态是已发送，不是发送失败" in refused.output
    assert runner.invoke(cli, ["outbox", "retry", "99"], env=env).exit_code == 1
    retried = runner.invoke(cli, ["outbox", "retry", "1"], env=env, catch_exceptions=False)
    assert retried.output.strip() == "消息 #1 已重新排队发送。"
    assert statuses(sheli) == {"pending": 2, "sent": 2}
