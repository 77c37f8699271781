"""Acting on a ticket from its dashboard page: close or cancel with a reason, write to the
resident, look at the full phone, and read the SLA clock; every step in the trail, with who did
it, and the people concerned told. Plus the rough edges an operator met (issue 15)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import cli
from handlers import read_models
from handlers.commands import Actor, CancelTicket, CloseTicket, SaveEvent
from handlers.errors import Invalid
from tests.test_dashboard import OPERATOR, PASSWORD_HASH, hire, login, post, trail


@pytest.fixture
def sheli(make_sheli: Any) -> Any:
    return make_sheli(dashboard__password_hash=PASSWORD_HASH)


@pytest.fixture
def operator(client: Any) -> Any:
    login(client)
    return client


@pytest.fixture
def steward(sheli: Any, person: Any) -> Any:
    hire(sheli, "property_steward", "张师傅", "o_steward")
    return person("o_steward")


@pytest.fixture
def reported(sheli: Any, person: Any, steward: Any) -> Any:
    """#1: a repair the steward has accepted; the resident left a phone number."""
    resident = person("o_resident")
    assert "#1" in resident.say("3栋502热水器坏了，电话13812345678")
    steward.say("接单 1")
    resident.new_messages()
    steward.new_messages()
    return resident


def page(response: Any) -> str:
    return str(response.get_data(as_text=True))


def detail_of(sheli: Any, number: int, kind: str) -> tuple[str, str | None]:
    with sheli.uow() as uow:
        [event] = [e for e in uow.tickets.events(number) if e.kind == kind]
        return event.actor, event.detail


# --- close and cancel ------------------------------------------------------------------------


def test_the_operator_closes_a_ticket_with_a_reason_and_both_sides_are_told(
    operator: Any, sheli: Any, reported: Any, steward: Any
) -> None:
    refused = post(operator, "/dashboard/tickets/1/close", reason="  ")
    assert refused.status_code == 302
    assert "请写上结单原因" in page(operator.get("/dashboard/tickets/1"))
    done = post(operator, "/dashboard/tickets/1/close", reason="住户电话确认已自己修好")
    assert done.headers["Location"] == "/dashboard/tickets/1"
    shown = page(operator.get("/dashboard/tickets/1"))
    assert "#1 已结单。已通知住户和物业管家张师傅。" in shown
    assert detail_of(sheli, 1, "closed") == (OPERATOR, "住户电话确认已自己修好")
    assert "运营人员 admin" in shown and "住户电话确认已自己修好" in shown
    [told] = reported.new_messages()
    assert (
        told
        == "你的 #1 已由社区工作人员结单：住户电话确认已自己修好。如果还有问题，直接告诉我就行。"
    )
    assert steward.new_messages() == [
        "#1 已由社区工作人员结单：住户电话确认已自己修好，无需再处理。"
    ]
    assert "确认结单" not in shown and "确认取消" not in shown  # nothing left to do
    again = post(operator, "/dashboard/tickets/1/close", reason="再结一次")
    assert again.status_code == 302 and "#1 当前已关闭，不能这样操作" in page(
        operator.get("/dashboard/tickets/1")
    )


def test_closing_a_resolved_ticket_skips_its_visit(
    operator: Any, sheli: Any, reported: Any, person: Any, clock: Any
) -> None:
    from bot.scheduler import run_due

    person("o_steward").say("完成 1 换了加热棒")
    post(operator, "/dashboard/tickets/1/close", reason="重复登记，已在 #2 处理")
    clock.advance(days=2)
    run_due(sheli)
    assert not [m for m in reported.new_messages() if "回访" in m]
    with sheli.uow() as uow:
        ticket = uow.tickets.get(1)
        assert ticket is not None and (ticket.status, ticket.followup_state) == (
            "closed",
            "skipped",
        )


def test_the_operator_cancels_an_active_ticket_with_a_reason(
    operator: Any, sheli: Any, reported: Any, steward: Any
) -> None:
    post(operator, "/dashboard/tickets/1/cancel", reason="住户搬走了，不用修了")
    shown = page(operator.get("/dashboard/tickets/1"))
    assert "#1 已取消。已通知住户和物业管家张师傅。" in shown
    assert detail_of(sheli, 1, "cancelled") == (OPERATOR, "住户搬走了，不用修了")
    assert reported.new_messages() == [
        "你的 #1 已由社区工作人员取消：住户搬走了，不用修了。如有需要，请重新告诉我。"
    ]
    assert steward.new_messages() == ["#1 已由社区工作人员取消：住户搬走了，不用修了，无需再处理。"]


