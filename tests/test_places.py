"""Places: how a location is found, normalised, split into building and room, and compared."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from handlers import read_models, residents, tickets
from handlers.importing import rooms as rooms_import
from nlu.entities import LOCATION, EntityExtractor
from nlu.places import (
    Place,
    building_of,
    find_locations,
    normalise_location,
    parse_place,
    public_facilities,
    public_facility,
    room_label,
    room_of,
    same_place,
    same_room,
)
from nlu.trainingdata import load_training_data

DATA_DIR = Path(__file__).resolve().parent.parent / "nlu" / "data"


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    return EntityExtractor()


def locations(extractor: EntityExtractor, text: str) -> list[tuple[str, str]]:
    """(value, the raw text the span covers) of every location in `text`."""
    return [
        (e.value, text[e.start : e.end]) for e in extractor.extract(text) if e.entity == LOCATION
    ]


# Every form named in issue 16, as a resident writes it inside a message.
@pytest.mark.parametrize(
    ("text", "value", "surface"),
    [
        ("8号楼四楼的灯全灭了", "8号楼4楼", "8号楼四楼"),
        ("1栋40号房空调坏了", "1栋40", "1栋40号房"),
        ("8号楼四楼楼梯间的灯不亮", "8号楼4楼楼梯间", "8号楼四楼楼梯间"),
        ("二栋三楼东头有股煤气味", "2栋3楼", "二栋三楼"),
        ("B区2幢1单元门口的灯坏了", "B区2幢1单元", "B区2幢1单元"),
        ("12栋1单元401卫生间漏水", "12栋1单元401", "12栋1单元401"),
        ("三栋一楼的水管爆了", "3栋1楼", "三栋一楼"),
        ("3栋5层的走廊灯坏了", "3栋5楼走廊", "3栋5层的走廊"),
        ("3栋502房间没电", "3栋502", "3栋502房间"),
        ("1栋十二号房门锁坏了", "1栋12", "1栋十二号房"),
        ("3栋5楼502热水器坏了", "3栋5楼502", "3栋5楼502"),
        ("5栋的洗衣房洗衣机坏了", "5栋", "5栋的洗衣房"),
        ("3栋楼道里电线裸露", "3栋", "3栋楼道"),
        ("6号楼电梯又坏了", "6号楼", "6号楼电梯"),
        ("3栋2楼下水道堵了", "3栋2楼", "3栋2楼"),
        ("东区3栋停电了", "东区3栋", "东区3栋"),
        ("5号宿舍楼没水", "5号楼", "5号宿舍楼"),
        ("十二栋楼的大门坏了", "12栋", "十二栋楼"),
    ],
)
def test_places_are_kept_whole(
    extractor: EntityExtractor, text: str, value: str, surface: str
) -> None:
    assert locations(extractor, text) == [(value, surface)]


def test_canonical_values() -> None:
    assert normalise_location("8号楼四楼楼梯间") == "8号楼4楼楼梯间"
    assert normalise_location("3栋5层的走廊") == "3栋5楼走廊"
    assert normalise_location("宿舍楼7栋 305室") == "7栋305"
    assert normalise_location("ｂ区２幢１单元") == "B区2幢1单元"
    assert normalise_location("十二栋楼") == "12栋"
    assert normalise_location("5栋的洗衣房") == "5栋"
    assert normalise_location("15栋2单元的楼道") == "15栋2单元楼道"
    for value in ["8号楼四楼楼梯间", "1栋40号房", "宿舍楼７栋 305室", "5栋的洗衣房"]:
        once = normalise_location(value)
        assert normalise_location(once) == once


@pytest.mark.parametrize(
    "text",
    [
        "电梯卡在三楼不动了",  # a floor without a building names no place
        "3楼厕所堵了",
        "502",
        "工资3000块一直没发",
        "两栋楼之间的路灯坏了",  # two buildings, not building 2
        "我们住同一栋楼",  # the same building, not building 1
    ],
)
def test_no_place(extractor: EntityExtractor, text: str) -> None:
    assert locations(extractor, text) == []


def test_a_roommate_is_not_a_room(extractor: EntityExtractor) -> None:
    assert locations(extractor, "3栋502室友太吵") == [("3栋502", "3栋502")]
    assert locations(extractor, "3栋的室友") == [("3栋", "3栋")]


@pytest.mark.parametrize(
    ("location", "building", "room", "label"),
    [
        ("3栋502", "3栋", "502", "3栋502"),
        ("B区2幢108", "B区2幢", "108", "B区2幢108"),
        ("8号楼4楼", "8号楼", None, None),
        ("8号楼四楼楼梯间", "8号楼", None, None),
        ("12栋1单元401", "12栋", "1单元401", "12栋1单元401"),
        ("B区2幢1单元", "B区2幢", None, None),
        ("1栋40号房", "1栋", "40", "1栋40"),
        ("3栋5楼502", "3栋", "502", "3栋502"),
        ("三栋五零二", "3栋", "502", "3栋502"),
        ("A座1203", "A座", "1203", "A座1203"),
        ("6号楼", "6号楼", None, None),
        ("5栋的洗衣房", "5栋", None, None),
        ("门口", None, None, None),
        ("食堂", None, None, None),
        ("", None, None, None),
        (None, None, None, None),
    ],
)
def test_building_and_room(
    location: str | None, building: str | None, room: str | None, label: str | None
) -> None:
    assert building_of(location) == building
    assert room_of(location) == room
    assert room_label(location) == label


def test_room_labels_as_rooms_are_imported() -> None:
    # the cases handlers/events_import.py's room_label was written for
    assert room_label("3栋502") == "3栋502"
    assert room_label("3栋 502室") == "3栋502"
    assert room_label("b区2幢108") == "B区2幢108"
    assert room_label("12栋1单元401") == "12栋1单元401"
    assert room_label("６号楼") is None
    assert room_label("门口") is None
    assert room_label("3栋502热水器坏了") is None  # a message is not a room


def test_parse_place() -> None:
    assert parse_place("12栋1单元5楼401") == Place("12栋", "1单元", "5楼", "401")
    assert parse_place("二栋三楼东头") == Place("2栋", None, "3楼", None, None, "东头")
    assert parse_place("8号楼四楼楼梯间") == Place("8号楼", None, "4楼", None, "楼梯间")
    assert parse_place("食堂") is None


def test_handlers_use_the_one_place_normaliser() -> None:
    # Tickets, residents, the dashboard's pages and the rooms import all read places through
    # nlu.places: none keeps a grammar of its own. (The dashboard counts residents per building
    # in SQL, from the building handlers/residents.py keeps with the room.)
    for module in (tickets, residents, rooms_import):
        assert module.building_of is building_of
    for module in (residents, read_models):
        assert module.room_label is room_label


def test_same_room() -> None:
    assert same_room("3栋502室", "三栋五零二")
    assert same_room("1栋40号房", "1栋4楼40")
    assert not same_room("1栋40号房", "1栋41号房")
    assert not same_room("3栋502", "3栋")  # a building is not a room
    assert not same_room("3栋", "3栋")
    assert not same_room(None, None)


@pytest.mark.parametrize(
    ("text", "facility"),
    [
        ("8号楼4楼楼梯间", "楼梯间"),
        ("3栋楼梯口", "楼梯间"),
        ("3栋走廊", "楼道"),
        ("3栋楼道", "楼道"),
        ("6号楼电梯", "电梯"),
        ("5栋开水房", "水房"),
        ("5栋洗衣房", "洗衣房"),
        ("2栋1楼大厅", "大厅"),
        ("电梯卡在三楼了", "电梯"),
        ("3栋502", None),
        ("3栋楼下", None),
        (None, None),
    ],
)
def test_public_facility(text: str | None, facility: str | None) -> None:
    assert public_facility(text) == facility


def test_public_facilities_lists_each_once() -> None:
    assert public_facilities("楼道和走廊的灯都坏了 电梯也停了") == ("楼道", "电梯")


def test_same_place() -> None:
    # both name a room: the room decides
    assert same_place("3栋502", "三栋502室")
    assert not same_place("1栋40号房", "1栋12号房", "空调坏了", "空调坏了")
    # otherwise: the same building and a common public facility, in the place or the text
    assert same_place("3栋楼道", "三栋走廊")
    assert same_place("3栋", "3栋", "楼道灯坏了", "走廊里的灯不亮")
    assert same_place("8号楼4楼楼梯间", "8号楼", "", "楼梯那里的灯坏了")
    assert not same_place("3栋电梯", "3栋楼道")
    assert not same_place("3栋楼道", "4栋楼道")
    assert not same_place("3栋", "3栋", "停电了", "停电了")  # no facility: not the same spot
    assert not same_place("3栋502", "3栋", "漏水", "楼道漏水")
    assert not same_place(None, "3栋")


def _place_texts() -> list[str]:
    texts = [
        "8号楼四楼的灯全灭了",
        "1栋40号房空调坏了",
        "8号楼四楼楼梯间的灯不亮",
        "二栋三楼东头有股煤气味",
        "B区2幢1单元门口",
        "３栋５０２的空调",
        "Ｂ区２幢１单元４０１",
        "宿舍楼7栋 305室",
        "1栋 十二号房",
        "3栋502室友",
        "十二栋楼下",
    ]
    for name in ("nlu.yml", "test.yml"):
        texts += [e.text for e in load_training_data(DATA_DIR / name).examples]
    return texts


def test_the_rasa_regex_finds_what_the_grammar_finds() -> None:
    """RegexEntityExtractor sees only nlu.yml's `regex: location`, on the raw text."""
    data = load_training_data(DATA_DIR / "nlu.yml")
    [pattern] = [re.compile(p) for p in data.regexes[LOCATION]]
    for text in _place_texts():
        expected = find_locations(text)
        by_extractor = [
            (e.start, e.end) for e in EntityExtractor().extract(text) if e.entity == LOCATION
        ]
        assert by_extractor == expected, text
        assert [m.span() for m in pattern.finditer(text)] == expected, text
