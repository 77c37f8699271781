"""Findings from using the dashboard as operators would (notes/findings.md): transfers that change
nothing, the ticket page's conversation, reloading after the full phone, 停用 with a confirm
step, the SLA clock in whole units, one name for job_fair, the charts' units, event times,
SLA digests after a catch-up, the favicon."""

from __future__ import annotations

import re
from typing import Any

import pytest

from handlers import messages as msg
from handlers.commands import Actor, TransferTicket
from handlers.errors import Invalid
from tests.dialogue import INBOX, NOTHING, Dialogue, absent, only
from tests.test_dashboard import OPERATOR, PASSWORD_HASH, login, post, trail


@pytest.fixture
def sheli(make_sheli: Any) -> Any:
    return make_sheli(dashboard__password_hash=PASSWORD_HASH)


@pytest.fixture
def operator(client: Any) -> Any:
    login(client)
    return client


def hire(sheli: Any, role: str, name: str, openid: str) -> int:
    from tests.test_dashboard import hire as add

    return add(sheli, role, name, openid)


@pytest.fixture
def talk(sheli: Any, person: Any) -> Dialogue:
    hire(sheli, "branch_liaison", "陈联络员", "o_liaison")
    hire(sheli, "property_steward", "李师傅", "o_steward")
    return Dialogue(
        {
            "resident": person("o_res"),
            "liaison": person("o_liaison"),
            "steward": person("o_steward"),
        }
    )


def text_of(response: Any) -> str:
    return str(response.get_data(as_text=True))


def transfers(sheli: Any, number: int) -> int:
    return sum(1 for kind, _ in trail(sheli, number) if kind == "transferred")


# --- 14. a transfer that changes nothing is refused ------------------------------------------


def test_a_transfer_to_the_role_and_person_it_already_has_is_refused_in_chat(
    talk: Dialogue, sheli: Any
) -> None:
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("steward", INBOX, only("【新任务 #1】")),
            ("resident", INBOX, NOTHING),
            ("steward", "转派 1 物业管家", "#1 已经在物业管家李师傅手上，不用转派。"),
            ("steward", INBOX, NOTHING),  # no second 【转派任务】
            ("resident", INBOX, NOTHING),  # and the resident hears of no move
            ("liaison", "转派 1 物业管家", "#1 已经在物业管家李师傅手上"),
            ("steward", "转派 1", ["#1 转派给哪个岗位？", "网格员"]),
        ]
    )
    assert transfers(sheli, 1) == 0


def test_a_transfer_within_the_role_to_a_less_busy_colleague_still_moves(
    talk: Dialogue, sheli: Any, person: Any
) -> None:
    hire(sheli, "property_steward", "王师傅", "o_steward2")
    talk.people["colleague"] = person("o_steward2")
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),  # to 李师傅 (the first of two with none)
            ("steward", "转派 1 物业管家", ["#1 已转派给物业管家王师傅", absent("不用转派")]),
            ("colleague", INBOX, only("【转派任务 #1】")),
        ]
    )
    assert transfers(sheli, 1) == 1


def test_a_transfer_to_the_same_empty_role_is_refused_too(sheli: Any, person: Any) -> None:
    hire(sheli, "property_steward", "李师傅", "o_steward")
    talk = Dialogue({"resident": person("o_res"), "steward": person("o_steward")})
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("steward", "转派 1 网格员", "网格员暂无在岗人员，#1 待分派"),
            ("resident", INBOX, only("网格员")),
        ]
    )
    waiting = "#1 已经在等网格员，暂无在岗人员，有人上岗后会派出。"
    with pytest.raises(Invalid, match=waiting):
        sheli.handle(TransferTicket(1, "网格员", Actor.operator("admin")))
    assert transfers(sheli, 1) == 1
    assert talk.people["resident"].new_messages() == []


def test_the_dashboard_transfer_defaults_to_no_role_and_refuses_a_no_op(
    operator: Any, sheli: Any, person: Any
) -> None:
    hire(sheli, "property_steward", "李师傅", "o_steward")
    resident, steward = person("o_res"), person("o_steward")
    resident.say("3栋502热水器坏了")
    resident.new_messages()
    steward.new_messages()
    page = text_of(operator.get("/dashboard/tickets/1"))
    select = re.search(
        r'<select name="role" id="reassign-role" required>(.*?)</select>', page, re.S
    )
    assert select is not None
    assert re.search(r'<option value="" selected disabled>请选择岗位</option>', select.group(1))
    assert "物业管家（当前）" in select.group(1) and select.group(1).count("selected") == 1

    same = post(operator, "/dashboard/tickets/1/reassign", role="property_steward")
    assert same.headers["Location"] == "/dashboard/tickets/1"
    shown = text_of(operator.get("/dashboard/tickets/1"))
    assert "#1 已经在物业管家李师傅手上，不用转派。" in shown
    post(operator, "/dashboard/tickets/1/reassign", role="")
    assert "#1 转派给哪个岗位？" in text_of(operator.get("/dashboard/tickets/1"))
    assert transfers(sheli, 1) == 0
    assert steward.new_messages() == [] and resident.new_messages() == []
    assert ("transferred", OPERATOR) not in trail(sheli, 1)


