"""Masking: however a resident writes a phone or an ID number, staff see it masked; numbers that
are not personal (rooms, ticket numbers, years, money) stay as they are."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers import keywords
from handlers.masking import ascii_digits, mask_personal, mask_phone, pseudonym
from tests.helpers import hire

PROPERTY = settings(max_examples=300, deadline=None)

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
CHINESE = str.maketrans("0123456789", "零一二三四五六七八九")

# Text around a number: Chinese, letters and punctuation, but no digits of any kind.
_NO_DIGITS = st.characters(
    blacklist_categories=("Nd", "No", "Nl", "Cs", "Cc"),
    blacklist_characters="〇零一二三四五六七八九十幺两百千万亿XxＸｘ+＋-－–—.． \t\n\r\x0b\x0c\u3000",
)
around = st.text(alphabet=_NO_DIGITS, max_size=12)


def render(digits: str, script: str) -> str:
    if script == "full-width":
        return digits.translate(FULL_WIDTH)
    if script == "chinese":
        return digits.translate(CHINESE)
    if script == "mixed":
        rng = random.Random(digits)
        return "".join(
            rng.choice([d, d.translate(FULL_WIDTH), d.translate(CHINESE)]) for d in digits
        )
    return digits


scripts = st.sampled_from(["ascii", "full-width", "chinese", "mixed"])
mobiles = st.builds(
    lambda second, rest: "1" + second + rest,
    st.sampled_from("3456789"),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
)


@st.composite
def written_mobiles(draw: Any) -> tuple[str, str]:
    """(the number, the number as a resident might type it)."""
    number = draw(mobiles)
    groups = [number[:3], number[3:7], number[7:]]
    separator = draw(st.sampled_from(["", " ", "-", "－", "\u3000"]))
    written = separator.join(render(g, draw(scripts)) for g in groups)
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "86", "0086", "＋８６", "0"]))
    return number, prefix + written


landlines = st.builds(
    lambda area, first, rest: (area, first + rest),
    st.sampled_from(["010", "020", "021", "0510", "0755", "0371"]),
    st.sampled_from("23456789"),
    st.text(alphabet="0123456789", min_size=6, max_size=7),
)


@st.composite
def id_numbers(draw: Any) -> str:
    area = draw(st.sampled_from(["110101", "440106", "320582", "510107"]))
    year = draw(st.integers(1940, 2010))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28))
    serial = draw(st.text(alphabet="0123456789", min_size=3, max_size=3))
    body = f"{area}{year}{month:02d}{day:02d}{serial}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + check


def recoverable(number: str, masked: str) -> bool:
    """Whether the digits of `number` can still be read, in order, from `masked`."""
    return number.upper() in (ascii_digits(masked) + ("X" if masked[-1:] in "Xx" else ""))


@PROPERTY
@given(before=around, phone=written_mobiles(), after=around)
def test_every_way_of_writing_a_mobile_is_masked(
    before: str, phone: tuple[str, str], after: str
) -> None:
    number, written = phone
    masked = mask_personal(before + written + after)
    assert number not in ascii_digits(masked)
    assert "****" in masked
    assert masked.startswith(before) and masked.endswith(after)


@PROPERTY
@given(before=around, line=landlines, separator=st.sampled_from(["-", " ", "", "－"]), after=around)
def test_landlines_with_an_area_code_are_masked(
    before: str, line: tuple[str, str], separator: str, after: str
) -> None:
    area, local = line
    written = area + separator + (local[:4] + " " + local[4:] if separator == " " else local)
    masked = mask_personal(before + written + after)
    # The area code stays; the local number must not (0755-***0000 spells "7550000" only by
    # running the area code into the last four digits, which is not the number showing).
    assert local not in ascii_digits(masked).replace(area, "", 1)
    assert masked.endswith(local[-4:] + after)


@PROPERTY
@given(before=around, number=id_numbers(), script=scripts, after=around)
def test_id_numbers_are_masked(before: str, number: str, script: str, after: str) -> None:
    written = render(number[:-1], script) + number[-1]
    masked = mask_personal(before + written + after)
    assert number[6:14] not in ascii_digits(masked)  # the birth date is gone
    assert not recoverable(number, masked.removesuffix(after))


# What residents write that is not personal: rooms, ticket numbers, times, money, dates.
harmless_numbers = st.one_of(
    st.integers(1, 99).map(lambda n: f"{n}栋"),
    st.integers(101, 2999).map(str),
    st.integers(1, 9999).map(lambda n: f"#{n}"),
    st.integers(1, 99999).map(lambda n: f"{n}元"),
    st.integers(2000, 2040).map(lambda n: f"{n}年"),
    st.integers(1, 12).map(lambda n: f"{n}月"),
)


@PROPERTY
@given(parts=st.lists(st.tuples(around, harmless_numbers), max_size=6), tail=around)
def test_numbers_that_are_not_personal_stay(parts: list[tuple[str, str]], tail: str) -> None:
    text = "".join(f"{word}{number}，" for word, number in parts) + tail
    assert mask_personal(text) == text


@settings(max_examples=100, deadline=None)
@given(phone=written_mobiles())
def test_mask_phone_gives_one_format_however_it_was_written(phone: tuple[str, str]) -> None:
    number, written = phone
    if written.startswith("0") and not written.startswith("00"):
        written = written[1:]  # a trunk 0 belongs to text, not to the stored phone field
    assert mask_phone(written) == number[:3] + "****" + number[-4:]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("+8613812340001", "+86138****0001"),
        ("8613812340004", "86138****0004"),
        ("电话１３８１２３４５６７８", "电话１３８****５６７８"),
        ("一三八一二三四五六七八", "一三八****五六七八"),
        ("幺三八 一二三四 五六七八", "幺三八****五六七八"),
        ("020-87654321", "020-****4321"),
        ("0510 8765 4321", "0510 ****4321"),
        ("（020）87654321", "（020）****4321"),
        ("身份证11010119900307123X。", "身份证110***********123X。"),
        ("3栋502热水器坏了", "3栋502热水器坏了"),
    ],
)
def test_examples_from_the_issue(text: str, masked: str) -> None:
    assert mask_personal(text) == masked


def test_the_old_names_still_work() -> None:
    assert keywords.mask_phone("13812345678") == "138****5678"
    assert keywords.mask_phones_in("电话+8613812340001，身份证11010119900307123X") == (
        "电话+86138****0001，身份证110***********123X"
    )
    assert mask_phone(None) == "未留"


def test_a_pseudonym_is_stable_and_hides_the_openid() -> None:
    assert pseudonym("o_abc") == pseudonym("o_abc") != pseudonym("o_abd")
    assert "o_abc" not in pseudonym("o_abc")


# --- what staff see ----------------------------------------------------------------------------

SAID = "3栋502热水器坏了，手机+8613812340001，座机020-87654321，身份证11010119900307123X"
SECRETS = ("13812340001", "87654321", "11010119900307123X")


def test_the_assignees_task_and_task_list_are_masked(sheli: Any, person: Any) -> None:
    hire(sheli, "property_steward", "张师傅", "o_steward")
    steward = person("o_steward")
    assert "#1" in person("o_resident").say(SAID)
    [task] = steward.new_messages()
    assert "138****0001" in task and "020-****4321" in task and "110***********123X" in task
    listing = steward.say("任务")
    for text in (task, listing):
        assert not any(secret in text for secret in SECRETS), text


def test_a_request_for_a_person_reaches_the_liaison_masked(sheli: Any, person: Any) -> None:
    hire(sheli, "branch_liaison", "李联络", "o_liaison")
    resident = person("o_resident")
    resident.say("我的电话是一三八一二三四五六七八，请打给我")
    resident.say("人工")
    [notice] = person("o_liaison").new_messages()
    assert "一三八****五六七八" in notice and "一二三四" not in notice