def test_a_done_ticket_cannot_be_cancelled_and_nothing_is_written(
    sheli: Any, reported: Any, person: Any
) -> None:
    person("o_steward").say("完成 1 换了加热棒")
    before = trail(sheli, 1)
    with pytest.raises(Invalid, match="#1 当前已办结，不能再取消；需要的话可以结单。"):
        sheli.handle(CancelTicket(1, "不要了", Actor.operator("admin")))
    with pytest.raises(Invalid, match="请写上取消原因"):
        sheli.handle(CancelTicket(1, "", Actor.operator("admin")))
    assert trail(sheli, 1) == before
    sheli.handle(CloseTicket(1, "住户电话说修好了", Actor.operator("admin")))
    assert trail(sheli, 1)[-1] == ("closed", OPERATOR)


# --- the resident and the phone --------------------------------------------------------------


def test_the_operator_writes_to_the_resident_from_the_page(
    operator: Any, sheli: Any, reported: Any
) -> None:
    response = post(operator, "/dashboard/tickets/1/reply", text="明天上午九点上门，方便吗？")
    assert response.headers["Location"] == "/dashboard/tickets/1"
    assert reported.new_messages() == ["【#1 社区工作人员】明天上午九点上门，方便吗？"]
    shown = page(operator.get("/dashboard/tickets/1"))
    assert "已发给 #1 的住户" in shown and "明天上午九点上门" in shown
    assert detail_of(sheli, 1, "staff_reply")[0] == OPERATOR
    empty = post(operator, "/dashboard/tickets/1/reply", text=" ")
    assert empty.status_code == 302
    assert "请写上要对住户说的话" in page(operator.get("/dashboard/tickets/1"))


def test_the_full_phone_is_one_click_away_and_the_look_is_recorded(
    operator: Any, sheli: Any, reported: Any
) -> None:
    masked = page(operator.get("/dashboard/tickets/1"))
    assert "138****5678" in masked and "13812345678" not in masked
    assert "查看完整电话" in masked
    shown = post(operator, "/dashboard/tickets/1/phone")
    assert shown.status_code == 200
    assert '<span class="full-phone">13812345678</span>' in page(shown)
    assert "此次查看已记入工单记录" in page(shown)
    assert ("phone_viewed", OPERATOR) in trail(sheli, 1)
    assert "查看电话" in page(operator.get("/dashboard/tickets/1"))
    assert "13812345678" not in page(operator.get("/dashboard/tickets/1"))  # only that once


def test_an_action_and_its_redirect_add_no_viewed_line(
    operator: Any, sheli: Any, reported: Any, clock: Any
) -> None:
    operator.get("/dashboard/tickets/1")
    post(operator, "/dashboard/tickets/1/note", text="已电话联系")
    operator.get("/dashboard/tickets/1")  # the redirect after the note
    post(operator, "/dashboard/tickets/1/reply", text="下午到")
    operator.get("/dashboard/tickets/1")
    operator.get("/dashboard/tickets/1")  # and a reload
    kinds = [kind for kind, actor in trail(sheli, 1) if actor == OPERATOR]
    assert kinds == ["viewed", "note", "staff_reply"]
    clock.advance(minutes=11)
    operator.get("/dashboard/tickets/1")  # coming back later is a new look
    assert trail(sheli, 1)[-1] == ("viewed", OPERATOR)


# --- the SLA clock ---------------------------------------------------------------------------


def test_the_sla_clock_counts_down_then_up_on_the_page_and_in_the_list(
    operator: Any, sheli: Any, person: Any, clock: Any
) -> None:
    hire(sheli, "property_steward", "张师傅", "o_steward")
    person("o_resident").say("3栋502热水器坏了")
    clock.advance(minutes=85)  # repair: accept within 2 h
    assert "距接单时限还剩 35分钟" in page(operator.get("/dashboard/tickets/1"))
    assert "距接单时限还剩 35分钟" in page(operator.get("/dashboard/tickets"))
    clock.advance(hours=2)
    shown = page(operator.get("/dashboard/tickets/1"))
    assert "接单已超时 1小时25分" in shown  # whole units (finding 24), not "1.4小时"
    assert re.search(
        r'<tr class="overdue" data-ticket="1">', page(operator.get("/dashboard/tickets"))
    )
    person("o_steward").say("接单 1")  # now the resolve clock (24 h from the request) counts
    assert "距办结时限还剩 20小时35分" in page(operator.get("/dashboard/tickets/1"))
    person("o_steward").say("完成 1 好了")
    assert "data-sla" not in page(operator.get("/dashboard/tickets/1"))