# --- 15. the ticket page's conversation is about this ticket only ----------------------------


def chat_of(operator: Any, number: int) -> str:
    page = text_of(operator.get(f"/dashboard/tickets/{number}"))
    found = re.search(r'<ol class="chat">(.*?)</ol>', page, re.S)
    assert found is not None
    return found.group(1)


def test_the_conversation_shows_only_what_is_about_this_ticket(
    operator: Any, sheli: Any, person: Any, clock: Any
) -> None:
    hire(sheli, "branch_liaison", "陈联络员", "o_liaison")
    hire(sheli, "property_steward", "李师傅", "o_steward")
    hire(sheli, "grid_worker", "赵网格", "o_grid")
    talk = Dialogue({"resident": person("o_res"), "steward": person("o_steward")})
    talk(
        [
            ("resident", "5栋3楼楼道电线裸露 很危险", "#1"),
            ("resident", "家里老人生病了 实在困难 想申请帮扶", "#2"),
            ("resident", "你好", None),  # about nothing
            ("resident", "热水器坏了", "在哪里"),  # asked where: this message joins #3 …
            ("resident", "3栋502", "#3"),  # … with the answer
            ("steward", "接单 3", "#3"),
            ("steward", "完成 3 换了加热棒", "#3"),
        ]
    )
    hazard = chat_of(operator, 1)
    assert "电线裸露" in hazard and "→ 网格员赵网格" in hazard
    for other in ("老人生病", "你好", "热水器", "加热棒"):
        assert other not in hazard, other
    repair = chat_of(operator, 3)
    assert "热水器坏了" in repair and "3栋502" in repair and "换了加热棒" in repair
    assert "→ 物业管家李师傅" in repair and "【新任务 #3】" in repair
    for other in ("老人生病", "电线", "你好"):
        assert other not in repair, other
    assert "完成 3" not in repair  # the staff member's keyword is in the trail, not here

    # The visit's answer is about #3 too.
    from bot.scheduler import run_due

    clock.advance(hours=25)
    run_due(sheli)
    assert "5" in person("o_res").say("5")
    repair = chat_of(operator, 3)
    assert re.search(r'<span class="bubble">5</span>', repair)
    assert "评分 5 分" not in chat_of(
        operator, 1
    ) and '<span class="bubble">5</span>' not in chat_of(operator, 1)


def test_the_conversation_is_read_by_ticket_number_not_by_person(
    operator: Any, sheli: Any, person: Any
) -> None:
    from sqlalchemy import event

    from handlers import read_models

    hire(sheli, "property_steward", "李师傅", "o_steward")
    for n in range(1, 6):
        person(f"o_res{n}").say(f"{n}栋10{n}热水器坏了")
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()).lower())

    event.listen(sheli.engine, "before_cursor_execute", seen)
    try:
        page = sheli.read(read_models.ticket_page, 3)
    finally:
        event.remove(sheli.engine, "before_cursor_execute", seen)
    assert [line.text for line in page.chat if line.direction == "in"] == ["3栋103热水器坏了"]
    about = [s for s in statements if "from outbox" in s or "from inbound_messages" in s]
    assert len(about) == 2, about
    assert all("ticket_id =" in s for s in about), about
    assert not any("recipient =" in s or "openid =" in s for s in about), about


# --- 16. no raw English JSON after 查看完整电话; HTML errors in Chinese ---------------------

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_reloading_the_full_phone_address_goes_back_to_the_ticket(
    operator: Any, sheli: Any, person: Any
) -> None:
    hire(sheli, "property_steward", "李师傅", "o_steward")
    person("o_res").say("3栋502热水器坏了，电话13812345678")
    shown = post(operator, "/dashboard/tickets/1/phone")
    assert shown.status_code == 200 and "13812345678" in text_of(shown)
    looks = trail(sheli, 1).count(("phone_viewed", OPERATOR))
    again = operator.get("/dashboard/tickets/1/phone", headers=BROWSER)
    assert again.status_code == 303 and again.headers["Location"] == "/dashboard/tickets/1"
    page = text_of(operator.get(again.headers["Location"], headers=BROWSER))
    assert "138****5678" in page and "13812345678" not in page
    assert trail(sheli, 1).count(("phone_viewed", OPERATOR)) == looks  # a GET looks at nothing


