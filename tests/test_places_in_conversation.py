"""Places kept whole through the conversation ("8号楼四楼", "1栋40号房", "B区2幢1单元"), and
duplicates linked only at the same spot: the same room when both reports name one, otherwise
the same building and a public facility both name."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.tickets import find_duplicate
from tests.dialogue import INBOX, absent, dialogue, only
from tests.helpers import hire
from tests.wechat import Person


@pytest.fixture
def people(sheli: Any, person: Any) -> dict[str, Person]:
    hire(sheli, "property_steward", "张师傅", openid="o_steward")
    return {
        "steward": person("o_steward"),
        **{name: person(f"o_{name}") for name in ("resident", "neighbour", "third")},
    }


def tickets(sheli: Any) -> list[Any]:
    with sheli.uow() as uow:
        return list(uow.tickets.list())


@pytest.mark.parametrize(
    ("says", "location", "building", "room"),
    [
        ("8号楼四楼楼梯间灯不亮", "8号楼4楼楼梯间", "8号楼", None),
        ("8号楼四楼的灯坏了", "8号楼4楼", "8号楼", None),
        ("1栋40号房空调坏了", "1栋40", "1栋", "1栋40"),
        ("B区2幢1单元水管爆了", "B区2幢1单元", "B区2幢", None),
        ("B区2幢1单元楼道灯不亮", "B区2幢1单元楼道", "B区2幢", None),
        ("十二栋一单元四零一厕所堵了", "12栋1单元401", "12栋", "12栋1单元401"),
    ],
)
def test_a_place_is_kept_whole_on_the_ticket(
    people: Any, sheli: Any, says: str, location: str, building: str, room: str | None
) -> None:
    dialogue(
        [
            ("resident", says, ["#1", "张师傅"]),
            ("steward", INBOX, only("#1", f"地点：{location}")),
        ],
        people,
    )
    (found,) = tickets(sheli)
    assert (found.location, found.building) == (location, building)
    with sheli.uow() as uow:
        assert uow.residents.by_openid("o_resident").room == room  # learned only from a room


def test_two_rooms_in_one_building_are_two_tickets(people: Any, sheli: Any) -> None:
    dialogue(
        [
            ("resident", "1栋40号房空调坏了", "#1"),
            ("neighbour", "1栋12号房空调坏了", ["#2", absent("关联")]),
            ("third", "一栋四十号房空调也坏了", ["#1", "关联"]),  # the same room, written otherwise
            ("steward", INBOX, lambda seen: sum("#1" in m for m in seen) == 2),
        ],
        people,
    )
    assert [(t.id, t.location) for t in tickets(sheli)] == [(1, "1栋40"), (2, "1栋12")]


def test_a_room_and_the_building_it_is_in_are_not_one_spot(people: Any, sheli: Any) -> None:
    dialogue(
        [
            ("resident", "3栋502灯坏了", "#1"),
            ("neighbour", "3栋灯坏了", ["#2", absent("关联")]),  # which light? not the room's
        ],
        people,
    )


def test_a_public_facility_named_by_both_is_one_spot(people: Any, sheli: Any) -> None:
    dialogue(
        [
            ("resident", "3栋楼道灯坏了", "#1"),
            ("neighbour", "3栋楼道的灯坏了", ["#1", "关联"]),
            ("third", "8号楼四楼楼梯间灯不亮", "#2"),
            ("neighbour", "8号楼楼梯的灯不亮", ["#2", "关联"]),  # the building, the stairs
            ("third", "4栋楼道灯坏了", ["#3", absent("关联")]),  # another building
        ],
        people,
    )


def test_a_building_without_a_shared_facility_is_not_one_spot(people: Any, sheli: Any) -> None:
    """Before places were compared, two "3栋停电了" were one ticket; which spot is unknown."""
    dialogue(
        [
            ("resident", "3栋停电了", "#1"),
            ("neighbour", "3栋停电了", ["#2", absent("关联")]),
        ],
        people,
    )


def test_find_duplicate_by_room(people: Any, sheli: Any) -> None:
    dialogue([("resident", "1栋40号房空调坏了", "#1")], people)
    with sheli.uow() as uow:
        assert find_duplicate(uow, "repair", "1栋40", "1栋40号房空调坏了").id == 1
        assert find_duplicate(uow, "repair", "1栋4楼40", "空调坏了").id == 1
        assert find_duplicate(uow, "repair", "1栋41", "1栋41号房空调坏了") is None
        assert find_duplicate(uow, "repair", "1栋40", "1栋40号房门锁坏了") is None
        assert find_duplicate(uow, "hazard", "1栋40", "1栋40号房空调坏了") is None
