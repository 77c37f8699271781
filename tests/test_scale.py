"""What keeps costs flat as history grows: the columns migration 0005 fills in from existing
trails, the models matching the migrations, ticket numbers that do not make writers wait, the
visits in batches, and the few statements a message costs."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, event, text

from bot.app import create_app
from bot.scheduler import run_due
from handlers.commands import CheckSla
from storage.base import Base
from storage.db import upgrade
from tests.helpers import hire
from tests.wechat import Person, WeChatServer

T0 = datetime(2026, 11, 16, 1, 0)


def test_the_models_match_the_migrations(db_url: str) -> None:
    engine = create_engine(db_url)
    upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_migration_0005_fills_the_new_columns_from_existing_trails(db_url: str) -> None:
    engine = create_engine(db_url)
    upgrade(engine, "0004")
    at = lambda hours: T0 + timedelta(hours=hours)  # noqa: E731
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO residents (id, openid, room, created_at, last_seen_at)"
                " VALUES (1, 'o_a', '3栋502', :t, :t), (2, 'o_b', NULL, :t, :t)"
            ),
            {"t": T0},
        )
        for number, status in ((1, "closed"), (2, "reopened"), (3, "assigned")):
            conn.execute(
                text(
                    "INSERT INTO tickets (id, intent, status, urgent, role, resident_id, text,"
                    " created_at, followup_state, accept_breach_level, resolve_breach_level)"
                    " VALUES (:n, 'repair', :s, false, 'property_steward', 1, 'x', :t, 'none', 0, 0)"
                ),
                {"n": number, "s": status, "t": T0},
            )
        trail = [
            (1, "created", 0),
            (1, "accepted", 1),
            (1, "resolved", 5),
            (1, "closed", 30),
            (2, "created", 0),
            (2, "resolved", 2),  # resolved straight away: its first response
            (2, "reopened", 40),
            (2, "accepted", 41),
            (3, "created", 0),
        ]
        for number, kind, hours in trail:
            conn.execute(
                text(
                    "INSERT INTO ticket_events (ticket_id, kind, actor, at)"
                    " VALUES (:n, :k, 'system', :at)"
                ),
                {"n": number, "k": kind, "at": at(hours)},
            )
        conn.execute(text("INSERT INTO counters (name, value) VALUES ('ticket', 3)"))
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, first_response_at, work_started_at, next_sla_check_at"
                " FROM tickets ORDER BY id"
            )
        ).all()
        buildings = conn.execute(text("SELECT openid, building FROM residents ORDER BY id")).all()
        dialect = conn.dialect.name
        following = (
            conn.execute(text("SELECT nextval('ticket_numbers')")).scalar()
            if dialect == "postgresql"
            else None
        )
    engine.dispose()
    as_time = lambda value: value if isinstance(value, datetime) else datetime.fromisoformat(value)  # noqa: E731
    found = [(n, *(as_time(v) if v else None for v in values)) for n, *values in rows]
    assert found == [
        (1, at(1), T0, None),  # closed: nothing left to check
        (2, at(2), at(40), T0),  # the resolve clock restarted when it was reopened
        (3, None, T0, T0),  # the first SLA pass looks at every active ticket
    ]
    assert buildings == [("o_a", "3栋"), ("o_b", None)]
    if dialect == "postgresql":
        assert following == 4  # numbers go on where the counter stopped


def test_ticket_numbers_stay_unique_when_many_open_tickets_at_once(
    make_sheli: Any, db_url: str
) -> None:
    sheli = make_sheli(url=db_url)
    hire(sheli, "property_steward", "张师傅", "o_steward")
    server = WeChatServer(create_app(sheli=sheli).test_client())
    replies: list[str] = []
    errors: list[BaseException] = []

    def report(n: int) -> None:
        try:
            replies.append(Person(server, f"o_res{n}", sheli).say(f"{n}栋10{n}热水器坏了"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=report, args=(n,)) for n in range(1, 13)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with sheli.uow() as uow:
        numbers = sorted(t.id for t in uow.tickets.list())
    assert numbers == list(range(1, 13))  # nothing rolled back here, so no gaps either


def test_visits_go_out_in_batches_over_several_ticks(make_sheli: Any, clock: Any) -> None:
    sheli = make_sheli(**{"scheduler.batch": 2, "scheduler.batches_per_tick": 2})
    hire(sheli, "property_steward", "张师傅", "o_steward")
    server = WeChatServer(create_app(sheli=sheli).test_client())
    steward = Person(server, "o_steward", sheli)
    residents = [Person(server, f"o_res{n}", sheli) for n in range(1, 6)]
    for n, resident in enumerate(residents, start=1):
        resident.say(f"{n}栋10{n}热水器坏了")
        steward.say(f"完成 {n} 已修好")
    clock.advance(hours=25)
    assert [run_due(sheli)["visits"] for _ in range(3)] == [[1, 2, 3, 4], [5], []]
    assert [len(r.new_messages()[-1:]) for r in residents] == [1] * 5  # each asked once
    clock.advance(days=3, minutes=1)  # nobody answered: they expire, in batches too
    assert [run_due(sheli)["expired"] for _ in range(3)] == [[1, 2, 3, 4], [5], []]


def test_deadlines_changed_in_config_are_applied_to_open_tickets(
    make_sheli: Any, clock: Any
) -> None:
    sheli = make_sheli()
    hire(sheli, "property_steward", "张师傅", "o_steward")
    server = WeChatServer(create_app(sheli=sheli).test_client())
    Person(server, "o_res", sheli).say("3栋502热水器坏了")
    assert run_due(sheli)["sla"] == []  # looked at once: next check in 2 hours
    clock.advance(minutes=45)
    stricter = make_sheli(**{"sla.repair.accept": "30m"})  # restarted with a new deadline
    assert stricter.handle(CheckSla()).done[0].kind == "accept"


# --- a message's statements ---------------------------------------------------------------------


def statements_of(sheli: Any, action: Any) -> list[str]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(sheli.engine, "before_cursor_execute", count)
    try:
        action()
    finally:
        event.remove(sheli.engine, "before_cursor_execute", count)
    return [s for s in seen if s not in ("BEGIN", "SAVEPOINT", "RELEASE", "COMMIT")]


@pytest.mark.parametrize(
    ("text", "most"),
    [
        ("你好", 5),  # nonce, claim, resident, flood count, reply (+ nonce purge on SQLite)
        ("谢谢", 5),
        ("进度", 7),  # … and the resident's own and followed tickets
    ],
)
def test_a_message_costs_a_handful_of_statements(
    make_sheli: Any, db_url: str, text: str, most: int
) -> None:
    sheli = make_sheli(url=db_url)
    server = WeChatServer(create_app(sheli=sheli).test_client())
    resident = Person(server, "o_res", sheli)
    resident.say("你好")  # known from now on
    used = statements_of(sheli, lambda: resident.say(text))
    limit = most + (1 if sheli.engine.dialect.name == "sqlite" else 0)
    assert len(used) <= limit, used


def test_a_redelivered_message_is_answered_from_its_first_reply(
    make_sheli: Any, db_url: str
) -> None:
    sheli = make_sheli(url=db_url)
    server = WeChatServer(create_app(sheli=sheli).test_client())
    xml_id = 777001
    from tests.wechat import message_xml

    message = message_xml("o_res", "text", {"Content": "你好", "MsgId": xml_id})
    first = server.post(message)
    used = statements_of(sheli, lambda: server.post(message))
    assert first.status == 200
    # nonce (+ purge on SQLite), the claim that finds the key taken, the first reply: no parse,
    # no resident, nothing written.
    assert len(used) <= (4 if sheli.engine.dialect.name == "sqlite" else 3), used
