"""Summaries on a site of two communities (issue 13): each community's summary figure by figure,
the comparison of the communities, the weekly send, `sheli summary --community`, and the
dashboard overview's comparison.

The week is the one tests/test_summary.py plays (2026-W47), with its residents split between
two communities by the QR code they followed: 张舍家园 (zhangshe) has the residents of #1, #2,
#3, #7 and #9, 九龙湾 (jiulong) those of #4, #5, #6 and #8. The staff are the site-wide pool, so
the story goes exactly as on a site of one community, and the whole site's figures stay those
test_summary.py checks.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from click.testing import CliRunner

from bot.app import create_app
from bot.cli import cli
from bot.scheduler import run_due
from handlers import read_models
from handlers.commands import AddCommunity, KeepPastWeeks, MoveBuilding, SendWeeklySummary
from handlers.site_summary import (
    CommunityFigures,
    Comparison,
    compare_communities,
    render_comparison,
)
from handlers.summary import accept_limits, compute_summary, kept_key, week_of
from storage.community import Building
from tests.test_dashboard import PASSWORD_HASH, login
from tests.test_summary import Week47, local
from tests.wechat import outbox_rows

ZHANGSHE = ("o_h", "o_a", "o_b", "o_g")  # #1, #2 and #7, #3, #9
JIULONG = ("o_c", "o_d", "o_e", "o_f")  # #4, #5, #6, #8
TOWN = "o_town"  # summary.recipients


def two_communities(sheli: Any, clock: Any) -> Any:
    sheli.handle(AddCommunity("zhangshe", "张舍家园", secretaries=("o_sec_zs",)))
    sheli.handle(AddCommunity("jiulong", "九龙湾", secretaries=("o_sec_jl", "o_sec_jl2")))
    sheli.handle(AddCommunity("default", active=False))  # the site's first, not used here
    story = Week47(sheli, clock)
    clock.current = local("11-12 09:00")
    for key, openids in (("zhangshe", ZHANGSHE), ("jiulong", JIULONG)):
        for openid in openids:
            welcome = story.person(openid).event("subscribe", f"qrscene_community:{key}")
            assert ("张舍家园" if key == "zhangshe" else "九龙湾") in str(welcome)
    story.play()
    return sheli


@pytest.fixture
def site(make_sheli: Any, clock: Any, db_url: str) -> Any:
    sheli = make_sheli(url=db_url, summary__recipients=[TOWN])
    return two_communities(sheli, clock)


def summary_of(sheli: Any, community: str | None, label: str = "2026-W47") -> Any:
    now = sheli.clock.now()
    week = week_of(label, now, sheli.policy.timezone)
    with sheli.uow() as uow:
        return compute_summary(uow, sheli.policy, week, now, community=community)


def comparison_of(sheli: Any, label: str = "2026-W47") -> Comparison:
    now = sheli.clock.now()
    with sheli.uow() as uow:
        return compare_communities(uow, sheli.policy, week_of(label, now, "Asia/Shanghai"), now)


def figures(summary: Any) -> dict[str, Any]:
    """The figures, without when they were read."""
    data = summary.to_json()
    del data["as_of"]
    return data


def test_each_community_figure_by_figure(site: Any) -> None:
    zs = summary_of(site, "zhangshe")
    assert (zs.community, zs.community_name) == ("zhangshe", "张舍家园")
    # #3 and #7 came in this week (#2 on Sunday before, #9 on Monday after).
    assert (zs.new_tickets, zs.new_by_intent) == (2, {"repair": 2})
    assert (zs.cancelled, zs.counted) == (0, 2)
    assert (zs.completed, zs.completion_rate) == (1, 0.5)  # #3 closed; #7 never accepted
    assert (zs.responded_in_time, zs.response_rate) == (1, 0.5)  # #3 in 1 h of 2
    assert zs.median_first_response_minutes == 60.0
    assert zs.resolved == 2  # #2 (750 min) and #3 (last resolution 3180 min)
    assert zs.median_resolution_minutes == 1965.0
    # Visits: #2 "5", #3 "没修好" and "满意"; #1 expired.
    assert (zs.visits_answered, zs.visit_no_response, zs.visit_response_rate) == (3, 1, 0.75)
    assert (zs.solved, zs.solve_rate) == (2, 0.6667)
    assert (zs.ratings, zs.satisfied, zs.satisfaction_rate, zs.mean_rating) == (2, 2, 1.0, 4.5)
    assert (zs.sla_breaches, zs.escalated) == (1, 1)  # #7 accept, levels 1 and 2
    assert [(o.ticket, o.deadline) for o in zs.overdue_detail] == [(7, "accept"), (9, "accept")]
    assert zs.load_by_role == {"property_steward": 2}
    assert zs.top_buildings == [("3栋", 2)]

    jl = summary_of(site, "jiulong")
    assert (jl.community, jl.community_name) == ("jiulong", "九龙湾")
    assert jl.new_tickets == 4
    assert jl.new_by_intent == {"mediation": 1, "legal_consult": 1, "repair": 1, "job_fair": 1}
    assert (jl.cancelled, jl.counted) == (1, 3)  # #6 cancelled
    assert (jl.completed, jl.completion_rate) == (1, 0.3333)  # #4; #5 reopened, #8 open
    assert (jl.responded_in_time, jl.response_rate) == (1, 0.3333)  # #5 in time, #4 late
    assert jl.median_first_response_minutes == 180.0
    assert (jl.resolved, jl.median_resolution_minutes) == (2, 3600.0)  # #5 1440, #4 5760
    assert (jl.visits_answered, jl.visit_no_response, jl.visit_response_rate) == (1, 0, 1.0)
    assert (jl.solved, jl.solve_rate) == (0, 0.0)  # #5 "不满意"
    assert (jl.ratings, jl.satisfied, jl.satisfaction_rate, jl.mean_rating) == (1, 0, 0.0, 2)
    assert (jl.sla_breaches, jl.escalated) == (1, 0)  # #4 resolve, level 1
    assert [(o.ticket, o.deadline) for o in jl.overdue_detail] == [(5, "resolve")]
    assert jl.load_by_role == {"legal_adviser": 1, "employment_liaison": 1}
    assert jl.top_buildings == []

    # The whole site: what tests/test_summary.py checks, unchanged by the split.
    whole = summary_of(site, None)
    assert (whole.community, whole.community_name) == (None, None)
    assert (whole.new_tickets, whole.counted, whole.completed, whole.responded_in_time) == (
        6,
        5,
        2,
        2,
    )
    assert (whole.resolved, whole.ratings, whole.satisfied, whole.sla_breaches) == (4, 3, 2, 2)
    assert whole.overdue == [5, 7, 9]


def test_the_comparison_row_by_row(site: Any) -> None:
    compared = comparison_of(site)
    assert compared.week == "2026-W47"
    rows = {row.key: row for row in compared.communities}
    assert list(rows) == ["jiulong", "zhangshe"]  # active ones only, by key
    zs, jl, total = rows["zhangshe"], rows["jiulong"], compared.total
    assert (zs.new_tickets, zs.completion_rate, zs.response_rate) == (2, 0.5, 0.5)
    assert (zs.satisfaction_rate, zs.overdue, zs.open) == (1.0, 2, 2)
    assert (jl.new_tickets, jl.completion_rate, jl.response_rate) == (4, 0.3333, 0.3333)
    assert (jl.satisfaction_rate, jl.overdue, jl.open) == (0.0, 1, 2)
    assert (total.name, total.new_tickets, total.counted, total.completed) == ("全站", 6, 5, 2)
    assert (total.completion_rate, total.response_rate, total.satisfaction_rate) == (
        0.4,
        0.4,
        0.6667,
    )
    assert (total.overdue, total.open) == (3, 4)
    # Every row says what the community's own summary says.
    for key, row in rows.items():
        own = summary_of(site, key)
        assert (row.new_tickets, row.cancelled, row.counted, row.completed) == (
            own.new_tickets,
            own.cancelled,
            own.counted,
            own.completed,
        )
        assert (row.completion_rate, row.response_rate, row.satisfaction_rate) == (
            own.completion_rate,
            own.response_rate,
            own.satisfaction_rate,
        )
        assert (row.ratings, row.satisfied, row.overdue) == (
            own.ratings,
            own.satisfied,
            len(own.overdue),
        )


def test_kept_weeks_are_kept_per_community_and_report_what_a_fresh_pass_does(site: Any) -> None:
    fresh = {key: figures(summary_of(site, key)) for key in ("zhangshe", "jiulong", None)}
    kept = []
    while done := site.handle(KeepPastWeeks(weeks=5)):
        kept += done
    assert {"2026-W47@zhangshe", "2026-W47@jiulong", "2026-W47"} <= set(kept)
    now = site.clock.now()
    week = week_of("2026-W47", now, site.policy.timezone)
    with site.uow() as uow:
        keys = uow.figures.cached_times(
            [kept_key(week, accept_limits(site.policy), c) for c in ("zhangshe", "jiulong", None)]
        )
    assert len(keys) == 3
    for key, before in fresh.items():
        assert figures(summary_of(site, key)) == before
    # 3栋 goes to 九龙湾 with its open tickets: #7 (created this week) moves, and so do its
    # figures; the kept weeks of both communities are forgotten, the site's stays the same.
    with site.uow() as uow:
        uow.buildings.add(Building(name="3栋", community="zhangshe"))
        uow.commit()
    site.handle(MoveBuilding(building="3栋", community="jiulong", move_open=True))
    assert summary_of(site, "zhangshe").new_tickets == 1
    assert summary_of(site, "jiulong").new_tickets == 5
    assert figures(summary_of(site, None)) == fresh[None]


def test_the_weekly_send_reaches_each_secretary_and_the_town_once(site: Any) -> None:
    for _ in range(2):
        site.handle(SendWeeklySummary("2026-W47"))
    site.clock.current = local("11-23 10:00")
    run_due(site)  # the scheduler's own pass finds the week sent already
    sent = sorted((m.recipient, m.body) for m in outbox_rows(site) if m.kind == "summary")
    assert [who for who, _ in sent] == ["o_sec_jl", "o_sec_jl2", "o_sec_zs", TOWN]
    bodies = dict(sent)
    assert bodies["o_sec_jl"] == bodies["o_sec_jl2"]
    assert bodies["o_sec_zs"].startswith("【张舍家园周报】2026-W47（11月16日—11月22日）")
    assert "新收诉求2件（物业报修2）" in bodies["o_sec_zs"]
    assert "当前超时未办2件：#7（接单）、#9（接单）。" in bodies["o_sec_zs"]
    assert bodies["o_sec_jl"].startswith("【九龙湾周报】")
    assert "取消1件" in bodies["o_sec_jl"] and "#5（办结）" in bodies["o_sec_jl"]
    assert bodies[TOWN].splitlines()[:5] == [
        "【智慧舍里各小区周报】2026-W47（11月16日—11月22日）",
        "小区｜新增｜办结率｜响应率｜满意率｜超时",
        "九龙湾｜4｜33%｜33%｜0%｜1",
        "张舍家园｜2｜50%｜50%｜100%｜2",
        "全站｜6｜40%｜40%｜67%｜3",
    ]
    assert len(bodies[TOWN]) <= 600


def test_with_one_community_the_send_is_as_before(make_sheli: Any) -> None:
    sheli = make_sheli(summary__recipients=[TOWN])
    sheli.handle(AddCommunity("zhangshe", "张舍家园", secretaries=("o_sec_zs",), active=False))
    sheli.handle(SendWeeklySummary("2026-W47"))
    sheli.handle(SendWeeklySummary("2026-W47"))
    sent = [(m.recipient, m.body.splitlines()[0]) for m in outbox_rows(sheli)]
    assert sent == [(TOWN, "【智慧舍里周报】2026-W47（11月16日—11月22日）")]
    assert sheli.read(read_models.site_comparison) is None


def test_a_long_comparison_shows_the_communities_needing_attention_first(sheli: Any) -> None:
    rows = [
        CommunityFigures(f"c{i:03d}", f"第{i}集宿区", new_tickets=10, completed=9, overdue=i % 7)
        for i in range(100)
    ]
    total = CommunityFigures("", "全站", new_tickets=1000)
    compared = Comparison(
        "2026-W47",
        "2026-11-16",
        "2026-11-22",
        "Asia/Shanghai",
        "",
        [row.rated() for row in rows],
        total.rated(),
    )
    text = render_comparison(compared, sheli.policy)
    assert len(text) <= 600
    lines = text.splitlines()
    shown = [line for line in lines if re.match(r"第\d+集宿区｜", line)]
    overdue = [int(line.rsplit("｜", 1)[1]) for line in shown]
    # The most overdue first: every community left out has no more than those shown.
    assert overdue == sorted(overdue, reverse=True) and overdue[0] == 6
    assert 10 <= len(shown) < 100 and overdue[-1] >= max(i % 7 for i in range(100)) - 1
    assert f"……另有{100 - len(shown)}个小区未列出（按超时多少排序），详见看板。" in lines
    assert "全站｜1000｜" in text


# --- sheli summary --community -----------------------------------------------------------------


@pytest.fixture
def sheli_cli(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("SHELI_DATABASE__URL", sqlite_url)
    monkeypatch.setenv("SHELI_SUMMARY__RECIPIENTS", TOWN)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args), obj={})


@pytest.fixture
def cli_site(make_sheli: Any, clock: Any, sheli_cli: Any) -> Any:
    two_communities(make_sheli(), clock)
    return sheli_cli


def test_sheli_summary_of_one_community(cli_site: Any) -> None:
    shown = cli_site("summary", "--week", "2026-W47", "--community", "zhangshe")
    assert shown.exit_code == 0, shown.output
    assert "【张舍家园周报】2026-W47" in shown.output
    assert "办结率50%（新收2件已办结1件），响应率50%" in shown.output
    assert "各小区对比" not in shown.output
    data = json.loads(
        cli_site(
            "summary", "--week", "2026-W47", "--community", "JiuLong", "--format", "json"
        ).output
    )
    assert (data["community"], data["community_name"], data["new_tickets"]) == (
        "jiulong",
        "九龙湾",
        4,
    )
    assert "comparison" not in data


def test_sheli_summary_without_community_adds_the_comparison(cli_site: Any) -> None:
    shown = cli_site("summary", "--week", "2026-W47")
    assert shown.exit_code == 0, shown.output
    site_part, compared = shown.output.split("—— 各小区对比 ——")
    assert "【智慧舍里周报】2026-W47" in site_part and "新收诉求6件" in site_part
    # (The CLI reads at the real time: by now #8 is overdue too.)
    assert (
        "九龙湾｜4｜33%｜33%｜0%｜2\n张舍家园｜2｜50%｜50%｜100%｜2\n全站｜6｜40%｜40%｜67%｜4"
        in compared
    )
    data = json.loads(cli_site("summary", "--week", "2026-W47", "--format", "json").output)
    assert data["community"] is None and data["new_tickets"] == 6
    rows = {row["key"]: row for row in data["comparison"]["communities"]}
    assert (rows["zhangshe"]["new_tickets"], rows["zhangshe"]["overdue"]) == (2, 2)
    assert data["comparison"]["total"]["completion_rate"] == 0.4


def test_sheli_summary_of_an_unknown_community_names_the_known_ones(cli_site: Any) -> None:
    result = cli_site("summary", "--community", "nowhere")
    assert result.exit_code == 1
    assert "没有小区「nowhere」。已有：default、jiulong、zhangshe" in result.output
    assert "Traceback" not in result.output
    refused = cli_site("summary", "--community", "zhangshe", "--send")
    assert refused.exit_code != 0 and "--community 不能和 --send 一起用" in refused.output


def test_with_one_community_sheli_summary_prints_as_before(
    make_sheli: Any, clock: Any, sheli_cli: Any
) -> None:
    Week47(make_sheli(), clock).play()
    shown = sheli_cli("summary", "--week", "2026-W47")
    assert "各小区" not in shown.output
    data = json.loads(sheli_cli("summary", "--week", "2026-W47", "--format", "json").output)
    assert "comparison" not in data and data["community"] is None


# --- the dashboard overview --------------------------------------------------------------------


def test_the_overview_compares_the_communities(make_sheli: Any, clock: Any, db_url: str) -> None:
    sheli = two_communities(make_sheli(url=db_url, dashboard__password_hash=PASSWORD_HASH), clock)
    client = create_app(sheli=sheli).test_client()
    login(client)
    page = client.get("/dashboard/").get_data(as_text=True)
    # This week (W48, Monday 09:00): only #9 (张舍家园, not accepted yet) came in.
    table = page.split("data-communities", 1)[1].split("</table>", 1)[0]
    cells = {
        community: dict(re.findall(r'data-figure="(\w+)">([^<]*)<', row))
        for community, row in re.findall(r'data-community="(\w+)"[^>]*>(.*?)</tr>', table, re.S)
    }
    assert cells == {
        "jiulong": {
            "new": "0",
            "completion": "—",
            "response": "—",
            "satisfaction": "—",
            "overdue": "1",
            "open": "2",
        },
        "zhangshe": {
            "new": "1",
            "completion": "0%",
            "response": "0%",
            "satisfaction": "—",
            "overdue": "2",
            "open": "2",
        },
        "total": {
            "new": "1",
            "completion": "0%",
            "response": "0%",
            "satisfaction": "—",
            "overdue": "3",
            "open": "4",
        },
    }
    charts = page.split("data-community-charts", 1)[1]
    assert "<title>张舍家园：1</title>" in charts and "<title>九龙湾：0</title>" in charts
    assert "<title>张舍家园：0%</title>" in charts and "九龙湾：0%" not in charts
    data = client.get("/dashboard/api/overview").get_json()
    assert [r["key"] for r in data["communities"]["communities"]] == ["jiulong", "zhangshe"]


def test_with_one_community_the_overview_has_no_comparison(make_sheli: Any) -> None:
    sheli = make_sheli(dashboard__password_hash=PASSWORD_HASH)
    client = create_app(sheli=sheli).test_client()
    login(client)
    page = client.get("/dashboard/").get_data(as_text=True)
    assert "data-communities" not in page and "各小区" not in page
    assert client.get("/dashboard/api/overview").get_json()["communities"] is None
