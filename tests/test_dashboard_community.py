"""The dashboard's community pages: events with sign-ups, attendance and imports, buildings with
occupancy and requests, a resident's page, the party-building resources, and volunteer helpers
on a ticket. Nothing without login, CSRF on every form, phones masked on every list."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from handlers import read_models
from handlers.importing.resources import import_resources
from handlers.importing.rooms import import_rooms
from tests.test_dashboard import OPERATOR, PASSWORD_HASH, csrf, hire, login, post, trail

# The FakeClock starts on Monday 2026-11-23 01:00 UTC, 09:00 at the site (Asia/Shanghai).
FAIR = {
    "kind": "job_fair",
    "title": "遇荐九龙湾第15场",
    "starts_at": "2026-11-28T09:00",
    "place": "党群服务中心广场",
    "capacity": "2",
    "openings": "华兴电子厂/普工/5000-6500元/月\n顺达物流/分拣员/28元/小时",
}
EVENTS_CSV = (
    "kind,title,starts_at,place,capacity\n"
    "job_fair,遇荐九龙湾第16场,2026-12-05 09:00,党群服务中心广场,50\n"
    "法律服务,三官一律进网格,2026-12-02 19:00,3栋活动室,\n"
)
BAD_EVENTS_CSV = (
    "kind,title,starts_at,place,capacity\n"
    "job_fair,遇荐九龙湾第16场,2026-12-05 09:00,党群服务中心广场,50\n"
    "dance,广场舞,2026-12-06,,-3\n"
)
RESOURCES_YAML = """
alliance_units:
  - {name: 华兴电子厂党支部, category: 企业, services: 岗位与技能培训, contact: 王书记}
volunteers:
  - {name: 周师傅, team: 党员维修志愿队, skills: 水电维修, phone: "13900001111"}
  - {name: 吴阿姨, team: 邻里调解队}
