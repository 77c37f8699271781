"""Pages that stay small: the tickets list, a building's page, the events and an event's sign-ups,
and `sheli tickets list` come a page at a time (第 n 页, ?page=, --page), whatever the history."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import cli
from storage.community import Event
from tests.helpers import hire
from tests.test_dashboard import PASSWORD_HASH, login
from tests.wechat import Person


@pytest.fixture
def sheli(make_sheli: Any) -> Any:
    return make_sheli(dashboard__password_hash=PASSWORD_HASH)


@pytest.fixture
def operator(client: Any) -> Any:
    login(client)
    return client


@pytest.fixture
def many(sheli: Any, person: Any) -> list[Person]:
    """57 repairs in 3栋 (rooms 101…157) and 3 mediations in 5栋: #1 … #60."""
    hire(sheli, "property_steward", "张师傅", "o_steward")
    hire(sheli, "grid_worker", "赵网格", "o_grid")
    residents = []
    for n in range(1, 61):
        resident = person(f"o_res{n}")
        text = f"3栋{100 + n}热水器坏了" if n <= 57 else f"5栋{300 + n}隔壁太吵了"
        assert f"#{n}" in resident.say(text)
        residents.append(resident)
    return residents


def numbers_on(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/dashboard/tickets/(\d+)"', page)]


def test_the_tickets_list_comes_fifty_at_a_time(operator: Any, many: Any) -> None:
    first = operator.get("/dashboard/tickets").get_data(as_text=True)
    assert numbers_on(first) == list(range(60, 10, -1))  # newest first
    assert "第 1 页" in first and "下一页" in first and "上一页" not in first
    assert 'href="/dashboard/tickets?page=2"' in first
    second = operator.get("/dashboard/tickets?page=2").get_data(as_text=True)
    assert numbers_on(second) == list(range(10, 0, -1))
    assert "第 2 页" in second and "上一页" in second and "下一页" not in second
    beyond = operator.get("/dashboard/tickets?page=9").get_data(as_text=True)
    assert numbers_on(beyond) == [] and "没有符合条件的工单" in beyond
    assert operator.get("/dashboard/tickets?page=abc").status_code == 200  # read as page 1


def test_a_filtered_list_keeps_its_filter_from_page_to_page(operator: Any, many: Any) -> None:
    page = operator.get("/dashboard/tickets?intent=repair").get_data(as_text=True)
    assert numbers_on(page) == list(range(57, 7, -1))
    assert "intent=repair" in re.search(r'href="([^"]*page=2[^"]*)"', page).group(1)  # type: ignore[union-attr]
    rest = operator.get("/dashboard/tickets?intent=repair&page=2").get_data(as_text=True)
    assert numbers_on(rest) == list(range(7, 0, -1))
    mediations = operator.get("/dashboard/tickets?building=5栋").get_data(as_text=True)
    assert numbers_on(mediations) == [60, 59, 58] and "下一页" not in mediations


def test_the_export_from_any_page_takes_the_whole_selection(operator: Any, many: Any) -> None:
    second = operator.get("/dashboard/tickets?intent=repair&page=2").get_data(as_text=True)
    link = re.search(r'data-export="csv" href="([^"]*)"', second).group(1)  # type: ignore[union-attr]
    assert "intent=repair" in link and "page=" not in link
    exported = operator.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert len(exported.strip().splitlines()) == 1 + 57  # the header and every repair


def test_the_json_list_says_which_page_and_whether_more_follow(operator: Any, many: Any) -> None:
    first = operator.get("/dashboard/api/tickets").get_json()
    assert (first["page"], first["page_size"], first["has_next"], first["truncated"]) == (
        1,
        50,
        True,
        True,
    )
    assert [t["id"] for t in first["tickets"]][:2] == [60, 59]
    last = operator.get("/dashboard/api/tickets?page=2").get_json()
    assert len(last["tickets"]) == 10 and last["has_next"] is False


def test_a_building_page_lists_its_requests_a_page_at_a_time(operator: Any, many: Any) -> None:
    page = operator.get("/dashboard/building?name=3栋").get_data(as_text=True)
    assert "57 件" in page and "第 1 页" in page and "下一页" in page
    assert len(numbers_on(page)) == 50
    rest = operator.get("/dashboard/building?name=3栋&page=2").get_data(as_text=True)
    assert numbers_on(rest) == list(range(7, 0, -1))
    data = operator.get("/dashboard/api/building?name=3栋&page=2").get_json()
    assert (data["requests"], data["page"], data["has_next"]) == (57, 2, False)
    assert [t["id"] for t in data["tickets"]] == list(range(7, 0, -1))
    # Residents counted per building in SQL: 57 learned their room in 3栋 from their repair.
    buildings = {
        b["name"]: b for b in operator.get("/dashboard/api/buildings").get_json()["buildings"]
    }
    assert (buildings["3栋"]["residents"], buildings["3栋"]["requests"]) == (57, 57)
    assert buildings["5栋"]["requests"] == 3


def test_past_events_and_sign_ups_come_a_page_at_a_time(
    sheli: Any, operator: Any, person: Any, clock: Any
) -> None:
    now = clock.now()
    with sheli.uow() as uow:
        for n in range(55):
            start = now - timedelta(days=n + 1)
            uow.events.add(
                Event(
                    kind="job_fair",
                    title=f"往期招聘会{n + 1}",
                    starts_at=start,
                    ends_at=start + timedelta(hours=3),
                    place="社区广场",
                    capacity=None,
                    created_at=now,
                    updated_at=now,
                )
            )
        coming = Event(
            kind="job_fair",
            title="下周招聘会",
            starts_at=now + timedelta(days=7),
            ends_at=now + timedelta(days=7, hours=3),
            place="社区广场",
            capacity=None,
            created_at=now,
            updated_at=now,
        )
        uow.events.add(coming)
        uow.commit()
        upcoming = coming.id
    page = operator.get("/dashboard/events").get_data(as_text=True)
    assert "下周招聘会" in page and "往期招聘会1<" in page and "往期招聘会51<" not in page
    assert "第 1 页" in page and "下一页" in page
    rest = operator.get("/dashboard/events?page=2").get_data(as_text=True)
    assert "往期招聘会51<" in rest and "往期招聘会55<" in rest and "往期招聘会50<" not in rest
    data = operator.get("/dashboard/api/events?page=2").get_json()
    assert data["has_next"] is False and len(data["events"]) == 6  # the upcoming one, and 5

    for n in range(1, 206):
        assert "报名成功" in person(f"o_fan{n}").say(f"报名 {upcoming}")
    detail = operator.get(f"/dashboard/api/events/{upcoming}").get_json()
    assert (detail["confirmed"], len(detail["sign_ups"]), detail["has_next"]) == (205, 200, True)
    more = operator.get(f"/dashboard/events/{upcoming}?page=2").get_data(as_text=True)
    assert '序号">201<' in more and '序号">205<' in more and "第 2 页" in more


def test_sheli_tickets_list_pages(
    many: Any, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHELI_DATABASE__URL", sqlite_url)
    runner = CliRunner()
    listed = runner.invoke(cli, ["tickets", "list", "--limit", "20", "--page", "3"], obj={})
    assert listed.exit_code == 0, listed.output
    assert re.findall(r"^#(\d+)", listed.output, re.M) == [str(n) for n in range(20, 0, -1)]
    as_json = runner.invoke(
        cli,
        ["tickets", "list", "--limit", "5", "--intent", "mediation", "--format", "json"],
        obj={},
    )
    assert [t["id"] for t in json.loads(as_json.output)] == [60, 59, 58]
    refused = runner.invoke(cli, ["tickets", "list", "--page", "0"], obj={})
    assert refused.exit_code != 0 and "--page" in refused.output
