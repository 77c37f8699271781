"""The scheduler: one lease holder does the work, restarts catch up, nothing is sent twice.

Ticks are called directly with the FakeClock; one test runs the real APScheduler and waits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot import scheduler
from bot.app import create_app
from bot.bootstrap import bootstrap
from bot.config import ConfigError, load_config
from handlers.ports import SystemClock
from storage.db import upgrade
from tests.helpers import hire
from tests.wechat import TOKEN, Person, WeChatServer, outbox_rows

RESIDENTS = [f"o_res{i}" for i in range(1, 6)]


def chat(sheli: Any) -> Any:
    server = WeChatServer(create_app(sheli=sheli).test_client())
    return lambda openid: Person(server, openid, sheli)


def five_repairs_resolved_and_one_waiting(sheli: Any) -> None:
    """Tickets #1–#5 resolved by the steward; #6 never accepted (it will breach its SLA)."""
    hire(sheli, "property_steward", "张师傅", "o_steward")
    hire(sheli, "branch_liaison", "李联络", "o_liaison")
    person = chat(sheli)
    steward = person("o_steward")
    for n, openid in enumerate(RESIDENTS, start=1):
        assert f"#{n}" in person(openid).say(f"{n}栋10{n}水龙头漏水")
        assert "已办结" in steward.say(f"完成 {n} 已换水龙头")
    assert "#6" in person("o_res6").say("9栋901门锁坏了")


def sent_per_recipient_and_kind(sheli: Any) -> Counter[tuple[str, str]]:
    return Counter(
        (m.recipient, m.kind) for m in outbox_rows(sheli) if m.kind in ("visit", "sla", "summary")
    )


@pytest.fixture
def keys() -> Any:
    registered: list[str] = []

    def register(sheli: Any) -> str:
        key = scheduler.register(sheli)
        registered.append(key)
        return key

    yield register
    for key in registered:
        scheduler._REGISTRY.pop(key, None)


# --- one tick ----------------------------------------------------------------------------------


def test_a_tick_sends_due_visits_and_delivers_them(make_sheli: Any, clock: Any, keys: Any) -> None:
    sheli = make_sheli()
    five_repairs_resolved_and_one_waiting(sheli)
    key = keys(sheli)
    first = scheduler.tick(key)
    assert first["visits"] == [] and first["sla"] == []
    clock.advance(hours=25)
    result = scheduler.tick(key)
    assert result["visits"] == [1, 2, 3, 4, 5]
    assert (6, "accept", 1) in result["sla"]
    assert result["outbox"]["sent"] >= 5
    visits = [m for m in outbox_rows(sheli) if m.kind == "visit"]
    assert len(visits) == 5 and {m.status for m in visits} == {"sent"}


# --- two schedulers ----------------------------------------------------------------------------


def test_a_second_scheduler_stays_idle_until_the_first_stops_renewing(
    make_sheli: Any, clock: Any, keys: Any
) -> None:
    first, second = make_sheli(), make_sheli()  # two processes, one database
    five_repairs_resolved_and_one_waiting(first)
    a, b = keys(first), keys(second)
    assert "skipped" not in scheduler.tick(a)
    assert scheduler.tick(b) == {"skipped": "another scheduler holds the lease"}
    clock.advance(hours=25)
    assert scheduler.tick(a)["visits"] == [1, 2, 3, 4, 5]  # a renews before b tries
    assert "skipped" in scheduler.tick(b)

    clock.advance(seconds=59)  # the first one's last renewal is still good
    assert "skipped" in scheduler.tick(b)
    clock.advance(seconds=2)  # it died: its lease ran out, the second takes over
    taken = scheduler.tick(b)
    assert taken["visits"] == [] and taken["sla"] == []  # nothing left to do twice
    assert "skipped" in scheduler.tick(a)  # and the first, back from the dead, now waits

    counts = sent_per_recipient_and_kind(first)
    assert all(counts[(openid, "visit")] == 1 for openid in RESIDENTS)
    # #6: accept and resolve deadlines, level 1 each (level 2 goes to the secretary), found in
    # one tick: one digest each.
    assert counts[("o_steward", "sla")] == counts[("o_liaison", "sla")] == 1


