"""The ticket lifecycle is one table and one function: allowed changes, refused ones, the time
stamps and the audit event each change writes — and no other code assigns a status."""

from __future__ import annotations

import ast
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from handlers import lifecycle
from handlers.errors import IllegalTransition
from handlers.lifecycle import TRANSITIONS, allowed, set_followup, transition
from storage.models import Ticket
from storage.states import ACTIVE_STATUSES, FollowUpState, TicketStatus

S = TicketStatus
NOW = datetime(2026, 11, 23, 1, 0, 0)
ROOT = Path(__file__).resolve().parent.parent


class Trail:
    """A stand-in unit of work that only keeps the audit events written."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.tickets = self

    def add_event(self, event: Any) -> None:
        self.events.append(event)


def ticket(status: TicketStatus | None, **fields: Any) -> Ticket:
    found = Ticket(id=7, intent="repair", role="property_steward", text="灯坏了", **fields)
    found.status = status  # type: ignore[assignment]
    found.followup_state = fields.get("followup_state", FollowUpState.NONE)
    found.accept_breach_level = found.resolve_breach_level = 0
    return found


def test_every_status_is_in_the_table_and_final_ones_go_nowhere() -> None:
    assert set(TRANSITIONS) == {None, *TicketStatus}
    assert TRANSITIONS[S.CLOSED] == {} and TRANSITIONS[S.CANCELLED] == {}
    for status in ACTIVE_STATUSES:
        assert allowed(status, S.CANCELLED) and allowed(status, S.RESOLVED)
    assert not allowed(S.RESOLVED, S.ACCEPTED)
    assert not allowed(None, S.ASSIGNED)


def test_a_change_stamps_times_and_writes_one_audit_event() -> None:
    trail = Trail()
    found = ticket(S.OPEN)
    transition(trail, found, S.ASSIGNED, "system", NOW, "物业管家张师傅", event="assigned")
    transition(trail, found, S.ACCEPTED, "staff:1:张师傅", NOW + timedelta(minutes=5))
    transition(trail, found, S.RESOLVED, "staff:1:张师傅", NOW + timedelta(hours=1), "换了灯泡")
    assert (found.assigned_at, found.accepted_at, found.resolved_at) == (
        NOW,
        NOW + timedelta(minutes=5),
        NOW + timedelta(hours=1),
    )
    assert [(e.kind, e.actor, e.detail) for e in trail.events] == [
        ("assigned", "system", "物业管家张师傅"),
        ("accepted", "staff:1:张师傅", None),
        ("resolved", "staff:1:张师傅", "换了灯泡"),
    ]
    assert found.status == S.RESOLVED


def test_reopening_clears_the_resolution_and_the_visit() -> None:
    trail = Trail()
    found = ticket(S.RESOLVED, resolved_at=NOW, followup_state=FollowUpState.ANSWERED)
    found.resolve_breach_level = 1
    transition(trail, found, S.REOPENED, "resident:3", NOW, "回访说没解决")
    assert found.resolved_at is None and found.followup_state == FollowUpState.NONE
    assert found.resolve_breach_level == 0 and found.assigned_at == NOW
    assert trail.events[-1].kind == "reopened"


@pytest.mark.parametrize("final", [S.CLOSED, S.CANCELLED])
def test_an_illegal_change_is_refused_politely_and_writes_nothing(final: TicketStatus) -> None:
    trail = Trail()
    found = ticket(final)
    with pytest.raises(IllegalTransition) as refused:
        transition(trail, found, S.ACCEPTED, "staff:1:张师傅", NOW)
    assert "#7" in str(refused.value) and found.status == final and trail.events == []


def test_the_follow_up_visit_has_its_own_table() -> None:
    found = ticket(S.RESOLVED)
    set_followup(found, FollowUpState.DUE, due_at=NOW)
    assert found.followup_due_at == NOW
    set_followup(found, FollowUpState.ASKED)
    with pytest.raises(IllegalTransition):
        set_followup(found, FollowUpState.DUE)
    set_followup(found, FollowUpState.NO_RESPONSE)
    with pytest.raises(IllegalTransition):
        set_followup(found, FollowUpState.ANSWERED)


def _status_writes(path: Path) -> list[str]:
    """`x.status = …` / `x.followup_state = …` assignments in a module, as "file:line"."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            for element in target.elts if isinstance(target, ast.Tuple) else [target]:
                if (
                    isinstance(element, ast.Attribute)
                    and element.attr in ("status", "followup_state")
                    and not (isinstance(element.value, ast.Name) and element.value.id == "self")
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


# Event sign-ups have statuses of their own (confirmed, waiting, cancelled), not tickets'.
OWN_STATUSES = ("handlers/events.py",)


def test_no_code_outside_the_lifecycle_assigns_a_ticket_status() -> None:
    writes = []
    for folder in ("handlers", "bot", "storage"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == Path(lifecycle.__file__).resolve() or "migrations" in path.parts:
                continue
            if str(path.relative_to(ROOT)) in OWN_STATUSES:
                assert "ticket.status =" not in path.read_text(encoding="utf-8")
                continue
            writes += _status_writes(path)
    assert writes == []
