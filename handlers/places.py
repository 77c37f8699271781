"""Places as residents write them and as Sheli stores them: buildings ("3栋", "B区2幢", "6号楼")
and rooms ("3栋502", "12栋1单元401"). Tickets, residents' rooms, the buildings pages and the rooms
import all read places through these functions, so "3栋 502室" and "3栋502" are one room."""

from __future__ import annotations

import re
import unicodedata

_BUILDING = re.compile(r"^([A-Za-z]?区?\d*[A-Za-z]?\s*(?:栋|幢|号楼|座|楼))")
ROOM_NUMBER = re.compile(r"(?:\d{1,2}单元)?[A-Za-z]?\d{1,5}")


def building_of(location: str | None) -> str | None:
    """The building part of a location: "3栋502" → "3栋", "B区2幢108" → "B区2幢"."""
    if not location:
        return None
    match = _BUILDING.match(location.replace(" ", ""))
    return match.group(1) if match else None


def normalise_place(text: str) -> str:
    """Full-width to half-width, no spaces, upper-case letters: "b区 2幢108室" → "B区2幢108"."""
    text = unicodedata.normalize("NFKC", text or "").replace(" ", "").upper()
    return re.sub(r"(室|房|号房)$", "", text)


def room_label(location: str | None) -> str | None:
    """ "3栋502" for a location that names a room; None for a building or anything vaguer."""
    if not location:
        return None
    text = normalise_place(location)
    building = building_of(text)
    if not building:
        return None
    number = text[len(building) :]
    return building + number if ROOM_NUMBER.fullmatch(number) else None


def building_of_room(room: str | None) -> str | None:
    """The building a resident's registered room is in (the room normalised first)."""
    return building_of(room_label(room) or room)
