"""SLA (督办): a ticket past its accept or resolve deadline is chased, once per level.

Defaults from config.yaml: repair accepted in 2h and resolved in 24h, urgent mediation accepted
in 30m, legal questions answered in 48h; twice the deadline escalates to the branch secretary.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner

from bot.app import create_app
from bot.cli import cli
from bot.scheduler import run_due
from handlers.times import human_duration
from tests.helpers import hire
from tests.wechat import Person, WeChatServer

SECRETARY = "o_secretary"
TEAM = {
    "property_steward": ("张师傅", "o_steward"),
    "branch_liaison": ("李联络", "o_liaison"),
    "police_officer": ("王警官", "o_police"),
    "legal_adviser": ("陈律师", "o_lawyer"),
    "grid_worker": ("赵网格", "o_grid"),
}


def staffed(make_sheli: Any, url: str | None = None) -> tuple[Any, Callable[[str], Person]]:
    """A Sheli with one staff member per role and a branch secretary receiving escalations."""
    sheli = make_sheli(url=url, **{"summary.recipients": [SECRETARY]})
    for role, (name, openid) in TEAM.items():
        hire(sheli, role, name, openid)
    server = WeChatServer(create_app(sheli=sheli).test_client())
    people: dict[str, Person] = {}

    def person(openid: str) -> Person:
        return people.setdefault(openid, Person(server, openid, sheli))

    return sheli, person


def breaches(sheli: Any, number: int = 1) -> list[tuple[str, int]]:
    with sheli.uow() as uow:
        return [
            (e.data["breach"], e.data["level"])
            for e in uow.tickets.events(number)
            if e.kind == "sla_breach"
        ]


def test_an_unaccepted_repair_is_chased_at_2h_and_escalated_at_4h(
    make_sheli: Any, clock: Any, db_url: str
) -> None:
    sheli, person = staffed(make_sheli, db_url)
    resident, steward, liaison, secretary = map(
        person, ("o_res", "o_steward", "o_liaison", SECRETARY)
    )
    resident.say("3栋502热水器坏了")
    steward.new_messages()

    clock.advance(hours=1, minutes=59)
    assert run_due(sheli)["sla"] == []
    clock.advance(minutes=2)
    assert run_due(sheli)["sla"] == [(1, "accept", 1)]
    [chase] = steward.new_messages()
    assert "督办" in chase and "#1" in chase and "2小时" in chase and "接单" in chase
    [told] = liaison.new_messages()
    assert "#1" in told and "张师傅" in told and "接单" in told
    assert secretary.new_messages() == []

    clock.advance(minutes=30)
    assert run_due(sheli)["sla"] == []  # the same breach is told once
    assert steward.new_messages() == liaison.new_messages() == []

    clock.advance(hours=2)
    assert run_due(sheli)["sla"] == [(1, "accept", 2)]
    [escalation] = secretary.new_messages()
    assert "督办升级" in escalation and "#1" in escalation and "4小时" in escalation
    assert steward.new_messages() == liaison.new_messages() == []
    assert breaches(sheli) == [("accept", 1), ("accept", 2)]


def test_an_accepted_repair_must_be_resolved_within_24h(make_sheli: Any, clock: Any) -> None:
    sheli, person = staffed(make_sheli)
    resident, steward, liaison, secretary = map(
        person, ("o_res", "o_steward", "o_liaison", SECRETARY)
    )
    resident.say("6号楼电梯坏了")
    clock.advance(minutes=20)
    steward.say("接单 1")
    steward.new_messages()

    clock.advance(hours=23, minutes=30)
    assert run_due(sheli)["sla"] == []
    clock.advance(hours=1)
    assert run_due(sheli)["sla"] == [(1, "resolve", 1)]
    assert "办结时限24小时" in steward.new_messages()[0]
    assert "办结" in liaison.new_messages()[0]

    clock.advance(hours=24)
    assert run_due(sheli)["sla"] == [(1, "resolve", 2)]
    assert "2天" in secretary.new_messages()[0]

    steward.say("完成 1 已修复")
    clock.advance(hours=1)
    assert run_due(sheli)["sla"] == []


def test_urgent_mediation_must_be_accepted_in_30_minutes(make_sheli: Any, clock: Any) -> None:
    sheli, person = staffed(make_sheli)
    police = person("o_police")
    assert "#1" in person("o_res").say("3栋502室友喝醉了打人，还拿刀威胁")
    assert "#1" in police.new_messages()[0]
    clock.advance(minutes=31)
    assert run_due(sheli)["sla"] == [(1, "accept", 1)]
    assert "30分钟" in police.new_messages()[0]


def test_a_legal_question_must_be_answered_in_48h(make_sheli: Any, clock: Any) -> None:
    sheli, person = staffed(make_sheli)
    lawyer = person("o_lawyer")
    person("o_res").say("老板拖欠工资三个月了怎么办")
    clock.advance(hours=1)
    lawyer.say("接单 1")
    clock.advance(hours=46, minutes=59)
    assert run_due(sheli)["sla"] == []
    clock.advance(hours=1, minutes=2)
    assert run_due(sheli)["sla"] == [(1, "resolve", 1)]


def test_a_scheduler_that_was_down_tells_each_level_once(make_sheli: Any, clock: Any) -> None:
    sheli, person = staffed(make_sheli)
    resident, steward, liaison, secretary = map(
        person, ("o_res", "o_steward", "o_liaison", SECRETARY)
    )
    resident.say("3栋502热水器坏了")
    steward.new_messages()
    clock.advance(days=3)  # no scheduler ran at all
    found = run_due(make_sheli(**{"summary.recipients": [SECRETARY]}))["sla"]
    assert sorted(found) == [
        (1, "accept", 1),
        (1, "accept", 2),
        (1, "resolve", 1),
        (1, "resolve", 2),
    ]
    # One digest per person for the tick, each breach spelled out on its own line.
    [told] = steward.new_messages()  # accept and resolve, level 1
    assert "#1 派单已超过2小时仍未接单" in told and "#1 已超过办结时限24小时" in told
    [chased] = liaison.new_messages()
    assert chased.count("#1（物业管家张师傅）") == 2
    [escalated] = secretary.new_messages()  # accept and resolve, level 2
    assert escalated.count("督办升级") == 2 and "4小时" in escalated and "2天" in escalated
    assert run_due(sheli)["sla"] == []


def test_a_transfer_starts_a_new_accept_deadline_for_the_new_assignee(
    make_sheli: Any, clock: Any
) -> None:
    sheli, person = staffed(make_sheli)
    resident, liaison, grid = map(person, ("o_res", "o_liaison", "o_grid"))
    resident.say("3栋502热水器坏了")
    clock.advance(hours=3)
    assert run_due(sheli)["sla"] == [(1, "accept", 1)]
    liaison.say("转派 1 网格员")
    grid.new_messages()
    clock.advance(hours=1)
    assert run_due(sheli)["sla"] == []  # a fresh 2 hours for 赵网格
    clock.advance(hours=1, minutes=1)
    assert run_due(sheli)["sla"] == [(1, "accept", 1)]
    assert "接单" in grid.new_messages()[0]


def test_a_reopened_ticket_gets_a_fresh_resolve_deadline(make_sheli: Any, clock: Any) -> None:
    sheli, person = staffed(make_sheli)
    resident, steward = person("o_res"), person("o_steward")
    resident.say("3栋502热水器坏了")
    steward.say("接单 1")
    clock.advance(hours=20)
    steward.say("完成 1 换了加热管")
    clock.advance(hours=25)
    assert run_due(sheli)["visits"] == [1]
    assert "重新" in resident.say("还是不行")
    steward.new_messages()

    clock.advance(hours=23)  # 68 hours after the request, 23 after the reopen
    assert run_due(sheli)["sla"] == []
    clock.advance(hours=2)
    assert run_due(sheli)["sla"] == [(1, "resolve", 1)]
    assert "#1" in steward.new_messages()[0]


def test_an_unassigned_ticket_is_chased_with_the_branch_liaison(
    make_sheli: Any, clock: Any
) -> None:
    sheli = make_sheli()
    hire(sheli, "branch_liaison", "李联络")  # not bound yet: nobody can take tickets
    server = WeChatServer(create_app(sheli=sheli).test_client())
    Person(server, "o_res", sheli).say("3栋502热水器坏了")
    clock.advance(hours=3)
    assert run_due(sheli)["sla"] == [(1, "accept", 1)]
    assert breaches(sheli) == [("accept", 1)]


def test_breaches_show_in_sheli_tickets(
    make_sheli: Any, clock: Any, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sheli, person = staffed(make_sheli)
    person("o_res").say("3栋502热水器坏了")
    person("o_res").say("6号楼电梯坏了")
    person("o_steward").say("接单 2")
    clock.advance(hours=3)
    run_due(sheli)

    monkeypatch.setenv("SHELI_DATABASE__URL", sqlite_url)
    runner = CliRunner()
    listed = runner.invoke(cli, ["tickets", "list", "--overdue"], obj={})
    assert listed.exit_code == 0, listed.output
    assert "#1" in listed.output and "超时" in listed.output and "#2" not in listed.output
    shown = runner.invoke(cli, ["tickets", "show", "1", "--format", "json"], obj={})
    data = json.loads(shown.output)
    assert data["sla_breaches"] == {"accept": 1, "resolve": 0}
    assert [e["detail"] for e in data["events"] if e["kind"] == "sla_breach"] == [
        "接单超时（超过2小时）·1级"
    ]


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (0.5, "1分钟"),
        (30, "30分钟"),
        (120, "2小时"),
        (90, "1.5小时"),
        (2160, "36小时"),
        (2880, "2天"),
        (3600, "2.5天"),
    ],
)
def test_durations_read_naturally(minutes: float, text: str) -> None:
    from datetime import timedelta

    assert human_duration(timedelta(minutes=minutes)) == text