def test_http_errors_are_a_chinese_page_for_a_browser_and_json_for_the_api(
    operator: Any, client: Any
) -> None:
    wrong_method = operator.get("/dashboard/tickets/1/close", headers=BROWSER)
    assert wrong_method.status_code == 405
    page = text_of(wrong_method)
    assert wrong_method.mimetype == "text/html"
    assert msg.HTTP_ERROR_PAGES[405] in page and "Method Not Allowed" not in page
    assert "退出" in page  # the operator's menu is there: the way back
    assert wrong_method.headers["Content-Security-Policy"].startswith("default-src 'self'")
    missing = operator.get("/dashboard/no-such-page", headers=BROWSER)
    assert missing.status_code == 404 and msg.HTTP_ERROR_PAGES[404] in text_of(missing)
    nowhere = client.get("/no-such-page", headers=BROWSER)
    assert nowhere.status_code == 404 and msg.HTTP_ERROR_PAGES[404] in text_of(nowhere)
    # JSON routes, and clients that do not ask for a page, keep JSON.
    api = operator.get("/dashboard/api/no-such-thing", headers=BROWSER)
    assert api.status_code == 404 and api.get_json()["status"] == 404
    posted = operator.get("/simulator/seed", headers=BROWSER)
    assert posted.status_code == 405 and posted.get_json()["status"] == 405
    plain = client.get("/dashboard/tickets/1/close")
    assert plain.status_code == 405 and plain.get_json() == {
        "error": "Method Not Allowed",
        "status": 405,
    }


def test_an_error_page_for_someone_not_logged_in_shows_no_menu(client: Any) -> None:
    page = client.get("/dashboard/tickets/1/close", headers=BROWSER)
    assert page.status_code == 405 and msg.HTTP_ERROR_PAGES[405] in text_of(page)
    assert "退出" not in text_of(page) and "工单" not in text_of(page)


# --- 30. the favicon -------------------------------------------------------------------------


def test_the_favicon_is_no_404(client: Any) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 204 and icon.data == b""
    assert "max-age" in icon.headers["Cache-Control"]


# --- 17. 停用 asks first, and warns when it leaves a role empty -------------------------------


def is_active(sheli: Any, staff_id: int) -> bool:
    from storage.models import Staff

    with sheli.uow() as uow:
        member = uow.session.get(Staff, staff_id)
        assert member is not None
        return bool(member.active)


def test_deactivating_asks_first_and_one_click_changes_nothing(
    operator: Any, sheli: Any, person: Any
) -> None:
    liaison = hire(sheli, "branch_liaison", "陈联络员", "o_liaison")
    steward = hire(sheli, "property_steward", "李师傅", "o_steward")
    person("o_res").say("3栋502热水器坏了")
    staff_page = text_of(operator.get("/dashboard/staff"))
    button = re.search(
        rf'<form method="(\w+)" action="/dashboard/staff/{steward}/deactivate">', staff_page
    )
    assert button is not None and button.group(1) == "get"  # the button only asks

    # A bare POST (an old page, a double click) only leads to the question.
    bare = post(operator, f"/dashboard/staff/{steward}/deactivate")
    assert bare.status_code == 303 and is_active(sheli, steward)
    ask = text_of(operator.get(bare.headers["Location"]))
    assert "停用物业管家李师傅？" in ask
    assert "李师傅手上还有1件在办工单，不会自动转走" in ask
    assert "李师傅是目前唯一在岗的物业管家。停用后，新的物业管家工单会先交给支部联络员。" in ask
    assert 'name="confirm" value="1"' in ask and "返回，不停用" in ask

    done = post(operator, f"/dashboard/staff/{steward}/deactivate", confirm="1")
    assert done.headers["Location"] == "/dashboard/staff" and not is_active(sheli, steward)
    assert "李师傅 已停用" in text_of(operator.get("/dashboard/staff"))
    again = operator.get(f"/dashboard/staff/{steward}/deactivate")
    assert again.headers["Location"] == "/dashboard/staff"
    assert "李师傅 已经停用了。" in text_of(operator.get("/dashboard/staff"))

    # The only branch liaison: the strongest warning.
    last = text_of(operator.get(f"/dashboard/staff/{liaison}/deactivate"))
    assert "陈联络员是唯一在岗的支部联络员！" in last and "人工服务、困难帮扶" in last
    assert is_active(sheli, liaison)
    assert operator.get("/dashboard/staff/99/deactivate").status_code == 404


