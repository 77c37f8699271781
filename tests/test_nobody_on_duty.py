"""With nobody on duty in a role, the ticket goes to the branch liaison first, and everybody is
told so: the resident, the staff member who transferred, the operator, the liaison."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dialogue import INBOX, Dialogue, absent, only
from tests.helpers import hire


@pytest.fixture
def talk(sheli: Any, person: Any) -> Dialogue:
    hire(sheli, "branch_liaison", "陈联络员", "o_liaison")
    hire(sheli, "property_steward", "王师傅", "o_steward")
    return Dialogue(
        {
            "resident": person("o_res"),
            "liaison": person("o_liaison"),
            "steward": person("o_steward"),
        }
    )


def assigned(sheli: Any, number: int) -> tuple[str, str | None, list[dict[str, Any]]]:
    with sheli.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None
        data = [e.data or {} for e in uow.tickets.events(number) if e.kind == "assigned"]
        return ticket.role, ticket.assignee.name if ticket.assignee else None, data


def test_a_new_ticket_for_an_empty_role_says_who_has_it_first(talk: Dialogue, sheli: Any) -> None:
    talk(
        [
            (
                "resident",
                "隔壁宿舍天天半夜打游戏大声吵，说了也不听",
                ["#1", "网格员暂无在岗人员，已先交给支部联络员陈联络员"],
            ),
            ("liaison", INBOX, only("【新任务 #1】", "（网格员暂无在岗人员，先交给你处理。）")),
        ]
    )
    role, name, data = assigned(sheli, 1)
    assert (role, name) == ("branch_liaison", "陈联络员")
    assert data[-1]["wanted_role"] == "grid_worker"


def test_a_transfer_to_an_empty_role_says_so(talk: Dialogue, sheli: Any) -> None:
    talk(
        [
            ("resident", "5栋楼道里有人吵架", None),
            ("resident", "3栋502热水器坏了", ["#2", "物业管家王师傅", absent("暂无在岗")]),
            ("steward", INBOX, "#2"),
            ("liaison", INBOX, None),
            ("steward", "转派 2 网格员", "网格员暂无在岗人员，#2 已先交给支部联络员陈联络员"),
            ("liaison", INBOX, only("【转派任务 #2】", "网格员暂无在岗人员，先交给你处理")),
            ("resident", INBOX, "#2 已转给支部联络员陈联络员"),
        ]
    )
    role, name, data = assigned(sheli, 2)
    assert (role, name, data[-1].get("wanted_role")) == (
        "branch_liaison",
        "陈联络员",
        "grid_worker",
    )


def test_a_transfer_with_nobody_at_all_leaves_it_waiting_and_says_so(
    sheli: Any, person: Any
) -> None:
    hire(sheli, "property_steward", "王师傅", "o_steward")
    talk = Dialogue({"resident": person("o_res"), "steward": person("o_steward")})
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("steward", "转派 1 网格员", "网格员暂无在岗人员，#1 待分派"),
        ]
    )
    role, name, _ = assigned(sheli, 1)
    assert (role, name) == ("grid_worker", None)


def test_a_transfer_to_a_staffed_role_is_as_before(talk: Dialogue, sheli: Any) -> None:
    hire(sheli, "grid_worker", "赵网格", "o_grid")
    talk(
        [
            ("resident", "3栋502热水器坏了", "#1"),
            ("steward", "转派 1 网格员", ["#1 已转派给网格员赵网格", absent("暂无")]),
        ]
    )
