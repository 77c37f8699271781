"""The dialogue helper (tests/dialogue.py), on the real app: it checks what it says it checks,
and a failure shows the whole conversation."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.scheduler import run_due
from tests.dialogue import (
    INBOX,
    NOTHING,
    Dialogue,
    Do,
    Event,
    Image,
    Location,
    Voice,
    absent,
    count,
    dialogue,
    equals,
    first,
    last,
    later,
    only,
)
from tests.helpers import hire
from tests.wechat import Person


@pytest.fixture
def people(sheli: Any, person: Any) -> dict[str, Person]:
    hire(sheli, "property_steward", "张师傅", "o_steward")
    return {"resident": person("o_res"), "steward": person("o_steward")}


def test_every_kind_of_step_and_check(sheli: Any, clock: Any, people: dict[str, Person]) -> None:
    resident = people["resident"]
    seen = dialogue(
        [
            (resident, Event("subscribe"), ["欢迎", "进度"]),
            ("resident", "热水器坏了", "哪"),
            ("resident", Location("3栋502"), [re.compile(r"#1\b"), "张师傅"]),
            ("steward", INBOX, only("#1", "3栋502", absent("13812345678"))),
            ("steward", INBOX, NOTHING),
            ("resident", Image("media-42"), "#1"),
            ("resident", Voice(None), "打字"),
            ("steward", "接单 1", lambda reply: reply.startswith("已接单")),
            ("steward", "完成 1 已更换加热管", "已办结"),
            ("resident", INBOX, [first("接单"), last("已更换加热管"), "#1"]),
            later(clock, hours=25),
            Do("the scheduler runs", lambda: run_due(sheli)["visits"], equals([1])),
            ("resident", INBOX, [count(1), lambda messages: "回访" in messages[0]]),
            ("resident", "5", ["5分", absent("关联")]),
            ("resident", "进度", None),  # said, not checked
        ],
        people=people,
    )
    assert seen[0].startswith("欢迎") and seen[3][0].startswith("【新任务 #1】")
    assert seen[4] == [] and len(seen) == 15
    assert clock.now().hour == 2  # 01:00 plus 25 hours
    with sheli.uow() as uow:
        ticket = uow.tickets.get(1)
        assert ticket is not None and (ticket.status, ticket.rating) == ("closed", 5)


def test_a_wrong_reply_fails_with_the_whole_conversation(people: dict[str, Person]) -> None:
    with pytest.raises(AssertionError) as failure:
        dialogue(
            [
                ("resident", "热水器坏了", "哪"),
                ("resident", "3栋502", ["#1", "李书记"]),
                ("resident", "进度", "never reached"),
            ],
            people=people,
        )
    message = str(failure.value)
    assert message.startswith("expected: contains '李书记'\n     got: '")
    assert "#1" not in message.splitlines()[0]  # only the part that failed is named
    transcript = message.split("the dialogue so far:\n", 1)[1]
    lines = transcript.splitlines()
    assert lines[0] == "    resident > 热水器坏了"
    assert lines[1].startswith("             < ") and "哪" in lines[1]
    assert lines[2] == "    resident > 3栋502"
    assert "#1" in transcript and "张师傅" in transcript
    assert "进度" not in transcript  # it stopped at the failure


def test_a_wrong_inbox_shows_what_arrived(people: dict[str, Person]) -> None:
    talk = Dialogue(people)
    talk([("resident", "3栋502热水器坏了", "#1")])
    with pytest.raises(AssertionError) as failure:
        talk([("steward", INBOX, only("#2"))])
    message = str(failure.value)
    assert message.startswith("expected: exactly one new message, that contains '#2'")
    assert "resident > 3栋502热水器坏了" in message  # the earlier call is in the transcript
    assert "steward (inbox): 1 new" in message and "[1] 【新任务 #1】" in message
    with pytest.raises(AssertionError, match="no new message"):
        Dialogue(people)([("resident", INBOX, NOTHING), ("steward", "接单 1", None)] * 2)


def test_a_step_that_breaks_is_reported_with_the_transcript(people: dict[str, Person]) -> None:
    def broken() -> None:
        raise AssertionError("the clock is stuck")

    with pytest.raises(AssertionError) as failure:
        dialogue([("resident", "你好", "你好"), Do("a day later", broken)], people=people)
    message = str(failure.value)
    assert message.startswith("the step itself failed: the clock is stuck")
    assert "resident > 你好" in message and "-- a day later --" in message


def test_an_error_in_a_step_keeps_its_type_and_gains_the_transcript(
    people: dict[str, Person],
) -> None:
    with pytest.raises(KeyError) as failure:
        dialogue([("resident", "你好", None), Do("a lookup", lambda: {}["missing"])], people)
    notes = "\n".join(getattr(failure.value, "__notes__", []))
    assert "resident > 你好" in notes and "-- a lookup --" in notes


def test_a_multi_line_reply_stays_readable(people: dict[str, Person]) -> None:
    talk = Dialogue(people)
    talk([("resident", "3栋502热水器坏了", None), ("resident", "我的信息", None)])
    entry = talk.transcript[-1]
    assert "\n" in entry
    assert all(line.startswith(" " * 11) for line in entry.splitlines()[1:])


def test_an_expectation_it_cannot_read_is_an_error(people: dict[str, Person]) -> None:
    with pytest.raises(TypeError, match="cannot expect 42"):
        dialogue([("resident", "你好", 42)], people=people)
    with pytest.raises(TypeError, match="empty list checks nothing"):
        dialogue([("resident", "你好", [])], people=people)


def test_time_passing_is_written_in_the_transcript(clock: Any, people: dict[str, Person]) -> None:
    talk = Dialogue(people)
    talk([later(clock, days=1, hours=2.5), ("steward", INBOX, count(0))])
    assert talk.transcript == ["-- 1 days 2.5 hours later --", "steward (inbox): nothing new"]