def test_no_warning_while_a_colleague_is_on_duty_and_a_stronger_one_with_nobody_behind(
    operator: Any, sheli: Any
) -> None:
    first = hire(sheli, "property_steward", "李师傅", "o_steward")
    second = hire(sheli, "property_steward", "王师傅", "o_steward2")
    calm = text_of(operator.get(f"/dashboard/staff/{first}/deactivate"))
    assert "停用物业管家李师傅？" in calm and "data-warning" not in calm
    assert "手上还有" not in calm  # holds nothing
    post(operator, f"/dashboard/staff/{first}/deactivate", confirm="1")
    alone = text_of(operator.get(f"/dashboard/staff/{second}/deactivate"))
    assert "王师傅是目前唯一在岗的物业管家，支部联络员也没有人在岗" in alone
    assert "将无人接收" in alone


# --- 24. the SLA clock in whole units; one name for job_fair --------------------------------


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (0.2, "1分钟"),
        (35, "35分钟"),
        (85, "1小时25分"),
        (119.6, "2小时"),
        (1235, "20小时35分"),
        (1439.7, "1天"),
        (1745, "1天5小时"),
        (9840, "6天20小时"),
    ],
)
def test_the_sla_clock_counts_in_whole_units(minutes: float, text: str) -> None:
    from datetime import timedelta

    from handlers.times import clock_text, human_duration

    assert clock_text(timedelta(minutes=minutes)) == text
    assert ".0" not in human_duration(timedelta(minutes=minutes))  # never "2.0小时"


def test_job_fair_has_the_menus_name_everywhere(operator: Any, sheli: Any, person: Any) -> None:
    hire(sheli, "employment_liaison", "孙专员", "o_jobs")
    assert msg.INTENT_NAMES["job_fair"] == msg.MENU_LABELS["JOBS"] == "招聘求职"
    reply = person("o_res").say("我想找份电工的工作，帮我找找")
    assert "招聘求职 #1" in reply and "就业服务 #" not in reply
    listed = text_of(operator.get("/dashboard/tickets"))
    assert re.search(r'<option value="job_fair"\s*>招聘求职</option>', listed)
    assert "就业服务</option>" not in listed


# --- 25. the overview's charts: minutes when small, readable ticks, a clear legend ----------


def ticks(svg: str) -> list[str]:
    """The axis labels, bottom to top (one fill each: the axis colour)."""
    return re.findall(r'<text[^>]*text-anchor="end" fill="#888">([^<]*)</text>', svg)


def test_gridlines_fall_on_readable_steps() -> None:
    from bot.dashboard import charts

    assert [charts.nice_step(v) for v in (0.3, 0.8, 2.6, 9.6, 12, 13, 21, 70)] == [
        0.5,
        1,
        3,
        10,
        15,
        15,
        25,
        80,
    ]
    small = charts.line_chart(["W1", "W2"], {"中位数": [20, 48]}, "t", value_unit="分钟")
    assert ticks(str(small)) == ["0", "15", "30", "45", "60"]
    assert "W2 中位数：48分钟" in str(small)
    hours = charts.line_chart(["W1", "W2"], {"中位数": [3.2, 38.5]}, "t", value_unit="小时")
    assert ticks(str(hours)) == ["0", "10", "20", "30", "40"]
    bars = charts.bar_chart(["3栋", "5栋"], {"在办": [50, 3]}, "t")
    assert ticks(str(bars)) == ["0", "15", "30", "45", "60"]
    few = charts.bar_chart(["3栋"], {"在办": [1]}, "t")
    assert ticks(str(few)) == ["0", "1", "2", "3", "4"]  # counts stay whole


