"""Location and phone extraction, value normalisation and the Rasa YAML annotations."""

from __future__ import annotations

import pytest

from nlu.base import Entity
from nlu.entities import EntityExtractor, canonical_value, chinese_to_int
from nlu.trainingdata import load_training_text, parse_annotated


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    return EntityExtractor()


def found(extractor: EntityExtractor, text: str) -> list[tuple[str, str, str]]:
    """(entity, value, the raw text the span covers) for every entity in `text`."""
    return [(e.entity, e.value, text[e.start : e.end]) for e in extractor.extract(text)]


@pytest.mark.parametrize(
    ("text", "value", "surface"),
    [
        ("3栋502热水器坏了", "3栋502", "3栋502"),
        ("B区2幢108门锁坏了", "B区2幢108", "B区2幢108"),
        ("12栋1单元401卫生间漏水", "12栋1单元401", "12栋1单元401"),
        ("6号楼停电了", "6号楼", "6号楼"),
        ("六号楼停电了", "6号楼", "六号楼"),
        ("三栋的水管爆了", "3栋", "三栋"),
        ("十二栋没水", "12栋", "十二栋"),
        ("空调不制冷，在A座1203", "A座1203", "A座1203"),
        ("3号楼2楼厕所堵了", "3号楼2楼", "3号楼2楼"),
        ("宿舍7栋305室灯不亮", "7栋305", "7栋305室"),
        ("宿舍楼7栋 305室灯不亮", "7栋305", "宿舍楼7栋 305室"),
        ("5栋的洗衣房洗衣机坏了", "5栋", "5栋的洗衣房"),
        ("３栋５０２空调坏了", "3栋502", "３栋５０２"),
        ("ｂ区２幢的路灯坏了", "B区2幢", "ｂ区２幢"),
        ("我在6栋 520", "6栋520", "6栋 520"),
        ("18栋402房门锁坏了", "18栋402", "18栋402房"),
        ("我在12栋楼下", "12栋", "12栋"),
        ("3栋502室友太吵", "3栋502", "3栋502"),
    ],
)
def test_location_forms(extractor: EntityExtractor, text: str, value: str, surface: str) -> None:
    assert found(extractor, text) == [("location", value, surface)]


def test_spans_index_the_raw_text(extractor: EntityExtractor) -> None:
    text = "麻烦一下，３栋５０２的热水器坏了"
    [entity] = extractor.extract(text)
    assert (entity.start, entity.end) == (5, 10)
    assert text[entity.start : entity.end] == "３栋５０２"


@pytest.mark.parametrize(
    ("text", "value", "surface"),
    [
        ("电话13812345678", "13812345678", "13812345678"),
        ("我的电话138 1234 5678", "13812345678", "138 1234 5678"),
        ("打177-1234-9876找我", "17712349876", "177-1234-9876"),
        ("１３８１２３４５６７８", "13812345678", "１３８１２３４５６７８"),
    ],
)
def test_phones(extractor: EntityExtractor, text: str, value: str, surface: str) -> None:
    assert found(extractor, text) == [("phone", value, surface)]


def test_location_and_phone_together(extractor: EntityExtractor) -> None:
    text = "3栋502漏水 电话13812345678"
    assert found(extractor, text) == [
        ("location", "3栋502", "3栋502"),
        ("phone", "13812345678", "13812345678"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "工资3000块一直没发",
        "3月5号发工资",
        "给5分",
        "5",
        "电梯卡在三楼不动了",
        "502",
        "3楼厕所堵了",
        "老板欠了我12000",
        "1381234567",  # ten digits: not a phone
        "138123456789",  # twelve digits: not a phone either
        "订单号20240315123",
    ],
)
def test_no_false_positives(extractor: EntityExtractor, text: str) -> None:
    assert extractor.extract(text) == []


def test_chinese_numerals() -> None:
    assert [chinese_to_int(n) for n in ["三", "十", "十二", "二十", "二十一", "三百零五"]] == [
        3,
        10,
        12,
        20,
        21,
        305,
    ]
    assert chinese_to_int("五零二") == 502


def test_canonical_value_is_idempotent() -> None:
    for entity, raw in [("location", "宿舍楼７栋 305室"), ("phone", "+86 138 1234 5678")]:
        once = canonical_value(entity, raw)
        assert canonical_value(entity, once) == once
    assert canonical_value("phone", "+86 138 1234 5678") == "13812345678"


def test_lookup_and_synonym_sections_add_places() -> None:
    extractor = EntityExtractor(lookups={"location": ["食堂"]}, synonyms={"饭堂": "食堂"})
    assert found(extractor, "饭堂的水管漏了") == [("location", "食堂", "饭堂")]
    assert found(extractor, "食堂门口") == [("location", "食堂", "食堂")]


def test_regex_section_adds_patterns() -> None:
    extractor = EntityExtractor(regexes={"location": [r"[0-9]+号宿舍(?![楼])"]})
    assert found(extractor, "9号宿舍没电") == [("location", "9号宿舍", "9号宿舍")]


def test_annotations_become_text_and_spans() -> None:
    text, entities = parse_annotated(
        '[3栋502](location)漏水，[六号楼]{"entity": "location", "value": "6号楼"}也是，'
        '[十二栋](location){"entity": "location", "value": "12栋"}，电话[13812345678](phone)'
    )
    assert text == "3栋502漏水，六号楼也是，十二栋，电话13812345678"
    assert entities == (
        Entity("location", "3栋502", 0, 5),
        Entity("location", "6号楼", 8, 11),
        Entity("location", "12栋", 14, 17),
        Entity("phone", "13812345678", 20, 31),
    )


def test_sections_are_read() -> None:
    data = load_training_text(
        """
version: "3.1"
nlu:
- intent: repair
  examples: |
    - [3栋](location)没水
    - 厕所堵了
- intent: greet
  examples:
  - text: 你好
- regex: phone
  examples: |
    - 1[3-9][0-9]{9}
- lookup: location
  examples: |
    - 食堂
- synonym: 食堂
  examples: |
    - 饭堂
"""
    )
    assert [(e.text, e.intent) for e in data.examples] == [
        ("3栋没水", "repair"),
        ("厕所堵了", "repair"),
        ("你好", "greet"),
    ]
    assert data.examples[0].entities == (Entity("location", "3栋", 0, 2),)
    assert data.regexes == {"phone": ["1[3-9][0-9]{9}"]}
    assert data.lookups == {"location": ["食堂"]}
    assert data.synonyms == {"饭堂": "食堂"}
    assert data.content_hash


def test_synonyms_rename_values_before_and_after_normalising() -> None:
    extractor = EntityExtractor(synonyms={"3幢": "3栋", "Ｂ区３幢": "B区3幢"})
    assert found(extractor, "3幢漏水") == [("location", "3栋", "3幢")]
    assert found(extractor, "三幢漏水") == [("location", "3栋", "三幢")]
    assert found(extractor, "Ｂ区３幢漏水") == [("location", "B区3幢", "Ｂ区３幢")]
