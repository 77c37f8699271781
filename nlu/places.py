"""Places in the dormitory area: how residents write them, how they are found and compared.

The one home of place rules. The entity extractor finds locations with `LOCATION_PATTERN`,
`normalise_location` gives their canonical value, and the rest of Sheli asks `parse_place`,
`building_of`, `room_of`, `room_label`, `same_room`, `same_place` and `public_facility` rather
than reading places itself.

A location is a building, optionally with an area before it and a unit, a floor and then
either a room or a public facility of that building after it. Canonical values use ASCII
digits and capitals, no spaces, no "的", "层" as "楼", "栋楼" as "栋", "号宿舍楼" as "号楼",
and no room suffix (室, 房, 号, 号房, 房间):

    "宿舍楼7栋 305室" → "7栋305"        "十二栋一单元四零一" → "12栋1单元401"
    "1栋40号房"       → "1栋40"         "8号楼四楼"         → "8号楼4楼"
    "8号楼四楼楼梯间" → "8号楼4楼楼梯间"  "B区2幢1单元"       → "B区2幢1单元"
    "二栋三楼东头"    → "2栋3楼"  (a direction on a floor is not part of the place)
    "5栋的洗衣房"     → "5栋"     "6号楼电梯"         → "6号楼"

A public facility is part of the value when it is on a floor or in a unit: there it says
where. Right after the building ("6号楼电梯坏了") it is what the report is about and is read
from the text: the span still covers it, so the classifier sees the word. The facility keeps
the word the resident used ("楼道", "走廊"); `public_facility` maps it to the facility it
means, so "楼道" and "走廊" compare equal.
A bare floor ("三楼") or a bare room ("502") is not a location: "电梯卡在三楼" names no place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# --- numerals and widths -------------------------------------------------------------------

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6}
_CN_DIGITS |= {"七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_NUMERAL_RUN = re.compile(r"[零〇一二两三四五六七八九十百千]+")


def to_halfwidth(text: str) -> str:
    """Full-width ASCII and the ideographic space become their ASCII forms; length is kept."""
    chars = []
    for char in text:
        code = ord(char)
        if 0xFF01 <= code <= 0xFF5E:
            chars.append(chr(code - 0xFEE0))
        elif code == 0x3000:
            chars.append(" ")
        else:
            chars.append(char)
    return "".join(chars)


def chinese_to_int(numeral: str) -> int:
    """ "十二" → 12, "三百零五" → 305, "五零二" → 502 (digit by digit when there are no units)."""
    if not any(char in _CN_UNITS for char in numeral):
        return int("".join(str(_CN_DIGITS[char]) for char in numeral))
    total = 0
    pending = 0
    for char in numeral:
        if char in _CN_DIGITS:
            pending = _CN_DIGITS[char]
        else:
            total += (pending or 1) * _CN_UNITS[char]
            pending = 0
    return total + pending


# --- public facilities ---------------------------------------------------------------------

# The facility each word means; the first word of a row is the facility's name.
FACILITIES: dict[str, tuple[str, ...]] = {
    "楼梯间": ("楼梯间", "楼梯口", "楼梯", "步梯"),
    "楼道": ("楼道", "走廊", "过道", "走道"),
    "电梯": ("电梯间", "电梯口", "电梯"),
    "洗衣房": ("洗衣房", "洗衣间"),
    "水房": ("开水房", "热水房", "开水间", "热水间", "水房"),
    "大厅": ("大厅", "门厅", "大堂"),
    "公共卫生间": ("公共卫生间", "公共厕所", "公共洗手间", "公厕"),
    "公共浴室": ("公共浴室", "澡堂"),
    "天台": ("天台", "楼顶", "屋顶"),
    "地下室": ("地下室", "地下车库"),
    "车棚": ("电动车棚", "停车棚", "充电棚", "车棚"),
    "配电房": ("配电房", "配电室", "配电间"),
    "消防通道": ("消防通道", "安全通道", "安全出口", "消防楼梯"),
    "垃圾房": ("垃圾房", "垃圾站"),
    "健身房": ("健身房",),
    "活动室": ("活动室",),
    "阅览室": ("阅览室",),
}
_FACILITY_OF_WORD = {word: name for name, words in FACILITIES.items() for word in words}
_FACILITY_WORDS = "|".join(sorted(_FACILITY_OF_WORD, key=len, reverse=True))
_FACILITY_ANYWHERE = re.compile(_FACILITY_WORDS)
# The facility at the end of a location as written ("5栋的洗衣房").
FACILITY_SUFFIX = re.compile(rf"的?(?:{_FACILITY_WORDS})$")


def public_facilities(text: str | None) -> tuple[str, ...]:
    """Every public facility named in a location or a message, by name, in order, once each."""
    if not text:
        return ()
    found = (_FACILITY_OF_WORD[m.group()] for m in _FACILITY_ANYWHERE.finditer(text))
    return tuple(dict.fromkeys(found))


def public_facility(text: str | None) -> str | None:
    """The public facility a location (or a message) names, by name, or None.

    "8号楼4楼楼梯间" → "楼梯间", "3栋走廊" → "楼道", "5栋水房" → "水房", "3栋502" → None.
    """
    found = public_facilities(text)
    return found[0] if found else None


# --- finding a location in text ------------------------------------------------------------

# No "两": "两栋楼" is two buildings, not building 2.
_NUM = r"(?:[0-9]{1,3}|[零〇一二三四五六七八九十百]{1,5})"
_SEP = r"[ \-—]?"
_AREA = rf"(?:(?:[A-Za-z]|{_NUM}|[东西南北])区)"
# "栋楼" is one building word unless the "楼" starts 楼下/楼道/楼梯/楼顶…
_BUILDING = (
    rf"(?:(?:[A-Za-z]{_NUM}?|{_NUM}[A-Za-z]?)"
    rf"(?:号宿舍楼|号公寓|号楼|栋楼(?![下上道梯顶前后])|栋|幢|座))"
)
_UNIT = rf"(?:{_NUM}单元)"
# "三楼" or "3层", but not the "楼" of 楼道/楼梯/楼顶 ("3栋2楼道" is not the second floor).
_FLOOR = r"(?:(?:[0-9]{1,2}|[一二三四五六七八九十]{1,3})(?:楼|层)(?![道梯顶]))"
# "502", "五零二", "305室", "18栋402房"; a short number only with a room word ("40号房").
_ROOM = (
    r"(?:(?:[0-9]{3,4}(?![0-9])|[零〇一二三四五六七八九]{3,4}(?![零〇一二三四五六七八九十]))"
    r"(?:号房间|房间|室(?!友)|号房|房(?![东租子])|号)?"
    r"|(?:[0-9]{1,2}(?![0-9])|[一二三四五六七八九十]{1,3})"
    r"(?:号房间|号房|房间|号室|室(?!友)))"
)
_FACILITY = rf"(?:的?(?:{_FACILITY_WORDS}))"

# "3-502": building 3, room 502, as many residents write it (read as "3栋502"). Not inside a
# longer run of digits and dashes (dates, phone numbers).
_ROOM_SUFFIX = r"(?:号房间|房间|室(?!友)|号房|房(?![东租子])|号)?"
_DASHED = rf"(?<![0-9A-Za-z\-])[0-9]{{1,2}}-[0-9]{{3,4}}(?![0-9\-]){_ROOM_SUFFIX}"

# A building, with an optional area before it and unit, floor, then a room or a facility.
# Not after 同/这/那/每/整/哪/几/某: "同一栋楼" and "这两栋" are no building's name.
LOCATION_PATTERN = re.compile(
    rf"(?<![0-9A-Za-z同这那每整哪几某])(?:{_AREA}{_SEP})?(?:宿舍楼{_SEP})?{_BUILDING}"
    rf"(?:{_SEP}{_UNIT})?(?:{_SEP}{_FLOOR})?(?:{_SEP}{_ROOM}|{_FACILITY})?"
    rf"|{_DASHED}"
)


def find_locations(text: str) -> list[tuple[int, int]]:
    """The (start, end) spans of the locations written in `text`, left to right."""
    half = to_halfwidth(text)
    spans = []
    for match in LOCATION_PATTERN.finditer(half):
        start, end = match.span()
        while start < end and half[start] in " -—":
            start += 1
        while end > start and half[end - 1] in " -—":
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


# --- canonical values ----------------------------------------------------------------------

_VALUE_NOISE = re.compile(r"[ \-—]")
_VALUE_DASHED = re.compile(r"([0-9]{1,2})-([0-9]{3,4})(?:号房间|房间|室|号房|房|号)?")
_VALUE_PREFIX = re.compile(r"^(?:宿舍楼|宿舍|公寓)")
_VALUE_BUILDING_WORD = re.compile(r"号宿舍楼|栋楼(?![下上道梯顶前后])")
_VALUE_FLOOR = re.compile(r"(?<=[0-9])层")
_VALUE_OF = re.compile(rf"的(?=(?:{_FACILITY_WORDS})$)")
_VALUE_ROOM_SUFFIX = re.compile(r"(?<=[0-9])(?:号房间|房间|号室|室|号房|房|号)$")


def normalise_location(surface: str) -> str:
    """The canonical value of a location as written (idempotent).

    "宿舍楼7栋 305室" → "7栋305", "十二栋" → "12栋", "ｂ区2幢" → "B区2幢", "8号楼四楼" → "8号楼4楼",
    "1栋40号房" → "1栋40", "8号楼四楼楼梯间" → "8号楼4楼楼梯间", "5栋的洗衣房" → "5栋".
    """
    value = to_halfwidth(surface).strip()
    dashed = _VALUE_DASHED.fullmatch(value)
    if dashed:  # "3-502" is building 3, room 502
        value = f"{dashed[1]}栋{dashed[2]}"
    value = _NUMERAL_RUN.sub(lambda m: str(chinese_to_int(m.group())), value)
    value = _VALUE_NOISE.sub("", value).upper()
    value = _VALUE_PREFIX.sub("", value)
    value = _VALUE_BUILDING_WORD.sub(lambda m: "号楼" if m.group() == "号宿舍楼" else "栋", value)
    value = _VALUE_FLOOR.sub("楼", value)
    value = _VALUE_OF.sub("", value)
    value = _VALUE_ROOM_SUFFIX.sub("", value)
    # A facility right after the building ("6号楼电梯", "5栋的洗衣房") is what the report is
    # about, not a spot in the building: it stays in the text, where the duplicate check and
    # the classifier read it. On a floor or in a unit it says where ("8号楼4楼楼梯间").
    place = _PLACE.fullmatch(value)
    if place and place["facility"] and not (place["unit"] or place["floor"]):
        value = place["building"]
    return value


# --- reading a place -----------------------------------------------------------------------

_PLACE = re.compile(
    r"(?P<building>(?:(?:[A-Z]|[0-9]{1,3}|[东西南北])区)?"
    r"(?:[A-Z][0-9]{0,3}|[0-9]{1,3}[A-Z]?)(?:号楼|号公寓|栋|幢|座))"
    r"(?P<unit>[0-9]{1,2}单元)?"
    r"(?P<floor>[0-9]{1,2}楼)?"
    rf"(?:(?P<room>[A-Z]?[0-9]{{1,5}}(?![0-9]))|(?P<facility>{_FACILITY_WORDS}))?"
)


@dataclass(frozen=True)
class Place:
    """The parts of a location; `rest` is whatever follows them ("东头")."""

    building: str
    unit: str | None = None
    floor: str | None = None
    room: str | None = None
    facility: str | None = None
    rest: str = ""

    @property
    def room_label(self) -> str | None:
        """Building, unit and room ("12栋1单元401"), as rooms are imported; None without a room."""
        if self.room is None or self.rest:
            return None
        return f"{self.building}{self.unit or ''}{self.room}"


def parse_place(location: str | None) -> Place | None:
    """The parts of a location (written or canonical), or None when it names no building.

    "12栋1单元5楼401" → Place("12栋", "1单元", "5楼", "401"); "食堂" → None.
    """
    if not location:
        return None
    match = _PLACE.match(normalise_location(location))
    if match is None:
        return None
    return Place(
        building=match["building"],
        unit=match["unit"],
        floor=match["floor"],
        room=match["room"],
        facility=match["facility"],
        rest=match.string[match.end() :],
    )


def building_of(location: str | None) -> str | None:
    """The building of a location: "3栋502" → "3栋", "B区2幢108" → "B区2幢", "8号楼4楼" → "8号楼"."""
    place = parse_place(location)
    return place.building if place else None


def room_of(location: str | None) -> str | None:
    """The room within the building, with its unit: "3栋502" → "502", "12栋1单元401" → "1单元401".

    None for a building, a floor or a facility ("8号楼4楼", "5栋洗衣房").
    """
    place = parse_place(location)
    if place is None or place.room_label is None:
        return None
    return place.room_label[len(place.building) :]


def room_label(text: str | None) -> str | None:
    """The room a location or a registered room names, as rooms are labelled, or None.

    "3栋 502室" → "3栋502", "b区2幢108" → "B区2幢108", "3栋5楼502" → "3栋502" (the floor is
    implied by the room), "1栋40号房" → "1栋40"; "6号楼", "8号楼4楼" and "门口" → None.
    """
    place = parse_place(text)
    return place.room_label if place else None


def same_room(a: str | None, b: str | None) -> bool:
    """Both name a room, and it is the same one ("3栋502室" and "三栋五零二")."""
    label = room_label(a)
    return label is not None and label == room_label(b)


def same_place(a: str | None, b: str | None, text_a: str = "", text_b: str = "") -> bool:
    """Whether two reports may be about the same spot, by their locations and texts.

    When both locations name a room, the room must be the same. Otherwise the building must
    be the same and both reports must name a common public facility (in the location or,
    failing that, in the text): "3栋楼道灯坏了" and "三栋走廊的灯不亮" are one spot,
    "3栋502漏水" and "3栋405漏水" are not, and neither are "3栋电梯" and "3栋楼道".
    """
    place_a, place_b = parse_place(a), parse_place(b)
    if place_a is None or place_b is None:
        return False
    if place_a.room_label is not None and place_b.room_label is not None:
        return place_a.room_label == place_b.room_label
    if place_a.building != place_b.building:
        return False
    facilities_a = set(public_facilities(a) or public_facilities(text_a))
    facilities_b = set(public_facilities(b) or public_facilities(text_b))
    return bool(facilities_a & facilities_b)


_NUMBER_RUN = re.compile(r"(\d+)")


def place_sort_key(place: str | None) -> tuple[tuple[int, int | str], ...]:
    """Sort places as people count them: "3栋" before "12栋", "B区2幢" before "B区12幢"."""
    parts = _NUMBER_RUN.split(place or "")
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts if p)