# --- rough edges -----------------------------------------------------------------------------


def test_a_location_that_is_its_building_is_not_said_twice(operator: Any, person: Any) -> None:
    person("o_a").say("8栋楼道灯坏了")
    person("o_b").say("3栋502水龙头漏水")
    first = page(operator.get("/dashboard/tickets/1"))
    assert "8栋（8栋）" not in first and "<dd data-location>8栋</dd>" in first
    assert "3栋502（3栋）" not in page(operator.get("/dashboard/tickets/2"))


def test_buildings_sort_as_people_count_them(operator: Any, sheli: Any, person: Any) -> None:
    for n, where in enumerate(("12栋101", "3栋502", "B区12幢1", "B区2幢108", "5栋218")):
        person(f"o_{n}").say(f"{where}水管漏水")
    names = [row["name"] for row in sheli.read(read_models.buildings_overview)]
    assert names == ["3栋", "5栋", "12栋", "B区2幢", "B区12幢"]
    choices = re.findall(
        r'<option value="([^"]+栋|[^"]+幢)"', page(operator.get("/dashboard/tickets"))
    )
    assert choices == ["3栋", "5栋", "12栋", "B区2幢", "B区12幢"]


def test_staff_add_in_chinese_and_the_bind_code_line(tmp_path: Any) -> None:
    env = {"SHELI_DATABASE__URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    runner = CliRunner()
    runner.invoke(cli, ["db", "upgrade"], env=env, obj={})
    result = runner.invoke(
        cli, ["staff", "add", "--role", "支部联络员", "--name", "李书记"], env=env, obj={}
    )
    assert result.exit_code == 0, result.output
    added, how, code = result.output.strip().splitlines()
    assert added == "已添加工作人员 #1 李书记（支部联络员）"
    assert how == f"请本人在3天内向公众号发送「绑定 {code}」，绑定码只能用一次："
    assert "days" not in result.output and "0:00:00" not in result.output


def test_tickets_show_prints_local_time_with_the_offset(
    sheli: Any, person: Any, sqlite_url: str
) -> None:
    assert "#1" in person("o_res").say("3栋502热水器坏了")
    env = {"SHELI_DATABASE__URL": sqlite_url}
    result = CliRunner().invoke(cli, ["tickets", "show", "#1"], env=env, obj={})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "#1 物业报修 待分派 → 物业管家待分派"
    assert "  2026-11-23 09:00:00 (+08:00)  登记  住户 1  3栋502热水器坏了" in lines
    assert "01:00" not in result.output and "Z" not in result.output  # not UTC
    listed = CliRunner().invoke(cli, ["tickets", "list"], env=env, obj={})
    assert listed.output.splitlines()[0] == "时间均为当地时间（UTC+08:00）"  # as the dashboard
    assert "#1     2026-11-23 09:00  待分派  物业报修  物业管家待分派  3栋502" in listed.output


def test_events_count_as_held_only_once_they_have_started(sheli: Any, clock: Any) -> None:
    for title, when in (("昨天的讲座", "2026-11-22 19:00"), ("明天的招聘会", "2026-11-24 09:00")):
        sheli.handle(SaveEvent({"kind": "other", "title": title, "starts_at": when}))
    week = sheli.read(read_models.week_summary, "2026-W48")
    assert week.extra["events"]["held"] == 0  # Monday morning: tomorrow's fair has not happened
    clock.advance(days=2)
    assert sheli.read(read_models.week_summary, "2026-W48").extra["events"]["held"] == 1
    assert sheli.read(read_models.week_summary, "2026-W47").extra["events"]["held"] == 1


def test_the_summary_card_and_text_round_the_same_way(
    operator: Any, sheli: Any, person: Any, clock: Any
) -> None:
    hire(sheli, "property_steward", "张师傅", "o_steward")
    person("o_resident").say("3栋502热水器坏了")
    clock.advance(seconds=50)
    person("o_steward").say("接单 1")
    clock.advance(seconds=40)  # resolved 1.5 minutes after the request
    person("o_steward").say("完成 1 好了")
    shown = page(operator.get("/dashboard/summary?week=2026-W48"))
    card = re.search(r'data-figure="resolution">([^<]+)<', shown)
    assert card and card.group(1) == "2分钟"
    assert "办结用时中位2分钟" in shown  # the text the secretary receives
    assert re.search(r'data-figure="first-response">1分钟<', shown)
    assert "首次响应中位1分钟" in shown
