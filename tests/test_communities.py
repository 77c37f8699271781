"""Two communities on one site (issue 13), as their residents and staff live it: a QR code, a
building or one question says where a resident lives; tickets go to that community's staff, to
the site-wide pool only where it has nobody in the role; staff never see the other's tickets."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.scheduler import run_due
from handlers.commands import AddCommunity, AddStaff
from handlers.read_models import current_week
from handlers.site_summary import compare_communities
from storage.community import Building
from tests.dialogue import INBOX, NOTHING, Dialogue, Do, Event, absent, later, only

STAFF = [
    # (role, name, openid, community); None: the site-wide pool
    ("property_steward", "王师傅", "o_zs_steward", "zhangshe"),
    ("branch_liaison", "张联络员", "o_zs_liaison", "zhangshe"),
    ("grid_worker", "钱网格员", "o_zs_grid", "zhangshe"),
    ("property_steward", "李师傅", "o_ls_steward", "lishe"),
    ("branch_liaison", "李联络员", "o_ls_liaison", "lishe"),
    ("grid_worker", "赵网格员", "o_pool_grid", None),
]


@pytest.fixture
def sheli(make_sheli: Any, db_url: str) -> Any:
    """Every conversation here on SQLite and on PostgreSQL."""
    return make_sheli(url=db_url)


@pytest.fixture
def site(sheli: Any) -> Any:
    sheli.handle(AddCommunity("zhangshe", "张舍家园", ("o_zs_secretary",)))
    sheli.handle(AddCommunity("lishe", "李舍公寓", ("o_ls_secretary",)))
    sheli.handle(AddCommunity("default", active=False))  # a new site: no "default" community
    with sheli.uow() as uow:
        for name, key in (("1栋", "zhangshe"), ("2栋", "zhangshe"), ("8栋", "lishe")):
            uow.buildings.add(Building(name=name, community=key))
        uow.commit()
    for role, name, openid, community in STAFF:
        sheli.handle(AddStaff(role=role, name=name, openid=openid, community=community))
    return sheli


@pytest.fixture
def talk(site: Any, person: Any) -> Dialogue:
    people = {openid: person(openid) for _, _, openid, _ in STAFF}
    for who in ("o_a", "o_b", "o_c", "o_d", "o_e", "o_zs_secretary", "o_ls_secretary"):
        people[who] = person(who)
    return Dialogue(people)


def ticket_of(sheli: Any, number: int) -> tuple[str, str | None]:
    with sheli.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None
        return ticket.community, ticket.assignee.name if ticket.assignee else None


def community_of(sheli: Any, openid: str) -> str | None:
    with sheli.uow() as uow:
        resident = uow.residents.by_openid(openid)
        return resident.community if resident else None


def test_a_qr_code_puts_the_resident_in_its_community(talk: Dialogue, site: Any) -> None:
    talk(
        [
            ("o_a", Event("subscribe", "qrscene_community:lishe"), "欢迎来到李舍公寓"),
            # 5栋 is in no community's list: the QR code decides
            ("o_a", "5栋302热水器坏了", ["#1", "物业管家李师傅"]),
            ("o_ls_steward", INBOX, only("【李舍公寓】【新任务 #1】", "热水器坏了")),
            ("o_zs_steward", INBOX, NOTHING),
            ("o_a", Event("SCAN", "community:lishe"), "欢迎回到李舍公寓"),
        ]
    )
    assert ticket_of(site, 1) == ("lishe", "李师傅")
    assert community_of(site, "o_a") == "lishe"


def test_the_reported_building_says_where_without_a_qr_code(talk: Dialogue, site: Any) -> None:
    talk(
        [
            ("o_b", Event("subscribe"), "欢迎来到"),
            ("o_b", "2栋301水管漏水了", ["#1", "物业管家王师傅", absent("哪个小区")]),
            ("o_zs_steward", INBOX, only("【张舍家园】【新任务 #1】")),
            ("o_b", "8栋楼下路灯不亮", ["#2", "物业管家王师傅"]),  # they live in 张舍家园
        ]
    )
    assert ticket_of(site, 1) == ("zhangshe", "王师傅")
    assert community_of(site, "o_b") == "zhangshe"


def test_with_nothing_to_go_by_sheli_asks_once(talk: Dialogue, site: Any) -> None:
    talk(
        [
            ("o_c", "屋里灯坏了", "在哪"),
            # the communities by key (lishe, zhangshe)
            ("o_c", "6栋101", ["你住在哪个小区", "1. 李舍公寓", "2. 张舍家园", absent("本社区")]),
            ("o_c", "1", ["你住在李舍公寓", "#1", "物业管家李师傅"]),
            ("o_ls_steward", INBOX, only("【新任务 #1】", "6栋101")),
            ("o_c", "6栋101空调不制冷", ["#2", "李师傅", absent("哪个小区")]),
        ]
    )
    assert ticket_of(site, 1) == ("lishe", "李师傅")
    assert community_of(site, "o_c") == "lishe"


def test_the_answer_may_name_the_community(talk: Dialogue, site: Any) -> None:
    talk(
        [
            ("o_c", "6栋101热水器坏了", "你住在哪个小区"),
            ("o_c", "张舍的", ["你住在张舍家园", "#1", "王师傅"]),
        ]
    )
    assert ticket_of(site, 1) == ("zhangshe", "王师傅")


def test_an_answer_sheli_cannot_place_files_the_request_and_is_not_asked_again(
    talk: Dialogue, site: Any
) -> None:
    talk(
        [
            ("o_d", "6栋101热水器坏了", "你住在哪个小区"),
            ("o_d", "不知道叫啥", ["没认出是哪个小区", "#1"]),
            ("o_d", "6栋102马桶堵了", ["#2", absent("哪个小区")]),
        ]
    )
    community, _ = ticket_of(site, 1)
    assert community == "default"  # the site-wide pool takes it; nobody guessed a community


def test_giving_up_at_the_question_files_nothing(talk: Dialogue, site: Any) -> None:
    talk(
        [
            ("o_d", "6栋101热水器坏了", "你住在哪个小区"),
            ("o_d", "算了", "好的"),
        ]
    )
    with site.uow() as uow:
        assert uow.tickets.list() == []


def test_nobody_in_the_role_falls_back_to_the_site_pool_and_says_which_community(
    talk: Dialogue, site: Any
) -> None:
    talk(
        [
            ("o_a", Event("subscribe", "qrscene_community:lishe"), "李舍公寓"),
            ("o_a", "隔壁宿舍天天半夜打游戏大声吵，说了也不听", ["#1", "网格员赵网格员"]),
            ("o_pool_grid", INBOX, only("【李舍公寓】【新任务 #1】", "李舍公寓暂无网格员")),
            ("o_b", "2栋的室友老是偷用我的东西还吵架", ["#2", "网格员钱网格员"]),
            ("o_zs_grid", INBOX, only("【张舍家园】【新任务 #2】", absent("暂无"))),
            ("o_pool_grid", INBOX, NOTHING),  # 张舍家园 has its own grid worker
        ]
    )
    assert ticket_of(site, 1) == ("lishe", "赵网格员")
    assert ticket_of(site, 2) == ("zhangshe", "钱网格员")


def test_staff_never_see_or_act_on_another_communitys_tickets(talk: Dialogue, site: Any) -> None:
    talk(
        [
            ("o_a", Event("subscribe", "qrscene_community:lishe"), "李舍公寓"),
            ("o_a", "8栋101热水器坏了，电话13912345678", "#1"),
            ("o_zs_steward", "接单 1", "没有找到工单 #1"),
            ("o_zs_liaison", "接单 1", "没有找到工单 #1"),
            ("o_zs_liaison", "回复 1 明天上门", "没有找到工单 #1"),
            ("o_zs_liaison", "电话 1", ["没有找到工单 #1", absent("13912345678")]),
            ("o_zs_liaison", "转派 1 网格员", "没有找到工单 #1"),
            ("o_zs_liaison", "任务", absent("#1")),
            ("o_ls_liaison", "任务", absent("#1")),  # it is the steward's, not waiting
            ("o_ls_steward", "接单 1", "#1"),
            ("o_a", INBOX, "李师傅"),
            ("o_ls_liaison", "电话 1", "13912345678"),  # the community's own liaison may
            ("o_ls_steward", "完成 1 换了新的热水器", "#1"),
        ]
    )
    with site.uow() as uow:
        ticket = uow.tickets.get(1)
        assert ticket is not None and ticket.status == "resolved"
        actors = {e.actor for e in uow.tickets.events(1)}
    assert not any("王师傅" in a or "张联络员" in a for a in actors)


def test_the_same_place_in_two_communities_is_two_problems(talk: Dialogue, site: Any) -> None:
    talk(
        [
            ("o_b", "1栋楼道灯坏了", ["#1", "王师傅"]),
            ("o_a", Event("subscribe", "qrscene_community:lishe"), "李舍公寓"),
            # 李舍公寓 has a 1栋 too (not on the building list): its resident's report is new
            ("o_a", "1栋楼道灯坏了", ["#2", absent("已经有人")]),
        ]
    )
    assert ticket_of(site, 2) == ("lishe", "李师傅")


def test_a_qr_scene_that_names_no_community_is_logged_and_the_resident_asked(
    talk: Dialogue, site: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="handlers.communities"):
        talk(
            [
                ("o_e", Event("subscribe", "qrscene_community:nowhere"), "欢迎来到"),
                ("o_e", "6栋101热水器坏了", "你住在哪个小区"),
            ]
        )
    logged = [r.getMessage() for r in caplog.records if r.name == "handlers.communities"]
    assert any("community:nowhere" in line for line in logged), logged
    assert not any("o_e" in line for line in logged)  # never the openid
    assert community_of(site, "o_e") is None


def test_a_redelivered_qr_follow_welcomes_once(site: Any, person: Any) -> None:
    resident = person("o_a")
    first = resident.event("subscribe", "qrscene_community:zhangshe")
    assert "张舍家园" in first.text
    with site.uow() as uow:
        assert uow.residents.by_openid("o_a").community == "zhangshe"


def test_late_tickets_reach_their_own_communitys_liaison_and_secretary(
    talk: Dialogue, site: Any, clock: Any
) -> None:
    talk(
        [
            ("o_a", Event("subscribe", "qrscene_community:lishe"), "李舍公寓"),
            ("o_a", "8栋101热水器坏了", "#1"),
            ("o_b", "2栋301水管漏水了", "#2"),
            ("o_ls_liaison", INBOX, None),
            ("o_zs_liaison", INBOX, None),
            later(clock, hours=2, minutes=5),  # past the 2h to accept: each liaison hears theirs
            Do("the scheduler runs", lambda: run_due(site)),
            ("o_ls_liaison", INBOX, only("#1", absent("#2"))),
            ("o_zs_liaison", INBOX, only("#2", absent("#1"))),
            later(clock, hours=2),  # past twice the deadline: each community's secretary
            Do("the scheduler runs", lambda: run_due(site)),
            ("o_ls_secretary", INBOX, only("#1", absent("#2"))),
            ("o_zs_secretary", INBOX, only("#2", absent("#1"))),
        ]
    )


def test_a_request_nobody_could_place_still_counts_in_the_sites_comparison(
    talk: Dialogue, site: Any, clock: Any
) -> None:
    talk(
        [
            ("o_b", "2栋301水管漏水了", "#1"),
            ("o_d", "6栋101热水器坏了", "你住在哪个小区"),
            ("o_d", "不知道叫啥", ["没认出是哪个小区", "#2"]),
        ]
    )
    now = clock.now()
    with site.uow() as uow:
        week = current_week(now, site.policy.timezone)
        comparison = compare_communities(uow, site.policy, week, now)
    rows = {row.key: row.new_tickets for row in comparison.communities}
    # `default` is inactive here, but its ticket has a row: the total is the whole site's
    assert rows == {"default": 1, "zhangshe": 1, "lishe": 0}
    assert comparison.total.new_tickets == 2
