"""Chat keywords from SPEC.md, tolerant of `#`, full-width characters and spaces."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

RESIDENT_COMMANDS = ("进度", "取消", "人工", "报名", "登记", "我的信息", "注销")
STAFF_COMMANDS = ("绑定", "任务", "接单", "完成", "转派", "备注")

_CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


def normalise(text: str) -> str:
    """Full-width to half-width, trimmed, inner whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text or "")
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class Command:
    word: str
    number: int | None = None
    rest: str = ""


# Bare word, or word + number (+ rest). Numbers may carry a leading "#" or "号"/"单".
_WITH_NUMBER = re.compile(
    r"^(?P<word>\S+?)\s*(?:第)?\s*#?\s*(?P<n>\d{1,9})\s*(?:号|单)?(?:\s*(?P<rest>.*))?$"
)


def parse_command(text: str, words: tuple[str, ...]) -> Command | None:
    """A keyword command if `text` is one of `words`, optionally with a ticket number and text."""
    text = normalise(text)
    if not text:
        return None
    for word in words:
        if text == word:
            return Command(word)
    for word in ("绑定", "登记"):  # their argument is text, even when it starts with a digit
        if word in words and text.startswith(word) and text[len(word) :].strip():
            return Command(word, None, text[len(word) :].strip())
    match = _WITH_NUMBER.match(text)
    if match and match.group("word") in words:
        return Command(
            match.group("word"), int(match.group("n")), (match.group("rest") or "").strip()
        )
    # Keyword followed by text without a number (绑定 ab12cd, 登记 3栋502, 备注 without number).
    for word in words:
        if text.startswith(word + " "):
            rest = text[len(word) :].strip()
            if rest:
                return Command(word, None, rest)
    return None


def rating_from_text(text: str) -> int | None:
    """A 1–5 rating from `5`, `５`, `五`, `5分`, `五星`; None if the text is not a bare rating."""
    text = normalise(text).rstrip("。.!！~ ")
    match = re.fullmatch(
        r"(?:我?(?:给|打)?\s*)?([1-5一二三四五两])\s*(?:分|星|颗星)?(?:吧|啊|呀)?", text
    )
    if not match:
        return None
    digit = match.group(1)
    return int(digit) if digit.isdigit() else _CN_DIGITS[digit]


_SATISFIED = (
    "非常满意",
    "很满意",
    "满意",
    "挺好",
    "很好",
    "不错",
    "修好了",
    "解决了",
    "好了",
    "可以",
)
_UNSATISFIED = ("不满意", "很不满意", "非常不满意", "太差", "很差", "差评")
_NOT_FIXED = (
    "没修好",
    "没有修好",
    "还是不行",
    "还不行",
    "没解决",
    "没有解决",
    "还是坏",
    "又坏",
    "没人来",
    "没来修",
    "还没好",
    "不好使",
)


def visit_answer(text: str) -> tuple[str, int | None] | None:
    """Interpret an answer to a follow-up visit: ("rating", n), ("not_fixed", None) or None."""
    rating = rating_from_text(text)
    if rating is not None:
        return ("rating", rating)
    clean = normalise(text)
    if any(word in clean for word in _NOT_FIXED):
        return ("not_fixed", None)
    if any(word in clean for word in _UNSATISFIED):
        return ("rating", 1 if ("非常" in clean or "很" in clean) else 2)
    if "一般" in clean or "还行" in clean or "凑合" in clean:
        return ("rating", 3)
    if any(word in clean for word in _SATISFIED):
        return ("rating", 5 if ("非常" in clean or "很" in clean) else 4)
    return None


_VIOLENCE = (
    "打人",
    "打架",
    "动手",
    "打了",
    "被打",
    "揍",
    "刀",
    "砍",
    "威胁",
    "恐吓",
    "要杀",
    "弄死",
    "偷",
    "小偷",
    "被盗",
    "盗窃",
    "抢",
    "报警",
    "流血",
    "出血",
    "血",
)


def involves_violence(text: str) -> bool:
    """Mediation that involves violence, threats or theft goes to the police officer."""
    return any(word in text for word in _VIOLENCE)


def mask_phone(phone: str | None) -> str:
    """138****5678 style."""
    if not phone:
        return "未留"
    digits = re.sub(r"\D", "", phone)
    if len(digits) >= 7:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * len(digits)


_PHONE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")


def mask_phones_in(text: str) -> str:
    """Mask every mobile number inside free text (what staff see of a resident's message)."""
    return _PHONE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
