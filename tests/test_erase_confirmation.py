"""`注销` asks first: it says what would be erased, and only 「确认注销」 within
`conversation.state_ttl` erases; anything else leaves the data where it was."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dialogue import Dialogue, absent, later


@pytest.fixture
def talk(person: Any) -> Dialogue:
    return Dialogue({"resident": person("o_res")})


def erased(sheli: Any) -> bool:
    with sheli.uow() as uow:
        resident = uow.residents.by_openid("o_res")
        return resident is None or resident.erased_at is not None


def kept(sheli: Any) -> tuple[str | None, str | None]:
    with sheli.uow() as uow:
        resident = uow.residents.by_openid("o_res")
        assert resident is not None and resident.erased_at is None
        return resident.room, resident.phone


def registered(talk: Dialogue) -> None:
    talk([("resident", "登记 3栋502", "3栋502"), ("resident", "保存电话 13812345678", "已保存")])


def test_erase_says_what_goes_and_only_the_confirmation_erases(talk: Dialogue, sheli: Any) -> None:
    registered(talk)
    talk([("resident", "注销", ["住址、电话", "不能恢复", "30分钟内回复「确认注销」"])])
    assert kept(sheli) == ("3栋502", "13812345678")
    talk([("resident", "确认注销", "已删除")])
    assert erased(sheli)


def test_anything_else_after_erase_leaves_the_data(talk: Dialogue, sheli: Any) -> None:
    registered(talk)
    talk(
        [
            ("resident", "注销", "确认注销"),
            ("resident", "3栋502热水器坏了", ["#1", absent("已删除")]),
            ("resident", "确认注销", ["先发「注销」", absent("已删除")]),
        ]
    )
    assert kept(sheli) == ("3栋502", "13812345678")


@pytest.mark.parametrize(
    ("answer", "expects"),
    [("不用了", "不注销"), ("取消", "不注销"), ("好的", "请回复「确认注销」")],
)
def test_a_plain_answer_does_not_erase(
    talk: Dialogue, sheli: Any, answer: str, expects: str
) -> None:
    registered(talk)
    talk([("resident", "注销", "确认注销"), ("resident", answer, [expects, absent("已删除")])])
    assert kept(sheli) == ("3栋502", "13812345678")


def test_a_plain_yes_is_asked_for_the_words_and_they_still_work(talk: Dialogue, sheli: Any) -> None:
    registered(talk)
    talk(
        [
            ("resident", "注销", "确认注销"),
            ("resident", "好的", "确认注销"),
            ("resident", "确认注销", "已删除"),
        ]
    )
    assert erased(sheli)


def test_the_confirmation_expires(talk: Dialogue, sheli: Any, clock: Any) -> None:
    registered(talk)
    talk(
        [
            ("resident", "注销", "确认注销"),
            later(clock, minutes=31),
            ("resident", "确认注销", absent("已删除")),
        ]
    )
    assert kept(sheli) == ("3栋502", "13812345678")


def test_confirming_without_asking_erases_nothing(talk: Dialogue, sheli: Any) -> None:
    registered(talk)
    talk([("resident", "确认注销", ["先发「注销」", absent("已删除")])])
    assert kept(sheli) == ("3栋502", "13812345678")
