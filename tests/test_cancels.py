"""No guessed cancels: `取消 n` cancels at once; a cancel in words (or a bare 取消) that points to
one ticket is confirmed first, anything vaguer asks which; other residents' tickets are never
touched. Transcripts through the webhook."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dialogue import INBOX, NOTHING, Dialogue, absent, later, only
from tests.helpers import hire


@pytest.fixture
def talk(sheli: Any, person: Any) -> Dialogue:
    hire(sheli, "property_steward", "王师傅", "o_steward")
    hire(sheli, "legal_adviser", "陈律师", "o_lawyer")
    hire(sheli, "branch_liaison", "陈联络员", "o_liaison")
    return Dialogue(
        {
            "resident": person("o_res"),
            "other": person("o_other"),
            "steward": person("o_steward"),
            "lawyer": person("o_lawyer"),
        }
    )


def statuses(sheli: Any) -> dict[int, str]:
    with sheli.uow() as uow:
        return {t.id: t.status for t in uow.tickets.list()}


def two_tickets(talk: Dialogue) -> None:
    talk(
        [
            ("resident", "3栋502空调不制冷", "#1"),
            ("resident", "老板拖欠我三个月工资不给", "#2"),
            ("steward", INBOX, "#1"),
            ("lawyer", INBOX, "#2"),
        ]
    )


def test_the_issue_s_conversation_cancels_only_what_was_confirmed(
    talk: Dialogue, sheli: Any
) -> None:
    two_tickets(talk)
    talk(
        [
            ("resident", "算了空调那个不用修了 取消", "确认取消 #1（空调不制冷）吗？回复「确认」"),
            ("steward", INBOX, NOTHING),
            ("resident", "确认", "#1 已取消"),
            ("steward", INBOX, only("#1 已被住户取消")),
            ("resident", "哎呀取消错了，欠工资那个我还要问的", ["没有再取消", "#1"]),
            ("lawyer", INBOX, NOTHING),
        ]
    )
    assert statuses(sheli) == {1: "cancelled", 2: "assigned"}


def test_taking_back_a_cancel_before_confirming_cancels_nothing(talk: Dialogue, sheli: Any) -> None:
    two_tickets(talk)
    talk(
        [
            ("resident", "欠工资那个取消吧", "确认取消 #2"),
            ("resident", "哎呀取消错了，欠工资那个我还要问的", "#2 不取消"),
            ("resident", "确认", absent("已取消")),
            ("resident", "不用取消了", "没有取消任何工单"),
        ]
    )
    assert statuses(sheli) == {1: "assigned", 2: "assigned"}


def test_a_bare_cancel_lists_the_active_tickets_with_a_few_words(
    talk: Dialogue, sheli: Any
) -> None:
    two_tickets(talk)
    talk(
        [
            (
                "resident",
                "取消",
                [
                    "要取消哪一单",
                    "#2 法律咨询：老板拖欠我三个月工资不给",
                    "#1 物业报修：空调不制冷",
                ],
            ),
            ("resident", "取消 2", "#2 已取消"),
            ("lawyer", INBOX, only("#2 已被住户取消")),
            ("resident", "取消", "确认取消 #1（空调不制冷）"),  # only one left: confirm it
            ("resident", "不用了", "#1 不取消"),
        ]
    )
    assert statuses(sheli) == {1: "assigned", 2: "cancelled"}


def test_words_that_point_to_no_single_ticket_ask_which(talk: Dialogue, sheli: Any) -> None:
    two_tickets(talk)
    talk(
        [
            ("resident", "5栋301门锁坏了", "#3"),
            ("resident", "报修那个不用了，取消", ["要取消哪一单", "#1", "#3", absent("#2")]),
            ("resident", "取消刚才的报修", "确认取消 #3（门锁坏了）"),
            ("resident", "好", "#3 已取消"),
        ]
    )
    assert statuses(sheli) == {1: "assigned", 2: "assigned", 3: "cancelled"}


def test_a_cancel_never_touches_another_residents_ticket(talk: Dialogue, sheli: Any) -> None:
    talk(
        [
            ("resident", "3栋502空调不制冷", "#1"),
            ("other", "取消刚才的报修", "没有可以取消的工单"),
            ("other", "取消", "没有可以取消的工单"),
            ("other", "帮我把#1取消了", "没有找到你的工单 #1"),
            ("other", "取消 1", "没有找到你的工单 #1"),
            ("other", "确认", absent("已取消")),
        ]
    )
    assert statuses(sheli) == {1: "assigned"}


def test_an_unconfirmed_cancel_expires(talk: Dialogue, sheli: Any, clock: Any) -> None:
    talk(
        [
            ("resident", "3栋502空调不制冷", "#1"),
            ("resident", "空调不用修了", "确认取消 #1"),
            later(clock, minutes=31),
            ("resident", "确认", ["没有确认", "#1 仍在办理"]),
        ]
    )
    assert statuses(sheli) == {1: "assigned"}


def test_something_else_instead_of_the_confirmation_keeps_the_ticket(
    talk: Dialogue, sheli: Any
) -> None:
    talk(
        [
            ("resident", "3栋502空调不制冷", "#1"),
            ("resident", "取消刚才的报修", "确认取消 #1"),
            ("resident", "进度", "#1"),
            ("resident", "老板拖欠工资怎么办", "#2"),
            ("resident", "确认", absent("已取消")),
        ]
    )
    assert statuses(sheli) == {1: "assigned", 2: "assigned"}


def test_a_confirmation_for_a_ticket_that_meanwhile_ended_is_refused_politely(
    talk: Dialogue, sheli: Any
) -> None:
    talk(
        [
            ("resident", "3栋502空调不制冷", "#1"),
            ("resident", "取消刚才的报修", "确认取消 #1"),
            ("steward", "完成 1 已加氟", "已办结"),
            ("resident", "确认", ["#1", "不能取消"]),
        ]
    )
    assert statuses(sheli) == {1: "resolved"}
