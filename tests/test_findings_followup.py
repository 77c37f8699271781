"""Findings from using Sheli as residents and staff would (notes/findings.md), after intake:
my info, followers, visits, 进度, transfers with what was added, event questions, stray
confirmations, wording, the command line, erasure and rooms, the access log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import cli
from handlers import messages as msg
from handlers.commands import SaveEvent
from tests.dialogue import INBOX, NOTHING, Dialogue, Do, absent, last, later, only
from tests.helpers import hire

TEAM = {
    "branch_liaison": ("陈联络员", "o_liaison"),
    "property_steward": ("王师傅", "o_steward"),
    "grid_worker": ("赵网格", "o_grid"),
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
            "lawyer": person("o_lawyer"),
        }
    )


def ticket(sheli: Any, number: int) -> Any:
    with sheli.uow() as uow:
        return uow.tickets.get(number)


def run_due(sheli: Any) -> Do:
    from bot.scheduler import run_due as due

    return Do("the scheduler runs", lambda: due(sheli))


# --- 12. 我的信息 in local time ---------------------------------------------------------------


def test_my_info_shows_the_first_contact_as_a_local_date(talk: Dialogue, clock: Any) -> None:
    talk(
        [
            later(clock, hours=18),  # 19:00 UTC on the 23rd is 03:00 on the 24th at the site
            ("resident", "你好", None),
            ("resident", "我的信息", ["首次联系：2026-11-24", absent("2026-11-23")]),
        ]
    )


# --- 13. a follower stops following; the owner's ticket goes on ----------------------------


def test_a_follower_cancelling_stops_following_and_never_cancels(
    talk: Dialogue, sheli: Any
) -> None:
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("neighbour", "3栋502热水器坏了，没热水", ["#1", "关联"]),
            ("neighbour", "进度", "#1"),
            ("neighbour", "取消 1", ["不再跟进 #1", "原报修人", absent("没有找到")]),
            ("neighbour", "进度", ["还没有", absent("#1")]),
            ("resident", INBOX, NOTHING),
            ("steward", "接单 1", "已接单"),
            ("neighbour", INBOX, NOTHING),  # no longer told
            ("resident", INBOX, only("#1", "接单")),
        ]
    )
    assert ticket(sheli, 1).status == "accepted"
    with sheli.uow() as uow:
        assert "unfollowed" in [e.kind for e in uow.tickets.events(1)]


# --- 18, 20. visits worded by intent; thanks is satisfied; not fixed said once --------------


def test_a_legal_visit_asks_if_it_was_solved_and_thanks_closes_it(
    talk: Dialogue, sheli: Any, clock: Any
) -> None:
    talk(
        [
            ("resident", "老板拖欠了我三个月工资", "#1"),
            ("lawyer", "完成 1 已电话讲解劳动仲裁流程", "已办结"),
            later(clock, hours=25),
            run_due(sheli),
            ("resident", INBOX, last("回访", "#1", "「没解决」", absent("没修好"))),
            ("resident", "律师讲得很清楚 谢谢", ["#1", "已结单", absent("没看明白")]),
        ]
    )
    closed = ticket(sheli, 1)
    assert (closed.status, closed.rating) == ("closed", None)


def test_a_repair_visit_still_asks_about_the_repair(talk: Dialogue, sheli: Any, clock: Any) -> None:
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("steward", "完成 1 换了温控器", "已办结"),
            later(clock, hours=25),
            run_due(sheli),
            ("resident", INBOX, last("回访", "「没修好」")),
            ("resident", "嗯嗯", "「没修好」"),  # asked again, in the repair's words
        ]
    )


def test_not_fixed_is_said_once_to_each_and_the_steward_can_take_it_again(
    talk: Dialogue, sheli: Any, clock: Any
) -> None:
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("steward", INBOX, None),
            ("steward", "完成 1 换了温控器", "已办结"),
            ("resident", INBOX, None),
            later(clock, hours=25),
            run_due(sheli),
            ("resident", INBOX, None),
            ("resident", "没修好啊", ["#1", "重新交给"]),
            ("resident", INBOX, NOTHING),  # the reply said it; no second message
            (
                "steward",
                INBOX,
                only(
                    "【重新处理 #1】回访说没解决：「没修好啊」",
                    "回复「接单 1」",
                    absent("住户反馈还没解决"),
                ),
            ),
            ("steward", "接单 1", "已接单 #1"),
        ]
    )


# --- 19. the phone consent is not only for repairs ----------------------------------------


def test_the_phone_consent_speaks_of_any_request(talk: Dialogue) -> None:
    talk(
        [
            (
                "resident",
                "老板拖欠了我三个月工资 电话13812345678",
                ["#1", "以后办事自动带上", absent("以后报修")],
            ),
            ("resident", "保存电话", ["以后办事会自动带上", absent("报修")]),
        ]
    )


# --- 21. 进度 tells tickets apart ------------------------------------------------------------


def test_progress_shows_a_few_words_of_each_ticket(talk: Dialogue) -> None:
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("resident", "3栋502门锁坏了锁不上", "#2"),
            (
                "resident",
                "进度",
                [
                    "#2 物业报修：门锁坏了锁不上 已派单",
                    "#1 物业报修：热水器坏了 已派单",
                ],
            ),
        ]
    )


# --- 23. what was added goes with a transfer; the trail says 住户补充 ----------------------


def test_a_transfer_carries_what_the_resident_added(talk: Dialogue, sheli: Any) -> None:
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("resident", "补充 1 其实是隔壁天天把热水用光 说了也不听", "已转给 #1"),
            ("steward", INBOX, None),
            ("steward", "转派 1 网格员", "网格员赵网格"),
            (
                "grid",
                INBOX,
                only("【转派任务 #1】", "住户补充", "隔壁天天把热水用光"),
            ),
        ]
    )
    with sheli.uow() as uow:
        kinds = [e.kind for e in uow.tickets.events(1)]
    assert "resident_added" in kinds and "resident_reply" not in kinds
    assert msg.AUDIT_EVENT_NAMES["resident_added"] == "住户补充"


# --- 26. more of what residents write -------------------------------------------------------


def test_pinyin_a_dashed_room_a_complaint_and_a_stray_confirmation(
    talk: Dialogue, sheli: Any
) -> None:
    talk(
        [
            ("resident", "zhe ge yue gong zi mei fa", ["法律咨询 #1", "陈律师"]),
            ("resident", "3-502热水器坏了", ["#2", absent("具体在哪里")]),
            ("steward", INBOX, only("【新任务 #2】", "地点：3栋502")),
            ("resident", "我要投诉", ["#3", "支部联络员"]),
            ("neighbour", "确认", ["没有需要你确认的事", absent("没太明白")]),
        ]
    )
    assert [ticket(sheli, n).intent for n in (1, 2, 3)] == [
        "legal_consult",
        "repair",
        "ask_human",
    ]
    with sheli.uow() as uow:
        kept = [m.text for m in uow.review.newest()]
    assert "确认" not in kept  # nothing for the review queue: it was understood


def add_event(sheli: Any, title: str, starts_at: str, kind: str = "other") -> int:
    data = {"kind": kind, "title": title, "starts_at": starts_at, "place": "党群服务中心"}
    return int(sheli.handle(SaveEvent(data)).id)


def test_event_questions_respect_the_days_they_name(talk: Dialogue, sheli: Any) -> None:
    # The FakeClock starts on Monday 2026-11-23, 09:00 at the site.
    add_event(sheli, "周三电工讲座", "2026-11-25 19:00", kind="lecture")
    add_event(sheli, "周六市集", "2026-11-28 10:00", kind="market")
    add_event(sheli, "周日法律咨询", "2026-11-29 14:00", kind="legal_clinic")
    add_event(sheli, "元旦联欢", "2026-12-31 19:00")
    add_event(sheli, "下周一讲座", "2026-11-30 19:00", kind="lecture")
    talk(
        [
            (
                "resident",
                "周末有什么活动",
                ["周六市集", "周日法律咨询", absent("周三电工讲座"), absent("元旦联欢")],
            ),
            ("resident", "明天有活动吗", ["明天没有安排", "周三电工讲座"]),
            ("resident", "今天晚上有活动吗", ["今天没有安排"]),
            (
                "resident",
                "这周有什么活动",
                ["周三电工讲座", "周日法律咨询", absent("下周一讲座"), absent("元旦")],
            ),
            ("resident", "下周有讲座吗", ["下周一讲座", absent("周三电工讲座")]),
        ]
    )


# --- 27. wording -----------------------------------------------------------------------------


def test_the_liaisons_task_list_shows_a_human_ticket_on_one_line(talk: Dialogue) -> None:
    talk(
        [
            ("resident", "你好", None),
            ("resident", "我想问问孩子上学的事", None),
            ("resident", "人工", "#1"),
            ("liaison", "任务", ["#1", "人工求助", absent("· "), absent("求助 ·")]),
        ]
    )
    lines = talk.transcript[-1].splitlines()
    assert not any(line.strip().startswith("·") for line in lines)


def test_the_resources_import_says_what_is_new_once(tmp_path: Path) -> None:
    from handlers.importing.common import ImportResult

    result = ImportResult(3, 0, {"alliance units": 2, "volunteers": 1})
    assert str(result) == "新增 3 条，更新 0 条，其中新共建单位 2 个、新志愿者 1 个"


# --- 28. the command line in Chinese ------------------------------------------------------------


def test_chat_help_is_chinese_and_lists_every_menu_button() -> None:
    from bot.chat import HELP
    from handlers.conversation import MENU_KEYS

    assert "Type a message" not in HELP and "发送" in HELP
    for key in MENU_KEYS:
        assert key in HELP, key


def test_a_bad_status_is_one_chinese_line(tmp_path: Path) -> None:
    env = {"SHELI_DATABASE__URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    CliRunner().invoke(cli, ["db", "upgrade"], env=env, obj={})
    bad = CliRunner().invoke(cli, ["tickets", "list", "--status", "bogus"], env=env, obj={})
    assert bad.exit_code == 2
    assert "没有「bogus」这个状态" in bad.output
    for english in ("Usage", "Try", "Error", "Invalid value"):
        assert english not in bad.output
    missing = CliRunner().invoke(cli, ["tickets", "show", "42"], env=env, obj={})
    assert missing.exit_code == 1 and missing.output.strip() == "错误：没有找到工单 #42。"


# --- 30. erasure frees seats; an unknown room is said; no openids in the access log ---------


def test_erasure_gives_up_future_seats_to_the_waiting_list(
    talk: Dialogue, sheli: Any, person: Any
) -> None:
    from handlers.commands import SaveEvent as Save

    fair = int(
        sheli.handle(
            Save(
                {
                    "kind": "job_fair",
                    "title": "周六招聘会",
                    "starts_at": "2026-11-28 09:00",
                    "place": "广场",
                    "capacity": 1,
                }
            )
        ).id
    )
    talk(
        [
            ("resident", f"报名 {fair}", "报名成功"),
            ("neighbour", f"报名 {fair}", "候补第1位"),
            ("resident", "注销", ["活动报名", "确认注销"]),
            ("resident", "确认注销", "已删除"),
            ("neighbour", INBOX, only(f"「活动{fair}」", "候补转为报名成功")),
        ]
    )
    with sheli.uow() as uow:
        statuses = sorted(s.status for s in uow.events.get(fair).sign_ups)
    assert statuses == ["cancelled", "confirmed"]


def test_registering_a_room_that_is_not_on_the_room_list(talk: Dialogue, sheli: Any) -> None:
    from handlers.importing.rooms import import_rooms

    talk([("resident", "登记 9栋999", ["已登记住址：9栋999", absent("房间表")])])
    with sheli.uow() as uow:
        import_rooms(uow, [{"building": "3栋", "room": "502", "capacity": 4}])
        uow.commit()
    talk(
        [
            ("resident", "登记 9栋999", ["9栋999", "不在登记的房间表里"]),
            ("resident", "登记 3栋502", ["3栋502", absent("房间表")]),
        ]
    )


def test_the_access_log_has_a_pseudonym_not_the_openid() -> None:
    from bot.logsafe import safe_path
    from bot.server import AccessLogger

    assert "o_res1" not in safe_path("/local/inbox/o_res1")
    assert safe_path("/local/inbox/o_res1").startswith("/local/inbox/u")
    assert safe_path("/wechat") == "/wechat"
    assert safe_path("/dashboard/tickets/4") == "/dashboard/tickets/4"

    class Cfg:
        access_log_format = "%(U)s"

    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/local/inbox/o_res1?after=0",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": "/local/inbox/o_res1",
        "QUERY_STRING": "after=0",
    }

    class Resp:
        status = "200 OK"
        sent = 10
        headers = ()

    from datetime import timedelta

    logger = AccessLogger.__new__(AccessLogger)
    logger.cfg = Cfg()  # type: ignore[attr-defined]
    found = logger.atoms(Resp(), {}, environ, timedelta(seconds=0))
    assert "o_res1" not in found["U"] and "o_res1" not in found["r"]
