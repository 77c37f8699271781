"""Chat keywords from SPEC.md, tolerant of `#`, full-width characters and spaces."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from handlers import masking

RESIDENT_COMMANDS = (
    "进度",
    "取消",
    "人工",
    "报名",
    "登记",
    "我的信息",
    "注销",
    "保存电话",
    "补充",
    "确认注销",
)
STAFF_COMMANDS = ("绑定", "任务", "接单", "完成", "转派", "备注", "回复", "电话")

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
    """A keyword command if `text` is one of `words`, optionally with a ticket number and text.

    The keyword and the number are read tolerantly (full-width digits, `#`, spaces); the text
    after them (`rest`) is kept as the person wrote it, full-width punctuation and all.
    """
    command = _parse_normalised(normalise(text), words)
    if command is None or not command.rest or command.word in _NORMALISED_ARGUMENTS:
        return command
    return Command(command.word, command.number, _as_written(text, command.rest))


# Their argument is a code or a room: read it normalised ("绑定 ＡＢ１２" is the code AB12).
_NORMALISED_ARGUMENTS = ("绑定", "登记")
# How far into the message the text after a keyword and its number may start.
_HEAD = 40


def _as_written(original: str, rest: str) -> str:
    """The end of `original` that normalises to `rest` (the free text as it was written)."""
    stripped = original.strip()
    for start in range(min(len(stripped), _HEAD)):
        candidate = stripped[start:].strip()
        if normalise(candidate) == rest:
            return candidate
    return rest


def _parse_normalised(text: str, words: tuple[str, ...]) -> Command | None:
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


# Ratings: "5", "５", "五", "5分", "五星", "给5分吧", "打个五星".
_BARE_RATING = re.compile(
    r"(?:我?(?:给|打)(?:你们?|个)?)?([1-5一二三四五两])\s*(?:分|星|颗星)?(?:吧|啊|呀|哦|的)?"
)
# A rating inside a longer answer ("修好了，5分"); "3分钟" is a duration, not a rating.
_RATING_IN_TEXT = re.compile(
    r"(?<![0-9一二三四五六七八九十百])([1-5一二三四五两])\s*(?:分|星|颗星)(?!钟)"
)


def _digit(value: str) -> int:
    return int(value) if value.isdigit() else _CN_DIGITS[value]


def rating_from_text(text: str) -> int | None:
    """A 1–5 rating from `5`, `５`, `五`, `5分`, `五星`, `满分`; None if the text is not a bare rating."""
    text = normalise(text).rstrip("。.!！~～ ")
    if text in ("满分", "五星好评", "好评"):
        return 5
    match = _BARE_RATING.fullmatch(text)
    return _digit(match.group(1)) if match else None


@dataclass(frozen=True)
class VisitAnswer:
    """What a resident said to a follow-up visit: fixed or not (None: not said), and a rating."""

    fixed: bool | None
    rating: int | None

    @property
    def solved(self) -> bool:
        """Fixed and rated 3 or better (or fixed without a rating); otherwise the ticket reopens."""
        return self.fixed is not False and (self.rating is None or self.rating >= 3)


# Checked in this order: "不满意" before "满意", "没修好" before "修好".
_NOT_FIXED = (
    "没修好",
    "没有修好",
    "没弄好",
    "没搞好",
    "还是不行",
    "还不行",
    "不行",
    "没解决",
    "没有解决",
    "未解决",
    "没处理",
    "还是坏",
    "又坏",
    "没人来",
    "没来修",
    "没人修",
    "还没好",
    "没好",
    "不好使",
    "还在漏",
    "还漏",
    "还是漏",
    "问题还在",
    "老样子",
    "没用",
    "还是不明白",
    "还是不清楚",
    "还是不懂",
    "没听懂",
)
_VERY_UNSATISFIED = ("非常不满意", "很不满意", "特别不满意", "太差", "很差", "极差", "差劲", "差评")
_UNSATISFIED = ("不满意", "不太满意", "不是很满意", "不好", "不怎么样")
_NEUTRAL = ("一般", "还行", "还可以", "凑合", "马马虎虎", "过得去", "差不多")
_VERY_SATISFIED = ("非常满意", "很满意", "十分满意", "特别满意", "太好了", "非常好", "好评")
_SATISFIED = ("满意", "挺好", "很好", "不错", "可以")
_FIXED = ("修好了", "已修好", "好了", "解决了", "没问题", "已经好", "弄好了", "能用了")
# Thanks for advice ("律师讲得很清楚 谢谢"): solved, without a score the resident did not give.
_THANKFUL = (
    "谢谢",
    "感谢",
    "多谢",
    "谢了",
    "辛苦了",
    "很清楚",
    "清楚了",
    "明白了",
    "懂了",
    "帮了大忙",
    "很有用",
)
_STILL_UNCLEAR = ("不清楚", "不明白", "不懂", "没懂", "没明白")


def visit_answer(text: str) -> VisitAnswer | None:
    """Interpret an answer to a follow-up visit; None when it does not read as one."""
    clean = normalise(text).replace(" ", "").replace("不好意思", "")
    bare = rating_from_text(clean)
    if bare is not None:
        return VisitAnswer(fixed=None, rating=bare)
    if re.fullmatch(r"[不没]有?|否|no", clean.rstrip("。.!！~～"), re.IGNORECASE):
        return VisitAnswer(fixed=False, rating=None)  # "解决了吗？" — "没有"
    found = _RATING_IN_TEXT.search(clean)
    rating = _digit(found.group(1)) if found else None
    if any(word in clean for word in _NOT_FIXED):
        return VisitAnswer(fixed=False, rating=rating)
    fixed = True if any(word in clean for word in _FIXED) else None
    thankful = any(word in clean for word in _THANKFUL) and not any(
        word in clean for word in _STILL_UNCLEAR
    )
    if rating is None:
        if any(word in clean for word in _VERY_UNSATISFIED):
            rating = 1
        elif any(word in clean for word in _UNSATISFIED):
            rating = 2
        elif any(word in clean for word in _NEUTRAL):
            rating = 3
        elif any(word in clean for word in _VERY_SATISFIED):
            rating = 5
        elif any(word in clean for word in _SATISFIED):
            rating = 4
    if fixed is None and rating is None and thankful:
        fixed = True  # thanks alone: solved, and no score made up for it
    if fixed is None and rating is None:
        return None
    return VisitAnswer(fixed=fixed, rating=rating)


# Violence, threats and theft, as whole phrases: "偷用我的东西", "抢厕所", "打了好几次电话",
# "血压" and "刀子嘴" are everyday squabbles and words, not a case for the police.
_VIOLENCE = re.compile(
    r"打人|打架|打起来|动手|动刀|被打|挨打|殴打|打伤|打破|打残|揍"
    r"|打[了过]?(?:我|他|她|人|孩子|老婆|老公)(?!们?(?:电话|手机|游戏|牌|球|招呼))"
    r"|(?:把|将)[^，。,.!！?？\s]{1,6}打[了伤残哭]"
    r"|打出血|流血|出血|见血|满脸是?血|一身血|头破血流"
    r"|拿刀|持刀|动刀|拿着?(?:菜|水果|西瓜)?刀|菜刀|水果刀|刀砍|砍人|砍伤|砍了|捅"
    r"|威胁|恐吓|要杀|杀了|弄死|打死"
    r"|小偷|被偷|偷了|偷走|偷钱|偷东西|偷手机|偷窃|被盗|盗窃|失窃"
    r"|抢劫|被抢|抢了我|抢走|抢钱|抢手机|抢包"
    r"|被[^，。,.!！?？]{1,3}(?:打(?!电话|游戏|牌|球|扰|搅|断|卡)|偷|抢|砍|捅)"
    r"|报警"
)


# Answers to a yes/no question Sheli asked ("确认取消 #4 吗？回复「确认」").
_YES = (
    "确认",
    "确定",
    "是",
    "是的",
    "对",
    "对的",
    "好",
    "好的",
    "嗯",
    "可以",
    "确认取消",
    "取消吧",
    "ok",
)
_NO = ("不", "不是", "不要", "不用", "不用了", "算了", "别", "不取消", "不注销", "否", "no")


# A confirmation and nothing else: only ever an answer to a question Sheli asked.
_CONFIRMATIONS = ("确认", "确定", "确认取消", "确定取消")


def is_confirmation(text: str) -> bool:
    """ "确认", "确定": words that only make sense as the answer to Sheli's question."""
    return normalise(text).rstrip("。.!！~～ ") in _CONFIRMATIONS


