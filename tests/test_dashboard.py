"""The operators' dashboard: nothing without login, CSRF on every form, a lock-out after wrong
passwords, masked phones on lists, and every operator action in the ticket's audit trail."""

from __future__ import annotations

import re
from typing import Any

import pytest
from werkzeug.security import generate_password_hash

from bot.app import create_app
from handlers import messages as msg
from handlers.commands import AddStaff
from storage.models import Staff, Ticket
from tests.wechat import Person, WeChatServer

PASSWORD = "correct horse battery"
# A cheap hash method keeps the many logins in these tests fast.
PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
OPERATOR = "operator:admin"


@pytest.fixture
def sheli(make_sheli: Any) -> Any:
    return make_sheli(dashboard__password_hash=PASSWORD_HASH)


@pytest.fixture
def operator(client: Any) -> Any:
    """A test client logged in as the operator."""
    login(client)
    return client


def csrf(client: Any) -> str:
    """The CSRF token a form of this session carries (the login form, or the logout button)."""
    page = client.get("/dashboard/login", follow_redirects=True).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "the page carries a CSRF token"
    return token.group(1)


def login(
    client: Any, password: str = PASSWORD, username: str = "admin", next_url: str = ""
) -> Any:
    page = client.get("/dashboard/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert token, "the login form carries a CSRF token"
    return client.post(
        "/dashboard/login",
        data={
            "csrf_token": token.group(1),
            "username": username,
            "password": password,
            "next": next_url,
        },
    )


def post(client: Any, url: str, **form: Any) -> Any:
    return client.post(url, data={"csrf_token": csrf(client), **form})


def hire(sheli: Any, role: str, name: str, openid: str) -> int:
    staff, _ = sheli.handle(AddStaff(role=role, name=name, openid=openid))
    return int(staff.id)


def ticket(sheli: Any, number: int) -> Ticket:
    with sheli.uow() as uow:
        found = uow.tickets.get(number)
        assert found is not None
        found.events  # noqa: B018 - load the trail before the session closes
        return found


def trail(sheli: Any, number: int) -> list[tuple[str, str]]:
    with sheli.uow() as uow:
        return [(e.kind, e.actor) for e in uow.tickets.events(number)]


@pytest.fixture
def repaired(sheli: Any, person: Any, clock: Any) -> Person:
    """A resident's repair #1, accepted, finished and rated 5 by the resident."""
    hire(sheli, "property_steward", "张师傅", "o_steward")
    hire(sheli, "grid_worker", "陈网格", "o_grid")
    resident = person("o_resident")
    assert "#1" in resident.say("3栋502热水器坏了，电话13812345678")
    steward = person("o_steward")
    steward.say("接单 1")
    clock.advance(hours=2)
    steward.say("完成 1 换了加热棒")
    return resident


def dashboard_rules(app: Any) -> list[tuple[str, str]]:
    """(method, url) of every dashboard route except the login form and static files."""
    rules = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("dashboard.") or rule.endpoint in (
            "dashboard.login",
            "dashboard.static",
        ):
            continue
        url = rule.build({"number": 1, "staff_id": 1, "attachment_id": 1}, append_unknown=False)[1]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            rules.append((method, url))
    return rules


# --- login required --------------------------------------------------------------------------


def test_every_dashboard_route_needs_a_login(app: Any, client: Any, repaired: Person) -> None:
    rules = dashboard_rules(app)
    assert len(rules) >= 15
    token = csrf(client)
    for method, url in rules:
        if method == "GET":
            response = client.get(url)
        else:  # even with a valid CSRF token
            response = client.post(url, data={"csrf_token": token, "role": "grid_worker"})
        if url.startswith("/dashboard/api/"):
            assert response.status_code == 401, (method, url)
            assert response.get_json()["error"] == "login required"
        else:
            assert response.status_code == 302, (method, url)
            assert response.headers["Location"].startswith("/dashboard/login"), url
    assert ("transferred", OPERATOR) not in trail(app.extensions["sheli"], 1)


def test_json_clients_get_401_not_a_redirect(client: Any) -> None:
    response = client.get("/dashboard/tickets", headers={"Accept": "application/json"})
    assert response.status_code == 401


def test_login_takes_you_back_where_you_were_going(client: Any) -> None:
    response = client.get("/dashboard/tickets?status=open")
    assert response.headers["Location"] == "/dashboard/login?next=/dashboard/tickets?status%3Dopen"
    response = login(client, next_url="/dashboard/tickets?status=open")
    assert response.headers["Location"] == "/dashboard/tickets?status=open"
    assert client.get("/dashboard/tickets?status=open").status_code == 200


def test_login_never_redirects_off_site(client: Any) -> None:
    response = login(client, next_url="//evil.example/x")
    assert response.headers["Location"] == "/dashboard/"


def test_wrong_password_or_user_is_refused(client: Any) -> None:
    assert login(client, password="guess").status_code == 401
    assert login(client, username="root").status_code == 401
    assert client.get("/dashboard/").status_code == 302


def test_session_cookie_is_httponly_and_samesite(client: Any) -> None:
    response = login(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_logout_ends_the_session(operator: Any) -> None:
    assert operator.get("/dashboard/").status_code == 200
    assert post(operator, "/dashboard/logout").status_code == 302
    assert operator.get("/dashboard/").status_code == 302


def test_without_a_password_hash_the_dashboard_explains_how_to_enable_it(
    make_sheli: Any,
) -> None:
    client = create_app(sheli=make_sheli()).test_client()
    for url in ("/dashboard/", "/dashboard/login", "/dashboard/api/overview"):
        response = client.get(url)
        assert response.status_code == 503
        page = response.get_data(as_text=True)
        assert "SHELI_DASHBOARD__PASSWORD_HASH" in page
        assert "sheli dashboard hash-password" in page


# --- CSRF ------------------------------------------------------------------------------------


def test_forms_without_the_csrf_token_are_refused(
    operator: Any, sheli: Any, repaired: Person
) -> None:
    before = trail(sheli, 1)
    missing = operator.post("/dashboard/tickets/1/note", data={"text": "悄悄改"})
    forged = operator.post("/dashboard/tickets/1/note", data={"text": "悄悄改", "csrf_token": "x"})
    assert (missing.status_code, forged.status_code) == (400, 400)
    assert trail(sheli, 1) == before
    assert post(operator, "/dashboard/tickets/1/note", text="已电话确认").status_code == 302
    assert trail(sheli, 1)[-1] == ("note", OPERATOR)


def test_the_login_form_itself_needs_the_token(client: Any) -> None:
    response = client.post("/dashboard/login", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/dashboard/").status_code == 302


# --- wrong passwords -------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_address_out_for_15_minutes(
    client: Any, app: Any, clock: Any
) -> None:
    codes = [login(client, password=f"guess{i}").status_code for i in range(5)]
    assert codes == [401, 401, 401, 401, 429]
    assert login(client).status_code == 429  # even the right password
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert login(other).status_code == 302  # another address is not affected
    clock.advance(minutes=16)
    assert login(client).status_code == 302


def test_wrong_passwords_spread_over_time_do_not_lock(client: Any, clock: Any) -> None:
    for i in range(8):
        assert login(client, password=f"guess{i}").status_code == 401
        clock.advance(minutes=4)
    assert login(client).status_code == 302


def test_the_lock_out_is_shared_by_every_worker(make_sheli: Any) -> None:
    first = create_app(sheli=make_sheli(dashboard__password_hash=PASSWORD_HASH)).test_client()
    second = create_app(sheli=make_sheli(dashboard__password_hash=PASSWORD_HASH)).test_client()
    for i in range(5):
        login(first, password=f"guess{i}")
    assert login(second).status_code == 429


# --- tickets ---------------------------------------------------------------------------------


def test_phone_numbers_are_masked_on_lists(operator: Any, repaired: Person) -> None:
    page = operator.get("/dashboard/tickets").get_data(as_text=True)
    assert "138****5678" in page and "13812345678" not in page
    data = operator.get("/dashboard/api/tickets").get_json()
    assert data["tickets"][0]["phone"] == "138****5678"


def test_opening_a_ticket_shows_everything_and_records_who_looked(
    operator: Any, sheli: Any, repaired: Person
) -> None:
    # Deliberate change (issue 15): the page shows the phone masked, also inside the resident's
    # words; the full number is one audited click away (test_the_full_phone_is_one_click_away).
    page = operator.get("/dashboard/tickets/1").get_data(as_text=True)
    assert "138****5678" in page and "13812345678" not in page
    assert "换了加热棒" in page  # the resolution
    assert "3栋502热水器坏了" in page  # the conversation
    assert "已由物业管家张师傅接单" in page  # what Sheli told the resident
    assert "运营人员 admin" in page and "物业管家张师傅" in page  # who did what, in Chinese
    assert OPERATOR not in page
    assert trail(sheli, 1)[-1] == ("viewed", OPERATOR)
    operator.get("/dashboard/tickets/1")  # a reload a moment later is not a new line
    assert trail(sheli, 1).count(("viewed", OPERATOR)) == 1
    operator.get("/dashboard/api/tickets/1")
    assert trail(sheli, 1).count(("viewed", OPERATOR)) == 1


def test_the_json_view_of_a_ticket_is_recorded_too(
    operator: Any, sheli: Any, repaired: Person
) -> None:
    data = operator.get("/dashboard/api/tickets/1").get_json()
    assert data["phone"] == "13812345678"
    assert ("viewed", OPERATOR) in trail(sheli, 1)


def test_ticket_page_shows_the_visit_result(
    operator: Any, sheli: Any, repaired: Person, clock: Any
) -> None:
    clock.advance(hours=25)
    from bot.scheduler import run_due

    run_due(sheli)
    assert "回访" in repaired.new_messages()[-1]
    repaired.say("5")
    page = operator.get("/dashboard/tickets/1").get_data(as_text=True)
    assert "评分 <b>5</b> 分" in page
    assert ticket(sheli, 1).status == "closed"


def test_filters(operator: Any, person: Any, repaired: Person, clock: Any) -> None:
    person("o_neighbour").say("室友半夜吵闹，7栋301，怎么调解")
    listed = lambda query: [  # noqa: E731
        t["id"] for t in operator.get(f"/dashboard/api/tickets?{query}").get_json()["tickets"]
    ]
    assert listed("") == [2, 1]
    assert listed("intent=repair") == [1]
    assert listed("status=resolved") == [1]
    assert listed("status=active") == [2]
    assert listed("role=grid_worker") == [2]
    assert listed("building=7栋") == [2]
    assert listed("since=2026-11-23&until=2026-11-23") == [2, 1]
    assert listed("since=2026-11-24") == []
    assert listed("until=2026-11-22") == []
    assert listed("since=not-a-date") == [2, 1]
    page = operator.get("/dashboard/tickets?intent=mediation").get_data(as_text=True)
    assert "#2" in page and "#1<" not in page


def test_operator_reassigns_a_ticket(operator: Any, sheli: Any, person: Any) -> None:
    hire(sheli, "property_steward", "张师傅", "o_steward")
    hire(sheli, "grid_worker", "陈网格", "o_grid")
    resident = person("o_resident")
    resident.say("6号楼楼道灯坏了")
    grid = person("o_grid")
    response = post(operator, "/dashboard/tickets/1/reassign", role="grid_worker")
    assert response.status_code == 302
    moved = ticket(sheli, 1)
    assert (moved.role, moved.assignee.name if moved.assignee else None) == (
        "grid_worker",
        "陈网格",
    )
    assert ("transferred", OPERATOR) in trail(sheli, 1)
    assert any("#1" in text for text in grid.new_messages())
    assert any("网格员" in text for text in resident.new_messages())
    page = operator.get("/dashboard/tickets/1").get_data(as_text=True)
    assert "已转派给网格员陈网格" in page


def test_reassigning_a_finished_ticket_is_refused_politely(
    operator: Any, sheli: Any, repaired: Person
) -> None:
    post(operator, "/dashboard/tickets/1/reassign", role="grid_worker")
    assert ticket(sheli, 1).role == "property_steward"
    assert "已办结" in operator.get("/dashboard/tickets/1").get_data(as_text=True)
    assert post(operator, "/dashboard/tickets/1/reassign", role="nobody").status_code == 302
    assert ("transferred", OPERATOR) not in trail(sheli, 1)


def test_unknown_ticket(operator: Any) -> None:
    assert operator.get("/dashboard/tickets/99").status_code == 404
    assert operator.get("/dashboard/api/tickets/99").status_code == 404


def test_refusals_become_an_error_page_a_flash_or_json(
    operator: Any, sheli: Any, repaired: Person
) -> None:
    missing = operator.get("/dashboard/api/tickets/99")
    assert missing.get_json() == {"error": msg.NO_SUCH_TICKET.format(n=99), "status": 404}
    page = operator.get("/dashboard/tickets/99").get_data(as_text=True)
    assert msg.NO_SUCH_TICKET.format(n=99) in page
    # A form's refusal is told on the page the form was on (#1 is resolved: no transfer).
    refused = post(operator, "/dashboard/tickets/1/reassign", role="grid_worker")
    assert refused.headers["Location"] == "/dashboard/tickets/1"
    told = msg.WRONG_STATE.format(n=1, status=msg.STATUS_NAMES["resolved"])
    assert told in operator.get("/dashboard/tickets/1").get_data(as_text=True)
    assert post(operator, "/dashboard/tickets/99/note", text="备注").status_code == 404


# --- staff -----------------------------------------------------------------------------------


def test_staff_page_lists_roles_with_open_load(operator: Any, person: Any, sheli: Any) -> None:
    hire(sheli, "property_steward", "张师傅", "o_steward")
    person("o_resident").say("3栋502热水器坏了")
    page = operator.get("/dashboard/staff").get_data(as_text=True)
    assert "物业管家" in page and "张师傅" in page and "在办 1" in page
    staff = operator.get("/dashboard/api/staff").get_json()["staff"]
    assert staff == [
        {
            "id": 1,
            "name": "张师傅",
            "role": "property_steward",
            "role_name": "物业管家",
            "openid": "o_steward",
            "bound": True,
            "active": True,
            "open_tickets": 1,
            "community": None,
        }
    ]


def test_operator_adds_staff_and_the_bind_code_works(
    operator: Any, sheli: Any, person: Any
) -> None:
    response = post(operator, "/dashboard/staff", role="legal_adviser", name="刘律师")
    page = response.get_data(as_text=True)
    code = re.search(r"绑定 ([A-Z0-9]{8})", page)
    assert response.status_code == 200 and code
    reply = person("o_lawyer").say(f"绑定 {code.group(1)}")
    assert "刘律师" in reply
    with sheli.uow() as uow:
        assert uow.staff.by_openid("o_lawyer") is not None


def test_adding_staff_with_a_bad_role_is_refused(operator: Any, sheli: Any) -> None:
    post(operator, "/dashboard/staff", role="janitor", name="某某")
    with sheli.uow() as uow:
        assert list(uow.staff.list()) == []
    assert "没有添加" in operator.get("/dashboard/staff").get_data(as_text=True)


def test_a_new_bind_code_unbinds_the_old_account(operator: Any, sheli: Any, person: Any) -> None:
    """A new phone: the code from the dashboard unbinds the old account, as `sheli staff code`."""
    steward = hire(sheli, "property_steward", "张师傅", "o_steward")
    page = post(operator, f"/dashboard/staff/{steward}/code").get_data(as_text=True)
    code = re.search(r"绑定 ([A-Z0-9]{8})", page)
    assert code
    assert operator.get("/dashboard/api/staff").get_json()["staff"][0]["bound"] is False
    assert msg.STAFF_ONLY in person("o_steward").say("任务")
    assert "张师傅" in person("o_new_phone").say(f"绑定 {code.group(1)}")
    assert post(operator, "/dashboard/staff/99/code").status_code == 404


def test_operator_deactivates_staff(operator: Any, sheli: Any, person: Any) -> None:
    steward = hire(sheli, "property_steward", "张师傅", "o_steward")
    hire(sheli, "branch_liaison", "李联络", "o_liaison")
    # 停用 asks first (a confirm page); only its form, with confirm=1, deactivates.
    asked = post(operator, f"/dashboard/staff/{steward}/deactivate")
    assert asked.headers["Location"] == f"/dashboard/staff/{steward}/deactivate"
    confirmed = post(operator, f"/dashboard/staff/{steward}/deactivate", confirm="1")
    assert confirmed.status_code == 302
    with sheli.uow() as uow:
        member = uow.session.get(Staff, steward)
        assert member is not None and not member.active
    person("o_resident").say("3栋502热水器坏了")
    assert ticket(sheli, 1).role == "branch_liaison"  # nobody else on duty for repairs
    post(operator, f"/dashboard/staff/{steward}/reactivate")
    person("o_resident2").say("5栋101水龙头漏水")
    assert ticket(sheli, 2).role == "property_steward"


# --- overview and summary --------------------------------------------------------------------


def test_overview_shows_real_figures(
    operator: Any, sheli: Any, repaired: Person, clock: Any, person: Any
) -> None:
    from bot.scheduler import run_due

    person("o_neighbour").say("室友半夜吵闹，7栋301，怎么调解")
    clock.advance(hours=25)
    run_due(sheli)
    repaired.say("5")
    data = operator.get("/dashboard/api/overview").get_json()
    week = data["this_week"]
    assert (data["open"], week["new_tickets"], week["resolved"]) == (1, 2, 1)
    assert (week["completion_rate"], week["mean_rating"], week["satisfaction_rate"]) == (
        0.5,
        5,
        1.0,
    )
    assert len(data["weekly"]) == 12 and data["weekly"][-1]["week"] == week["week"]
    assert {"building": "3栋", "tickets": 1} in data["buildings"]
    page = operator.get("/dashboard/").get_data(as_text=True)
    assert 'data-figure="open">1<' in page
    assert 'data-figure="completion">50%<' in page
    assert 'data-figure="rating">5<' in page


def test_charts_are_svg_with_chinese_labels(operator: Any, repaired: Person) -> None:
    page = operator.get("/dashboard/").get_data(as_text=True)
    assert page.count("<svg") == 4
    assert "Noto Sans CJK SC" in page
    assert re.search(r"<text[^>]*>物业报修</text>", page)
    assert re.search(r"<text[^>]*>3栋</text>", page)
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org", "")


def test_summary_page_is_where_the_wechat_summary_links(operator: Any, repaired: Person) -> None:
    page = operator.get("/dashboard/summary?week=2026-W48").get_data(as_text=True)
    assert "周报 2026-W48" in page
    assert "新收诉求1件" in page  # the very text that went to WeChat
    assert operator.get("/dashboard/summary?week=48").status_code == 400
    data = operator.get("/dashboard/api/summary?week=2026-W48").get_json()
    assert (data["week"], data["new_tickets"]) == ("2026-W48", 1)
    assert operator.get("/dashboard/summary").status_code == 200  # last full week by default


def test_pages_forbid_framing_and_inline_scripts(operator: Any) -> None:
    response = operator.get("/dashboard/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_the_stylesheet_needs_no_login(client: Any) -> None:
    assert client.get("/dashboard/static/dashboard.css").status_code == 200


def test_wechat_server_still_works_alongside(wechat: WeChatServer) -> None:
    assert Person(wechat, "o_someone").say("你好")


def test_reassigning_to_a_role_nobody_fills_says_the_liaison_has_it_first(
    operator: Any, sheli: Any, person: Any
) -> None:
    hire(sheli, "property_steward", "张师傅", "o_steward")
    hire(sheli, "branch_liaison", "李联络", "o_liaison")
    person("o_resident").say("6号楼楼道灯坏了")
    response = post(operator, "/dashboard/tickets/1/reassign", role="grid_worker")
    assert response.status_code == 302
    page = operator.get(response.headers["Location"]).get_data(as_text=True)
    assert "网格员暂无在岗人员，#1 已先交给支部联络员李联络" in page
    liaison = person("o_liaison").new_messages()
    assert any("#1" in text and "网格员暂无在岗人员" in text for text in liaison)
