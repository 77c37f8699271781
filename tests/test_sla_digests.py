"""SLA breaches at scale: one digest per person per scheduler tick, work in batches.

A backlog (many tickets past their deadline at once, a scheduler that was down) is recorded ticket
by ticket in the audit trail, a batch per transaction and a few batches per tick, and told as one
message per person per tick: "你有25件工单超时未接单：#1 #2 …等，回复「任务」查看。" Nobody hears of one
breach twice, whatever the ticks, restarts or schedulers.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from bot import scheduler
from bot.scheduler import run_due
from handlers.commands import CheckSla, SendSlaDigests
from storage.models import SlaNotice
from tests.dialogue import INBOX, NOTHING, Dialogue, Do, count, equals, later, only
from tests.helpers import hire
from tests.test_sla import SECRETARY, TEAM, staffed
from tests.wechat import Person, outbox_rows


def repairs(person: Any, how_many: int) -> list[Any]:
    """`how_many` repairs from as many residents, in different buildings (no duplicates)."""
    return [
        (person(f"o_res{n}"), f"{n}栋10{n % 10}热水器坏了", f"#{n}") for n in range(1, how_many + 1)
    ]


def breach_events(sheli: Any) -> Counter[tuple[int, str, int]]:
    with sheli.uow() as uow:
        found: Counter[tuple[int, str, int]] = Counter()
        for number in range(1, 100):
            for event in uow.tickets.events(number):
                if event.kind == "sla_breach":
                    found[(number, event.data["breach"], event.data["level"])] += 1
        return found


def numbers_in(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"#(\d+)", text)]


def test_twenty_five_late_repairs_are_one_message_per_person(make_sheli: Any, clock: Any) -> None:
    sheli, person = staffed(make_sheli)
    steward, liaison, secretary = person("o_steward"), person("o_liaison"), person(SECRETARY)
    talk = Dialogue({"steward": steward, "liaison": liaison, "secretary": secretary})
    talk(repairs(person, 25))
    talk([("steward", INBOX, count(25))])  # the 25 tasks
    seen = talk(
        [
            later(clock, hours=2, minutes=5),
            Do("the scheduler runs", lambda: len(run_due(sheli)["sla"]), equals(25)),
            (
                "steward",
                INBOX,
                only("【督办】你有25件工单超时未接单：#1 #2 #3", "#20等，回复「任务」查看。"),
            ),
            (
                "liaison",
                INBOX,
                only("【督办】25件工单超时，请督促：#1（物业管家张师傅·接单）", "等"),
            ),
            ("secretary", INBOX, NOTHING),
            later(clock, hours=2),
            Do("the scheduler runs again", lambda: len(run_due(sheli)["sla"]), equals(25)),
            ("secretary", INBOX, only("【督办升级】25件工单严重超时，请关注：#1（物业报修·接单）")),
            ("steward", INBOX, NOTHING),
            ("liaison", INBOX, NOTHING),
        ]
    )
    assert numbers_in(seen[2][0]) == list(range(1, 21))  # twenty numbers, then "等"
    # The trail still has every breach of every ticket, once.
    events = breach_events(sheli)
    assert len(events) == 50 and set(events.values()) == {1}


def test_a_backlog_larger_than_a_batch_is_finished_over_several_ticks(
    make_sheli: Any, clock: Any, db_url: str
) -> None:
    sheli = make_sheli(
        url=db_url,
        **{
            "summary.recipients": [SECRETARY],
            "scheduler.batch": 2,
            "scheduler.batches_per_tick": 2,
        },
    )
    for role, (name, openid) in TEAM.items():
        hire(sheli, role, name, openid)
    from bot.app import create_app
    from tests.wechat import WeChatServer

    server = WeChatServer(create_app(sheli=sheli).test_client())
    steward = Person(server, "o_steward", sheli)
    for n in range(1, 10):
        Person(server, f"o_res{n}", sheli).say(f"{n}栋10{n}水管漏水")
    steward.new_messages()
    clock.advance(hours=3)
    key = scheduler.register(sheli)
    try:
        told: list[list[int]] = []
        done: list[list[int]] = []
        for _ in range(4):  # 9 tickets, 2 per batch, 2 batches per tick: 3 ticks, then nothing
            tick = scheduler.tick(key)
            done.append([number for number, _, _ in tick["sla"]])
            told.append([n for message in steward.new_messages() for n in numbers_in(message)])
    finally:
        scheduler._REGISTRY.pop(key, None)
    assert done == [[1, 2, 3, 4], [5, 6, 7, 8], [9], []]
    assert told == done  # one digest per tick, each breach told once
    assert len(breach_events(sheli)) == 9
    with sheli.uow() as uow:
        assert uow.session.query(SlaNotice).count() == 0


def test_a_crash_between_recording_and_telling_tells_once_on_the_next_tick(
    make_sheli: Any, clock: Any
) -> None:
    sheli, person = staffed(make_sheli)
    steward = person("o_steward")
    for who, says, _ in repairs(person, 3):
        who.say(says)
    steward.new_messages()
    clock.advance(hours=3)
    # The breaches are recorded (committed), then the process dies before the digest.
    assert len(sheli.handle(CheckSla()).done) == 3
    restarted = make_sheli(**{"summary.recipients": [SECRETARY]})
    result = run_due(restarted)
    assert result["sla"] == [] and result["sla_digests"]["o_steward"] == 3
    [digest] = steward.new_messages()
    assert numbers_in(digest) == [1, 2, 3]
    # Telling again finds nothing left; the next ticks say nothing.
    assert restarted.handle(SendSlaDigests()) == {}
    clock.advance(minutes=30)
    assert run_due(restarted)["sla_digests"] == {}
    assert steward.new_messages() == []
    sla_messages = [m for m in outbox_rows(sheli) if m.kind == "sla"]
    assert Counter(m.recipient for m in sla_messages) == {"o_steward": 1, "o_liaison": 1}


def test_each_persons_digest_names_only_what_concerns_them(make_sheli: Any, clock: Any) -> None:
    sheli, person = staffed(make_sheli)
    steward, grid, liaison = person("o_steward"), person("o_grid"), person("o_liaison")
    talk = Dialogue({"steward": steward, "grid": grid, "liaison": liaison})
    talk(
        [
            (person("o_a"), "3栋502热水器坏了", "#1"),
            (person("o_b"), "5栋301隔壁太吵了", "#2"),
            (person("o_c"), "6栋101水管漏了", "#3"),
            ("steward", "接单 3", "#3"),
            ("steward", INBOX, count(2)),  # the tasks
            ("grid", INBOX, count(1)),
            later(clock, hours=2, minutes=1),
            Do("the scheduler runs", lambda: run_due(sheli)["sla"]),
            ("steward", INBOX, [count(1), only("#1 派单已超过2小时仍未接单")]),
            ("grid", INBOX, [count(1), only("#2 派单已超过2小时仍未接单")]),
            # The liaison hears of both, in one message, each spelled out.
            ("liaison", INBOX, [count(1), only("#1（物业管家张师傅）", "#2（网格员赵网格）")]),
        ]
    )
