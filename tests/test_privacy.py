"""注销 leaves no personal data anywhere Sheli writes (SPEC "Privacy (PIPL)").

A resident lives a whole ticket life — a registered room, a repair that quotes their phone, ID
number and name, a photo, a staff reply and note, the full phone looked up, the visit answered, a
second request handed to a person, a duplicate report on a neighbour's ticket, an event sign-up —
and then erases their data. Afterwards every table of the database and the log output are
scanned for the phone, the ID number and the openid: zero hits. What stays is anonymous: the
tickets' intents, buildings, times, statuses and ratings, so the figures do not change.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import inspect, text

from bot.app import create_app
from bot.scheduler import run_due
from handlers.commands import SaveEvent
from tests.dialogue import INBOX, Dialogue, Image, later
from tests.helpers import hire
from tests.wechat import Person, WeChatServer

OPENID = "o_privacy_resident_7f3a"
PHONE = "13987654321"
PHONE_SPACED = "139 8765 4321"
ID_NUMBER = "110101199003071234"
SECRETS = (OPENID, PHONE, PHONE.replace(" ", ""), ID_NUMBER, "8765 4321")


def erase_in_chat(talk: Dialogue, who: str) -> None:
    """注销, confirming when Sheli asks first."""
    reply = talk([(who, "注销", None)])[0]
    if "确认注销" in reply:
        talk([(who, "确认注销", "已删除")])
    else:
        assert "已删除" in reply


def every_row(sheli: Any) -> dict[str, list[str]]:
    """Every row of every table, as text, by table."""
    found: dict[str, list[str]] = {}
    with sheli.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
            found[table] = [" | ".join(str(value) for value in row) for row in rows]
    return found


def hits(haystack: str) -> list[str]:
    return [secret for secret in SECRETS if secret in haystack]


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_erasure_after_a_whole_ticket_life_leaves_nothing(
    db: str,
    request: pytest.FixtureRequest,
    make_sheli: Any,
    clock: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = None if db == "sqlite" else request.getfixturevalue("pg_url")
    caplog.set_level(logging.DEBUG)
    sheli = make_sheli(url, followup__delay="1h")
    for role, name, openid in (
        ("property_steward", "王师傅", "o_steward"),
        ("branch_liaison", "陈联络员", "o_liaison"),
    ):
        hire(sheli, role, name, openid)
    sheli.handle(
        SaveEvent({"kind": "job_fair", "title": "周末招聘会", "starts_at": "2026-11-28 09:00"})
    )
    server = WeChatServer(create_app(sheli=sheli).test_client())
    people = {
        name: Person(server, openid, sheli)
        for name, openid in (
            ("resident", OPENID),
            ("neighbour", "o_neighbour"),
            ("steward", "o_steward"),
            ("liaison", "o_liaison"),
        )
    }
    talk = Dialogue(people)
    talk(
        [
            ("resident", "登记 3栋502", "3栋502"),
            (
                "resident",
                f"3栋502热水器坏了，我叫王小明，电话{PHONE_SPACED}，身份证{ID_NUMBER}",
                "#1",
            ),
            ("resident", Image("media-privacy-1"), "#1"),
            ("steward", INBOX, "#1"),
            ("steward", "接单 1", "已接单"),
            ("steward", f"备注 1 已打住户电话{PHONE}，约好明天", "备注已记录"),
            ("steward", "电话 1", PHONE),
            ("steward", "回复 1 明天上午九点到3栋502，请留门", "已转给 #1"),
            ("resident", f"补充 1 下午也在家，打{PHONE}找我", "#1"),
            ("resident", "厕所也堵了", ["#2", "3栋502"]),
            ("resident", "3栋503", "3栋503"),  # a correction of #2's place
            ("neighbour", "6号楼电梯坏了，困在里面了", None),
            ("resident", "6号楼电梯坏了", "#3"),
            ("resident", "报名 1", "报名成功"),
            ("resident", f"人工 我的电话是{PHONE}", None),
            ("steward", "完成 1 换了加热管", "已办结"),
            later(clock, hours=2),
        ]
    )
    run_due(sheli)
    talk([("resident", INBOX, "回访"), ("resident", "5", "5分")])
    erase_in_chat(talk, "resident")

    leftovers = {
        table: [row for row in rows if hits(row)] for table, rows in every_row(sheli).items()
    }
    assert {table: rows for table, rows in leftovers.items() if rows} == {}
    assert hits(caplog.text) == []

    with sheli.uow() as uow:
        ticket = uow.tickets.get(1)
        assert ticket is not None
        # Anonymous figures stay: intent, building, times, status, rating.
        assert (ticket.intent, ticket.building, ticket.rating) == ("repair", "3栋", 5)
        assert ticket.status == "closed" and ticket.resolved_at is not None
        assert "王小明" not in ticket.text
        trail = [e.kind for e in uow.tickets.events(1)]
        assert "anonymised" in trail and trail.count("created") == 1
        [neighbours] = [t for t in uow.tickets.list() if t.id == 3]
        assert neighbours.text == "6号楼电梯坏了，困在里面了"  # someone else's words stay


def test_an_open_ticket_keeps_its_problem_without_the_person(make_sheli: Any, person: Any) -> None:
    sheli = make_sheli()
    hire(sheli, "property_steward", "王师傅", "o_steward")
    server = WeChatServer(create_app(sheli=sheli).test_client())
    resident, steward = Person(server, OPENID, sheli), Person(server, "o_steward", sheli)
    talk = Dialogue({"resident": resident, "steward": steward})
    talk(
        [
            ("resident", f"3栋502门口走廊灯坏了，有事打{PHONE}", "#1"),
            ("steward", INBOX, "#1"),
        ]
    )
    erase_in_chat(talk, "resident")
    talk([("steward", "任务", ["#1", "3栋", "走廊灯坏了", "（已删除）"])])
    with sheli.uow() as uow:
        ticket = uow.tickets.get(1)
        assert ticket is not None and ticket.status == "assigned"
        assert "502" not in ticket.text and PHONE not in ticket.text
