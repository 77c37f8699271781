"""Buildings and rooms with their capacity (beds), from a CSV (building,room,capacity) or YAML.

An optional `community` column puts a new building in that community (without it: `default`).
Every key must be a known community, and an import never moves a building that is already in
another community: that is `sheli community move-building`'s job, so such a row is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import Any, NamedTuple

from handlers import messages as msg
from handlers.importing.common import (
    ImportRejected,
    ImportResult,
    field_name,
    numbered_rows,
    parse_count,
    row_problem,
    text_of,
)
from nlu.places import building_of
from nlu.places import normalise_location as normalise_place
from storage.community import Building, Room
from storage.states import DEFAULT_COMMUNITY
from storage.uow import AbstractUnitOfWork

ROOM_NUMBER = re.compile(r"(?:\d{1,2}单元)?[A-Za-z]?\d{1,5}")


class RoomRow(NamedTuple):
    building: str
    room: str
    capacity: int
    community: str | None  # None: the row names none (a known building keeps its own)


def _building_name(value: Any) -> str:
    text = normalise_place(str(value or ""))
    if not text:
        raise ValueError(msg.IMPORT_MISSING.format(name=field_name("building")))
    if text.isdigit():
        text += "栋"
    if building_of(text) != text:
        raise ValueError(msg.IMPORT_BAD_BUILDING.format(value=value))
    return text


def validate_rooms(
    data: Any,
    csv_file: bool = False,
    known: Collection[str] = (DEFAULT_COMMUNITY,),
    community_of: Callable[[str], str | None] = lambda building: None,
) -> list[RoomRow]:
    """A RoomRow per row; ImportRejected lists each bad row. `known` are the site's community
    keys; `community_of(building)` is the community a building already has (None: new)."""
    if isinstance(data, Mapping) and "rooms" in data:
        data = data["rooms"]
    problems: list[str] = []
    rooms: list[RoomRow] = []
    seen: dict[str, int] = {}
    wanted: dict[str, tuple[str, int]] = {}  # building → (community, first row naming it)
    for number, row in numbered_rows(data, "rooms", csv_file):
        row_problems: list[str] = []
        building = room = ""
        capacity = 0
        try:
            building = _building_name(row.get("building"))
        except ValueError as exc:
            row_problems.append(str(exc))
        room = normalise_place(text_of(row, "room"))
        if not room:
            row_problems.append(msg.IMPORT_MISSING.format(name=field_name("room")))
        elif not ROOM_NUMBER.fullmatch(room):
            row_problems.append(msg.IMPORT_BAD_ROOM.format(value=row.get("room")))
        try:
            capacity = (
                parse_count(row.get("capacity"), field_name("room_capacity"), required=True) or 0
            )
        except ValueError as exc:
            row_problems.append(str(exc))
        key = text_of(row, "community").lower() or None
        if key is not None and key not in known:
            known_keys = "、".join(known) or "（无）"
            row_problems.append(msg.COMMUNITY_UNKNOWN.format(key=key, known=known_keys))
        elif key is not None and building:
            row_problems += _community_problems(building, key, number, wanted, community_of)
        if not row_problems:
            label = building + room
            if label in seen:
                row_problems.append(msg.IMPORT_ROOM_TWICE.format(label=label, other=seen[label]))
            seen.setdefault(label, number)
            rooms.append(RoomRow(building, room, capacity, key))
        problems += [row_problem(number, p) for p in row_problems]
    if problems:
        raise ImportRejected(problems)
    return rooms


def _community_problems(
    building: str,
    key: str,
    number: int,
    wanted: dict[str, tuple[str, int]],
    community_of: Callable[[str], str | None],
) -> list[str]:
    """Why a row may not put `building` in community `key`: it is in another one already, or
    an earlier row of the file puts it in another one."""
    current = community_of(building)
    if current is not None and current != key:
        return [msg.IMPORT_BUILDING_ELSEWHERE.format(building=building, current=current, key=key)]
    other_key, other = wanted.setdefault(building, (key, number))
    if other_key != key:
        return [
            msg.IMPORT_BUILDING_TWO_COMMUNITIES.format(
                building=building, other=other, other_key=other_key, key=key
            )
        ]
    return []


def import_rooms(uow: AbstractUnitOfWork, data: Any, csv_file: bool = False) -> ImportResult:
    """Add buildings and rooms; a room already known gets the new capacity. A new building goes
    to the community a row names (any row of the file), else to `default`."""
    result = ImportResult(details={"buildings": 0})
    known = [c.key for c in uow.communities.list()]
    rows = validate_rooms(data, csv_file, known, uow.communities.of_building)
    named = {row.building: row.community for row in rows if row.community}
    for building_name, number, capacity, _ in rows:
        building = uow.buildings.by_name(building_name)
        if building is None:
            community = named.get(building_name, DEFAULT_COMMUNITY)
            building = uow.buildings.add(Building(name=building_name, community=community))
            result.details["buildings"] += 1
        label = building_name + number
        room = uow.buildings.room_by_label(label)
        if room is None:
            uow.buildings.add_room(
                Room(building_id=building.id, number=number, label=label, capacity=capacity)
            )
            result.created += 1
        else:
            room.capacity = capacity
            result.updated += 1
    return result
