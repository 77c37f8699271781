"""The dashboard on a site of two communities (issue 13): an operator limited to one community
(dashboard.users) never sees or acts on the other's tickets, residents, staff or buildings; a
whole-site operator's community selector narrows lists, figures and exports; the CLI's
`tickets list/export --community`."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import ConfigError, load_config
from handlers import messages as msg
from handlers.commands import AddCommunity, AddStaff, ImportData, MoveBuilding
from tests.test_dashboard import PASSWORD, PASSWORD_HASH, csrf, login, post, trail

LIMITED = "zhangshe_ops"


@pytest.fixture
def sheli(make_sheli: Any) -> Any:
    return make_sheli(
        dashboard__password_hash=PASSWORD_HASH,
        dashboard__users=[
            {"username": LIMITED, "password_hash": PASSWORD_HASH, "community": "zhangshe"}
        ],
    )


@pytest.fixture
def site(sheli: Any, person: Any) -> dict[str, Any]:
    """Two communities (the default one closed): 3栋 in 张舍家园 with its steward, 9栋 in 立和苑
    with its own; ticket #1 from 3栋, #2 from 9栋."""
    sheli.handle(AddCommunity(key="zhangshe", name="张舍家园"))
    sheli.handle(AddCommunity(key="lihe", name="立和苑"))
    sheli.handle(AddCommunity(key="default", active=False))
    rows = [
        {"building": "3栋", "room": "502", "capacity": "4"},
        {"building": "9栋", "room": "101", "capacity": "4"},
    ]
    sheli.handle(ImportData("rooms", rows, csv_file=True))
    sheli.handle(MoveBuilding("3栋", "zhangshe"))
    sheli.handle(MoveBuilding("9栋", "lihe"))
    ours, _ = sheli.handle(
        AddStaff(role="property_steward", name="张师傅", openid="o_zs", community="zhangshe")
    )
    theirs, _ = sheli.handle(
        AddStaff(role="property_steward", name="李师傅", openid="o_lh", community="lihe")
    )
    first, second = person("o_first"), person("o_second")
    assert "#1" in first.say("3栋502热水器坏了，电话13812345678")
    assert "#2" in second.say("9栋101水管漏水了，电话13987654321")
    with sheli.uow() as uow:
        one, two = uow.tickets.get(1), uow.tickets.get(2)
        assert (one.community, two.community) == ("zhangshe", "lihe")
        residents = {"ours": one.resident_id, "theirs": two.resident_id}
    return {"our_staff": ours.id, "their_staff": theirs.id, **residents}


@pytest.fixture
def limited(client: Any, site: dict[str, Any]) -> Any:
    assert login(client, username=LIMITED).status_code == 302
    return client


@pytest.fixture
def whole(client: Any, site: dict[str, Any]) -> Any:
    assert login(client).status_code == 302
    return client


def numbers(client: Any, query: str = "") -> list[int]:
    return [t["id"] for t in client.get(f"/dashboard/api/tickets{query}").get_json()["tickets"]]


# --- an operator limited to one community ----------------------------------------------------


def test_a_limited_operator_lists_only_their_communitys_tickets(limited: Any) -> None:
    assert numbers(limited) == [1]
    assert numbers(limited, "?community=lihe") == [1]  # the selector is fixed for them
    listed = limited.get("/dashboard/api/tickets").get_json()["tickets"]
    assert listed[0]["community"] == "zhangshe"
    page = limited.get("/dashboard/tickets").get_data(as_text=True)
    assert 'href="/dashboard/tickets/1"' in page
    assert 'href="/dashboard/tickets/2"' not in page
    assert "小区：<strong>张舍家园</strong>" in page
    assert 'name="community"' not in page  # no choice to make


def test_another_communitys_ticket_is_not_there_for_them(limited: Any) -> None:
    assert limited.get("/dashboard/tickets/1").status_code == 200
    other = limited.get("/dashboard/tickets/2")
    assert other.status_code == 404
    assert msg.NO_SUCH_TICKET.format(n=2) in other.get_data(as_text=True)
    assert limited.get("/dashboard/api/tickets/2").status_code == 404
    assert limited.get("/dashboard/api/tickets/1").get_json()["community"] == "zhangshe"


