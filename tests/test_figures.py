"""The figures at any scale: many weeks in one pass, past weeks kept, both exactly as fresh.

The definitions are tested on a seeded week in tests/test_summary.py. Here the same story is
read in the other ways the dashboard and the scheduler read it: twelve weeks grouped in one
pass (and their whole span), and past weeks read back from figure_cache after the tickets that
were still open then have moved on. Every way must give the very same figures.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import create_app
from bot.scheduler import run_due
from handlers import read_models
from handlers.commands import Actor, CorrectLocation, KeepPastWeeks
from handlers.read_models import recent_weeks, span
from handlers.summary import compute_figures, compute_summary, week_of
from storage.figures import FiguresRepository
from storage.models import FigureCache
from tests.helpers import hire
from tests.test_summary import Week47, local
from tests.wechat import Person, WeChatServer


def figures_json(sheli: Any, weeks: list[Any]) -> list[Any]:
    """Every figure of `weeks` and of their span, as the dashboard reads them."""
    now = sheli.clock.now()
    with sheli.uow() as uow:
        found = compute_figures(uow, sheli.policy, weeks, now, whole=span(weeks, "span"))
    assert found.whole is not None
    return [
        *(s.to_json() for s in found.weekly),
        found.whole.to_json(),
        found.open,
        found.unassigned,
        found.buildings,
    ]


def forget_kept(sheli: Any) -> None:
    with sheli.uow() as uow:
        uow.session.query(FigureCache).delete()
        uow.commit()


def kept(sheli: Any) -> int:
    with sheli.uow() as uow:
        return int(uow.session.query(FigureCache).count())


@pytest.fixture
def story(make_sheli: Any, clock: Any, db_url: str) -> Any:
    sheli = make_sheli(url=db_url)
    week = Week47(sheli, clock)
    week.play()
    return sheli, week


def test_twelve_weeks_in_one_pass_are_the_weekly_summaries(story: Any) -> None:
    sheli, _ = story
    forget_kept(sheli)
    weeks = recent_weeks(sheli.clock.now(), sheli.policy.timezone, 12)
    now = sheli.clock.now()
    together = figures_json(sheli, weeks)
    with sheli.uow() as uow:
        one_by_one = [compute_summary(uow, sheli.policy, week, now).to_json() for week in weeks]
        whole = compute_summary(uow, sheli.policy, span(weeks, "span"), now).to_json()
    assert together[:12] == one_by_one
    assert together[12] == whole
    assert [w["new_tickets"] for w in together[9:12]] == [2, 6, 1]  # W46, W47, W48 (#9)
    # The span counts #3, resolved in two weeks... of one week here, once; and #2's last one.
    assert whole["resolved"] == 5 and whole["sla_breaches"] == 2


def test_kept_weeks_report_exactly_what_a_fresh_pass_does(story: Any) -> None:
    sheli, week = story
    # Monday 09:00: the scheduler keeps the weeks that are over, W47 among them, with #4
    # (resolved, visit pending), #5, #7 and #8 (active) still open.
    assert "2026-W47" in sheli.handle(KeepPastWeeks(weeks=14))
    with sheli.uow() as uow:
        held = uow.figures.cached(_keys(uow))
    assert any(len(d.pending) == 3 and len(d.done_ids) == 1 for _, d in held.values())
    # Then, within the day, the open tickets move on.
    week.at("11-23 10:00", "o_lawyer", "完成 5 已协助申请劳动仲裁", "已办结")  # active → resolved
    week.at("11-23 10:30", "o_f", "取消 8", "已取消")  # active → cancelled
    week.at("11-23 11:00", "o_steward", "接单 7", "已接单")  # a late first response
    week.duties("11-23 11:30")  # #4's visit goes out
    week.at("11-23 12:00", "o_c", "没修好", "重新")  # #4: resolved → reopened
    week.clock.current = local("11-23 18:00")
    assert kept(sheli) > 0
    weeks = recent_weeks(sheli.clock.now(), sheli.policy.timezone, 12)
    with_kept = figures_json(sheli, weeks)
    last_week = sheli.read(read_models.week_summary, "2026-W47").to_json()
    forget_kept(sheli)
    fresh = figures_json(sheli, weeks)
    assert with_kept == fresh
    assert last_week == sheli.read(read_models.week_summary, "2026-W47").to_json()
    # And the story shows in them: #8 cancelled, #4 reopened, #5 done, #7 answered late.
    assert (last_week["cancelled"], last_week["completed"]) == (2, 2)  # #6 #8; #3 #5
    assert last_week["median_first_response_minutes"] == 180.0


def test_the_scheduler_keeps_past_weeks_a_few_at_a_time(make_sheli: Any, clock: Any) -> None:
    sheli = make_sheli()
    clock.current = local("11-23 09:00")
    first = run_due(sheli)["figures"]
    assert first == ["2026-W47", "2026-W46"]  # newest first, two per tick
    labels = [*first]
    for _ in range(10):
        labels += run_due(sheli)["figures"]
    assert len(labels) == 14 and len(set(labels)) == 14
    assert run_due(sheli)["figures"] == []  # nothing was open: nothing to read again
    clock.advance(days=8)  # a week later: the newest week is kept, the oldest forgotten later
    assert run_due(sheli)["figures"] == ["2026-W48"]


def test_kept_data_survives_its_round_trip(story: Any) -> None:
    sheli, _ = story
    forget_kept(sheli)
    weeks = recent_weeks(sheli.clock.now(), sheli.policy.timezone, 3)
    bounds = [w.start for w in weeks] + [weeks[-1].end]
    with sheli.uow() as uow:
        repository: FiguresRepository = uow.figures
        for held in repository.weeks(bounds, [], settled_only=True):
            again = type(held).from_bytes(held.to_bytes())
            assert again.by_intent == held.by_intent and again.places == held.places
            assert list(again.first_responses) == list(held.first_responses)
            assert list(again.pending) == list(held.pending)
            assert again.visits == held.visits


def _keys(uow: Any) -> list[str]:
    return [key for (key,) in uow.session.query(FigureCache.key)]


def test_a_week_not_over_is_never_kept(story: Any) -> None:
    sheli, _ = story
    sheli.handle(KeepPastWeeks(weeks=14))
    this_week = week_of("2026-W48", sheli.clock.now(), sheli.policy.timezone)
    with sheli.uow() as uow:
        assert not any(key.startswith(f"{this_week.start:%Y%m%d%H%M}") for key in _keys(uow))


def _two_repairs_in_3栋(sheli: Any, person: Any, clock: Any, when: str) -> None:
    hire(sheli, "property_steward", "张师傅", "o_steward")
    clock.current = local(when)
    assert "#1" in person("o_a").say("3栋502热水器坏了")
    assert "#2" in person("o_b").say("3栋301水龙头漏水")


def test_sensitive_cases_are_never_counted_by_building_however_read(
    make_sheli: Any, clock: Any, db_url: str
) -> None:
    sheli = make_sheli(url=db_url)
    server = WeChatServer(create_app(sheli=sheli).test_client())
    person = lambda openid: Person(server, openid, sheli)  # noqa: E731
    _two_repairs_in_3栋(sheli, person, clock, "11-18 10:00")
    assert "#3" in person("o_c").say("3栋205马桶堵了")
    with sheli.uow() as uow:  # #3 is a hardship case that kept its building (older data)
        ticket = uow.tickets.get(3)
        assert ticket is not None and ticket.building == "3栋"
        ticket.intent = "hardship"
        uow.commit()
    week = week_of("2026-W47", clock.now(), sheli.policy.timezone)

    def by_building() -> list[Any]:
        summary = sheli.read(read_models.week_summary, "2026-W47")
        overview = sheli.read(read_models.overview)
        [row] = [r for r in sheli.read(read_models.buildings_overview) if r["name"] == "3栋"]
        detail = sheli.read(read_models.building_detail, "3栋")
        return [
            summary.top_buildings,
            overview.buildings,
            (row["requests"], row["open_requests"]),
            (detail["requests"], [t["id"] for t in detail["tickets"]]),
        ]

    expected = [[("3栋", 2)], [("3栋", 2)], (2, 2), (2, [2, 1])]
    assert by_building() == expected
    clock.current = local("11-23 09:00")  # the week is over: the scheduler keeps it
    assert "2026-W47" in sheli.handle(KeepPastWeeks(weeks=14))
    assert kept(sheli) > 0
    assert by_building() == expected
    with sheli.uow() as uow:
        assert compute_summary(uow, sheli.policy, week, clock.now()).top_buildings == [("3栋", 2)]


def test_a_place_corrected_after_its_week_was_kept_counts_in_its_new_building(
    make_sheli: Any, clock: Any, db_url: str
) -> None:
    sheli = make_sheli(url=db_url)
    server = WeChatServer(create_app(sheli=sheli).test_client())
    person = lambda openid: Person(server, openid, sheli)  # noqa: E731
    _two_repairs_in_3栋(sheli, person, clock, "11-22 23:50")  # late on Sunday
    clock.current = local("11-23 00:30")
    assert "2026-W47" in sheli.handle(KeepPastWeeks(weeks=14))
    assert sheli.read(read_models.week_summary, "2026-W47").top_buildings == [("3栋", 2)]
    with sheli.uow() as uow:
        resident = uow.residents.by_openid("o_b")
        assert resident is not None
        actor = Actor.resident(resident.id)
    reply = sheli.handle(CorrectLocation(2, "5栋301", actor))  # "不是3栋，是5栋301"
    assert "5栋301" in reply
    weeks = recent_weeks(clock.now(), sheli.policy.timezone, 12)
    corrected = figures_json(sheli, weeks)
    assert sheli.read(read_models.week_summary, "2026-W47").top_buildings == []
    assert corrected[-1] == [("3栋", 1), ("5栋", 1)]
    forget_kept(sheli)
    assert figures_json(sheli, weeks) == corrected