def test_the_resolution_chart_is_in_minutes_while_the_medians_are_small(
    operator: Any, sheli: Any, person: Any, clock: Any
) -> None:
    hire(sheli, "property_steward", "李师傅", "o_steward")
    steward = person("o_steward")
    person("o_res").say("3栋502热水器坏了")
    clock.advance(minutes=6)
    steward.say("接单 1")
    clock.advance(minutes=14)
    steward.say("完成 1 换了加热棒")
    page = text_of(operator.get("/dashboard/"))
    assert "办结用时与首次响应（中位数，分钟）" in page
    assert "办结用时中位数：20分钟" in page and "首次响应中位数：6分钟" in page
    assert (
        "小时" not in re.search(r'aria-label="办结用时与首次响应（分钟）".*?</svg>', page, re.S)[0]
    )

    person("o_res2").say("5栋101水龙头漏水")
    clock.advance(hours=2)
    steward.say("接单 2")
    clock.advance(hours=8)
    steward.say("完成 2 换了阀门")
    page = text_of(operator.get("/dashboard/"))
    assert "办结用时与首次响应（中位数，小时）" in page  # a median of 5小时10分: hours


def test_the_buildings_chart_names_open_done_and_cancelled(
    operator: Any, sheli: Any, person: Any
) -> None:
    hire(sheli, "property_steward", "李师傅", "o_steward")
    person("o_a").say("3栋502热水器坏了")
    person("o_b").say("3栋301水管漏水")
    person("o_c").say("5栋101门锁坏了")
    person("o_steward").say("完成 1 好了")
    post(operator, "/dashboard/tickets/2/cancel", reason="重复登记")
    page = text_of(operator.get("/dashboard/buildings"))
    chart = re.search(r'aria-label="各楼栋诉求数".*?</svg>', page, re.S)
    assert chart is not None
    for name in ("在办", "已办结", "已取消"):
        assert f">{name}</text>" in chart[0], name
    assert "已办结等" not in page
    assert "3栋 已办结：1" in chart[0] and "3栋 已取消：1" in chart[0] and "5栋 在办：1" in chart[0]


# --- 27. an event's time in one style --------------------------------------------------------


def test_the_event_page_writes_start_and_end_in_one_style(operator: Any, sheli: Any) -> None:
    from handlers.commands import SaveEvent

    base = {"kind": "job_fair", "title": "招聘会", "place": "3栋一楼", "capacity": "20"}
    same_day = sheli.handle(
        SaveEvent({**base, "starts_at": "2026-12-05 09:00", "ends_at": "2026-12-05 12:00"})
    )
    two_days = sheli.handle(
        SaveEvent({**base, "starts_at": "2026-12-05 19:00", "ends_at": "2026-12-06 12:30"})
    )
    open_ended = sheli.handle(SaveEvent({**base, "starts_at": "2026-12-05 09:00"}))

    def shown(event: Any) -> str:
        page = text_of(operator.get(f"/dashboard/events/{event.id}"))
        found = re.search(r"<dd data-when>([^<]*)</dd>", page)
        assert found is not None
        return found.group(1)

    assert shown(same_day) == "12月5日（周六）9:00–12:00"
    assert shown(two_days) == "12月5日（周六）19:00 至 12月6日（周日）12:30"
    assert shown(open_ended) == "12月5日（周六）9:00"
    data = operator.get(f"/dashboard/api/events/{same_day.id}").get_json()
    assert (
        data["when_span"] == "12月5日（周六）9:00–12:00" and data["when"] == "12月5日（周六）9:00"
    )


# --- 29. a catch-up after the scheduler was down: one SLA message per person per tick --------


def test_a_catch_up_after_downtime_tells_each_person_once_per_tick(
    make_sheli: Any, clock: Any
) -> None:
    from collections import Counter

    from bot.scheduler import run_due
    from tests.test_sla import SECRETARY, staffed
    from tests.wechat import outbox_rows

    sheli, person = staffed(make_sheli)
    for n in range(1, 7):  # six repairs and two quarrels, nobody accepts any
        person(f"o_res{n}").say(f"{n}栋10{n}热水器坏了")
    for n in range(7, 9):
        person(f"o_res{n}").say(f"{n}栋20{n}隔壁宿舍天天半夜吵，说了也不听")
    before = Counter(m.recipient for m in outbox_rows(sheli) if m.kind == "sla")
    assert not before
    clock.advance(hours=9)  # the scheduler was down: past the deadlines and their escalations
    first = run_due(sheli)
    assert len(first["sla"]) == 16  # each ticket: the breach and its escalation, recorded
    told = Counter(m.recipient for m in outbox_rows(sheli) if m.kind == "sla")
    assert told == {"o_steward": 1, "o_grid": 1, "o_liaison": 1, SECRETARY: 1}, told
    clock.advance(minutes=1)
    assert run_due(sheli)["sla"] == []
    again = Counter(m.recipient for m in outbox_rows(sheli) if m.kind == "sla")
    assert again == told  # the next tick says nothing new