def test_a_limited_operators_export_holds_only_their_tickets(limited: Any) -> None:
    response = limited.get("/dashboard/tickets/export?format=csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [row[0] for row in rows[1:]] == ["1"]


def test_a_limited_operator_cannot_act_on_another_communitys_ticket(
    limited: Any, sheli: Any
) -> None:
    before = trail(sheli, 2)
    for action, form in (
        ("close", {"reason": "重复"}),
        ("cancel", {"reason": "重复"}),
        ("reply", {"text": "您好"}),
        ("phone", {}),
        ("reassign", {"role": "grid_worker"}),
        ("note", {"text": "看看"}),
    ):
        response = post(limited, f"/dashboard/tickets/2/{action}", **form)
        assert response.status_code == 404, action
    assert trail(sheli, 2) == before
    with sheli.uow() as uow:
        assert uow.tickets.get(2).status == "assigned"
    # Their own ticket: the same actions work.
    assert post(limited, "/dashboard/tickets/1/note", text="已联系").status_code == 302
    assert ("note", f"operator:{LIMITED}") in trail(sheli, 1)


def test_a_limited_operator_sees_only_their_residents_staff_and_buildings(
    limited: Any, site: dict[str, Any], sheli: Any
) -> None:
    assert limited.get(f"/dashboard/residents/{site['ours']}").status_code == 200
    assert limited.get(f"/dashboard/residents/{site['theirs']}").status_code == 404
    assert limited.get(f"/dashboard/api/residents/{site['theirs']}").status_code == 404
    names = [b["name"] for b in limited.get("/dashboard/api/buildings").get_json()["buildings"]]
    assert names == ["3栋"]
    assert limited.get("/dashboard/building?name=9栋").status_code == 404
    assert limited.get("/dashboard/api/building?name=9栋").status_code == 404
    staff = [s["name"] for s in limited.get("/dashboard/api/staff").get_json()["staff"]]
    assert staff == ["张师傅"]
    assert "李师傅" not in limited.get("/dashboard/staff").get_data(as_text=True)
    theirs = site["their_staff"]
    assert limited.get(f"/dashboard/staff/{theirs}/deactivate").status_code == 404
    post(limited, f"/dashboard/staff/{theirs}/deactivate", confirm="1")
    with sheli.uow() as uow:
        assert uow.staff.get(theirs).active
    # A staff member they add is their community's.
    post(limited, "/dashboard/staff", role="grid_worker", name="王网格")
    with sheli.uow() as uow:
        added = [s for s in uow.staff.list() if s.name == "王网格"]
        assert [s.community for s in added] == ["zhangshe"]


def test_a_limited_operators_figures_count_only_their_community(limited: Any) -> None:
    figures = limited.get("/dashboard/api/overview").get_json()
    assert figures["open"] == 1
    assert figures["this_week"]["new_tickets"] == 1
    assert [b["building"] for b in figures["buildings"]] == ["3栋"]
    assert figures["communities"] is None  # no other community's figures, not even compared
    page = limited.get("/dashboard/").get_data(as_text=True)
    assert "立和苑" not in page and "data-communities" not in page


def test_the_sites_own_pages_are_refused_to_a_limited_operator(limited: Any) -> None:
    assert limited.get("/dashboard/review").status_code == 403
    assert limited.get("/dashboard/api/review").status_code == 403
    assert "未理解的消息" not in limited.get("/dashboard/").get_data(as_text=True)


def test_limited_and_whole_site_logins_keep_their_own_sessions(client: Any, site: Any) -> None:
    assert login(client, username=LIMITED, password="wrong").status_code == 401
    assert login(client, username=LIMITED).status_code == 302
    assert numbers(client) == [1]
    post(client, "/dashboard/logout")
    assert login(client, username="admin", password=PASSWORD).status_code == 302
    assert numbers(client) == [2, 1]


def test_a_limited_account_of_an_unknown_community_cannot_log_in(
    make_sheli: Any, client: Any
) -> None:
    from bot.app import create_app

    app = create_app(
        sheli=make_sheli(
            dashboard__password_hash=PASSWORD_HASH,
            dashboard__users=[
                {"username": "nobody", "password_hash": PASSWORD_HASH, "community": "nowhere"}
            ],
        )
    )
    other = app.test_client()
    assert login(other, username="nobody").status_code == 401
    assert login(other, username="admin").status_code == 302


# --- a whole-site operator's selector ----------------------------------------------------------


def test_the_selector_narrows_every_list_and_is_kept(whole: Any) -> None:
    page = whole.get("/dashboard/").get_data(as_text=True)
    assert 'name="community"' in page and "立和苑" in page and "张舍家园" in page
    assert numbers(whole) == [2, 1]
    assert numbers(whole, "?community=lihe") == [2]
    assert numbers(whole) == [2]  # kept in the session
    assert whole.get("/dashboard/api/overview").get_json()["open"] == 1
    names = [b["name"] for b in whole.get("/dashboard/api/buildings").get_json()["buildings"]]
    assert names == ["9栋"]
    listed = whole.get("/dashboard/tickets").get_data(as_text=True)
    assert 'href="/dashboard/tickets/2"' in listed
    assert 'href="/dashboard/tickets/1"' not in listed
    assert '<option value="lihe" selected>' in listed
    # A ticket's own page still opens for them, naming its community.
    assert "张舍家园" in whole.get("/dashboard/tickets/1").get_data(as_text=True)
    assert numbers(whole, "?community=") == [2, 1]
    assert whole.get("/dashboard/api/overview").get_json()["open"] == 2
    compared = whole.get("/dashboard/api/overview").get_json()["communities"]
    assert compared is not None  # the whole site's overview compares the communities


def test_an_unknown_community_in_the_selector_shows_the_whole_site(whole: Any) -> None:
    page = whole.get("/dashboard/tickets?community=nowhere").get_data(as_text=True)
    assert msg.DASHBOARD_COMMUNITY_UNKNOWN.format(key="nowhere") in page
    assert numbers(whole) == [2, 1]


def test_one_community_shows_no_selector(client: Any, sheli: Any, person: Any) -> None:
    person("o_first").say("3栋502热水器坏了")
    login(client)
    page = client.get("/dashboard/tickets").get_data(as_text=True)
    assert 'name="community"' not in page
    assert "小区" not in page.split("<main>")[0]
    assert numbers(client, "?community=zhangshe") == [1]


# --- config and the CLI ------------------------------------------------------------------------


def test_dashboard_users_are_checked_when_the_config_loads() -> None:
    good = {"username": "a", "password_hash": "x", "community": "zhangshe"}
    load_config({"dashboard": {"users": [good]}})
    for bad in (
        {"username": "", "password_hash": "x"},
        {"username": "admin", "password_hash": "x"},  # dashboard.username's
        {"username": "a", "password_hash": "x", "room": "3栋"},
    ):
        with pytest.raises(ConfigError):
            load_config({"dashboard": {"users": [bad]}})
    with pytest.raises(ConfigError):
        load_config({"dashboard": {"users": [good, good]}})


def test_cli_lists_and_exports_one_community(sheli: Any, site: Any) -> None:
    env = {"SHELI_DATABASE__URL": str(sheli.config.get("database.url")), "SHELI_WECHAT__TOKEN": "t"}

    def run(*args: str) -> Any:
        return CliRunner().invoke(cli, list(args), env=env, obj={}, catch_exceptions=False)

    listed = run("tickets", "list", "--community", "lihe", "--format", "json")
    assert listed.exit_code == 0, listed.output
    assert [(t["id"], t["community"]) for t in json.loads(listed.output)] == [(2, "lihe")]
    exported = run("tickets", "export", "--community", "zhangshe")
    rows = list(csv.reader(io.StringIO(exported.output.lstrip("\ufeff"))))
    assert [row[0] for row in rows[1:]] == ["1"]
    unknown = run("tickets", "list", "--community", "nowhere")
    assert unknown.exit_code == 1
    assert "nowhere" in unknown.output and "zhangshe" in unknown.output and "lihe" in unknown.output


def test_csrf_still_guards_a_limited_operators_forms(limited: Any) -> None:
    response = limited.post("/dashboard/tickets/1/note", data={"text": "x"})
    assert response.status_code == 400
    assert csrf(limited)