def yes_or_no(text: str) -> bool | None:
    """True for a plain yes ("确认", "好的"), False for a plain no ("不用了"), else None."""
    clean = normalise(text).lower().rstrip("。.!！~～ ")
    if clean in _YES:
        return True
    if clean in _NO:
        return False
    return None


# A cancel that takes itself back ("哎呀取消错了，欠工资那个我还要问的", "不用取消").
_TAKE_BACK = (
    "取消错",
    "错取消",
    "按错",
    "点错",
    "搞错",
    "弄错",
    "不取消",
    "不要取消",
    "别取消",
    "不用取消",
    "先别",
    "还要问",
    "还要办",
    "还要修",
    "还需要",
    "撤回",
)


def takes_back_a_cancel(text: str) -> bool:
    """Does this message say a cancel was a mistake, or should not happen?"""
    clean = normalise(text).replace(" ", "")
    return any(word in clean for word in _TAKE_BACK)


# Words that name a kind of ticket, so "取消刚才的报修" or "欠工资那个" points at one.
_KIND_WORDS = {
    "repair": ("报修", "维修", "修理", "修", "坏"),
    "mediation": ("调解", "纠纷", "矛盾", "吵", "噪音"),
    "legal_consult": ("法律", "律师", "工资", "欠薪", "欠钱", "合同", "工伤", "赔偿"),
    "job_fair": ("就业", "招聘", "求职", "找工作", "工作"),
    "ask_human": ("人工",),
    "hazard": ("隐患", "电线", "煤气", "燃气", "消防"),
    "hardship": ("帮扶", "困难"),
    "social_security": ("社保", "医保"),
}
_LATEST = (
    "刚才",
    "刚刚",
    "刚报",
    "刚提",
    "最新",
    "最近那",
    "上一个",
    "上一单",
    "最后一个",
    "最后那",
)


