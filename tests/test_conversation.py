"""Conversations with residents and staff, through real WeChat XML posted to the webhook."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import create_app
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


def ticket(sheli: Any, number: int) -> Any:
    with sheli.uow() as uow:
        found = uow.tickets.get(number)
        events = [e.kind for e in uow.tickets.events(number)] if found else []
    return found, events


# --- intake ----------------------------------------------------------------------------------


def test_repair_without_location_asks_and_the_next_message_fills_it(
    person: Any, team: Any, sheli: Any
) -> None:
    resident = person("o_res")
    assert "哪" in resident.say("热水器坏了 洗不了澡")
    reply = resident.say("3栋502")
    assert "#1" in reply and "张师傅" in reply
    found, events = ticket(sheli, 1)
    assert found.location == "3栋502" and found.text == "热水器坏了 洗不了澡"
    assert events[:2] == ["created", "assigned"]
    [task] = team["property_steward"].new_messages()
    assert "#1" in task and "3栋502" in task and "热水器" in task


def test_waiting_for_a_location_survives_a_restart(make_sheli: Any, team: Any, sheli: Any) -> None:
    first = Person(WeChatServer(create_app(sheli=sheli).test_client()), "o_res", sheli)
    assert "哪" in first.say("卫生间下水道堵了")
    restarted = make_sheli()  # a new process on the same database
    again = Person(WeChatServer(create_app(sheli=restarted).test_client()), "o_res", restarted)
    assert "#1" in again.say("B区2幢108")
    assert ticket(restarted, 1)[0].location == "B区2幢108"


def test_a_location_message_fills_the_missing_location(person: Any, team: Any, sheli: Any) -> None:
    resident = person("o_res")
    resident.say("门锁坏了锁不上")
    assert "#1" in resident.location("宿舍区6号楼")
    assert ticket(sheli, 1)[0].location == "宿舍区6号楼"


def test_asked_twice_without_an_answer_still_files_the_request(
    person: Any, team: Any, sheli: Any
) -> None:
    resident = person("o_res")
    resident.say("空调不制冷")
    assert "取消" in resident.say("就是那个房间啊")
    assert "#1" in resident.say("你们来看看就知道了")
    assert ticket(sheli, 1)[0].location is None


def test_waiting_state_expires_politely(person: Any, team: Any, sheli: Any, clock: Any) -> None:
    resident = person("o_res")
    resident.say("热水器坏了")
    clock.advance(hours=2)
    reply = resident.say("你好")
    assert "作废" in reply
    assert ticket(sheli, 1)[0] is None


def test_cancel_while_being_asked_for_a_location(person: Any, team: Any, sheli: Any) -> None:
    resident = person("o_res")
    resident.say("灯坏了")
    assert "取消" in resident.say("取消")
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
    person: Any, team: Any, sheli: Any, text: str, role: str, name: str
) -> None:
    reply = person("o_res").say(text)
    assert "#1" in reply and name in reply
    assert ticket(sheli, 1)[0].role == role
    assert any("#1" in m for m in team[role].new_messages())


def test_violence_goes_to_the_police_as_urgent(person: Any, team: Any, sheli: Any) -> None:
    reply = person("o_res").say("7栋203室友喝醉了拿刀威胁我")
    found = ticket(sheli, 1)[0]
    assert (found.role, found.urgent) == ("police_officer", True)
    assert "王警官" in reply and "110" in reply
    assert "紧急" in team["police_officer"].new_messages()[0]


def test_least_loaded_steward_gets_the_next_repair(sheli: Any, person: Any) -> None:
    hire(sheli, "property_steward", "张师傅", "o_zhang")
    hire(sheli, "property_steward", "孙师傅", "o_sun")
    resident = person("o_res")
    names = [resident.say(text) for text in ("3栋101水管漏水", "4栋202门锁坏了", "5栋303灯不亮")]
    assert "张师傅" in names[0] and "孙师傅" in names[1] and "张师傅" in names[2]


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


def test_phone_is_kept_and_masked_for_staff(person: Any, team: Any, sheli: Any) -> None:
    person("o_res").say("12栋1单元401厕所堵了 电话13812345678")
    assert ticket(sheli, 1)[0].phone == "13812345678"
    [task] = team["property_steward"].new_messages()
    assert "138****5678" in task and "13812345678" not in task


def test_same_broken_thing_twice_is_linked_not_duplicated(
    person: Any, team: Any, sheli: Any
) -> None:
    person("o_a").say("6号楼电梯坏了，卡在三楼不动")
    reply = person("o_b").say("6号楼电梯坏了")
    assert "#1" in reply and "关联" in reply
    assert ticket(sheli, 2)[0] is None
    assert "duplicate_report" in ticket(sheli, 1)[1]
    steward = team["property_steward"]
    steward.new_messages()
    steward.say("接单 1")
    assert any("#1" in m for m in person("o_b").new_messages())  # the second reporter hears too


# --- resident keywords -----------------------------------------------------------------------


def test_progress_lists_only_my_own_tickets(person: Any, team: Any) -> None:
    mine, theirs = person("o_mine"), person("o_theirs")
    mine.say("3栋502热水器坏了")
    theirs.say("老板拖欠工资怎么办")
    status = mine.say("进度")
    assert "#1" in status and "#2" not in status
    assert "还没有" in person("o_new").say("进度")


def test_cancel_my_ticket_by_number_tolerates_hash_and_full_width(
    person: Any, team: Any, sheli: Any
) -> None:
    resident = person("o_res")
    resident.say("3栋502热水器坏了")
    assert "已取消" in resident.say("取消 #１")
    assert ticket(sheli, 1)[0].status == "cancelled"
    assert any("取消" in m for m in team["property_steward"].new_messages())


def test_cannot_cancel_someone_elses_ticket(person: Any, team: Any, sheli: Any) -> None:
    person("o_a").say("3栋502热水器坏了")
    assert "没有找到" in person("o_b").say("取消 1")
    assert ticket(sheli, 1)[0].status == "assigned"


def test_cancel_in_words_cancels_the_newest_request(person: Any, team: Any, sheli: Any) -> None:
    resident = person("o_res")
    resident.say("3栋502热水器坏了")
    assert "#1" in resident.say("取消刚才的报修")
    assert ticket(sheli, 1)[0].status == "cancelled"


def test_human_hands_over_to_the_branch_liaison(person: Any, team: Any) -> None:
    resident = person("o_res")
    resident.say("老板拖欠工资三个月了")
    reply = resident.say("人工")
    assert "李书记" in reply
    [note] = team["branch_liaison"].new_messages()
    assert "人工" in note and "拖欠工资" in note


def test_status_changes_notify_the_resident(person: Any, team: Any) -> None:
    resident, steward = person("o_res"), team["property_steward"]
    resident.say("3栋502热水器坏了")
    steward.say("接单 1")
    steward.say("完成 1 已更换加热管")
    news = resident.new_messages()
    assert any("接单" in m and "#1" in m for m in news)
    assert any("已更换加热管" in m for m in news)


# --- staff -----------------------------------------------------------------------------------


def test_staff_bind_with_a_one_time_code(sheli: Any, person: Any) -> None:
    code = hire(sheli, "property_steward", "张师傅")
    assert code
    steward = person("o_new_phone")
    assert "绑定成功" in steward.say(f"绑定 {code}")
    assert "无效" in person("o_someone_else").say(f"绑定 {code}")  # single use
    assert "没有待办" in steward.say("任务")


def test_expired_bind_code_is_refused(sheli: Any, person: Any, clock: Any) -> None:
    code = hire(sheli, "grid_worker", "赵网格")
    clock.advance(days=4)
    assert "无效" in person("o_late").say(f"绑定 {code}")


def test_every_staff_keyword(person: Any, team: Any, sheli: Any) -> None:
    resident, steward = person("o_res"), team["property_steward"]
    resident.say("3栋502热水器坏了")
    tasks = steward.say("任务")
    assert "#1" in tasks and "3栋502" in tasks
    assert "已接单 #1" in steward.say("接单 #1")
    assert "备注已记录" in steward.say("备注 1 明天上午带配件来")
    assert "转派给" in steward.say("转派 1 网格员")
    assert any("转派任务 #1" in m for m in team["grid_worker"].new_messages())
    grid = team["grid_worker"]
    assert "已接单" in grid.say("接单 1")
    assert "处理说明" in grid.say("完成 1")
    assert "已办结" in grid.say("完成 1 已协调物业更换热水器")
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


def test_transfer_accepts_the_chinese_name_or_the_key(person: Any, team: Any, sheli: Any) -> None:
    person("o_res").say("3栋502热水器坏了")
    assert "法律顾问" in team["property_steward"].say("转派 1 legal_adviser")
    assert "没有「保安」" in team["legal_adviser"].say("转派 1 保安")


def test_only_the_assignee_or_liaison_may_act(person: Any, team: Any, sheli: Any) -> None:
    person("o_res").say("3栋502热水器坏了")
    assert "不在你的任务" in team["legal_adviser"].say("接单 1")
    assert ticket(sheli, 1)[0].status == "assigned"
    assert "已接单" in team["branch_liaison"].say("接单 1")


def test_a_resident_using_staff_keywords_is_refused_politely(
    person: Any, team: Any, sheli: Any
) -> None:
    resident = person("o_res")
    resident.say("3栋502热水器坏了")
    for words in ("任务", "接单 1", "完成 1 好了", "转派 1 民警", "备注 1 哈哈"):
        assert "工作人员" in resident.say(words)
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


def test_image_attaches_to_the_newest_open_ticket(person: Any, team: Any, sheli: Any) -> None:
    resident = person("o_res")
    assert "没有办理中" in resident.image()
    resident.say("3栋502热水器坏了")
    assert "#1" in resident.image("media-42")
    with sheli.uow() as uow:
        [attachment] = uow.tickets.attachments(1)
    assert attachment.media_id == "media-42"


def test_subscribe_gets_a_welcome_with_the_menu(person: Any) -> None:
    reply = person("o_new").event("subscribe")
    assert reply.text and "欢迎" in reply.text and "进度" in reply.text


def test_unsubscribe_is_silent(person: Any) -> None:
    reply = person("o_new").event("unsubscribe")
    assert reply.status == 200 and reply.body == "success"


def test_menu_click_starts_the_matching_flow(person: Any, team: Any, sheli: Any) -> None:
    resident = person("o_res")
    prompt = resident.event("CLICK", "LEGAL").text
    assert prompt and "法律" in prompt
    assert "#1" in resident.say("我在工地上摔伤了")
    assert ticket(sheli, 1)[0].intent == "legal_consult"
    assert "#1" in (resident.event("CLICK", "PROGRESS").text or "")


def test_greeting_thanks_and_nonsense(person: Any, sheli: Any) -> None:
    resident = person("o_res")
    assert "你好" in resident.say("你好")
    assert "不客气" in resident.say("谢谢你们")
    assert "没太明白" in resident.say("今天天气怎么样")
    assert ticket(sheli, 1)[0] is None


def test_menu_repair_then_a_location_message_opens_the_ticket(
    person: Any, team: Any, sheli: Any
) -> None:
    resident = person("o_res")
    resident.event("CLICK", "REPAIR")
    assert "哪" in resident.say("热水器坏了")
    assert "#1" in resident.location("3栋502")
    assert ticket(sheli, 1)[0].location == "3栋502"


def test_a_registered_room_is_used_when_a_repair_names_no_place(
    person: Any, team: Any, sheli: Any
) -> None:
    resident = person("o_res")
    assert "3栋502" in resident.say("登记 3栋502")
    assert "#1" in resident.say("热水器坏了，没有热水")
    assert ticket(sheli, 1)[0].location == "3栋502"


def test_cancel_in_words_naming_a_ticket_cancels_that_one(
    person: Any, team: Any, sheli: Any
) -> None:
    resident = person("o_res")
    resident.say("3栋502热水器坏了")
    resident.say("老板拖欠工资怎么办")
    assert "#1" in resident.say("帮我把#1取消了，不用修了")
    assert ticket(sheli, 1)[0].status == "cancelled"
    assert ticket(sheli, 2)[0].status == "assigned"


def test_a_different_problem_in_the_same_room_is_not_a_duplicate(
    person: Any, team: Any, sheli: Any
) -> None:
    resident = person("o_res")
    resident.say("3栋502热水器坏了")
    reply = resident.say("3栋502厕所也堵了")
    assert "#2" in reply and "关联" not in reply


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


def test_the_room_used_for_a_repair_is_said_in_the_reply(
    person: Any, team: Any, sheli: Any
) -> None:
    resident = person("o_res")
    resident.say("登记 3栋502")
    assert "3栋502" in resident.say("空调不制冷")


def test_a_whole_ticket_life_on_each_database(make_sheli: Any, db_url: str, clock: Any) -> None:
    """Intake, routing, staff work, the visit, cancellation and a linked duplicate — on SQLite and PostgreSQL."""
    from bot.scheduler import run_due

    sheli = make_sheli(url=db_url)
    server = WeChatServer(create_app(sheli=sheli).test_client())
    code = hire(sheli, "property_steward", "张师傅")
    hire(sheli, "branch_liaison", "李书记", "o_li")
    steward, resident, neighbour = (Person(server, o, sheli) for o in ("o_zhang", "o_res", "o_nb"))
    assert "绑定成功" in steward.say(f"绑定 {code}")
    assert "哪" in resident.say("热水器坏了 电话13812345678")
    assert "#1" in resident.say("3栋502")
    assert "关联" in neighbour.say("3栋502热水器坏了")
    assert "#2" in resident.say("6号楼电梯坏了")
    assert "已取消" in resident.say("取消 2")
    assert "已接单" in steward.say("接单 1")
    assert "已办结" in steward.say("完成 1 换了加热管")
    clock.advance(hours=25)
    run_due(sheli)
    assert any("回访" in m for m in resident.new_messages())
    assert "5分" in resident.say("5")
    with sheli.uow() as uow:
        first, second = uow.tickets.get(1), uow.tickets.get(2)
        events = [e.kind for e in uow.tickets.events(1)]
    assert first is not None and second is not None
    assert (first.status, first.rating, first.phone) == ("closed", 5, "13812345678")
    assert second.status == "cancelled"
    assert events[:5] == ["created", "assigned", "duplicate_report", "accepted", "resolved"]
    assert any("#1" in m for m in neighbour.new_messages())  # the linked neighbour heard too
