"""Staff talk to residents through Sheli: `回复 n` and `电话 n`, as transcripts over the webhook."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.notices import WECHAT_TEXT_BYTES, split_text
from tests.dialogue import INBOX, NOTHING, Dialogue, Do, absent, equals, later, only, some
from tests.helpers import hire
from tests.wechat import Person

TEAM = {
    "branch_liaison": ("陈联络员", "o_liaison"),
    "property_steward": ("王师傅", "o_steward"),
    "legal_adviser": ("陈律师", "o_lawyer"),
}


@pytest.fixture
def talk(sheli: Any, person: Any) -> Dialogue:
    for role, (name, openid) in TEAM.items():
        hire(sheli, role, name, openid)
    people = {
        "liaison": person("o_liaison"),
        "steward": person("o_steward"),
        "lawyer": person("o_lawyer"),
        "resident": person("o_res"),
        "other": person("o_other"),
    }
    return Dialogue(people)


def trail(sheli: Any, number: int) -> list[tuple[str, str]]:
    with sheli.uow() as uow:
        return [(e.kind, e.actor) for e in uow.tickets.events(number)]


def test_the_assignee_replies_and_the_resident_reads_it_with_the_ticket_and_role(
    talk: Dialogue, sheli: Any
) -> None:
    talk(
        [
            ("resident", "3栋502热水器坏了 电话13812345678", "#1"),
            ("steward", INBOX, "#1"),
            ("steward", "回复 1 明天上午九点上门，方便吗？", ["已转给 #1", "30分钟"]),
            ("resident", INBOX, only("【#1 物业管家王师傅】明天上午九点上门，方便吗？")),
        ]
    )
    assert ("staff_reply", "staff:2:王师傅") in trail(sheli, 1)


def test_only_the_assignee_or_the_liaison_may_reply_and_nothing_is_forwarded_otherwise(
    talk: Dialogue, sheli: Any
) -> None:
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("lawyer", "回复 1 你好", "只有负责人或支部联络员"),
            ("resident", INBOX, NOTHING),
            ("liaison", "回复 1 已经在催了", "已转给 #1"),
            ("resident", INBOX, only("【#1 支部联络员陈联络员】已经在催了")),
            ("lawyer", "回复 99 你好", "没有找到工单 #99"),
            ("steward", "回复 1", "请写上要对住户说的话"),
            ("resident", "回复 1 我也想回复", "只供社区工作人员"),
            ("resident", INBOX, NOTHING),
        ]
    )
    assert [kind for kind, _ in trail(sheli, 1)].count("staff_reply") == 1


def test_a_closed_or_cancelled_ticket_gets_no_reply(talk: Dialogue) -> None:
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("resident", "取消 1", "已取消"),
            ("steward", INBOX, None),
            ("steward", "回复 1 还需要修吗", ["#1", "已取消", "不能再回复"]),
            ("resident", INBOX, NOTHING),
        ]
    )


def test_the_phone_is_one_audited_step_away(talk: Dialogue, sheli: Any) -> None:
    talk(
        [
            ("resident", "3栋502热水器坏了 我电话13812345678", "#1"),
            ("steward", INBOX, only("138****5678", absent("13812345678"))),
            ("steward", "电话 1", ["13812345678", "已记录"]),
            ("lawyer", "电话 1", ["只有负责人或支部联络员", absent("13812345678")]),
            ("liaison", "电话 1", "13812345678"),
            ("other", "3栋503门锁坏了", "#2"),
            ("steward", "电话 2", "没有留电话"),
        ]
    )
    looked = [actor for kind, actor in trail(sheli, 1) if kind == "phone_viewed"]
    assert looked == ["staff:2:王师傅", "staff:1:陈联络员"]


def test_a_long_reply_arrives_in_numbered_parts_never_cut(
    talk: Dialogue, person: Any, sheli: Any
) -> None:
    long_text = "。".join(f"第{i}件事：明天上午先关总阀再换管子" for i in range(60))
    talk(
        [
            ("resident", "3栋502水管爆了", "#1"),
            ("steward", f"回复 1 {long_text}", "已转给 #1"),
        ]
    )
    received = Person(talk.people["resident"].server, "o_res", sheli).inbox()
    parts = [m for m in received if m.startswith("（")]
    assert len(parts) >= 2
    assert all(len(p.encode("utf-8")) <= WECHAT_TEXT_BYTES for p in parts)
    assert parts[0].startswith(f"（1/{len(parts)}）") and parts[-1].startswith(f"（{len(parts)}/")
    joined = "".join(p.split("）", 1)[1] for p in parts)
    assert joined == f"【#1 物业管家王师傅】{long_text}"


@pytest.mark.parametrize("size", [0, 1, 680, 683, 2000, 5000])
def test_split_text_keeps_every_character(size: int) -> None:
    text = "修" * size
    parts = split_text(text)
    assert all(len(p.encode("utf-8")) <= WECHAT_TEXT_BYTES for p in parts)
    assert "".join(p.split("）", 1)[1] if len(parts) > 1 else p for p in parts) == text


# --- residents answer: the reply window and 补充 n -------------------------------------------


def resident_replies(sheli: Any, number: int, kind: str = "resident_reply") -> list[str]:
    with sheli.uow() as uow:
        return [e.detail or "" for e in uow.tickets.events(number) if e.kind == kind]


def tickets_count(sheli: Any) -> int:
    with sheli.uow() as uow:
        return len(uow.tickets.list())


def test_an_answer_within_the_reply_window_reaches_the_assignee_masked(
    talk: Dialogue, sheli: Any, clock: Any
) -> None:
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("steward", INBOX, "#1"),
            ("steward", "回复 1 明天上午九点上门，方便吗？", "已转给 #1"),
            ("resident", INBOX, only("【#1 物业管家王师傅】明天上午九点上门，方便吗？")),
            ("resident", "明天上午在的", ["已转给 #1 的物业管家王师傅", absent("#2")]),
            ("steward", INBOX, equals(["【#1 住户回复】明天上午在的"])),
            later(clock, minutes=20),
            (
                "resident",
                "到了打我电话13812345678，身份证11010119900307123X",
                "已转给 #1",
            ),
            (
                "steward",
                INBOX,
                only(
                    "【#1 住户回复】到了打我电话138****5678",
                    absent("13812345678"),
                    absent("11010119900307123X"),
                ),
            ),
        ]
    )
    assert resident_replies(sheli, 1)[0] == "明天上午在的"  # the trail keeps what was written
    assert tickets_count(sheli) == 1


def test_after_the_window_an_answer_is_an_ordinary_message(
    talk: Dialogue, sheli: Any, clock: Any
) -> None:
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("steward", "回复 1 明天上午九点上门，方便吗？", "已转给 #1"),
            later(clock, minutes=31),
            ("resident", "明天上午在的", absent("已转给")),
            ("steward", INBOX, absent("住户回复")),
        ]
    )
    assert resident_replies(sheli, 1) == []


def test_a_clear_new_request_within_the_window_still_opens_a_ticket(
    talk: Dialogue, sheli: Any
) -> None:
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("steward", INBOX, "#1"),
            ("steward", "回复 1 明天上午九点上门，方便吗？", "已转给 #1"),
            ("resident", "老板拖欠了我三个月工资不给，怎么办", ["#2", "陈律师"]),
            ("lawyer", INBOX, "#2"),
            ("steward", INBOX, NOTHING),
            ("resident", "好的，九点我在宿舍等", "已转给 #1"),  # the thread is still open
            ("steward", INBOX, only("【#1 住户回复】好的，九点我在宿舍等")),
        ]
    )
    assert resident_replies(sheli, 2) == []


def test_the_newest_question_gets_the_answer(talk: Dialogue, sheli: Any) -> None:
    """Sheli's own question (which place?) asked after the staff message takes the answer; an
    answer that is not a place still goes to the staff member."""
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("steward", INBOX, "#1"),
            ("steward", "回复 1 明天上午九点上门，方便吗？", "已转给 #1"),
            ("resident", "卫生间下水道也堵了", ["#2", "地点按你的住址3栋502登记"]),
            ("steward", INBOX, only("#2", "下水道")),
            ("resident", "明天上午在的", "已转给 #1"),
            ("steward", INBOX, only("【#1 住户回复】明天上午在的")),
            ("resident", "5栋301", ["#2 的地点已改为5栋301", absent("已转给")]),
            ("steward", INBOX, only("【#2 地点更正】")),
        ]
    )
    assert resident_replies(sheli, 2) == []


def test_add_to_my_ticket_at_any_time(talk: Dialogue, sheli: Any, clock: Any) -> None:
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("steward", INBOX, "#1"),
            later(clock, hours=5),
            ("resident", "补充 1 热水器是万和的，打开就跳闸", "已转给 #1 的物业管家王师傅"),
            ("steward", INBOX, only("【#1 住户补充】热水器是万和的，打开就跳闸")),
            ("resident", "补充 #１ 电话13812345678", "已转给 #1"),
            ("steward", INBOX, only("138****5678", absent("13812345678"))),
        ]
    )
    # 补充 is in the trail as 住户补充 (resident_added), not as an answer to staff.
    assert resident_replies(sheli, 1) == []
    assert resident_replies(sheli, 1, "resident_added") == [
        "热水器是万和的，打开就跳闸",
        "电话13812345678",
    ]


def test_add_to_a_ticket_that_is_missing_closed_or_someone_elses_is_refused(
    talk: Dialogue, sheli: Any
) -> None:
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("steward", INBOX, "#1"),
            ("resident", "补充 99 还没修", "没有找到你的工单 #99"),
            ("other", "补充 1 我也顺便说一下", "没有找到你的工单 #1"),
            ("resident", "补充 1", "请写上要补充的内容"),
            ("resident", "补充 热水器还是不行", ["请写上工单编号", "#1 物业报修：热水器坏了"]),
            ("steward", INBOX, NOTHING),
            ("resident", "取消 1", "已取消"),
            ("steward", INBOX, only("已被住户取消")),
            ("resident", "补充 1 还要修", ["#1", "已取消", "不能再补充"]),
            ("steward", INBOX, NOTHING),
            ("steward", "电话 1", ["#1", "已取消"]),
            ("other", "补充 1 你好", "没有找到你的工单 #1"),
        ]
    )
    assert resident_replies(sheli, 1) == []


def test_a_follower_of_a_duplicate_may_add_and_answer(talk: Dialogue, sheli: Any) -> None:
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("other", "3栋502热水器坏了，没热水", "关联"),
            ("steward", INBOX, None),
            ("other", "补充 1 我是同寝室的，晚上才在", "已转给 #1"),
            ("steward", INBOX, only("【#1 住户补充】我是同寝室的，晚上才在")),
        ]
    )


# --- 人工 is a ticket for the branch liaison ---------------------------------------------------


def test_human_becomes_a_ticket_the_liaison_answers_with_a_trail_sla_and_visit(
    talk: Dialogue, sheli: Any, clock: Any
) -> None:
    from bot.scheduler import run_due

    talk(
        [
            ("resident", "老板拖欠我三个月工资 我电话13812345678", "#1"),
            ("lawyer", INBOX, "#1"),
            ("resident", "人工", ["#2", "支部联络员陈联络员", "补充 2"]),
            (
                "liaison",
                INBOX,
                only(
                    "【人工求助 #2】",
                    "老板拖欠我三个月工资",
                    "138****5678",
                    absent("13812345678"),
                    "回复 2",
                ),
            ),
            ("resident", "人工", ["已经在帮你联系", "#2"]),
            ("liaison", INBOX, NOTHING),
            ("liaison", "回复 2 你好，明天上午来社区办公室找我", "已转给 #2"),
            ("resident", INBOX, only("【#2 支部联络员陈联络员】你好，明天上午来社区办公室找我")),
            ("resident", "好的，我上午十点过去", "已转给 #2"),
            ("liaison", INBOX, only("【#2 住户回复】好的，我上午十点过去")),
            ("liaison", "完成 2 已当面讲清欠薪维权流程", "已办结"),
            later(clock, hours=25),
            Do("the scheduler runs", lambda: run_due(sheli)),
            ("resident", INBOX, some("回访", "#2", "人工求助")),
            ("resident", "5", "5分"),
        ]
    )
    with sheli.uow() as uow:
        human = uow.tickets.get(2)
        kinds = [e.kind for e in uow.tickets.events(2)]
    assert human is not None
    assert (human.intent, human.role, human.status, human.rating) == (
        "ask_human",
        "branch_liaison",
        "closed",
        5,
    )
    assert kinds[:2] == ["created", "assigned"]
    assert {"staff_reply", "resident_reply", "resolved", "visit_answered"} <= set(kinds)
    assert sheli.policy.deadlines("ask_human") is not None


def test_human_tickets_are_counted_as_such_in_the_summary(talk: Dialogue, sheli: Any) -> None:
    from handlers.summary import compute_summary, render_summary, week_of

    talk([("resident", "3栋502热水器坏了", "#1"), ("other", "人工", "#2")])
    now = sheli.clock.now()
    with sheli.uow() as uow:
        week = week_of("2026-W48", now, sheli.policy.timezone)
        summary = compute_summary(uow, sheli.policy, week, now)
    assert summary.new_by_intent == {"repair": 1, "ask_human": 1}
    assert "人工求助1" in render_summary(summary, sheli.policy)


def test_human_with_nobody_on_duty_is_still_recorded(person: Any, sheli: Any) -> None:
    talk = Dialogue({"resident": person("o_res")})
    # Truthful: nobody is on duty now; somebody will be (tickets.assign_waiting), not "after work".
    talk([("resident", "人工", ["#1", "暂时没有在岗的工作人员", "有人上岗后", absent("上班后")])])
    with sheli.uow() as uow:
        human = uow.tickets.get(1)
    assert human is not None and (human.intent, human.status) == ("ask_human", "open")


def test_the_readme_walkthrough(talk: Dialogue, sheli: Any) -> None:
    """README's two-way exchange, line by line."""
    talk(
        [
            (
                "resident",
                "3栋502热水器坏了 电话13812345678",
                "收到！已登记物业报修 #1，物业管家王师傅会尽快处理。",
            ),
            ("steward", INBOX, only("【新任务 #1】物业报修", "电话：138****5678")),
            (
                "steward",
                "回复 1 明天上午九点上门，方便吗？",
                "已转给 #1 的住户。住户30分钟内直接回复的话，会转给你。",
            ),
            ("resident", INBOX, equals(["【#1 物业管家王师傅】明天上午九点上门，方便吗？"])),
            ("resident", "明天上午在的", equals("已转给 #1 的物业管家王师傅。")),
            ("steward", INBOX, equals(["【#1 住户回复】明天上午在的"])),
            (
                "resident",
                "补充 1 热水器是万和的，打开就跳闸",
                equals("已转给 #1 的物业管家王师傅。"),
            ),
            ("steward", INBOX, equals(["【#1 住户补充】热水器是万和的，打开就跳闸"])),
            ("steward", "电话 1", equals("#1 住户电话：13812345678（此次查看已记录）")),
            (
                "resident",
                "算了热水器那个不用修了 取消",
                equals("确认取消 #1（热水器坏了）吗？回复「确认」。"),
            ),
            ("resident", "确认", equals("#1 已取消。")),
        ]
    )