# Words of a resident chasing a request that is still open ("灯还是没修好啊 都好几天了").
_CHASING = (
    "还是没",
    "还没",
    "还是不",
    "还是坏",
    "又坏",
    "一直没",
    "一直不",
    "怎么还",
    "好几天",
    "几天了",
    "这么久",
    "没人来",
    "没人管",
    "没人修",
    "还不来",
    "什么时候来",
    "啥时候来",
    "催一下",
    "催催",
    "快点来",
    "到底",
    "还要等",
)


def chases(text: str) -> bool:
    """Does this message chase something already asked for ("怎么还没人来修")?"""
    clean = normalise(text).replace(" ", "")
    return any(word in clean for word in _CHASING)


def kinds_named(text: str) -> set[str]:
    """The ticket intents a message names in words ("报修" → repair, "欠工资" → legal_consult)."""
    clean = normalise(text)
    return {kind for kind, words in _KIND_WORDS.items() if any(w in clean for w in words)}


def names_the_latest(text: str) -> bool:
    """ "刚才的", "上一个": the newest of the tickets meant."""
    clean = normalise(text)
    return any(word in clean for word in _LATEST)


def involves_violence(text: str) -> bool:
    """Mediation that involves violence, threats or theft goes to the police officer."""
    return _VIOLENCE.search(normalise(text).replace(" ", "")) is not None


# Masking lives in handlers/masking.py; these names stay for the code that imports them from here.
mask_phone = masking.mask_phone
mask_phones_in = masking.mask_personal  # phones, landlines and ID numbers alike
