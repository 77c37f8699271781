"""Corrections: after Sheli says which place it assumed (or that it has none), a message that is
only a place sets that ticket's place, tells the assignee, writes the trail, opens nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dialogue import INBOX, NOTHING, Dialogue, Location, absent, later, only
from tests.helpers import hire


@pytest.fixture
def talk(sheli: Any, person: Any) -> Dialogue:
    hire(sheli, "property_steward", "王师傅", "o_steward")
    return Dialogue({"resident": person("o_res"), "steward": person("o_steward")})


def place_of(sheli: Any, number: int) -> tuple[str | None, str | None, list[str]]:
    with sheli.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None
        trail = [f"{e.kind}:{e.detail}" for e in uow.tickets.events(number)]
        return ticket.location, ticket.building, trail


def count_tickets(sheli: Any) -> int:
    with sheli.uow() as uow:
        return len(uow.tickets.list())


def assumed_room(talk: Dialogue) -> None:
    talk(
        [
            ("resident", "登记 3栋502", "3栋502"),
            (
                "resident",
                "空调不制冷",
                ["#1", "地点按你的住址3栋502登记；不在这里的话，请告诉我具体位置。"],
            ),
            ("steward", INBOX, "3栋502"),
        ]
    )


@pytest.mark.parametrize(
    ("said", "place", "building"),
    [
        ("5栋301", "5栋301", "5栋"),
        ("在七栋四零三", "7栋403", "7栋"),
        ("不是这里，在5栋301", "5栋301", "5栋"),
        ("应该是6号楼208", "6号楼208", "6号楼"),
    ],
)
def test_a_place_after_the_assumed_one_corrects_the_ticket(
    talk: Dialogue, sheli: Any, said: str, place: str, building: str
) -> None:
    assumed_room(talk)
    talk(
        [
            ("resident", said, [f"#1 的地点已改为{place}", "物业管家王师傅", absent("#2")]),
            ("steward", INBOX, only(f"【#1 地点更正】住户说地点是：{place}（原登记：3栋502）")),
        ]
    )
    location, found_building, trail = place_of(sheli, 1)
    assert (location, found_building) == (place, building)
    assert f"location_corrected:3栋502 → {place}" in trail
    assert count_tickets(sheli) == 1


def test_a_location_message_corrects_it_too(talk: Dialogue, sheli: Any) -> None:
    assumed_room(talk)
    talk(
        [
            ("resident", Location("宿舍区6号楼"), "#1 的地点已改为宿舍区6号楼"),
            ("steward", INBOX, only("#1 地点更正", "宿舍区6号楼")),
        ]
    )
    assert place_of(sheli, 1)[0] == "宿舍区6号楼"


def test_the_same_place_changes_nothing(talk: Dialogue, sheli: Any) -> None:
    assumed_room(talk)
    talk(
        [
            ("resident", "3栋502", "#1 登记的地点就是3栋502"),
            ("steward", INBOX, NOTHING),
        ]
    )
    assert not any(line.startswith("location_corrected") for line in place_of(sheli, 1)[2])


def test_a_new_request_with_a_place_is_a_new_ticket_not_a_correction(
    talk: Dialogue, sheli: Any
) -> None:
    assumed_room(talk)
    talk([("resident", "5栋301的灯也坏了", ["#2", absent("已改为")])])
    assert place_of(sheli, 1)[0] == "3栋502" and place_of(sheli, 2)[0] == "5栋301"
    talk([("resident", "5栋302", absent("#1 的地点"))])  # the question was about #1 only
    assert place_of(sheli, 1)[0] == "3栋502"


def test_after_state_ttl_a_place_is_no_correction(talk: Dialogue, sheli: Any, clock: Any) -> None:
    assumed_room(talk)
    talk([later(clock, minutes=31), ("resident", "5栋301", absent("已改为"))])
    assert place_of(sheli, 1)[0] == "3栋502"


def test_a_request_filed_without_a_place_takes_one_later(talk: Dialogue, sheli: Any) -> None:
    talk(
        [
            ("resident", "空调不制冷", "哪"),
            ("resident", "就是那个房间啊", "还需要地点"),
            ("resident", "你们来看看就知道了", ["#1", "还不知道具体位置", "补到 #1 上"]),
            ("steward", INBOX, "地点：未填"),
            ("resident", "在七栋四零三", "#1 的地点已改为7栋403"),
            ("steward", INBOX, only("【#1 地点更正】住户说地点是：7栋403（原登记：未填）")),
        ]
    )
    assert place_of(sheli, 1)[:2] == ("7栋403", "7栋")
    assert count_tickets(sheli) == 1


def test_a_correction_is_the_residents_own_ticket_only(
    talk: Dialogue, sheli: Any, person: Any
) -> None:
    """A report linked to someone else's ticket (a duplicate) is never corrected by this one."""
    talk([("resident", "3栋502热水器坏了", "#1")])
    neighbour = Dialogue({"neighbour": person("o_neighbour")})
    neighbour(
        [
            ("neighbour", "登记 3栋502", None),
            ("neighbour", "热水器坏了", ["关联", absent("地点按你的住址")]),
            ("neighbour", "5栋301", absent("#1 的地点")),
        ]
    )
    assert place_of(sheli, 1)[0] == "3栋502"
