"""The pilot's other needs, as conversations: a hazard (urgent, property steward, grid worker
told, accept within 30 minutes), hardship (branch liaison, never by building), social security
(an answer from community data plus the ticket), and community activities of every kind."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.scheduler import run_due
from handlers import messages as msg
from handlers import read_models
from handlers.commands import ImportData, SaveEvent
from handlers.summary import compute_summary, week_of
from tests.dialogue import INBOX, NOTHING, Dialogue, Do, Event, absent, dialogue, only
from tests.helpers import hire
from tests.wechat import Person

ROLES = {
    "branch_liaison": "李书记",
    "grid_worker": "赵网格",
    "property_steward": "张师傅",
    "legal_adviser": "陈律师",
    "employment_liaison": "刘专员",
}


@pytest.fixture
def people(sheli: Any, person: Any) -> dict[str, Person]:
    team = {}
    for role, name in ROLES.items():
        hire(sheli, role, name, openid=f"o_{role}")
        team[role] = person(f"o_{role}")
    return {**team, **{name: person(f"o_{name}") for name in ("resident", "neighbour")}}


def ticket(sheli: Any, number: int) -> Any:
    with sheli.uow() as uow:
        return uow.tickets.get(number)


# --- hazard --------------------------------------------------------------------------------


def test_a_hazard_is_urgent_goes_to_the_steward_and_the_grid_worker_is_told(
    people: Any, sheli: Any, clock: Any
) -> None:
    talk = Dialogue(people)
    talk(
        [
            ("resident", "8号楼四楼楼梯间电线裸露，很危险", ["安全隐患 #1", "张师傅", "119"]),
            ("property_steward", INBOX, only("#1", "【紧急】", "安全隐患", "8号楼4楼楼梯间")),
            ("grid_worker", INBOX, only("知悉 #1", "张师傅", "8号楼4楼楼梯间")),
            ("branch_liaison", INBOX, NOTHING),
        ]
    )
    found = ticket(sheli, 1)
    assert (found.intent, found.urgent, found.role) == ("hazard", True, "property_steward")
    assert (found.location, found.building) == ("8号楼4楼楼梯间", "8号楼")
    assert sheli.policy.deadlines("hazard").accept == timedelta(minutes=30)
    talk(
        [
            Do("31 minutes later", lambda: clock.advance(minutes=31)),
            Do("the scheduler's SLA check and digests", lambda: run_due(sheli)),
            ("property_steward", INBOX, only("督办", "#1", "30分钟")),
        ]
    )


def test_a_hazard_without_a_place_asks_where_and_the_same_spot_is_linked(
    people: Any, sheli: Any
) -> None:
    dialogue(
        [
            ("resident", "楼道里电线裸露", "哪"),
            ("resident", "3栋楼道", ["安全隐患 #1"]),
            ("neighbour", "3栋楼道电线裸露着", ["#1", "关联"]),
            ("grid_worker", INBOX, only("知悉 #1")),  # told once, not for the linked report
        ],
        people,
    )
    assert ticket(sheli, 2) is None


def test_the_hazard_menu_button_asks_for_the_hazard(people: Any, sheli: Any) -> None:
    dialogue(
        [
            ("resident", Event("CLICK", "HAZARD"), msg.MENU_PROMPTS["HAZARD"]),
            ("resident", "5栋地下车库有人私拉电线给电动车充电", "安全隐患 #1"),
        ],
        people,
    )
    assert ticket(sheli, 1).intent == "hazard"


# --- hardship ------------------------------------------------------------------------------


def test_hardship_goes_to_the_branch_liaison_privately(people: Any, sheli: Any) -> None:
    dialogue(
        [
            (
                "resident",
                "我生病住院了没钱交医药费，社区能帮忙吗",
                ["困难帮扶 #1", "李书记", "只有负责的工作人员能看到"],
            ),
            ("branch_liaison", INBOX, only("#1", "困难帮扶")),
            ("resident", Event("CLICK", "HARDSHIP"), msg.MENU_PROMPTS["HARDSHIP"]),
            ("resident", "3栋502家里出了事，生活很困难", "困难帮扶 #2"),
        ],
        people,
    )
    assert ticket(sheli, 1).role == "branch_liaison"
    second = ticket(sheli, 2)
    assert (second.intent, second.location, second.building) == ("hardship", "3栋502", None)


def test_hardship_never_shows_up_by_building(people: Any, sheli: Any) -> None:
    """Three hardship cases and two repairs in 3栋, one repair in 5栋: only the repairs count."""
    dialogue(
        [
            ("resident", "3栋502家里出了事，生活很困难", "困难帮扶"),
            ("neighbour", "3栋503我生病住院了没钱交医药费", "困难帮扶"),
            ("resident", "3栋502家里没钱吃饭了", "困难帮扶"),
            ("resident", "3栋502热水器坏了", "物业报修"),
            ("neighbour", "3栋503空调不制冷", "物业报修"),
            ("neighbour", "5栋101水管爆了", "物业报修"),
        ],
        people,
    )
    with sheli.uow() as uow:
        assert sorted(t.intent for t in uow.tickets.list()).count("hardship") == 3
    # the weekly summary's hotspots
    now = sheli.clock.now() + timedelta(days=7)
    week = week_of(None, now, sheli.policy.timezone)
    with sheli.uow() as uow:
        summary = compute_summary(uow, sheli.policy, week, now)
    assert summary.new_by_intent["hardship"] == 3  # counted, but not by building
    assert summary.top_buildings == [("3栋", 2)]
    # the dashboard's building chart, the buildings page and one building's list
    overview = sheli.read(read_models.overview)
    assert dict(overview.buildings) == {"3栋": 2, "5栋": 1}
    rows = {row["name"]: row for row in sheli.read(read_models.buildings_overview)}
    assert (rows["3栋"]["requests"], rows["3栋"]["open_requests"]) == (2, 2)
    detail = sheli.read(read_models.building_detail, "3栋")
    assert sorted(t["intent"] for t in detail["tickets"]) == ["repair", "repair"]


def test_an_erased_hardship_case_keeps_no_place(people: Any, sheli: Any) -> None:
    dialogue(
        [
            ("resident", "3栋502家里出了事，生活很困难", "困难帮扶 #1"),
            ("resident", "注销", "确认注销"),
            ("resident", "确认注销", msg.ERASED),
        ],
        people,
    )
    found = ticket(sheli, 1)
    assert (found.location, found.building, found.intent) == (None, None, "hardship")


# --- social security -----------------------------------------------------------------------


def test_social_security_is_answered_and_handed_to_the_employment_liaison(
    people: Any, sheli: Any
) -> None:
    dialogue(
        [
            (
                "resident",
                "我想查一下我的社保交了几个月",
                ["社保医保 #1", "刘专员", "查社保缴费记录", "12333"],
            ),
            ("employment_liaison", INBOX, only("#1", "社保医保")),
            ("neighbour", "社保卡丢了怎么补办", ["#2", "挂失", absent("查社保缴费记录")]),
        ],
        people,
    )
    assert ticket(sheli, 1).role == "employment_liaison"


def test_an_alliance_unit_that_helps_with_social_security_is_named(people: Any, sheli: Any) -> None:
    sheli.handle(
        ImportData(
            "resources",
            {
                "alliance_units": [
                    {"name": "明理律师事务所", "services": "法律援助"},
                    {"name": "街道社保服务站", "services": "社保医保办理", "phone": "0755-1234567"},
                ]
            },
        )
    )
    dialogue(
        [("resident", "医保怎么报销", ["#1", "医保报销", "街道社保服务站", "0755-1234567"])],
        people,
    )


# --- community activities ------------------------------------------------------------------


def add_event(sheli: Any, **fields: Any) -> int:
    data = {"kind": "job_fair", "place": "党群服务中心广场", **fields}
    return int(sheli.handle(SaveEvent(data)).id)


@pytest.fixture
def community(sheli: Any) -> dict[str, int]:
    """Six job fairs, a market, a legal clinic and a lecture ahead; a market behind."""
    events = {
        f"fair{n}": add_event(
            sheli, title=f"遇荐九龙湾第{n}场", starts_at=f"2026-11-{24 + n} 09:00"
        )
        for n in range(1, 7)
    }
    events["old_market"] = add_event(
        sheli, kind="market", title="秋季市集", starts_at="2026-11-01 10:00"
    )
    events["market"] = add_event(
        sheli, kind="market", title="元宵猜灯谜市集", starts_at="2026-12-20 18:00"
    )
    events["clinic"] = add_event(
        sheli, kind="legal_clinic", title="三官一律进网格", starts_at="2026-12-02 19:00"
    )
    events["lecture"] = add_event(
        sheli, kind="讲座", title="工伤保险讲座", starts_at="2026-12-06 14:00", capacity=30
    )
    return events


def test_community_activities_of_every_kind_are_listed(
    people: Any, community: dict[str, int]
) -> None:
    reply = people["resident"].say("社区最近有什么活动")
    assert reply.startswith(msg.EVENTS_HEADER)
    for title in ("遇荐九龙湾第1场", "元宵猜灯谜市集", "三官一律进网格", "工伤保险讲座"):
        assert title in reply, title
    assert "秋季市集" not in reply  # already past
    assert reply.count("遇荐九龙湾") == 2  # fairs do not crowd the others out
    assert f"「活动{community['lecture']}」" in reply and "余30个名额" in reply
    assert "报名 活动编号" in reply


def test_a_question_about_one_kind_gets_that_kind(people: Any, community: dict[str, int]) -> None:
    dialogue(
        [
            ("resident", "周末有没有什么讲座", ["最近的讲座：", "工伤保险讲座", absent("市集")]),
            ("resident", "元宵节有没有猜灯谜活动", "元宵猜灯谜市集"),
            ("resident", "最近有市集吗", ["最近的市集：", "元宵猜灯谜市集", absent("秋季")]),
            # job fairs are answered as before, with their openings
            ("resident", "最近有招聘会吗", [msg.JOB_FAIRS_HEADER, "遇荐九龙湾第1场"]),
        ],
        people,
    )


def test_a_kind_with_nothing_planned_says_so_and_offers_the_rest(people: Any, sheli: Any) -> None:
    add_event(sheli, kind="market", title="冬至包饺子市集", starts_at="2026-12-21 10:00")
    dialogue(
        [("resident", "周末有没有什么讲座", ["最近没有讲座安排", "冬至包饺子市集"])],
        people,
    )


def test_no_events_at_all_is_a_polite_answer(people: Any, sheli: Any) -> None:
    dialogue([("resident", "社区最近有什么活动", msg.EVENTS_NONE)], people)
    with sheli.uow() as uow:
        assert uow.tickets.list() == []


def test_volunteering_points_to_the_volunteer_teams(people: Any, sheli: Any) -> None:
    dialogue([("resident", "怎么报名当志愿者", msg.VOLUNTEER_NO_TEAMS)], people)
    sheli.handle(
        ImportData(
            "resources",
            {
                "volunteers": [
                    {
                        "name": "周师傅",
                        "team": "党员维修志愿队",
                        "skills": "水电维修",
                        "phone": "13900001111",
                    },
                    {"name": "吴大姐", "team": "党员维修志愿队", "skills": "调解、上门走访"},
                    {"name": "郑同学", "team": "青年志愿服务队", "skills": "手机操作"},
                    {"name": "钱阿姨", "team": "青年志愿服务队", "active": False},
                ]
            },
        )
    )
    add_event(sheli, kind="志愿服务", title="义剪进社区", starts_at="2026-11-29 09:00")
    reply = people["resident"].say("怎么报名当志愿者")
    assert reply.startswith(msg.VOLUNTEER_TEAMS_HEADER)
    team = next(line for line in reply.splitlines() if "党员维修志愿队" in line)
    assert team.startswith("· 党员维修志愿队（2人）：")
    assert sorted(team.split("：")[1].split("、")) == sorted(["水电维修", "调解", "上门走访"])
    assert "青年志愿服务队（1人）：手机操作" in reply
    assert "人工" in reply and "义剪进社区" in reply and "报名" in reply
    for private in ("周师傅", "吴大姐", "13900001111"):  # who they are is not told
        assert private not in reply
