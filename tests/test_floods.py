"""Floods: one sender cannot open tickets (or send messages) without limit. Over the limit the
resident hears a polite sentence and nothing is opened; the branch liaison hears ONCE per flood.
Re-deliveries and concurrent messages (PostgreSQL) never slip past the limit."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bot.app import create_app
from storage.models import OutboxMessage, Ticket
from tests.dialogue import INBOX, NOTHING, Dialogue, absent, count, later, only
from tests.helpers import hire
from tests.wechat import Person, WeChatServer, message_xml

REQUESTS = [
    "3栋501热水器坏了",
    "3栋502门锁坏了锁不上",
    "3栋503空调不制冷",
    "3栋504水管漏水了",
    "3栋505灯不亮了",
    "3栋506窗户关不上",
    "3栋507马桶堵了",
    "3栋508插座没电",
    "3栋509洗衣机不转",
    "3栋510天花板漏水",
    "3栋511电梯按钮坏了",
    "3栋512门禁刷不开",
]


def tickets(sheli: Any) -> int:
    with sheli.uow() as uow:
        return int(uow.session.query(Ticket).count())


def flood_notices(sheli: Any) -> list[str]:
    with sheli.uow() as uow:
        return [m.body for m in uow.session.query(OutboxMessage).filter_by(kind="flood").all()]


@pytest.fixture
def talk(sheli: Any, person: Any) -> Dialogue:
    hire(sheli, "branch_liaison", "陈联络员", "o_liaison")
    hire(sheli, "property_steward", "王师傅", "o_steward")
    return Dialogue(
        {
            "resident": person("o_flood"),
            "liaison": person("o_liaison"),
            "steward": person("o_steward"),
        }
    )


def test_over_five_tickets_in_ten_minutes_the_resident_is_told_and_the_liaison_once(
    talk: Dialogue, sheli: Any, clock: Any
) -> None:
    talk([("resident", text, f"#{n}") for n, text in enumerate(REQUESTS[:5], start=1)])
    talk(
        [
            ("steward", INBOX, count(5)),
            ("resident", REQUESTS[5], ["10分钟内已经提了5件", "补充 编号 内容", absent("#6")]),
            ("resident", REQUESTS[6], "已经提了5件"),
            ("resident", "人工", "#6"),  # a person can still be asked for, once
            ("resident", REQUESTS[7], "已经提了6件"),
            ("steward", INBOX, NOTHING),
            (
                "liaison",
                INBOX,
                [
                    count(2),
                    some_flood_notice := only_one_with("频繁提交提醒", "3栋501"),
                ],
            ),
        ]
    )
    assert some_flood_notice is not None
    assert tickets(sheli) == 6 and len(flood_notices(sheli)) == 1
    assert "o_flood" not in flood_notices(sheli)[0]
    # Ten quiet minutes later the resident may ask again; a second flood is a second notice.
    talk([later(clock, minutes=11), ("resident", REQUESTS[8], "#7")])
    talk([("resident", text, "已登记") for text in [*REQUESTS[9:12], "3栋513热水器漏电"]])
    talk([("resident", "3栋514门把手掉了", "已经提了5件"), ("liaison", INBOX, "频繁提交提醒")])
    assert tickets(sheli) == 11 and len(flood_notices(sheli)) == 2


def only_one_with(*words: str) -> Any:
    def check(messages: list[str]) -> bool:
        return sum(all(w in m for w in words) for m in messages) == 1

    return check


def test_a_redelivered_refusal_is_answered_the_same_and_notifies_once(
    talk: Dialogue, sheli: Any, wechat: WeChatServer
) -> None:
    talk([("resident", text, f"#{n}") for n, text in enumerate(REQUESTS[:5], start=1)])
    xml = message_xml("o_flood", "text", {"Content": REQUESTS[5], "MsgId": 777001})
    replies = [wechat.post(xml) for _ in range(3)]
    assert {r.status for r in replies} == {200} and len({r.text for r in replies}) == 1
    assert "已经提了5件" in (replies[0].text or "")
    assert tickets(sheli) == 5 and len(flood_notices(sheli)) == 1


@pytest.mark.postgres
def test_concurrent_messages_on_postgres_never_pass_the_limit(make_sheli: Any, pg_url: str) -> None:
    sheli = make_sheli(pg_url)
    hire(sheli, "branch_liaison", "陈联络员", "o_liaison")
    hire(sheli, "property_steward", "王师傅", "o_steward")
    app = create_app(sheli=sheli)
    WeChatServer(app.test_client()).post(
        message_xml("o_flood", "text", {"Content": "你好", "MsgId": 1})
    )  # the resident exists; the race below is about tickets
    replies: list[Any] = []
    start = threading.Barrier(len(REQUESTS))

    def send(number: int, text: str) -> None:
        server = WeChatServer(app.test_client())
        start.wait()
        xml = message_xml("o_flood", "text", {"Content": text, "MsgId": 5000 + number})
        replies.append(server.post(xml))

    threads = [threading.Thread(target=send, args=pair) for pair in enumerate(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [r.status for r in replies] == [200] * len(REQUESTS)
    opened = [r.text for r in replies if "已登记" in (r.text or "")]
    refused = [r.text for r in replies if "已经提了" in (r.text or "")]
    assert (len(opened), len(refused)) == (5, len(REQUESTS) - 5)
    assert tickets(sheli) == 5 and len(flood_notices(sheli)) == 1


def test_too_many_messages_a_minute_are_answered_politely_and_do_nothing(
    make_sheli: Any, clock: Any
) -> None:
    sheli = make_sheli(conversation__max_messages=3)
    hire(sheli, "branch_liaison", "陈联络员", "o_liaison")
    hire(sheli, "property_steward", "王师傅", "o_steward")
    server = WeChatServer(create_app(sheli=sheli).test_client())
    talk = Dialogue(
        {
            name: Person(server, openid, sheli)
            for name, openid in (
                ("resident", "o_chatty"),
                ("liaison", "o_liaison"),
                ("steward", "o_steward"),
            )
        }
    )
    talk(
        [
            ("resident", "你好", "你好"),
            ("resident", "在吗", None),
            ("resident", REQUESTS[0], "#1"),
            ("resident", REQUESTS[1], ["消息有点多", "1分钟", absent("#2")]),
            ("resident", "人工", "消息有点多"),
            ("liaison", INBOX, only("频繁提交提醒")),
            ("resident", REQUESTS[2], "消息有点多"),
            ("liaison", INBOX, NOTHING),
        ]
    )
    talk([("steward", "任务", "#1") for _ in range(5)])  # staff are not limited
    talk([later(clock, minutes=1, seconds=1), ("resident", REQUESTS[1], "#2")])
    assert tickets(sheli) == 2
