"""Buildings and rooms with their capacity (beds), from a CSV (building,room,capacity) or YAML."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

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
from storage.uow import AbstractUnitOfWork

ROOM_NUMBER = re.compile(r"(?:\d{1,2}单元)?[A-Za-z]?\d{1,5}")


def _building_name(value: Any) -> str:
    text = normalise_place(str(value or ""))
    if not text:
        raise ValueError(msg.IMPORT_MISSING.format(name=field_name("building")))
    if text.isdigit():
        text += "栋"
    if building_of(text) != text:
        raise ValueError(msg.IMPORT_BAD_BUILDING.format(value=value))
    return text


def validate_rooms(data: Any, csv_file: bool = False) -> list[tuple[str, str, int]]:
    """(building, room number, capacity) per row; ImportRejected lists each bad row."""
    if isinstance(data, Mapping) and "rooms" in data:
        data = data["rooms"]
    problems: list[str] = []
    rooms: list[tuple[str, str, int]] = []
    seen: dict[str, int] = {}
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
        if not row_problems:
            label = building + room
            if label in seen:
                row_problems.append(msg.IMPORT_ROOM_TWICE.format(label=label, other=seen[label]))
            seen.setdefault(label, number)
            rooms.append((building, room, capacity))
        problems += [row_problem(number, p) for p in row_problems]
    if problems:
        raise ImportRejected(problems)
    return rooms


def import_rooms(uow: AbstractUnitOfWork, data: Any, csv_file: bool = False) -> ImportResult:
    """Add buildings and rooms; a room already known gets the new capacity."""
    result = ImportResult(details={"buildings": 0})
    for building_name, number, capacity in validate_rooms(data, csv_file):
        building = uow.buildings.by_name(building_name)
        if building is None:
            building = uow.buildings.add(Building(name=building_name))
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
