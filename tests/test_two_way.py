"""Staff talk to residents through Sheli: `回复 n` and `电话 n`, as transcripts over the webhook."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.notices import WECHAT_TEXT_BYTES, split_text
from tests.dialogue import INBOX, NOTHING, Dialogue, absent, only
from tests.helpers import hire
from tests.wechat import Person

TEAM = {
    "branch_liaison": ("陈联络员", "o_liaison"),
    "property_steward": ("王师傅", "o_steward"),
    "legal_adviser": ("陈律师", "o_lawyer"),
}


@pytest.fixture
def talk(sheli: Any, person: Any) -> Dialogue:
    for role, (name, openid) in TEAM.items():
        hire(sheli, role, name, openid)
    people = {
        "liaison": person("o_liaison"),
        "steward": person("o_steward"),
        "lawyer": person("o_lawyer"),
        "resident": person("o_res"),
        "other": person("o_other"),
    }
    return Dialogue(people)


def trail(sheli: Any, number: int) -> list[tuple[str, str]]:
    with sheli.uow() as uow:
        return [(e.kind, e.actor) for e in uow.tickets.events(number)]


def test_the_assignee_replies_and_the_resident_reads_it_with_the_ticket_and_role(
    talk: Dialogue, sheli: Any
) -> None:
    talk(
        [
            ("resident", "3栋502热水器坏了 电话13812345678", "#1"),
            ("steward", INBOX, "#1"),
            ("steward", "回复 1 明天上午九点上门，方便吗？", ["已转给 #1", "30分钟"]),
            ("resident", INBOX, only("【#1 物业管家王师傅】明天上午九点上门，方便吗？")),
        ]
    )
    assert ("staff_reply", "staff:2:王师傅") in trail(sheli, 1)


def test_only_the_assignee_or_the_liaison_may_reply_and_nothing_is_forwarded_otherwise(
    talk: Dialogue, sheli: Any
) -> None:
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("lawyer", "回复 1 你好", "只有负责人或支部联络员"),
            ("resident", INBOX, NOTHING),
            ("liaison", "回复 1 已经在催了", "已转给 #1"),
            ("resident", INBOX, only("【#1 支部联络员陈联络员】已经在催了")),
            ("lawyer", "回复 99 你好", "没有找到工单 #99"),
            ("steward", "回复 1", "请写上要对住户说的话"),
            ("resident", "回复 1 我也想回复", "只供社区工作人员"),
            ("resident", INBOX, NOTHING),
        ]
    )
    assert [kind for kind, _ in trail(sheli, 1)].count("staff_reply") == 1


def test_a_closed_or_cancelled_ticket_gets_no_reply(talk: Dialogue) -> None:
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("resident", "取消 1", "已取消"),
            ("steward", INBOX, None),
            ("steward", "回复 1 还需要修吗", ["#1", "已取消", "不能再回复"]),
            ("resident", INBOX, NOTHING),
        ]
    )


def test_the_phone_is_one_audited_step_away(talk: Dialogue, sheli: Any) -> None:
    talk(
        [
            ("resident", "3栋502热水器坏了 我电话13812345678", "#1"),
            ("steward", INBOX, only("138****5678", absent("13812345678"))),
            ("steward", "电话 1", ["13812345678", "已记录"]),
            ("lawyer", "电话 1", ["只有负责人或支部联络员", absent("13812345678")]),
            ("liaison", "电话 1", "13812345678"),
            ("other", "3栋503门锁坏了", "#2"),
            ("steward", "电话 2", "没有留电话"),
        ]
    )
    looked = [actor for kind, actor in trail(sheli, 1) if kind == "phone_viewed"]
    assert looked == ["staff:2:王师傅", "staff:1:陈联络员"]


def test_a_long_reply_arrives_in_numbered_parts_never_cut(
    talk: Dialogue, person: Any, sheli: Any
) -> None:
    long_text = "。".join(f"第{i}件事：明天上午先关总阀再换管子" for i in range(60))
    talk(
        [
            ("resident", "3栋502水管爆了", "#1"),
            ("steward", f"回复 1 {long_text}", "已转给 #1"),
        ]
    )
    received = Person(talk.people["resident"].server, "o_res", sheli).inbox()
    parts = [m for m in received if m.startswith("（")]
    assert len(parts) >= 2
    assert all(len(p.encode("utf-8")) <= WECHAT_TEXT_BYTES for p in parts)
    assert parts[0].startswith(f"（1/{len(parts)}）") and parts[-1].startswith(f"（{len(parts)}/")
    joined = "".join(p.split("）", 1)[1] for p in parts)
    assert joined == f"【#1 物业管家王师傅】{long_text}"


@pytest.mark.parametrize("size", [0, 1, 680, 683, 2000, 5000])
def test_split_text_keeps_every_character(size: int) -> None:
    text = "修" * size
    parts = split_text(text)
    assert all(len(p.encode("utf-8")) <= WECHAT_TEXT_BYTES for p in parts)
    assert "".join(p.split("）", 1)[1] if len(parts) > 1 else p for p in parts) == text
