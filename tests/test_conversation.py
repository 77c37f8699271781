"""Conversations with residents and staff, through real WeChat XML posted to the webhook."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import create_app
from tests.dialogue import (
    INBOX,
    Dialogue,
    Do,
    Event,
    Image,
    Location,
    absent,
    dialogue,
    first,
    only,
    some,
)
from tests.helpers import hire
from tests.wechat import Person, WeChatServer

ROLES = {
    "branch_liaison": "李书记",
    "police_officer": "王警官",
    "grid_worker": "赵网格",
    "property_steward": "张师傅",
    "legal_adviser": "陈律师",
    "employment_liaison": "刘专员",
}


@pytest.fixture
def team(sheli: Any, person: Any) -> dict[str, Person]:
    """One bound staff member per role, as chat partners keyed by role."""
    people = {}
    for role, name in ROLES.items():
        hire(sheli, role, name, openid=f"o_{role}")
        people[role] = person(f"o_{role}")
    return people


@pytest.fixture
def people(team: dict[str, Person], person: Any) -> dict[str, Person]:
    """The team by role, and residents to talk to them."""
    residents = {name: person(f"o_{name}") for name in ("resident", "neighbour", "newcomer")}
    return {**team, **residents}


def ticket(sheli: Any, number: int) -> Any:
    with sheli.uow() as uow:
        found = uow.tickets.get(number)
        events = [e.kind for e in uow.tickets.events(number)] if found else []
    return found, events


# --- intake ----------------------------------------------------------------------------------


def test_repair_without_location_asks_and_the_next_message_fills_it(
    people: Any, sheli: Any
) -> None:
    dialogue(
        [
            ("resident", "热水器坏了 洗不了澡", "哪"),
            ("resident", "3栋502", ["#1", "张师傅"]),
            ("property_steward", INBOX, only("#1", "3栋502", "热水器")),
        ],
        people,
    )
    found, events = ticket(sheli, 1)
    assert found.location == "3栋502" and found.text == "热水器坏了 洗不了澡"
    assert events[:2] == ["created", "assigned"]


def test_waiting_for_a_location_survives_a_restart(make_sheli: Any, team: Any, sheli: Any) -> None:
    first = Person(WeChatServer(create_app(sheli=sheli).test_client()), "o_res", sheli)
    assert "哪" in first.say("卫生间下水道堵了")
    restarted = make_sheli()  # a new process on the same database
    again = Person(WeChatServer(create_app(sheli=restarted).test_client()), "o_res", restarted)
    assert "#1" in again.say("B区2幢108")
    assert ticket(restarted, 1)[0].location == "B区2幢108"


def test_a_location_message_fills_the_missing_location(people: Any, sheli: Any) -> None:
    dialogue(
        [
            ("resident", "门锁坏了锁不上", None),
            ("resident", Location("宿舍区6号楼"), "#1"),
        ],
        people,
    )
    assert ticket(sheli, 1)[0].location == "宿舍区6号楼"


def test_asked_twice_without_an_answer_still_files_the_request(people: Any, sheli: Any) -> None:
    dialogue(
        [
            ("resident", "空调不制冷", None),
            ("resident", "就是那个房间啊", "取消"),
            ("resident", "你们来看看就知道了", "#1"),
        ],
        people,
    )
    assert ticket(sheli, 1)[0].location is None


def test_waiting_state_expires_politely(people: Any, sheli: Any, clock: Any) -> None:
    dialogue(
        [
            ("resident", "热水器坏了", None),
            Do("two hours later", lambda: clock.advance(hours=2)),
            ("resident", "你好", "作废"),
        ],
        people,
    )
    assert ticket(sheli, 1)[0] is None


def test_cancel_while_being_asked_for_a_location(people: Any, sheli: Any) -> None:
    dialogue([("resident", "灯坏了", None), ("resident", "取消", "取消")], people)
    assert ticket(sheli, 1)[0] is None


@pytest.mark.parametrize(
    ("text", "role", "name"),
    [
        ("5栋301的空调坏了，一直滴水", "property_steward", "张师傅"),
        ("隔壁宿舍天天半夜打游戏大声吵，说了也不听", "grid_worker", "赵网格"),
        ("老板拖欠了我三个月工资不给，怎么办", "legal_adviser", "陈律师"),
        ("最近有没有招聘会，想找个电子厂的工作", "employment_liaison", "刘专员"),
    ],
)
def test_each_ticket_intent_reaches_its_role(
    people: Any, sheli: Any, text: str, role: str, name: str
) -> None:
    dialogue([("resident", text, ["#1", name]), (role, INBOX, "#1")], people)
    assert ticket(sheli, 1)[0].role == role


def test_violence_goes_to_the_police_as_urgent(people: Any, sheli: Any) -> None:
    dialogue(
        [
            ("resident", "7栋203室友喝醉了拿刀威胁我", ["王警官", "110"]),
            ("police_officer", INBOX, first("紧急")),
        ],
        people,
    )
    found = ticket(sheli, 1)[0]
    assert (found.role, found.urgent) == ("police_officer", True)


def test_least_loaded_steward_gets_the_next_repair(sheli: Any, person: Any) -> None:
    hire(sheli, "property_steward", "张师傅", "o_zhang")
    hire(sheli, "property_steward", "孙师傅", "o_sun")
    resident = person("o_res")
    dialogue(
        [
            (resident, "3栋101水管漏水", "张师傅"),
            (resident, "4栋202门锁坏了", "孙师傅"),
            (resident, "5栋303灯不亮", "张师傅"),
        ]
    )


def test_no_staff_for_the_role_goes_to_the_branch_liaison(sheli: Any, person: Any) -> None:
    hire(sheli, "branch_liaison", "李书记", "o_li")
    reply = person("o_res").say("老板不给签劳动合同合法吗")
    assert "李书记" in reply
    assert ticket(sheli, 1)[0].role == "branch_liaison"


def test_nobody_bound_at_all_keeps_the_ticket_open_not_dropped(sheli: Any, person: Any) -> None:
    reply = person("o_res").say("3栋502热水器坏了")
    assert "#1" in reply and "安排" in reply
    found, events = ticket(sheli, 1)
    assert found.status == "open" and "unassigned" in events


def test_phone_is_kept_and_masked_for_staff(people: Any, sheli: Any) -> None:
    dialogue(
        [
            ("resident", "12栋1单元401厕所堵了 电话13812345678", None),
            ("property_steward", INBOX, only("138****5678", absent("13812345678"))),
        ],
        people,
    )
    assert ticket(sheli, 1)[0].phone == "13812345678"


def test_same_broken_thing_twice_is_linked_not_duplicated(people: Any, sheli: Any) -> None:
    talk = Dialogue(people)
    talk(
        [
            ("resident", "6号楼电梯坏了，卡在三楼不动", None),
            ("neighbour", "6号楼电梯坏了", ["#1", "关联"]),
        ]
    )
    assert ticket(sheli, 2)[0] is None
    assert "duplicate_report" in ticket(sheli, 1)[1]
    talk(
        [
            ("property_steward", INBOX, None),
            ("property_steward", "接单 1", None),
            ("neighbour", INBOX, "#1"),  # the second reporter hears too
        ]
    )


# --- resident keywords -----------------------------------------------------------------------


def test_progress_lists_only_my_own_tickets(people: Any) -> None:
    dialogue(
        [
            ("resident", "3栋502热水器坏了", None),
            ("neighbour", "老板拖欠工资怎么办", None),
            ("resident", "进度", ["#1", absent("#2")]),
            ("newcomer", "进度", "还没有"),
        ],
        people,
    )


def test_cancel_my_ticket_by_number_tolerates_hash_and_full_width(people: Any, sheli: Any) -> None:
    dialogue(
        [
            ("resident", "3栋502热水器坏了", None),
            ("resident", "取消 #１", "已取消"),
            ("property_steward", INBOX, "取消"),
        ],
        people,
    )
    assert ticket(sheli, 1)[0].status == "cancelled"


def test_cannot_cancel_someone_elses_ticket(people: Any, sheli: Any) -> None:
    dialogue([("resident", "3栋502热水器坏了", None), ("neighbour", "取消 1", "没有找到")], people)
    assert ticket(sheli, 1)[0].status == "assigned"


def test_cancel_in_words_asks_first_and_the_confirmation_cancels(people: Any, sheli: Any) -> None:
    # Deliberately changed (issue 14): a cancel in words is confirmed before anything happens.
    dialogue(
        [
            ("resident", "3栋502热水器坏了", None),
            ("resident", "取消刚才的报修", ["确认取消 #1（热水器坏了）", "「确认」"]),
            ("property_steward", INBOX, None),
        ],
        people,
    )
    assert ticket(sheli, 1)[0].status == "assigned"
    dialogue(
        [
            ("resident", "确认", "#1 已取消"),
            ("property_steward", INBOX, only("#1", "取消")),
        ],
        people,
    )
    assert ticket(sheli, 1)[0].status == "cancelled"


def test_human_hands_over_to_the_branch_liaison(people: Any) -> None:
    dialogue(
        [
            ("resident", "老板拖欠工资三个月了", None),
            ("resident", "人工", "李书记"),
            ("branch_liaison", INBOX, only("人工", "拖欠工资")),
        ],
        people,
    )


def test_status_changes_notify_the_resident(people: Any) -> None:
    dialogue(
        [
            ("resident", "3栋502热水器坏了", None),
            ("property_steward", "接单 1", None),
            ("property_steward", "完成 1 已更换加热管", None),
            ("resident", INBOX, [some("接单", "#1"), some("已更换加热管")]),
        ],
        people,
    )


# --- staff -----------------------------------------------------------------------------------


def test_staff_bind_with_a_one_time_code(sheli: Any, person: Any) -> None:
    code = hire(sheli, "property_steward", "张师傅")
    assert code
    dialogue(
        [
            ("new phone", f"绑定 {code}", "绑定成功"),
            ("someone else", f"绑定 {code}", "无效"),  # single use
            ("new phone", "任务", "没有待办"),
        ],
        {"new phone": person("o_new_phone"), "someone else": person("o_someone_else")},
    )


def test_expired_bind_code_is_refused(sheli: Any, person: Any, clock: Any) -> None:
    code = hire(sheli, "grid_worker", "赵网格")
    dialogue(
        [
            Do("four days later", lambda: clock.advance(days=4)),
            (person("o_late"), f"绑定 {code}", "无效"),
        ]
    )


def test_every_staff_keyword(people: Any, sheli: Any) -> None:
    dialogue(
        [
            ("resident", "3栋502热水器坏了", None),
            ("property_steward", "任务", ["#1", "3栋502"]),
            ("property_steward", "接单 #1", "已接单 #1"),
            ("property_steward", "备注 1 明天上午带配件来", "备注已记录"),
            ("property_steward", "转派 1 网格员", "转派给"),
            ("grid_worker", INBOX, "转派任务 #1"),
            ("grid_worker", "接单 1", "已接单"),
            ("grid_worker", "完成 1", "处理说明"),
            ("grid_worker", "完成 1 已协调物业更换热水器", "已办结"),
        ],
        people,
    )
    found, events = ticket(sheli, 1)
    assert found.status == "resolved" and found.resolution == "已协调物业更换热水器"
    assert events == [
        "created",
        "assigned",
        "accepted",
        "note",
        "transferred",
        "assigned",
        "accepted",
        "resolved",
    ]


def test_transfer_accepts_the_chinese_name_or_the_key(people: Any) -> None:
    dialogue(
        [
            ("resident", "3栋502热水器坏了", None),
            ("property_steward", "转派 1 legal_adviser", "法律顾问"),
            ("legal_adviser", "转派 1 保安", "没有「保安」"),
        ],
        people,
    )


def test_only_the_assignee_or_liaison_may_act(people: Any, sheli: Any) -> None:
    talk = Dialogue(people)
    talk(
        [
            ("resident", "3栋502热水器坏了", None),
            ("legal_adviser", "接单 1", "不在你的任务"),
        ]
    )
    assert ticket(sheli, 1)[0].status == "assigned"
    talk([("branch_liaison", "接单 1", "已接单")])


def test_a_resident_using_staff_keywords_is_refused_politely(people: Any, sheli: Any) -> None:
    staff_words = ("任务", "接单 1", "完成 1 好了", "转派 1 民警", "备注 1 哈哈")
    dialogue(
        [
            ("resident", "3栋502热水器坏了", None),
            *(("resident", words, "工作人员") for words in staff_words),
        ],
        people,
    )
    found, events = ticket(sheli, 1)
    assert found.status == "assigned" and events == ["created", "assigned"]


def test_unknown_ticket_number(team: Any) -> None:
    assert "没有找到工单 #99" in team["property_steward"].say("接单 99")


# --- message kinds ---------------------------------------------------------------------------


def test_voice_uses_the_recognition_text(person: Any, team: Any, sheli: Any) -> None:
    reply = person("o_res").voice("八栋三零五的灯不亮了")
    assert "#1" in reply
    assert ticket(sheli, 1)[0].intent == "repair"


def test_voice_without_recognition_asks_to_type(person: Any, sheli: Any) -> None:
    assert "打字" in person("o_res").voice(None)


def test_image_attaches_to_the_newest_open_ticket(people: Any, sheli: Any) -> None:
    dialogue(
        [
            ("resident", Image(), "没有办理中"),
            ("resident", "3栋502热水器坏了", None),
            ("resident", Image("media-42"), "#1"),
        ],
        people,
    )
    with sheli.uow() as uow:
        [attachment] = uow.tickets.attachments(1)
    assert attachment.media_id == "media-42"


def test_subscribe_gets_a_welcome_with_the_menu(person: Any) -> None:
    reply = person("o_new").event("subscribe")
    assert reply.text and "欢迎" in reply.text and "进度" in reply.text


def test_unsubscribe_is_silent(person: Any) -> None:
    reply = person("o_new").event("unsubscribe")
    assert reply.status == 200 and reply.body == "success"


def test_menu_click_starts_the_matching_flow(people: Any, sheli: Any) -> None:
    talk = Dialogue(people)
    talk(
        [
            ("resident", Event("CLICK", "LEGAL"), "法律"),
            ("resident", "我在工地上摔伤了", "#1"),
        ]
    )
    assert ticket(sheli, 1)[0].intent == "legal_consult"
    talk([("resident", Event("CLICK", "PROGRESS"), "#1")])


def test_greeting_thanks_and_nonsense(person: Any, sheli: Any) -> None:
    resident = person("o_res")
    dialogue(
        [
            (resident, "你好", "你好"),
            (resident, "谢谢你们", "不客气"),
            (resident, "今天天气怎么样", "没太明白"),
        ]
    )
    assert ticket(sheli, 1)[0] is None


def test_menu_repair_then_a_location_message_opens_the_ticket(people: Any, sheli: Any) -> None:
    dialogue(
        [
            ("resident", Event("CLICK", "REPAIR"), None),
            ("resident", "热水器坏了", "哪"),
            ("resident", Location("3栋502"), "#1"),
        ],
        people,
    )
    assert ticket(sheli, 1)[0].location == "3栋502"


def test_a_registered_room_is_used_when_a_repair_names_no_place(people: Any, sheli: Any) -> None:
    dialogue(
        [
            ("resident", "登记 3栋502", "3栋502"),
            ("resident", "热水器坏了，没有热水", "#1"),
        ],
        people,
    )
    assert ticket(sheli, 1)[0].location == "3栋502"


def test_cancel_in_words_naming_a_ticket_cancels_that_one(people: Any, sheli: Any) -> None:
    dialogue(
        [
            ("resident", "3栋502热水器坏了", None),
            ("resident", "老板拖欠工资怎么办", None),
            ("resident", "帮我把#1取消了，不用修了", "确认取消 #1"),
            ("resident", "好的", "#1 已取消"),
        ],
        people,
    )
    assert ticket(sheli, 1)[0].status == "cancelled"
    assert ticket(sheli, 2)[0].status == "assigned"


def test_a_different_problem_in_the_same_room_is_not_a_duplicate(people: Any) -> None:
    dialogue(
        [
            ("resident", "3栋502热水器坏了", None),
            ("resident", "3栋502厕所也堵了", ["#2", absent("关联")]),
        ],
        people,
    )


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("6号楼电梯坏了，卡在三楼不动", "6号楼电梯坏了", True),
        ("3栋502热水器坏了", "3栋502的热水器又不出热水了", True),
        ("3栋502热水器坏了", "3栋502厕所堵了", False),
        ("5栋灯坏了", "5栋门坏了", False),
    ],
)
def test_same_problem(first: str, second: str, same: bool) -> None:
    from handlers.tickets import same_problem

    location = first[: first.index("栋") + 1] if "栋" in first else "6号楼"
    location = "3栋502" if "3栋502" in first else location
    assert same_problem(first, second, location) is same


def test_the_room_used_for_a_repair_is_said_in_the_reply(people: Any) -> None:
    dialogue([("resident", "登记 3栋502", None), ("resident", "空调不制冷", "3栋502")], people)


def test_a_whole_ticket_life_on_each_database(make_sheli: Any, db_url: str, clock: Any) -> None:
    """Intake, routing, staff work, the visit, cancellation and a linked duplicate — on SQLite and PostgreSQL."""
    from bot.scheduler import run_due

    sheli = make_sheli(url=db_url)
    server = WeChatServer(create_app(sheli=sheli).test_client())
    code = hire(sheli, "property_steward", "张师傅")
    hire(sheli, "branch_liaison", "李书记", "o_li")
    people = {name: Person(server, f"o_{name}", sheli) for name in ("zhang", "res", "nb")}
    talk = Dialogue(people)
    talk(
        [
            ("zhang", f"绑定 {code}", "绑定成功"),
            ("res", "热水器坏了 电话13812345678", "哪"),
            ("res", "3栋502", "#1"),
            ("nb", "3栋502热水器坏了", "关联"),
            ("res", "6号楼电梯坏了", "#2"),
            ("res", "取消 2", "已取消"),
            ("zhang", "接单 1", "已接单"),
            ("zhang", "完成 1 换了加热管", "已办结"),
            Do("25 hours later", lambda: clock.advance(hours=25)),
            Do("the scheduler runs", lambda: run_due(sheli)),
            ("res", INBOX, "回访"),
            ("res", "5", "5分"),
        ]
    )
    with sheli.uow() as uow:
        first, second = uow.tickets.get(1), uow.tickets.get(2)
        events = [e.kind for e in uow.tickets.events(1)]
    assert first is not None and second is not None
    assert (first.status, first.rating, first.phone) == ("closed", 5, "13812345678")
    assert second.status == "cancelled"
    assert events[:5] == ["created", "assigned", "duplicate_report", "accepted", "resolved"]
    talk([("nb", INBOX, "#1")])  # the linked neighbour heard too