def test_a_stopped_scheduler_hands_over_at_once(make_sheli: Any, keys: Any) -> None:
    first, second = make_sheli(), make_sheli()
    a, b = keys(first), keys(second)
    assert "skipped" not in scheduler.tick(a)
    assert "skipped" in scheduler.tick(b)
    scheduler.unregister(a)  # a clean shutdown releases the lease
    assert "skipped" not in scheduler.tick(b)


def test_two_schedulers_ticking_at_once_send_everything_once(
    make_sheli: Any, clock: Any, keys: Any, db_url: str
) -> None:
    first, second = make_sheli(url=db_url), make_sheli(url=db_url)
    five_repairs_resolved_and_one_waiting(first)
    a, b = keys(first), keys(second)
    clock.advance(hours=25)
    start = threading.Barrier(2)
    results: dict[str, list[Any]] = {a: [], b: []}
    errors: list[BaseException] = []

    def run(key: str) -> None:
        try:
            start.wait()
            for _ in range(5):
                results[key].append(scheduler.tick(key))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(key,)) for key in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    worked = [key for key in (a, b) if any("skipped" not in r for r in results[key])]
    assert len(worked) == 1  # exactly one of them held the lease
    counts = sent_per_recipient_and_kind(first)
    assert [counts[(openid, "visit")] for openid in RESIDENTS] == [1, 1, 1, 1, 1]
    # Both deadlines of #6 passed before the first tick: one digest each.
    assert counts[("o_steward", "sla")] == counts[("o_liaison", "sla")] == 1


def test_schedulers_taking_turns_never_repeat_a_message(
    make_sheli: Any, clock: Any, keys: Any, db_url: str
) -> None:
    first, second = make_sheli(url=db_url), make_sheli(url=db_url)
    five_repairs_resolved_and_one_waiting(first)
    a, b = keys(first), keys(second)
    for hour in range(100):  # the lease changes hands every tick, for more than four days
        clock.advance(hours=1)
        scheduler.tick(a if hour % 2 else b)
        clock.advance(minutes=2)  # the holder's lease runs out before the other ticks
    counts = sent_per_recipient_and_kind(first)
    assert [counts[(openid, "visit")] for openid in RESIDENTS] == [1, 1, 1, 1, 1]
    assert counts[("o_steward", "sla")] == counts[("o_liaison", "sla")] == 2
    with first.uow() as uow:
        closed = [uow.tickets.get(n) for n in range(1, 6)]
    assert {t.followup_state for t in closed if t} == {"no_response"}


# --- restart -----------------------------------------------------------------------------------


def test_a_restarted_scheduler_catches_up(make_sheli: Any, clock: Any, keys: Any) -> None:
    sheli = make_sheli()
    five_repairs_resolved_and_one_waiting(sheli)
    crashed = keys(sheli)
    scheduler.tick(crashed)  # holds the lease, then the process dies without releasing it
    clock.advance(days=2)
    restarted = make_sheli()
    result = scheduler.tick(keys(restarted))
    assert result["visits"] == [1, 2, 3, 4, 5]
    assert {(6, "accept", 1), (6, "accept", 2), (6, "resolve", 1)} <= set(result["sla"])
    assert scheduler.tick(keys(make_sheli())) == {"skipped": "another scheduler holds the lease"}


# --- the weekly summary ------------------------------------------------------------------------


def test_the_summary_goes_out_on_monday_at_nine_once(
    make_sheli: Any, clock: Any, keys: Any
) -> None:
    clock.current = datetime(2026, 11, 23, 0, 59)  # Monday 08:59 in Shanghai
    sheli = make_sheli(**{"summary.recipients": ["o_secretary", "o_deputy"]})
    key = keys(sheli)
    assert "summary" not in scheduler.tick(key)
    clock.advance(minutes=1)
    assert scheduler.tick(key)["summary"] == "2026-W47"
    clock.advance(minutes=1)
    assert scheduler.tick(key)["summary"] is None
    assert scheduler.tick(keys(make_sheli(**{"summary.recipients": ["o_secretary"]}))) == {
        "skipped": "another scheduler holds the lease"
    }
    counts = sent_per_recipient_and_kind(sheli)
    assert counts[("o_secretary", "summary")] == counts[("o_deputy", "summary")] == 1
    assert "2026-W47" in next(m.body for m in outbox_rows(sheli) if m.kind == "summary")