"""


@pytest.fixture
def sheli(make_sheli: Any) -> Any:
    return make_sheli(dashboard__password_hash=PASSWORD_HASH)


@pytest.fixture
def operator(client: Any) -> Any:
    login(client)
    return client


def page(response: Any) -> str:
    return str(response.get_data(as_text=True))


def upload(client: Any, url: str, name: str, content: str) -> Any:
    return client.post(
        url,
        data={"csrf_token": csrf(client), "file": (io.BytesIO(content.encode()), name)},
        content_type="multipart/form-data",
    )


def create_event(operator: Any, **fields: str) -> int:
    response = post(operator, "/dashboard/events/new", **(FAIR | fields))
    assert response.status_code == 302, page(response)
    match = re.search(r"/dashboard/events/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def resident_id(sheli: Any, openid: str) -> int:
    with sheli.uow() as uow:
        return int(uow.residents.by_openid(openid).id)


@pytest.fixture
def fair(operator: Any, person: Any) -> int:
    """活动1 with two places: two residents signed up, a third on the waiting list."""
    number = create_event(operator)
    for n, room in enumerate(("3栋502", "3栋501", "5栋218")):
        resident = person(f"o_res{n}")
        resident.say(f"登记 {room}")
        if n == 0:
            resident.say("3栋502热水器坏了，电话13812345678")
            resident.say("保存电话")
        resident.say(f"报名 {number}")
    return number


# --- login and CSRF --------------------------------------------------------------------------

PAGES = (
    "/dashboard/events",
    "/dashboard/events/new",
    "/dashboard/events/1",
    "/dashboard/events/1/edit",
    "/dashboard/buildings",
    "/dashboard/building?name=3栋",
    "/dashboard/residents/1",
    "/dashboard/resources",
)
JSON = (
    "/dashboard/api/events",
    "/dashboard/api/events/1",
    "/dashboard/api/buildings",
    "/dashboard/api/building?name=3栋",
    "/dashboard/api/residents/1",
    "/dashboard/api/resources",
)
FORMS = (
    "/dashboard/events/new",
    "/dashboard/events/1/edit",
    "/dashboard/events/1/cancel",
    "/dashboard/events/1/attendance",
    "/dashboard/events/1/withdraw",
    "/dashboard/events/import",
    "/dashboard/buildings/import",
    "/dashboard/resources/import",
    "/dashboard/tickets/1/helper",
)


def test_community_pages_need_a_login(client: Any, sheli: Any) -> None:
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/dashboard/login"), url
    for url in JSON:
        response = client.get(url)
        assert response.status_code == 401, url
        assert response.get_json()["error"] == "login required"
    token = csrf(client)
    for url in FORMS:  # even with a valid CSRF token
        response = client.post(url, data={"csrf_token": token, **FAIR})
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/dashboard/login"), url
    with sheli.uow() as uow:
        assert uow.events.list() == []


def test_community_forms_without_the_csrf_token_are_refused(operator: Any, sheli: Any) -> None:
    for url in FORMS:
        assert operator.post(url, data=FAIR).status_code == 400, url
        assert operator.post(url, data={**FAIR, "csrf_token": "forged"}).status_code == 400, url
    with sheli.uow() as uow:
        assert uow.events.list() == []


def test_the_navigation_links_the_community_pages(operator: Any) -> None:
    html = page(operator.get("/dashboard/"))
    for url, name in (
        ("/dashboard/events", "活动"),
        ("/dashboard/buildings", "楼栋"),
        ("/dashboard/resources", "共建资源"),
    ):
        assert f'href="{url}"' in html and f">{name}</a>" in html


# --- events ----------------------------------------------------------------------------------


def test_an_operator_creates_an_event_and_sees_it_listed(operator: Any, sheli: Any) -> None:
    form = page(operator.get("/dashboard/events/new"))
    assert 'name="csrf_token"' in form and 'type="datetime-local"' in form
    number = create_event(operator)
    listed = page(operator.get("/dashboard/events"))
    assert f"活动{number}" in listed and "遇荐九龙湾第15场" in listed
    assert "2026-11-28 09:00" in listed  # local site time
    detail = operator.get(f"/dashboard/api/events/{number}").get_json()
    assert detail["starts_at"] == "2026-11-28T01:00:00Z"
    assert (detail["capacity"], detail["confirmed"], detail["waiting"]) == (2, 0, 0)
    assert [o["company"] for o in detail["openings"]] == ["华兴电子厂", "顺达物流"]
    assert detail["openings"][0]["pay"] == "5000-6500元/月"


def test_a_bad_event_form_is_shown_again_with_the_problems(operator: Any, sheli: Any) -> None:
    response = post(
        operator, "/dashboard/events/new", **(FAIR | {"title": "", "starts_at": "2026-11-28"})
    )
    assert response.status_code == 400
    html = page(response)
    assert "没有保存" in html and "名称为空" in html and "没有写几点几分" in html
    assert "党群服务中心广场" in html  # what was typed is kept
    with sheli.uow() as uow:
        assert uow.events.list() == []


def test_editing_an_event_keeps_imported_opening_counts_and_fills_the_waiting_list(
    operator: Any, sheli: Any, fair: int, person: Any
) -> None:
    with sheli.uow() as uow:
        event = uow.events.get(fair)
        event.openings = [{"company": "华兴电子厂", "job": "普工", "pay": "5000元", "count": 30}]
        uow.commit()
    form = page(operator.get(f"/dashboard/events/{fair}/edit"))
    assert 'value="2026-11-28T09:00"' in form and "华兴电子厂/普工/5000元" in form
    values = FAIR | {"capacity": "3", "openings": "华兴电子厂/普工/5000元"}
    response = post(operator, f"/dashboard/events/{fair}/edit", **values)
    assert response.headers["Location"] == f"/dashboard/events/{fair}"
    detail = operator.get(f"/dashboard/api/events/{fair}").get_json()
    assert detail["openings"] == [
        {"company": "华兴电子厂", "job": "普工", "pay": "5000元", "count": 30}
    ]
    assert (detail["confirmed"], detail["waiting"]) == (3, 0)
    [told] = person("o_res2").new_messages()
    assert "从候补转为报名成功" in told


def test_the_event_page_lists_sign_ups_with_masked_phones(
    operator: Any, sheli: Any, fair: int
) -> None:
    rows = operator.get("/dashboard/api/events").get_json()["events"]
    [row] = [r for r in rows if r["id"] == fair]
    assert (row["confirmed"], row["waiting"]) == (2, 1)
    html = page(operator.get(f"/dashboard/events/{fair}"))
    assert "138****5678" in html and "13812345678" not in html
    assert "o_res0" not in html  # residents by number, never by openid
    assert "3栋502" in html and "候补中（第1位）" in html
    assert f'href="/dashboard/residents/{resident_id(sheli, "o_res0")}"' in html
    listed = page(operator.get("/dashboard/events"))
    assert re.search(r"data-confirmed>2/2<", listed) and re.search(r"data-waiting>1<", listed)


def test_attendance_is_marked_for_confirmed_sign_ups_only(
    operator: Any, sheli: Any, fair: int, clock: Any
) -> None:
    clock.advance(days=5, hours=2)  # the fair has started
    detail = operator.get(f"/dashboard/api/events/{fair}").get_json()
    came, missed, waiting = (s["id"] for s in detail["sign_ups"])
    html = page(operator.get(f"/dashboard/events/{fair}"))
    assert f'name="attended-{came}"' in html and f'name="attended-{waiting}"' not in html
    response = post(
        operator,
        f"/dashboard/events/{fair}/attendance",
        **{f"attended-{came}": "1", f"attended-{missed}": "0", f"attended-{waiting}": "1"},
    )
    assert response.status_code == 302
    assert "已记录 2 人的到场情况" in page(operator.get(response.headers["Location"]))
    detail = operator.get(f"/dashboard/api/events/{fair}").get_json()
    assert [s["attended"] for s in detail["sign_ups"]] == [True, False, None]
    assert detail["attended"] == 1


def test_attendance_ignores_sign_ups_of_another_event(operator: Any, sheli: Any, fair: int) -> None:
    other = create_event(operator, title="三官一律进网格", kind="legal_clinic")
    [first, *_] = operator.get(f"/dashboard/api/events/{fair}").get_json()["sign_ups"]
    post(operator, f"/dashboard/events/{other}/attendance", **{f"attended-{first['id']}": "1"})
    post(operator, f"/dashboard/events/{other}/withdraw", sign_up=str(first["id"]))
    [again, *_] = operator.get(f"/dashboard/api/events/{fair}").get_json()["sign_ups"]
    assert (again["attended"], again["status"]) == (None, "confirmed")


def test_withdrawing_a_sign_up_moves_the_waiting_list_up(
    operator: Any, sheli: Any, fair: int, person: Any
) -> None:
    first = operator.get(f"/dashboard/api/events/{fair}").get_json()["sign_ups"][0]
    person("o_res2").new_messages()
    post(operator, f"/dashboard/events/{fair}/withdraw", sign_up=str(first["id"]))
    detail = operator.get(f"/dashboard/api/events/{fair}").get_json()
    assert [s["status"] for s in detail["sign_ups"]] == ["cancelled", "confirmed", "confirmed"]
    [told] = person("o_res2").new_messages()
    assert f"「活动{fair}」" in told and "从候补转为报名成功" in told


def test_a_cancelled_event_takes_no_more_sign_ups(
    operator: Any, sheli: Any, fair: int, person: Any
) -> None:
    response = post(operator, f"/dashboard/events/{fair}/cancel")
    assert "已取消" in page(operator.get(response.headers["Location"]))
    assert operator.get("/dashboard/api/events").get_json()["events"][0]["cancelled"] is True
    assert "已取消" in person("o_late").say(f"报名 {fair}")


def test_unknown_events_are_404(operator: Any) -> None:
    assert operator.get("/dashboard/events/99").status_code == 404
    assert operator.get("/dashboard/events/99/edit").status_code == 404
    assert operator.get("/dashboard/api/events/99").status_code == 404
    assert post(operator, "/dashboard/events/99/cancel").status_code == 404


# --- the events import -----------------------------------------------------------------------


def test_an_events_file_is_imported_from_the_upload_form(operator: Any, sheli: Any) -> None:
    assert 'enctype="multipart/form-data"' in page(operator.get("/dashboard/events"))
    response = upload(operator, "/dashboard/events/import", "活动.csv", EVENTS_CSV)
    assert response.status_code == 302
    assert "新增 2 条" in page(operator.get(response.headers["Location"]))
    titles = [e["title"] for e in operator.get("/dashboard/api/events").get_json()["events"]]
    assert titles == ["三官一律进网格", "遇荐九龙湾第16场"]
    # The same file again updates instead of adding twice, as `sheli events import` does.
    upload(operator, "/dashboard/events/import", "events.csv", EVENTS_CSV)
    assert len(operator.get("/dashboard/api/events").get_json()["events"]) == 2


def test_a_file_with_a_bad_row_imports_nothing_and_names_each_problem(
    operator: Any, sheli: Any
) -> None:
    response = upload(operator, "/dashboard/events/import", "events.csv", BAD_EVENTS_CSV)
    assert response.status_code == 400
    html = page(response)
    assert "没有导入" in html
    assert "第3行：类型&#39;dance&#39;不在可选范围内" in html
    assert "第3行：开始时间&#39;2026-12-06&#39;没有写几点几分" in html
    assert "第3行：名额不能小于0，现在是-3" in html
    assert "第2行" not in html  # the good row is fine, and still not imported
    with sheli.uow() as uow:
        assert uow.events.list() == []


def test_unreadable_or_missing_files_are_refused(operator: Any, sheli: Any) -> None:
    response = upload(operator, "/dashboard/events/import", "events.yaml", "- [unclosed")
    assert response.status_code == 400 and "events.yaml：不是有效的 YAML 文件" in page(response)
    assert "/tmp" not in page(response)
    response = upload(operator, "/dashboard/events/import", "events.yaml", "title: 一个活动")
    assert response.status_code == 400 and "文件内容应是活动的列表" in page(response)
    response = operator.post(
        "/dashboard/events/import",
        data={"csrf_token": csrf(operator)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "请选择要导入的文件" in page(response)
    with sheli.uow() as uow:
        assert uow.events.list() == []


def test_rooms_and_resources_have_upload_forms_too(operator: Any, sheli: Any) -> None:
    response = upload(
        operator,
        "/dashboard/buildings/import",
        "rooms.csv",
        "building,room,capacity\n3栋,501,6\n3栋,502,4\n",
    )
    assert response.status_code == 302
    bad = upload(operator, "/dashboard/buildings/import", "rooms.csv", "building,room\n,501\n")
    assert bad.status_code == 400 and "第2行：缺少楼栋" in page(bad)
    response = upload(operator, "/dashboard/resources/import", "resources.yaml", RESOURCES_YAML)
    assert response.status_code == 302
    bad = upload(
        operator, "/dashboard/resources/import", "r.yaml", "volunteers:\n  - {name: 无名}\n"
    )
    assert bad.status_code == 400 and "志愿者第1行：服务队为空" in page(bad)
    with sheli.uow() as uow:
        assert len(uow.buildings.rooms()) == 2 and len(uow.resources.volunteers()) == 2


# --- buildings and residents ------------------------------------------------------------------


@pytest.fixture
def rooms(sheli: Any) -> None:
    with sheli.uow() as uow:
        import_rooms(
            uow,
            [
                {"building": "3栋", "room": "501", "capacity": 6},
                {"building": "3栋", "room": "502", "capacity": 4},
                {"building": "5栋", "room": "218", "capacity": 8},
            ],
        )
        uow.commit()


def test_the_buildings_page_shows_occupancy_requests_and_a_chart(
    operator: Any, sheli: Any, rooms: None, fair: int, person: Any
) -> None:
    person("o_x").say("8栋101门锁坏了")
    html = page(operator.get("/dashboard/buildings"))
    assert html.count("<svg") == 2
    assert re.search(r"<text[^>]*>3栋</text>", html)  # a Chinese label on the chart
    assert re.search(r'data-building="3栋".*?data-occupancy>20%<', html, re.S)
    assert "未导入" in html  # 8栋 is only known from a ticket
    listed = operator.get("/dashboard/api/buildings").get_json()["buildings"]
    rows = {r["name"]: r for r in listed}
    three = rows["3栋"]
    assert (three["residents"], three["capacity"], three["requests"]) == (2, 10, 1)
    assert rows["8栋"]["imported"] is False


def test_a_building_page_lists_rooms_residents_and_masked_requests(
    operator: Any, sheli: Any, rooms: None, fair: int
) -> None:
    html = page(operator.get("/dashboard/building?name=3栋"))
    assert 'data-room="3栋502"' in html and 'data-room="3栋501"' in html
    assert f'href="/dashboard/residents/{resident_id(sheli, "o_res0")}"' in html
    assert 'href="/dashboard/tickets/1"' in html
    assert "138****5678" in html and "13812345678" not in html
    detail = operator.get("/dashboard/api/building?name=3栋").get_json()
    assert [t["id"] for t in detail["tickets"]] == [1] and detail["capacity"] == 10
    assert operator.get("/dashboard/building?name=99栋").status_code == 404
    assert operator.get("/dashboard/api/building").status_code == 400


def test_a_residents_page_shows_tickets_room_masked_phone_and_sign_ups(
    operator: Any, sheli: Any, fair: int
) -> None:
    number = resident_id(sheli, "o_res0")
    before = trail(sheli, 1)
    html = page(operator.get(f"/dashboard/residents/{number}"))
    assert "3栋502" in html and "138****5678" in html and "13812345678" not in html
    assert 'href="/dashboard/tickets/1"' in html
    assert f"「活动{fair}」遇荐九龙湾第15场" in html and "已报名" in html
    assert "o_res0" not in html
    assert trail(sheli, 1) == before  # reading a resident's page writes nothing
    data = operator.get(f"/dashboard/api/residents/{number}").get_json()
    assert data["phone"] == "138****5678" and [t["id"] for t in data["tickets"]] == [1]
    assert operator.get("/dashboard/residents/999").status_code == 404


def test_an_erased_resident_shows_as_anonymous(
    operator: Any, sheli: Any, fair: int, person: Any
) -> None:
    number = resident_id(sheli, "o_res0")
    assert "确认注销" in person("o_res0").say("注销")
    assert "已删除" in person("o_res0").say("确认注销")
    html = page(operator.get(f"/dashboard/residents/{number}"))
    assert "匿名住户" in html and "3栋502" not in html and "5678" not in html
    event_html = page(operator.get(f"/dashboard/events/{fair}"))
    assert "匿名住户（已注销）" in event_html and "5678" not in event_html


# --- resources and helpers -------------------------------------------------------------------


@pytest.fixture
def volunteers(sheli: Any) -> dict[str, int]:
    import yaml

    with sheli.uow() as uow:
        import_resources(uow, yaml.safe_load(RESOURCES_YAML))
        uow.commit()
        return {v.name: v.id for v in uow.resources.volunteers()}


def test_the_resources_page_shows_units_volunteers_and_the_six_roles(
    operator: Any, sheli: Any, volunteers: dict[str, int]
) -> None:
    hire(sheli, "property_steward", "张师傅", "o_steward")
    html = page(operator.get("/dashboard/resources"))
    assert "华兴电子厂党支部" in html and "岗位与技能培训" in html
    assert "党员维修志愿队" in html and "139****1111" in html and "13900001111" not in html
    assert html.count("data-role=") == 6 and "物业管家" in html and "张师傅" in html
    data = operator.get("/dashboard/api/resources").get_json()
    assert len(data["roles"]) == 6 and data["alliance_units"][0]["category"] == "企业"


def test_a_volunteer_is_assigned_as_helper_from_the_ticket_page(
    operator: Any, sheli: Any, volunteers: dict[str, int], person: Any
) -> None:
    hire(sheli, "property_steward", "张师傅", "o_steward")
    person("o_res").say("3栋502热水器坏了")
    steward = person("o_steward")
    steward.new_messages()
    html = page(operator.get("/dashboard/tickets/1"))
    assert 'id="helper-volunteer"' in html and "党员维修志愿队 周师傅" in html
    response = post(operator, "/dashboard/tickets/1/helper", volunteer=str(volunteers["周师傅"]))
    assert response.headers["Location"] == "/dashboard/tickets/1"
    html = page(operator.get("/dashboard/tickets/1"))
    assert "已安排党员维修志愿队周师傅协助 #1" in html
    assert "志愿协助" in html and "data-helpers" in html
    assert ("helper_assigned", OPERATOR) in trail(sheli, 1)
    [told] = steward.new_messages()
    assert "周师傅" in told and "#1" in told
    resources = operator.get("/dashboard/api/resources").get_json()
    helped = {
        v["name"]: v["tickets_helped"]
        for t in resources["volunteer_teams"]
        for v in t["volunteers"]
    }
    assert helped == {"周师傅": 1, "吴阿姨": 0}


def test_helper_assignment_refuses_unknown_volunteers_and_tickets(
    operator: Any, sheli: Any, volunteers: dict[str, int], person: Any
) -> None:
    person("o_res").say("3栋502热水器坏了")
    response = post(operator, "/dashboard/tickets/1/helper", volunteer="999")
    assert "这位志愿者不存在或已停用" in page(operator.get(response.headers["Location"]))
    response = post(operator, "/dashboard/tickets/1/helper", volunteer="")
    assert "请选择志愿者" in page(operator.get(response.headers["Location"]))
    assert post(operator, "/dashboard/tickets/42/helper", volunteer="1").status_code == 404
    assert ("helper_assigned", OPERATOR) not in trail(sheli, 1)


def test_community_reads_reuse_the_handlers(operator: Any, sheli: Any, fair: int) -> None:
    """The JSON twins are exactly what handlers.read_models returns (one source of figures)."""
    rows = sheli.read(read_models.event_rows)
    buildings = sheli.read(read_models.buildings_overview)
    assert operator.get("/dashboard/api/events").get_json()["events"] == rows
    assert operator.get("/dashboard/api/buildings").get_json()["buildings"] == buildings
