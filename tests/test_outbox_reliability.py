"""The outbox when things go wrong between Sheli, its database and WeChat.

Every message is marked "sending" in its own committed transaction before it goes to WeChat.
A dispatcher that lost its database takes its lease back on its next pass and records the
outcomes it still knows; a send whose outcome nobody knows (WeChat answered after the client's
timeout, the process died) is sent again at most `outbox.max_unknown` times.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.bootstrap import Sheli
from bot.outbox import Sender, deliver_due
from handlers.notices import notify
from storage.models import Lease, OutboxMessage
from storage.uow import AbstractUnitOfWork
from tests import fake_wechat_api
from tests.fake_wechat_api import APP_ID, APP_SECRET, FakeWeChatAPI
from tests.fakes import FakeClock

fake_wechat = fake_wechat_api.fake_wechat  # the fixture


@pytest.fixture
def wechat_mode(make_sheli: Any, fake_wechat: FakeWeChatAPI) -> Callable[..., Sheli]:
    """A Sheli in WeChat mode against the fake API; its client gives up after 0.3 s."""

    def make(url: str | None = None, **overrides: Any) -> Sheli:
        sheli: Sheli = make_sheli(
            url,
            **{
                "wechat.app_id": APP_ID,
                "wechat.app_secret": APP_SECRET,
                "wechat.api_base_url": fake_wechat.url,
                "wechat.token_timeout": "300ms",
                **overrides,
            },
        )
        return sheli

    return make


class Database:
    """A unit-of-work factory whose database can be switched off: every new transaction fails."""

    def __init__(self, sheli: Sheli):
        self.sheli = sheli
        self.down = False

    def __call__(self) -> AbstractUnitOfWork:
        if self.down:
            raise OperationalError(
                "BEGIN", {}, Exception("server closed the connection unexpectedly")
            )
        return self.sheli.uow()


class Crash(BaseException):
    """The process dies (kill -9) right after WeChat accepted a message."""


class AfterSending:
    """A sender that sends for real, then does `then` (once) to the first message it sent."""

    channel = "wechat"

    def __init__(self, real: Sender, then: Callable[[], None]):
        self.real = real
        self.then: Callable[[], None] | None = then

    def send(self, message: OutboxMessage) -> None:
        self.real.send(message)
        if self.then is not None:
            then, self.then = self.then, None
            then()


def queue(sheli: Sheli, *messages: tuple[str, str]) -> None:
    with sheli.uow() as uow:
        for recipient, text in messages:
            notify(uow, recipient, text, sheli.clock.now())
        uow.commit()


def deliver(sheli: Sheli, sender: Sender | None = None, uow_factory: Any = None) -> dict[str, int]:
    return deliver_due(
        uow_factory or sheli.uow,
        sender or sheli.sender,
        sheli.clock,
        sheli.outbox_settings,
    )


def rows(sheli: Sheli) -> list[OutboxMessage]:
    with sheli.uow() as uow:
        return list(uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def arrived(api: FakeWeChatAPI, openid: str, expected: int) -> list[str]:
    """What reached WeChat for `openid`, once `expected` copies arrived (or 3 s passed)."""
    deadline = time.monotonic() + 3
    while len(api.texts_to(openid)) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return api.texts_to(openid)


# --- WeChat answers after the client's timeout -----------------------------------------------


def test_a_wechat_answering_too_late_gets_a_message_at_most_twice(
    wechat_mode: Any, fake_wechat: FakeWeChatAPI, clock: FakeClock
) -> None:
    sheli = wechat_mode()
    fake_wechat.custom_latency = 1.0  # accepted at once, answered after the client gave up
    queue(sheli, ("o_a", "您的报修 #1 已完成"), ("o_b", "B1"))

    outcomes = []
    for _ in range(8):  # eight passes over 40 minutes
        outcomes.append(deliver(sheli))
        clock.advance(minutes=5)

    assert arrived(fake_wechat, "o_a", 2) == ["您的报修 #1 已完成"] * 2  # 1 + outbox.max_unknown
    assert arrived(fake_wechat, "o_b", 2) == ["B1"] * 2
    time.sleep(1.2)  # any send still in flight would have been recorded by now
    assert len(fake_wechat.messages("custom")) == 4
    assert sum(o.get("unknown", 0) for o in outcomes) == 4
    a, b = rows(sheli)
    assert (a.status, a.attempts, a.unknown_outcomes) == ("dead", 2, 1)
    assert "outcome unknown" in (a.last_error or "") and "max_unknown" in (a.last_error or "")
    assert b.status == "dead"


def test_with_max_unknown_0_a_message_of_unknown_outcome_is_never_sent_again(
    wechat_mode: Any, fake_wechat: FakeWeChatAPI, clock: FakeClock
) -> None:
    sheli = wechat_mode(**{"outbox.max_unknown": 0})
    fake_wechat.custom_latency = 1.0
    queue(sheli, ("o_a", "A1"))
    for _ in range(6):
        deliver(sheli)
        clock.advance(minutes=5)
    time.sleep(1.2)
    assert fake_wechat.texts_to("o_a") == ["A1"]
    [row] = rows(sheli)
    assert (row.status, row.attempts, row.unknown_outcomes) == ("dead", 1, 0)


def test_an_unknown_outcome_holds_back_the_recipients_later_messages_then_resends_once(
    wechat_mode: Any, fake_wechat: FakeWeChatAPI, clock: FakeClock
) -> None:
    sheli = wechat_mode()
    fake_wechat.custom_latency = 1.0
    queue(sheli, ("o_a", "A1"), ("o_a", "A2"))
    assert deliver(sheli) == {"sent": 0, "retry": 0, "dead": 0, "unknown": 1}
    fake_wechat.custom_latency = 0.0  # WeChat is quick again
    clock.advance(minutes=1)  # within the grace period: A1 may still be in flight somewhere
    assert deliver(sheli)["sent"] == 0  # and A2 does not overtake it
    clock.advance(minutes=2)
    assert deliver(sheli)["sent"] == 2
    assert fake_wechat.texts_to("o_a") == ["A1", "A1", "A2"]
    first, second = rows(sheli)
    assert (first.status, first.unknown_outcomes, first.attempts) == ("sent", 1, 2)
    assert "sent again (1 of 1)" in (first.last_error or "")
    assert (second.status, second.unknown_outcomes) == ("sent", 0)


def test_a_refused_connection_is_known_not_delivered_and_is_not_an_unknown_outcome(
    wechat_mode: Any, fake_wechat: FakeWeChatAPI, clock: FakeClock
) -> None:
    sheli = wechat_mode()
    fake_wechat.down("refused")
    queue(sheli, ("o_a", "A1"))
    for _ in range(4):
        deliver(sheli)
        clock.advance(minutes=30)
    fake_wechat.up()
    clock.advance(hours=2)
    assert deliver(sheli)["sent"] == 1
    assert fake_wechat.texts_to("o_a") == ["A1"]
    [row] = rows(sheli)
    assert (row.status, row.unknown_outcomes) == ("sent", 0)


# --- the database goes away ------------------------------------------------------------------


def test_a_lost_sent_mark_is_recorded_when_the_database_is_back_and_the_lease_taken_back_at_once(
    wechat_mode: Any, fake_wechat: FakeWeChatAPI, clock: FakeClock, db_url: str
) -> None:
    sheli = wechat_mode(db_url)
    database = Database(sheli)
    queue(sheli, ("o_a", "A1"), ("o_a", "A2"), ("o_b", "B1"))

    def outage() -> None:
        database.down = True

    sender = AfterSending(sheli.sender, then=outage)  # WeChat took A1; its "sent" mark fails
    with pytest.raises(OperationalError):
        deliver(sheli, sender, database)
    assert fake_wechat.texts_to("o_a") == ["A1"]
    with sheli.uow() as uow:  # the lease could not be given back while the database was down
        [lease] = uow.session.scalars(select(Lease).where(Lease.name == "outbox-dispatch"))
    assert lease.expires_at > clock.now() + timedelta(seconds=60)

    database.down = False
    clock.advance(seconds=2)  # one outbox tick later, long before the lease would expire
    assert deliver(sheli, sender, database)["sent"] == 2
    assert fake_wechat.texts_to("o_a") == ["A1", "A2"]  # A1 once, in order
    assert fake_wechat.texts_to("o_b") == ["B1"]
    assert [(r.body, r.status, r.attempts, r.unknown_outcomes) for r in rows(sheli)] == [
        ("A1", "sent", 1, 0),
        ("A2", "sent", 1, 0),
        ("B1", "sent", 1, 0),
    ]


def test_a_crash_after_sending_costs_at_most_one_copy_more(
    wechat_mode: Any, fake_wechat: FakeWeChatAPI, clock: FakeClock, sqlite_url: str
) -> None:
    sheli = wechat_mode(sqlite_url)
    queue(sheli, ("o_a", "A1"), ("o_a", "A2"))

    def die() -> None:
        raise Crash

    with pytest.raises(Crash):
        deliver(sheli, AfterSending(sheli.sender, then=die))
    assert fake_wechat.texts_to("o_a") == ["A1"]
    assert [r.status for r in rows(sheli)] == ["sending", "pending"]

    restarted = wechat_mode(sqlite_url)  # a new process: its own engine, client and lease holder
    assert deliver(restarted)["sent"] == 0  # A1 might still be in flight: wait, keep order
    clock.advance(minutes=3)
    assert deliver(restarted)["sent"] == 2
    assert fake_wechat.texts_to("o_a") == ["A1", "A1", "A2"]
    first, _ = rows(sheli)
    assert (first.status, first.unknown_outcomes) == ("sent", 1)
    assert "no result recorded" in (first.last_error or "")
