"""Findings from using Sheli as residents and staff would (notes/findings.md), intake side:
a bare place, violence words, answers to a 人工 conversation, floods and staff threads, the
cancel list, chasing an open ticket, public facilities, and the truth about who is on duty."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.keywords import involves_violence
from tests.dialogue import INBOX, NOTHING, Dialogue, absent, count, first, last, only, some
from tests.helpers import hire

TEAM = {
    "branch_liaison": ("陈联络员", "o_liaison"),
    "property_steward": ("王师傅", "o_steward"),
    "grid_worker": ("赵网格", "o_grid"),
    "police_officer": ("钱警官", "o_police"),
    "legal_adviser": ("陈律师", "o_lawyer"),
}


@pytest.fixture
def talk(sheli: Any, person: Any) -> Dialogue:
    for role, (name, openid) in TEAM.items():
        hire(sheli, role, name, openid)
    return Dialogue(
        {
            "resident": person("o_res"),
            "neighbour": person("o_nb"),
            "liaison": person("o_liaison"),
            "steward": person("o_steward"),
            "grid": person("o_grid"),
            "police": person("o_police"),
        }
    )


def tickets(sheli: Any) -> list[Any]:
    with sheli.uow() as uow:
        return list(uow.tickets.list())


# --- 2. a bare place files nothing ------------------------------------------------------------


def test_a_bare_place_with_nothing_open_asks_what_is_wrong(talk: Dialogue, sheli: Any) -> None:
    talk(
        [
            ("resident", "隔壁宿舍天天半夜打游戏大声吵，说了也不听", "#1"),
            ("resident", "6栋", ["6栋怎么了", absent("#2"), absent("已登记")]),
            ("resident", "电梯坏了 一直停在三楼", ["#2", "物业管家王师傅"]),
            ("steward", INBOX, only("【新任务 #2】", "地点：6栋")),
            ("resident", "5栋301", ["5栋301怎么了", absent("#3")]),
        ]
    )
    assert [(t.id, t.intent, t.location) for t in tickets(sheli)] == [
        (1, "mediation", None),
        (2, "repair", "6栋"),
    ]


def test_after_a_bare_place_something_else_is_read_as_what_it_says(talk: Dialogue) -> None:
    talk(
        [
            ("resident", "3栋", "3栋怎么了"),
            ("resident", "进度", "还没有办理中"),
            ("resident", "3栋", "3栋怎么了"),
            ("resident", "老板拖欠了我三个月工资", ["#1", "陈律师"]),
        ]
    )


# --- 3. everyday words are not violence --------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "舍友老是偷用我的东西还不承认",
        "隔壁宿舍的人每天早上抢厕所 吵了好几回了",
        "给室友打了好几次电话都不接 他欠我500块不还",
        "室友血压高 晚上老咳嗽吵得我睡不着",
        "他这人刀子嘴豆腐心 就是嗓门大",
        "他天天打游戏打到半夜",
        "室友偷偷抽烟 说了也不听",
    ],
)
def test_everyday_words_are_not_violence(text: str) -> None:
    assert not involves_violence(text)


@pytest.mark.parametrize(
    "text",
    [
        "7栋203室友喝醉了拿刀威胁我",
        "隔壁把我室友打了",
        "他打我",
        "有人打架了 快来",
        "室友偷了我的手机",
        "我的钱包被偷了",
        "被人抢了手机",
        "他说要弄死我",
        "打出血了",
        "头上流血了",
        "他拿着菜刀在走廊",
    ],
)
def test_violence_threats_and_theft_still_are(text: str) -> None:
    assert involves_violence(text)


def test_a_squabble_goes_to_the_grid_worker_not_the_police(talk: Dialogue, sheli: Any) -> None:
    talk(
        [
            (
                "resident",
                "隔壁宿舍的人每天早上抢厕所 吵了好几回了",
                ["#1", "赵网格", absent("110")],
            ),
            ("police", INBOX, NOTHING),
            ("grid", INBOX, only("【新任务 #1】", absent("紧急"))),
        ]
    )
    [squabble] = tickets(sheli)
    assert (squabble.role, squabble.urgent) == ("grid_worker", False)


# --- 4. the answer to a 人工 conversation joins it ---------------------------------------------


def test_an_answer_to_the_liaison_after_human_joins_that_ticket(talk: Dialogue, sheli: Any) -> None:
    talk(
        [
            ("resident", "人工", "#1"),
            ("liaison", INBOX, "【人工求助 #1】"),
            ("liaison", "回复 1 你好 有什么需要帮忙的", "已转给 #1"),
            ("resident", INBOX, "有什么需要帮忙的"),
            ("resident", "我刚来这里 不知道怎么办居住证", ["已转给 #1", absent("#2")]),
            ("liaison", INBOX, only("【#1 住户回复】我刚来这里 不知道怎么办居住证")),
            ("resident", "还有 我的社保卡丢了怎么补办", ["已转给 #1", absent("#2")]),
        ]
    )
    assert len(tickets(sheli)) == 1


def test_a_residence_permit_question_is_not_hardship(sheli: Any) -> None:
    for text in ("我刚来这里 不知道怎么办居住证", "居住证在哪里办", "暂住证怎么办理"):
        parsed = sheli.parser.parse(text)
        assert parsed.intent == "ask_human", (text, parsed.intent)


# --- 5. the ticket limit does not stop answers to staff ----------------------------------------


FLOOD = ["3栋501热水器坏了", "3栋501门锁坏了锁不上", "3栋501空调不制冷", "3栋501水管漏水了"]


def test_after_a_flood_the_resident_can_still_answer_staff_and_add(
    talk: Dialogue, sheli: Any
) -> None:
    talk([("resident", text, f"#{n}") for n, text in enumerate([*FLOOD, "3栋501灯不亮了"], 1)])
    talk(
        [
            ("resident", "3栋501窗户关不上", "已经提了5件"),
            ("liaison", INBOX, some("频繁提交提醒")),
            ("liaison", "回复 5 你好 你是不是有很多问题 哪个最急", "已转给 #5"),
            ("resident", INBOX, "哪个最急"),
            ("resident", "窗户关不上最急 晚上冷得睡不着", ["已转给 #5", absent("已经提了")]),
            ("steward", INBOX, last("【#5 住户回复】窗户关不上最急")),
            ("resident", "补充 1 热水器是万和的", ["已转给 #1", absent("已经提了")]),
        ]
    )
    assert len(tickets(sheli)) == 5


# --- 6. a bare number after the cancel list ----------------------------------------------------


def test_a_number_after_the_cancel_list_cancels_that_ticket(talk: Dialogue, sheli: Any) -> None:
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("resident", "3栋502门锁坏了锁不上", "#2"),
            ("resident", "取消", ["要取消哪一单", "#2", "#1"]),
            ("resident", "2", ["#2 已取消", absent("谢谢你的反馈")]),
            ("resident", "取消", "确认取消 #1"),
            ("resident", "不用了", "不取消"),
        ]
    )
    assert [t.status for t in tickets(sheli)] == ["assigned", "cancelled"]


def test_a_hash_number_or_one_not_on_the_list(talk: Dialogue, sheli: Any) -> None:
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("resident", "3栋502门锁坏了锁不上", "#2"),
            ("resident", "3栋502空调不制冷", "#3"),
            ("resident", "取消", "要取消哪一单"),
            ("resident", "7", ["#7 不在", "#3", "#1"]),
            ("resident", "#1", "#1 已取消"),
        ]
    )
    assert [t.status for t in tickets(sheli)] == ["cancelled", "assigned", "assigned"]


# --- 7. chasing an open ticket joins it --------------------------------------------------------


def test_chasing_the_same_problem_joins_the_open_ticket(talk: Dialogue, sheli: Any) -> None:
    talk(
        [
            ("resident", "登记 3栋502", "3栋502"),
            ("resident", "我们楼道的灯不亮了", "#1"),
            ("steward", INBOX, "#1"),
            ("resident", "灯还是没修好啊 都好几天了", ["#1", "王师傅", absent("#2")]),
            ("steward", INBOX, only("#1", "灯还是没修好啊")),
            ("resident", "3栋502热水器坏了", ["#2", absent("#1")]),
        ]
    )
    assert len(tickets(sheli)) == 2


def test_the_same_kind_of_problem_somewhere_else_is_a_new_ticket(
    talk: Dialogue, sheli: Any
) -> None:
    talk(
        [
            ("resident", "3栋502灯不亮了", "#1"),
            ("resident", "5栋301灯也不亮了", ["#2", absent("#1")]),
        ]
    )
    assert len(tickets(sheli)) == 2


# --- 22. a public facility is filed at the building, not the room ------------------------------


def test_a_public_facility_is_filed_at_the_residents_building(talk: Dialogue, sheli: Any) -> None:
    talk(
        [
            ("resident", "登记 3栋502", "3栋502"),
            ("resident", "我们楼道的灯不亮了", ["#1", "3栋楼道", absent("3栋502")]),
            ("steward", INBOX, only("地点：3栋楼道")),
            ("resident", "厕所堵了", ["#2", "3栋502"]),
        ]
    )
    assert [t.location for t in tickets(sheli)] == ["3栋楼道", "3栋502"]


# --- 8, 9, 10, 11: nobody on duty is said, and the ticket waits for somebody -------------------


def test_a_transfer_nobody_can_take_tells_the_residents_the_truth(sheli: Any, person: Any) -> None:
    hire(sheli, "property_steward", "王师傅", "o_steward")
    talk = Dialogue({"resident": person("o_res"), "steward": person("o_steward")})
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("steward", "转派 1 网格员", "待分派"),
            (
                "resident",
                INBOX,
                only("#1", "暂时没有在岗", "有人上岗后", absent("已转给网格员处理")),
            ),
        ]
    )


def test_waiting_tickets_go_to_whoever_comes_on_duty(sheli: Any, person: Any) -> None:
    from handlers.commands import AddStaff

    talk = Dialogue(
        {
            "resident": person("o_res"),
            "other": person("o_other"),
            "grid": person("o_grid"),
            "liaison": person("o_liaison"),
        }
    )
    talk(
        [
            ("resident", "隔壁宿舍天天半夜打游戏大声吵", ["#1", "暂时没有在岗", "有人上岗后"]),
            ("other", "人工", ["#2", "暂时没有在岗", absent("上班后")]),
            ("resident", "3栋502热水器坏了", "#3"),
        ]
    )
    assert {t.status for t in tickets(sheli)} == {"open"}
    code = hire(sheli, "grid_worker", "赵网格")  # added with a bind code: not yet on duty
    assert {t.status for t in tickets(sheli)} == {"open"}
    talk(
        [
            ("grid", f"绑定 {code}", "绑定成功"),
            ("grid", INBOX, only("【新任务 #1】", "回复「接单 1」")),
            ("resident", INBOX, only("#1", "网格员赵网格")),
            ("other", INBOX, NOTHING),
        ]
    )
    sheli.handle(AddStaff(role="branch_liaison", name="陈联络员", openid="o_liaison"))
    talk(
        [
            # The 人工 ticket, and the repair (the steward's role is empty: the liaison first).
            (
                "liaison",
                INBOX,
                [count(2), some("【人工求助 #2】"), some("【新任务 #3】", "物业管家")],
            ),
            ("other", INBOX, only("#2", "支部联络员陈联络员")),
            ("resident", INBOX, only("#3", "支部联络员陈联络员")),
        ]
    )
    assert {t.id: (t.status, t.role) for t in tickets(sheli)} == {
        1: ("assigned", "grid_worker"),
        2: ("assigned", "branch_liaison"),
        3: ("assigned", "branch_liaison"),
    }


def test_a_reactivated_staff_member_takes_what_waits_oldest_first(sheli: Any, person: Any) -> None:
    from handlers.commands import SetStaffActive

    hire(sheli, "property_steward", "王师傅", "o_wang")
    with sheli.uow() as uow:
        [wang] = uow.staff.list()
        wang_id = wang.id
    sheli.handle(SetStaffActive(wang_id, False))
    talk = Dialogue({"resident": person("o_res"), "wang": person("o_wang")})
    talk([("resident", f"3栋50{n}热水器坏了", [f"#{n}", "暂时没有在岗"]) for n in (1, 2, 3)])
    sheli.handle(SetStaffActive(wang_id, True))
    seen = talk([("wang", INBOX, count(3))])[0]
    assert [m.split("】")[0] for m in seen] == ["【新任务 #1", "【新任务 #2", "【新任务 #3"]
    assert {t.assignee.name for t in tickets(sheli) if t.assignee} == {"王师傅"}


def test_the_scheduler_assigns_waiting_tickets_least_loaded_first(sheli: Any, person: Any) -> None:
    from bot.scheduler import run_due
    from storage.models import Staff

    talk = Dialogue({"resident": person("o_res"), "wang": person("o_wang"), "sun": person("o_sun")})
    talk([("resident", f"3栋50{n}热水器坏了", [f"#{n}", "暂时没有在岗"]) for n in (1, 2, 3)])
    with sheli.uow() as uow:  # staff rows written by a database tool, not through Sheli
        for name, openid in (("王师傅", "o_wang"), ("孙师傅", "o_sun")):
            uow.staff.add(
                Staff(
                    name=name,
                    role="property_steward",
                    openid=openid,
                    active=True,
                    created_at=sheli.clock.now(),
                )
            )
        uow.commit()
    assert run_due(sheli)["waiting"] == [1, 2, 3]
    talk(
        [
            ("wang", INBOX, [count(2), first("【新任务 #1】"), last("【新任务 #3】")]),
            ("sun", INBOX, only("【新任务 #2】")),
            ("resident", INBOX, [count(3), some("#2", "物业管家孙师傅")]),
        ]
    )
    assert run_due(sheli)["waiting"] == []


def test_a_hazard_promises_the_grid_worker_only_when_one_is_on_duty(
    sheli: Any, person: Any
) -> None:
    hire(sheli, "property_steward", "王师傅", "o_steward")
    talk = Dialogue({"resident": person("o_res")})
    talk([("resident", "3栋楼道里电线裸露 还冒火花", ["#1", "王师傅", absent("网格员")])])
    hire(sheli, "grid_worker", "赵网格", "o_grid")
    talk([("resident", "5栋楼梯间有人堆了好多纸箱 堵住了消防通道", ["#2", "网格员也会知悉"])])


def test_mediation_with_nobody_on_duty_says_so(sheli: Any, person: Any) -> None:
    talk = Dialogue({"resident": person("o_res")})
    talk(
        [
            (
                "resident",
                "隔壁宿舍天天半夜打游戏大声吵",
                ["#1", "暂时没有在岗", absent("正在安排")],
            )
        ]
    )


def test_waiting_tickets_are_assigned_once_on_each_database(make_sheli: Any, db_url: str) -> None:
    """The bind and the scheduler's duty both look for waiting tickets; on PostgreSQL the rows
    are locked (skipping rows another transaction holds), and a ticket is given out once."""
    from bot.app import create_app
    from bot.scheduler import run_due
    from tests.wechat import Person, WeChatServer

    sheli = make_sheli(url=db_url)
    server = WeChatServer(create_app(sheli=sheli).test_client())
    talk = Dialogue({name: Person(server, f"o_{name}", sheli) for name in ("res", "zhang")})
    talk([("res", f"3栋50{n}热水器坏了", [f"#{n}", "暂时没有在岗"]) for n in (1, 2)])
    assert run_due(sheli)["waiting"] == []  # nobody yet: nothing written
    code = hire(sheli, "property_steward", "张师傅")
    talk(
        [
            ("zhang", f"绑定 {code}", "绑定成功"),
            ("zhang", INBOX, [count(2), first("【新任务 #1】"), last("【新任务 #2】")]),
            ("res", INBOX, count(2)),
        ]
    )
    assert run_due(sheli)["waiting"] == []
    talk([("zhang", INBOX, NOTHING)])
    with sheli.uow() as uow:
        kinds = [e.kind for e in uow.tickets.events(1)]
    assert kinds == ["created", "unassigned", "assigned"]


def test_chasing_words_about_another_matter_open_a_new_ticket(talk: Dialogue, sheli: Any) -> None:
    talk(
        [
            ("resident", "老板拖欠了我三个月工资", "#1"),
            ("resident", "我的工伤赔偿公司一直没给 怎么办", ["#2", absent("#1")]),
        ]
    )
    assert len(tickets(sheli)) == 2