def test_a_summary_missed_while_down_goes_out_on_restart(
    make_sheli: Any, clock: Any, keys: Any
) -> None:
    clock.current = datetime(2026, 11, 24, 6, 0)  # Tuesday 14:00: down since Sunday
    sheli = make_sheli(**{"summary.recipients": ["o_secretary"]})
    assert scheduler.tick(keys(sheli))["summary"] == "2026-W47"


def test_a_summary_older_than_two_days_is_not_sent_late(
    make_sheli: Any, clock: Any, keys: Any
) -> None:
    clock.current = datetime(2026, 11, 26, 6, 0)  # Thursday: too late to be news
    sheli = make_sheli(**{"summary.recipients": ["o_secretary"]})
    assert "summary" not in scheduler.tick(keys(sheli))


def test_summary_cron_times_are_read_in_the_site_timezone(make_sheli: Any) -> None:
    trigger = scheduler.summary_trigger(make_sheli())
    monday_nine = datetime(2026, 11, 23, 1, 0)  # 09:00 Asia/Shanghai
    assert scheduler.last_summary_time(trigger, monday_nine) == monday_nine
    assert scheduler.last_summary_time(trigger, monday_nine + timedelta(hours=5)) == monday_nine
    assert scheduler.last_summary_time(trigger, monday_nine - timedelta(minutes=1)) is None


def test_a_bad_cron_line_fails_at_start(make_sheli: Any) -> None:
    with pytest.raises(ConfigError, match=r"summary\.cron"):
        scheduler.summary_trigger(make_sheli(**{"summary.cron": "every monday"}))


# --- the real thing ----------------------------------------------------------------------------


@pytest.mark.slow
def test_end_to_end_the_visit_arrives_two_seconds_after_resolution(
    parser: Any, sqlite_url: str
) -> None:
    config = load_config(
        {
            "database.url": sqlite_url,
            "wechat.token": TOKEN,
            "followup.delay": "2s",
            "scheduler.tick": "1s",
            "outbox.poll_interval": "1s",
        },
        environ={},
    )
    sheli = bootstrap(config, clock=SystemClock(), parser=parser)
    upgrade(sheli.engine)
    hire(sheli, "property_steward", "张师傅", "o_steward")
    person = chat(sheli)
    resident, steward = person("o_res"), person("o_steward")
    running = scheduler.start_background(sheli)
    try:
        assert "#1" in resident.say("3栋502热水器坏了")
        assert "已办结" in steward.say("完成 1 已更换加热管")
        resolved_at = time.monotonic()
        deadline = resolved_at + 30
        while time.monotonic() < deadline:
            visits = [m for m in outbox_rows(sheli) if m.kind == "visit"]
            if visits and visits[0].status == "sent":
                break
            time.sleep(0.2)
        else:
            pytest.fail("no visit within 30 s")
        waited = time.monotonic() - resolved_at
        assert waited >= 1.0  # not before the delay (the clock keeps whole seconds)
        assert "回访" in resident.inbox()[-1]
        assert "5分" in resident.say("5")
    finally:
        running.stop()
    sheli.engine.dispose()


@pytest.mark.slow
def test_sheli_scheduler_stops_on_sigterm_and_frees_the_lease(
    make_sheli: Any, sqlite_url: str
) -> None:
    sheli = make_sheli()  # migrates the database the command will use
    environ = {
        **os.environ,
        "SHELI_DATABASE__URL": sqlite_url,
        "SHELI_SCHEDULER__TICK": "1s",
    }
    command = [sys.executable, "-c", "from bot.cli import main; main()", "scheduler"]
    process = subprocess.Popen(
        command, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not leases(sheli):
            time.sleep(0.2)
        assert leases(sheli), "the scheduler never took the lease"
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, errors
    assert "lease released" in errors
    assert leases(sheli) == []


def leases(sheli: Any) -> list[str]:
    from storage.models import Lease

    with sheli.uow() as uow:
        return [lease.holder for lease in uow.session.query(Lease).all()]
