"""Community data in conversation: job fairs answered from events, sign-ups and reminders,
legal clinics beside legal tickets, rooms, phone consent, the data view and erasure; and the
read-side views the dashboard pages use."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from handlers import community
from handlers.duties import run_due
from handlers.events_import import import_resources, import_rooms
from handlers.staff import add_staff
from handlers.summary import compute_summary, render_summary, week_of
from storage.community import SignUp
from tests.dialogue import (
    INBOX,
    NOTHING,
    Dialogue,
    Do,
    Event,
    absent,
    dialogue,
    equals,
    later,
    only,
)
from tests.wechat import Person

# The FakeClock starts on Monday 2026-11-23 01:00 UTC, 09:00 at the site (Asia/Shanghai).
ROLES = {
    "branch_liaison": "李书记",
    "property_steward": "张师傅",
    "legal_adviser": "陈律师",
    "employment_liaison": "刘专员",
}


@pytest.fixture
def team(sheli: Any, person: Any) -> dict[str, Person]:
    people = {}
    with sheli.uow() as uow:
        for role, name in ROLES.items():
            add_staff(
                uow, sheli.policy, role=role, name=name, openid=f"o_{role}", now=sheli.clock.now()
            )
        uow.commit()
    for role in ROLES:
        people[role] = person(f"o_{role}")
    return people


def add_event(sheli: Any, **fields: Any) -> int:
    """An event as an operator saves it on the dashboard; times are local site time."""
    data = {"kind": "job_fair", "place": "党群服务中心广场", **fields}
    with sheli.uow() as uow:
        event = community.save_event(uow, sheli.policy, data, sheli.clock.now())
        uow.commit()
        return event.id


def fairs(sheli: Any) -> list[int]:
    """Four job fairs ahead, one behind, and a legal clinic in between."""
    return [
        add_event(sheli, title="往期招聘会", starts_at="2026-11-20 09:00"),
        add_event(
            sheli,
            title="遇荐九龙湾第14场",
            starts_at="2026-11-28 09:00",
            capacity=2,
            openings=[
                {"company": "华兴电子厂", "job": "普工", "pay": "5000-6500元/月", "count": 30},
                {"company": "顺达物流", "job": "分拣员", "pay": "28元/小时"},
            ],
        ),
        add_event(sheli, title="遇荐九龙湾第15场", starts_at="2026-12-05 09:00"),
        add_event(sheli, title="遇荐九龙湾第16场", starts_at="2026-12-12 09:00"),
        add_event(sheli, title="遇荐九龙湾第17场", starts_at="2026-12-19 09:00"),
        add_event(sheli, kind="legal_clinic", title="三官一律进网格", starts_at="2026-11-25 19:00"),
    ]


def tickets(sheli: Any) -> list[Any]:
    with sheli.uow() as uow:
        return list(uow.tickets.list())


def sign_ups(sheli: Any, event_id: int) -> list[SignUp]:
    with sheli.uow() as uow:
        return list(uow.events.sign_ups(event_id))


def resident_row(sheli: Any, openid: str) -> Any:
    with sheli.uow() as uow:
        return uow.residents.by_openid(openid)


# --- job fairs -------------------------------------------------------------------------------


def test_a_job_fair_question_is_answered_from_the_next_three_fairs(
    sheli: Any, person: Any, team: Any
) -> None:
    past, fair14, fair15, fair16, fair17, clinic = fairs(sheli)
    answer = [
        "招聘会",
        *(f"「活动{shown}」" for shown in (fair14, fair15, fair16)),
        *(absent(f"活动{hidden}」") for hidden in (past, fair17, clinic)),
        "11月28日（周六）9:00",  # site time, not UTC
        "华兴电子厂·普工 5000-6500元/月",
        "余2个名额",
        f"报名 {fair14}",
        absent("#"),
    ]
    dialogue(
        [
            (person("o_res"), "最近有招聘会吗", answer),
            (team["employment_liaison"], INBOX, NOTHING),
        ]
    )
    assert tickets(sheli) == []  # answered, no ticket


@pytest.mark.parametrize(
    "question", ["有没有电子厂的岗位", "下一场招聘会在哪里", "招聘会什么时候开始"]
)
def test_questions_about_openings_are_answered_too(
    sheli: Any, person: Any, team: Any, question: str
) -> None:
    fairs(sheli)
    assert "最近的招聘会" in person("o_res").say(question)
    assert tickets(sheli) == []


@pytest.mark.parametrize("request_text", ["我失业了想找工作", "能不能帮我找份电子厂的工作"])
def test_asking_for_personal_help_still_opens_a_ticket(
    sheli: Any, person: Any, team: Any, request_text: str
) -> None:
    fair14 = fairs(sheli)[1]
    dialogue(
        [
            (person("o_res"), request_text, ["#1", "刘专员", f"报名 {fair14}"]),  # + the next fair
            (team["employment_liaison"], INBOX, "#1"),
        ]
    )
    [ticket] = tickets(sheli)
    assert ticket.role == "employment_liaison"


def test_without_upcoming_fairs_a_question_becomes_a_ticket(
    sheli: Any, person: Any, team: Any
) -> None:
    add_event(sheli, title="往期招聘会", starts_at="2026-11-20 09:00")
    reply = person("o_res").say("最近有招聘会吗")
    assert "#1" in reply and "刘专员" in reply


def test_the_rule_between_questions_and_personal_help() -> None:
    assert community.asks_about_jobs("最近有招聘会吗")
    assert community.asks_about_jobs("有没有 岗位")
    assert community.asks_about_jobs("最近有没有招聘会，想找个电子厂的工作")
    assert not community.asks_about_jobs("帮我找份工作")
    assert not community.asks_about_jobs("我失业了，有没有招聘会")  # personal help wins
    assert not community.asks_about_jobs("工资被拖欠了")


def test_the_jobs_menu_then_a_question_is_answered(sheli: Any, person: Any, team: Any) -> None:
    fairs(sheli)
    resident = person("o_res")
    dialogue(
        [
            (resident, Event("CLICK", "JOBS"), None),
            (resident, "最近有什么招聘会", "最近的招聘会"),
        ]
    )
    assert tickets(sheli) == []


# --- legal clinics ----------------------------------------------------------------------------


def test_a_legal_question_mentions_the_next_legal_clinic(
    sheli: Any, person: Any, team: Any
) -> None:
    clinic = fairs(sheli)[-1]
    reply = person("o_res").say("老板拖欠了我三个月工资不给，怎么办")
    assert "#1" in reply and "陈律师" in reply
    assert f"三官一律进网格」（活动{clinic}）" in reply and "11月25日（周三）19:00" in reply


def test_a_legal_question_without_a_clinic_is_just_a_ticket(
    sheli: Any, person: Any, team: Any
) -> None:
    reply = person("o_res").say("老板拖欠了我三个月工资不给，怎么办")
    assert "#1" in reply and "活动" not in reply


# --- sign-ups --------------------------------------------------------------------------------


def test_sign_up_once_then_full_goes_to_the_waiting_list(
    sheli: Any, person: Any, team: Any
) -> None:
    fair14 = fairs(sheli)[1]  # capacity 2
    dialogue(
        [
            ("first", f"报名 {fair14}", ["报名成功", f"「活动{fair14}」", "11月28日"]),
            ("first", f"报名 #{fair14}", "已经报名"),  # once
            ("second", f"报名 活动{fair14}", "报名成功"),
            ("third", f"报名{fair14}", "候补第1位"),
            ("fourth", f"报名 {fair14}", "候补第2位"),
            ("third", f"报名 {fair14}", "候补中"),
        ],
        {name: person(f"o_{n}") for n, name in enumerate(("first", "second", "third", "fourth"))},
    )
    assert [s.status for s in sign_ups(sheli, fair14)] == [
        "confirmed",
        "confirmed",
        "waiting",
        "waiting",
    ]
    assert tickets(sheli) == []


def test_a_freed_place_goes_to_the_first_on_the_waiting_list(
    sheli: Any, person: Any, team: Any, clock: Any
) -> None:
    fair14 = fairs(sheli)[1]
    first, second, third = (person(f"o_{n}") for n in range(3))

    def first_withdraws() -> bool:
        with sheli.uow() as uow:
            withdrawn = community.cancel_sign_up(
                uow, sheli.policy, fair14, resident_row(sheli, "o_0").id, clock.now()
            )
            uow.commit()
        return withdrawn

    dialogue(
        [
            *((who, f"报名 {fair14}", None) for who in (first, second, third)),
            Do("the first withdraws", first_withdraws, equals(True)),
            (third, INBOX, only("有空位", f"「活动{fair14}」")),
        ]
    )
    assert [s.status for s in sign_ups(sheli, fair14)] == ["cancelled", "confirmed", "confirmed"]


def test_more_capacity_moves_the_waiting_list_up(sheli: Any, person: Any, clock: Any) -> None:
    fair = add_event(sheli, title="小型招聘会", starts_at="2026-11-30 09:00", capacity=1)
    first, waiting = person("o_a"), person("o_b")

    def five_places() -> None:
        with sheli.uow() as uow:
            community.save_event(
                uow,
                sheli.policy,
                {
                    "kind": "job_fair",
                    "title": "小型招聘会",
                    "starts_at": "2026-11-30 09:00",
                    "capacity": 5,
                },
                clock.now(),
                event_id=fair,
            )
            uow.commit()

    dialogue(
        [
            (first, f"报名 {fair}", None),
            (waiting, f"报名 {fair}", "候补"),
            Do("the operator makes it five places", five_places),
            (waiting, INBOX, "有空位"),
        ]
    )


@pytest.mark.parametrize(
    ("words", "expected"),
    [("报名 99", "没有找到「活动99」"), ("报名 1", "已经开始或结束")],
)
def test_sign_up_for_an_unknown_or_past_event_is_refused(
    sheli: Any, person: Any, words: str, expected: str
) -> None:
    fairs(sheli)  # 活动1 is in the past
    assert expected in person("o_res").say(words)
    assert sign_ups(sheli, 1) == []


def test_sign_up_for_a_cancelled_event_is_refused(sheli: Any, person: Any, clock: Any) -> None:
    fair = add_event(sheli, title="取消的招聘会", starts_at="2026-11-30 09:00")
    with sheli.uow() as uow:
        community.cancel_event(uow, fair, clock.now())
        uow.commit()
    dialogue(
        [
            (person("o_res"), f"报名 {fair}", "已取消"),
            (person("o_b"), "最近有招聘会吗", absent("「活动")),  # nor shown
        ]
    )


def test_cancelling_an_event_tells_everyone_signed_up_once(
    sheli: Any, person: Any, clock: Any
) -> None:
    fair = add_event(sheli, title="周末招聘会", starts_at="2026-11-30 09:00")
    first, second = person("o_a"), person("o_b")

    def cancel() -> None:
        with sheli.uow() as uow:
            community.cancel_event(uow, fair, clock.now())
            uow.commit()

    dialogue(
        [
            (first, f"报名 {fair}", None),
            (second, f"报名 {fair}", None),
            (first, INBOX, None),
            (second, INBOX, None),
            Do("the operator cancels the event", cancel),
            Do("and cancels it again", cancel),  # cancelling twice tells nobody twice
            (first, INBOX, only(f"「活动{fair}」", "已取消")),
            (second, INBOX, only(f"「活动{fair}」", "已取消")),
        ]
    )


def test_sign_up_without_a_number_lists_what_is_open(sheli: Any, person: Any) -> None:
    talk = Dialogue()
    talk([(person("o_a"), "报名", "没有可以报名")])
    fair14 = fairs(sheli)[1]
    talk([(person("o_res"), "报名", [f"「活动{fair14}」", "三官一律进网格", "例如「报名"])])


# --- reminders -------------------------------------------------------------------------------


def test_a_reminder_goes_out_once_the_day_before(
    sheli: Any, person: Any, clock: Any, make_sheli: Any
) -> None:
    fair14 = fairs(sheli)[1]  # Saturday 2026-11-28 09:00 local = 01:00 UTC

    def reminders(of: Any = sheli) -> list[Any]:
        return list(run_due(of.deps)["event_reminders"])

    resident = person("o_res")
    dialogue(
        [
            (resident, f"报名 {fair14}", None),
            Do("the scheduler runs", reminders, equals([])),
            later(clock, days=3, hours=23),  # Thursday 2026-11-26 … not yet a day before
            Do("the scheduler runs", reminders, equals([])),
            (resident, INBOX, NOTHING),
            later(clock, hours=1, minutes=30),  # Friday 09:30 local
            Do("the scheduler runs", reminders, lambda sent: len(sent) == 1),
            (resident, INBOX, only("活动提醒", "明天9:00", f"「活动{fair14}」")),
            later(clock, hours=2),
            # once, even after a restart
            Do("a restarted scheduler runs", lambda: reminders(make_sheli()), equals([])),
            (resident, INBOX, NOTHING),
        ]
    )


def test_signing_up_within_a_day_needs_no_separate_reminder(
    sheli: Any, person: Any, clock: Any
) -> None:
    fair = add_event(sheli, title="明天的招聘会", starts_at="2026-11-24 09:00")
    resident = person("o_res")
    dialogue(
        [
            (resident, f"报名 {fair}", "报名成功"),
            Do("the scheduler runs", lambda: run_due(sheli.deps)["event_reminders"], equals([])),
            (resident, INBOX, NOTHING),
        ]
    )


def test_no_reminder_for_a_cancelled_event_or_an_erased_resident(
    sheli: Any, person: Any, clock: Any
) -> None:
    kept = add_event(sheli, title="取消的招聘会", starts_at="2026-11-28 09:00")
    gone = add_event(sheli, title="照常的招聘会", starts_at="2026-11-28 10:00")
    first, second = person("o_a"), person("o_b")

    def cancel() -> None:
        with sheli.uow() as uow:
            community.cancel_event(uow, kept, clock.now())
            uow.commit()

    dialogue(
        [
            (first, f"报名 {kept}", None),
            (second, f"报名 {gone}", None),
            (second, "注销", None),
            Do("the operator cancels the first event", cancel),
            later(clock, days=4, hours=1),
            Do("the scheduler runs", lambda: run_due(sheli.deps)["event_reminders"], equals([])),
            # told of the cancellation, never reminded
            (first, INBOX, only("已取消", absent("提醒"))),
        ]
    )


# --- rooms, phone, data view, erasure --------------------------------------------------------


def test_register_a_room_and_see_it_in_my_info(sheli: Any, person: Any) -> None:
    resident = person("o_res")
    talk = Dialogue()
    talk([(resident, "登记 楼下", "没认出"), (resident, "登记 3栋 502室", "3栋502")])
    assert resident_row(sheli, "o_res").room == "3栋502"
    talk([(resident, "我的信息", ["3栋502", "未留", "注销"])])


def test_the_room_is_learned_from_a_repair_when_none_is_registered(
    sheli: Any, person: Any, team: Any
) -> None:
    resident, other = person("o_res"), person("o_other")
    talk = Dialogue()
    talk([(resident, "5栋301的空调坏了，一直滴水", "已把5栋301记为你的住址")])
    assert resident_row(sheli, "o_res").room == "5栋301"
    talk([(resident, "6栋202的灯坏了", absent("住址"))])  # a room once known is kept
    assert resident_row(sheli, "o_res").room == "5栋301"
    talk([(other, "6号楼电梯坏了", absent("住址"))])  # a building is not a room
    assert resident_row(sheli, "o_other").room is None


def test_a_phone_stays_on_the_ticket_until_the_resident_agrees(
    sheli: Any, person: Any, team: Any
) -> None:
    resident = person("o_res")
    talk = Dialogue()
    talk([(resident, "12栋1单元401厕所堵了 电话13812345678", ["#1", "保存电话"])])
    assert tickets(sheli)[0].phone == "13812345678"
    assert resident_row(sheli, "o_res").phone is None
    talk([(resident, "我的信息", "未留"), (resident, "保存电话", "138****5678")])
    assert resident_row(sheli, "o_res").phone == "13812345678"
    talk([(resident, "3栋502水龙头漏水", absent("保存电话"))])
    assert tickets(sheli)[1].phone == "13812345678"  # carried onto the next repair
    talk([(resident, "我的信息", "138****5678")])


def test_save_phone_with_a_number_or_without_any(sheli: Any, person: Any) -> None:
    resident = person("o_res")
    dialogue(
        [
            (resident, "保存电话", "没有找到你留过的电话"),
            (resident, "保存电话 13900000000", "139****0000"),
        ]
    )
    assert resident_row(sheli, "o_res").phone == "13900000000"


def test_my_info_lists_sign_ups(sheli: Any, person: Any) -> None:
    fair14 = fairs(sheli)[1]
    resident = person("o_res")

    def ends_with_how_to_erase(info: str) -> bool:
        return info.rstrip().endswith("回复「注销」可删除这些个人信息。")

    dialogue(
        [
            (resident, f"报名 {fair14}", None),
            (
                resident,
                "我的信息",
                [f"活动{fair14}遇荐九龙湾第14场（已报名）", ends_with_how_to_erase],
            ),
        ]
    )


def test_erasure_removes_personal_data_and_keeps_anonymous_counts(
    sheli: Any, person: Any, team: Any
) -> None:
    fair14 = fairs(sheli)[1]
    resident = person("o_res")
    talk = Dialogue()
    talk(
        [
            (resident, "登记 3栋502", None),
            (resident, "3栋502热水器坏了 电话13812345678", None),
            (resident, "保存电话", None),
            (resident, f"报名 {fair14}", None),
            (resident, "注销", "已删除"),
        ]
    )
    assert resident_row(sheli, "o_res") is None  # the openid is gone
    [ticket] = tickets(sheli)
    assert ticket.phone is None and "13812345678" not in ticket.text
    assert ticket.resident.room is None and ticket.resident.phone is None
    assert ticket.building == "3栋"  # still counted per building
    [signed] = sign_ups(sheli, fair14)
    assert signed.resident_id is None and signed.status == "confirmed"
    with sheli.uow() as uow:
        assert (
            community.event_detail(uow, sheli.policy, fair14, sheli.clock.now())["confirmed"] == 1
        )
    # writing again starts afresh
    talk([(resident, "我的信息", ["未登记", "工单：0件", absent("活动")])])


# --- summary, attendance ---------------------------------------------------------------------


def test_sign_ups_and_attendance_appear_in_the_weekly_summary(
    sheli: Any, person: Any, clock: Any
) -> None:
    fair = add_event(sheli, title="周三招聘会", starts_at="2026-11-25 09:00", capacity=1)
    came, waiting = person("o_a"), person("o_b")
    came.say(f"报名 {fair}")
    waiting.say(f"报名 {fair}")
    clock.advance(days=2, hours=6)  # after the fair
    with sheli.uow() as uow:
        community.mark_attendance(uow, fair, resident_row(sheli, "o_a").id, True, clock.now())
        uow.commit()
    with sheli.uow() as uow:
        week = week_of("2026-W48", clock.now(), sheli.policy.timezone)
        summary = compute_summary(uow, sheli.policy, week, clock.now())
    assert summary.extra["events"] == {
        "sign_ups": 2,
        "waiting": 1,
        "held": 1,
        "attended": 1,
        "attendance_marked": 1,
    }
    assert "活动：本周报名2人次（候补1），举办1场，签到1人。" in render_summary(
        summary, sheli.policy
    )
    assert summary.to_json()["extra"]["events"]["sign_ups"] == 2


def test_attendance_for_someone_who_did_not_sign_up_is_refused(sheli: Any, clock: Any) -> None:
    fair = add_event(sheli, title="周三招聘会", starts_at="2026-11-25 09:00")
    with sheli.uow() as uow, pytest.raises(ValueError, match="did not sign up"):
        community.mark_attendance(uow, fair, 42, True, clock.now())


# --- what the dashboard pages read -----------------------------------------------------------


def test_buildings_overview_counts_rooms_residents_and_requests(
    sheli: Any, person: Any, team: Any
) -> None:
    with sheli.uow() as uow:
        import_rooms(
            uow,
            [
                {"building": "3栋", "room": "501", "capacity": 6},
                {"building": "3栋", "room": "502", "capacity": 4},
            ],
        )
        uow.commit()
    person("o_a").say("登记 3栋502")
    person("o_b").say("3栋501水管漏水")
    person("o_c").say("8栋101门锁坏了")
    with sheli.uow() as uow:
        rows = {r["name"]: r for r in community.buildings_overview(uow)}
        detail = community.building_detail(uow, sheli.policy, "3栋")
    assert rows["3栋"] == {
        "name": "3栋",
        "imported": True,
        "rooms": 2,
        "capacity": 10,
        "residents": 2,
        "occupancy": 0.2,
        "requests": 1,
        "open_requests": 1,
    }
    assert rows["8栋"]["imported"] is False and rows["8栋"]["requests"] == 1
    assert [(r["label"], len(r["residents"])) for r in detail["rooms"]] == [
        ("3栋501", 1),
        ("3栋502", 1),
    ]
    assert [t["id"] for t in detail["tickets"]] == [1]


def test_resident_page_shows_tickets_and_sign_ups_with_a_masked_phone(
    sheli: Any, person: Any, team: Any
) -> None:
    fair14 = fairs(sheli)[1]
    resident = person("o_res")
    resident.say("3栋502热水器坏了 电话13812345678")
    resident.say("保存电话")
    resident.say(f"报名 {fair14}")
    with sheli.uow() as uow:
        page = community.resident_page(uow, sheli.policy, resident_row(sheli, "o_res").id)
    assert page["room"] == "3栋502" and page["phone"] == "138****5678"
    assert [t["id"] for t in page["tickets"]] == [1]
    assert page["sign_ups"] == [
        {"event": fair14, "title": "遇荐九龙湾第14场", "status": "confirmed", "attended": None}
    ]
    assert "o_res" not in str(page)


def test_event_rows_and_detail_for_the_events_page(sheli: Any, person: Any, clock: Any) -> None:
    past, fair14, *_ = fairs(sheli)
    for n in range(3):
        person(f"o_{n}").say(f"报名 {fair14}")
    with sheli.uow() as uow:
        rows = community.event_rows(uow, sheli.policy, clock.now())
        detail = community.event_detail(uow, sheli.policy, fair14, clock.now())
    assert rows[0]["title"] == "三官一律进网格" and rows[-1]["id"] == past and rows[-1]["past"]
    row = next(r for r in rows if r["id"] == fair14)
    assert (row["confirmed"], row["waiting"], row["capacity"]) == (2, 1, 2)
    assert row["local_start"] == "2026-11-28 09:00" and row["starts_at"] == "2026-11-28T01:00:00Z"
    assert [s["waiting_position"] for s in detail["sign_ups"]] == [None, None, 1]


def test_resources_and_a_volunteer_helping_on_a_ticket(
    sheli: Any, person: Any, team: Any, clock: Any
) -> None:
    with sheli.uow() as uow:
        import_resources(
            uow,
            {
                "alliance_units": [{"name": "华兴电子厂党支部", "category": "企业"}],
                "volunteers": [
                    {"name": "周师傅", "team": "党员维修志愿队", "phone": "13900001111"}
                ],
            },
        )
        uow.commit()
    person("o_res").say("3栋502热水器坏了")
    team["property_steward"].new_messages()
    with sheli.uow() as uow:
        [volunteer] = uow.resources.volunteers()
        community.assign_helper(uow, 1, volunteer.id, "operator:admin", clock.now())
        community.assign_helper(uow, 1, volunteer.id, "operator:admin", clock.now())  # once
        uow.commit()
    with sheli.uow() as uow:
        overview = community.resources_overview(uow, sheli.policy)
        kinds = [e.kind for e in uow.tickets.events(1)]
    assert kinds.count("helper_assigned") == 1
    [note] = team["property_steward"].new_messages()
    assert "周师傅" in note and "#1" in note
    [volunteer_team] = overview["volunteer_teams"]
    assert volunteer_team["volunteers"][0]["tickets_helped"] == 1
    assert volunteer_team["volunteers"][0]["phone"] == "139****1111"
    assert [r["role_name"] for r in overview["roles"]][:1] == ["支部联络员"]
    assert len(overview["roles"]) == 6
    assert overview["roles"][0]["staff"][0]["name"] == "李书记"


def test_sign_ups_reminders_and_erasure_on_each_database(
    db_url: str, make_sheli: Any, clock: Any
) -> None:
    sheli = make_sheli(db_url)
    fair = add_event(sheli, title="遇荐九龙湾", starts_at="2026-11-28 09:00", capacity=1)
    with sheli.uow() as uow:
        first = uow.residents.get_or_create("o_a", clock.now())
        second = uow.residents.get_or_create("o_b", clock.now())
        assert "报名成功" in community.sign_up(uow, sheli.policy, first, fair, clock.now())
        assert "候补" in community.sign_up(uow, sheli.policy, second, fair, clock.now())
        uow.commit()
    clock.advance(days=4, hours=1)
    with sheli.uow() as uow:
        assert len(community.send_event_reminders(uow, sheli.policy, clock.now())) == 1
        uow.commit()
    with sheli.uow() as uow:
        assert community.send_event_reminders(uow, sheli.policy, clock.now()) == []
        assert uow.events.forget_resident(first.id) == 1
        uow.commit()
    with sheli.uow() as uow:
        figures = community.week_figures(uow, datetime(2026, 11, 22), datetime(2026, 11, 30))
        [reminder] = [m for m in uow.outbox.for_recipient("o_a") if m.kind == "event"]
    assert (figures.sign_ups, figures.waiting, figures.held) == (2, 1, 1)
    assert reminder.dedupe_key == f"event-reminder:{fair}:{first.id}"
