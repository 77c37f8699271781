"""Masking personal data wherever a list, a notice or a log shows it.

Residents write numbers every way a phone keyboard or an input method allows: `13812345678`,
`+86 138 1234 5678`, `8613812345678`, full-width `１３８１２３４５６７８`, Chinese numerals
`一三八一二三四五六七八` (幺 for 1), landlines `020-87654321` and `(0510) 8765 4321`, and 18-digit
ID numbers ending in X. Staff need the problem, not the person: the full phone is one audited
step away (`电话 n`, the dashboard's ticket page). Logs get a short stable hash of an openid.
"""

from __future__ import annotations

import hashlib
import re
from typing import overload

from nlu.places import building_of, find_locations, normalise_location

_ARABIC = "0-9０-９"
_CHINESE = "〇零一二三四五六七八九幺两"
_VALUES = {
    **{str(n): n for n in range(10)},
    **{chr(ord("０") + n): n for n in range(10)},
    **dict(zip("〇零一二三四五六七八九", (0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9), strict=True)),
    "幺": 1,
    "两": 2,
}

_D = f"[{_ARABIC}{_CHINESE}]"  # one digit, however it is written
_ZERO = "[0０〇零]"
_ONE = "[1１一幺]"
_TWO = "[2２二两]"
_THREE_TO_NINE = "[3-9３-９三四五六七八九]"
_TWO_TO_NINE = "[2-9２-９二两三四五六七八九]"
_SEP = r"[\s\-－–—.．]?"  # what people put between digits: a space, a dash, a dot
_START = f"(?<![{_ARABIC}])"  # not the middle of a longer number
_END = f"(?![{_ARABIC}])"

# 18-digit (or the old 15-digit) resident ID numbers, the last character possibly X.
_ID_NUMBER = re.compile(
    rf"{_START}(?P<number>[1-9１-９一二三四五六七八九]{_D}{{16}}[{_ARABIC}{_CHINESE}XxＸｘ]"
    rf"|[1-9１-９一二三四五六七八九]{_D}{{14}}){_END}(?![XxＸｘ])"
)
# Mobiles: 1[3-9] and nine more digits, optionally after +86 / 0086 / 86 / a trunk 0.
_MOBILE = re.compile(
    rf"{_START}(?P<prefix>(?:(?:[+＋]|00|００)\s?)?(?:86|８６)[\s\-－]?|[0０])?"
    rf"(?P<number>{_ONE}{_SEP}{_THREE_TO_NINE}{_SEP}(?:{_D}{_SEP}){{8}}{_D}){_END}"
)
# Landlines with an area code: 010, 02x or 0xxx, then a 7- or 8-digit local number.
_AREA = (
    rf"{_ZERO}{_SEP}(?:{_ONE}{_SEP}{_ZERO}|{_TWO}{_SEP}{_D}|{_THREE_TO_NINE}{_SEP}{_D}{_SEP}{_D})"
)
_LANDLINE = re.compile(
    rf"{_START}(?P<area>[(（]?{_AREA}[)）]?)(?P<sep>[\s\-－]?)"
    rf"(?P<number>{_TWO_TO_NINE}{_SEP}(?:{_D}{_SEP}){{5,6}}{_D}){_END}"
)


def _digit_chars(text: str) -> list[str]:
    """The characters of `text` that are digits (in any of the ways above), as written."""
    return [c for c in text if c in _VALUES or c in "XxＸｘ"]


def _keep_ends(digits: list[str], head: int = 3, tail: int = 4) -> str:
    return (
        "".join(digits[:head]) + "*" * max(len(digits) - head - tail, 4) + "".join(digits[-tail:])
    )


def _mask_id(match: re.Match[str]) -> str:
    digits = _digit_chars(match.group("number"))
    return "".join(digits[:3]) + "*" * (len(digits) - 7) + "".join(digits[-4:])


def _mask_mobile(match: re.Match[str]) -> str:
    return (match.group("prefix") or "") + _keep_ends(_digit_chars(match.group("number")))


def _mask_landline(match: re.Match[str]) -> str:
    digits = _digit_chars(match.group("number"))
    return match.group("area") + match.group("sep") + "****" + "".join(digits[-4:])


def mask_personal(text: str) -> str:
    """`text` with every phone (mobile or landline) and ID number in it masked."""
    if not text:
        return text
    text = _ID_NUMBER.sub(_mask_id, text)
    text = _MOBILE.sub(_mask_mobile, text)
    return _LANDLINE.sub(_mask_landline, text)


def ascii_digits(text: str) -> str:
    """The digits of `text` as ASCII, whatever way they were written; everything else dropped."""
    return "".join(str(_VALUES[c]) for c in text if c in _VALUES)


def mask_phone(phone: str | None) -> str:
    """One phone number as `138****5678` (a country code dropped); `未留` when there is none."""
    if not phone:
        return "未留"
    digits = ascii_digits(phone)
    for code in ("0086", "86"):
        if digits.startswith(code) and len(digits) == len(code) + 11 and digits[len(code)] == "1":
            digits = digits[len(code) :]
    if len(digits) >= 7:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * len(digits)


def pseudonym(identifier: str | None) -> str:
    """A short stable stand-in for an openid (or a typed username) in logs: the same person
    always gets the same one, and the identifier itself never appears."""
    if not identifier:
        return "-"
    return "u" + hashlib.sha256(identifier.encode("utf-8")).hexdigest()[:10]


# --- erasure: removing, not masking ------------------------------------------------------------

REMOVED = "（已删除）"
# "我叫王小明", "我姓王", "联系人：李四" — a name a resident gives about themselves.
_OWN_NAME = re.compile(
    r"(?P<lead>我叫|我是|我姓|名字是|名字叫|联系人[:：]?\s*)(?P<name>[一-龥]{1,3})"
)


@overload
def remove_personal(text: str) -> str: ...


@overload
def remove_personal(text: None) -> None: ...


def remove_personal(text: str | None) -> str | None:
    """`text` without the personal parts a resident may have written: phones, landlines and ID
    numbers removed, a room cut down to its building ("3栋502" → "3栋"), a self-given name
    removed. The problem stays readable: "3栋502热水器坏了，电话13812345678" → "3栋热水器坏了，
    电话（已删除）"."""
    if not text:
        return text
    text = _ID_NUMBER.sub(REMOVED, text)
    text = _MOBILE.sub(REMOVED, text)
    text = _LANDLINE.sub(REMOVED, text)
    pieces, cursor = [], 0
    for start, end in find_locations(text):
        pieces.append(text[cursor:start])
        pieces.append(building_of(normalise_location(text[start:end])) or REMOVED)
        cursor = end
    pieces.append(text[cursor:])
    text = "".join(pieces)
    return _OWN_NAME.sub(lambda m: m.group("lead") + REMOVED, text)
