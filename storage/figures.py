"""Set-based figures for the weekly summary and the dashboard: GROUP BY queries over a period.

A period is split into consecutive buckets by boundaries b0 < b1 < … < bn (naive UTC): a CASE
expression puts each row in its bucket [b_i, b_i+1), so twelve weeks are one pass over [b0, bn),
not twelve. Every method returns one entry per bucket (0 … n-1) and, for more than one bucket,
TOTAL: the whole period (a ticket resolved in two of the weeks counts once in it).

Medians: on PostgreSQL `percentile_cont(0.5)` in the database; SQLite has no such aggregate, so
it returns the one column of durations for the period and Python takes the median (an SQLite
database is one community's, not a district's).

What counts and how is the business of handlers/summary.py (its docstring has the definitions);
this module only knows tickets, their audit events and the columns handlers/lifecycle.py keeps:
`first_response_at`, `work_started_at`.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from storage.models import Ticket, TicketEvent
from storage.states import ACTIVE_STATUSES, DONE_STATUSES, TicketStatus

TOTAL = -1  # the key of the whole period in every result
# A rule for a value per ticket: (intent, True: urgent tickets only / False: any, value).
Rule = tuple[str, bool, Any]


@dataclass
class Intake:
    """Tickets created in a bucket."""

    new: int = 0
    by_intent: list[tuple[str, int]] = field(default_factory=list)  # most first, then oldest
    cancelled: int = 0
    completed: int = 0  # resolved or closed now
    responded_in_time: int = 0  # not cancelled, first response within the accept limit
    _first: dict[str, int] = field(default_factory=dict, repr=False)
    _counts: dict[str, int] = field(default_factory=dict, repr=False)

    def add(
        self, intent: str, count: int, first: int, cancelled: int, completed: int, in_time: int
    ):
        self.new += count
        self.cancelled += cancelled
        self.completed += completed
        self.responded_in_time += in_time
        self._counts[intent] = self._counts.get(intent, 0) + count
        self._first[intent] = min(self._first.get(intent, first), first)
        self.by_intent = sorted(self._counts.items(), key=lambda i: (-i[1], self._first[i[0]]))


@dataclass
class Durations:
    """How many, and the median of their durations in seconds."""

    count: int = 0
    median_seconds: float | None = None


@dataclass
class Visits:
    answered: int = 0
    expired: int = 0
    solved: int = 0
    ratings: int = 0
    satisfied: int = 0
    rating_sum: int = 0


@dataclass
class Breaches:
    tickets: int = 0
    escalated: int = 0


@dataclass
class Places:
    """Tickets per building: (building, count, first ticket) for every building."""

    counts: list[tuple[str, int, int]] = field(default_factory=list)


@dataclass
class Snapshot:
    """Active tickets at one moment."""

    open: int = 0
    unassigned: int = 0
    load_by_role: list[tuple[str, int]] = field(default_factory=list)  # most first, then oldest
    overdue: list[tuple[int, str, str]] = field(default_factory=list)  # (ticket, deadline, role)


def _buckets(bounds: Sequence[datetime]) -> list[int]:
    keys = list(range(len(bounds) - 1))
    return [*keys, TOTAL] if len(keys) > 1 else keys


def _bucket(column: Any, bounds: Sequence[datetime]) -> ColumnElement[Any]:
    """The bucket of `column`'s value (rows are already restricted to [b0, bn))."""
    inner = bounds[1:-1]
    if not inner:
        return case((column.is_not(None), literal(0, Integer)), else_=literal(0, Integer))
    whens = [(column < bound, literal(i, Integer)) for i, bound in enumerate(inner)]
    return case(*whens, else_=literal(len(inner), Integer))


def _in(column: Any, bounds: Sequence[datetime]) -> ColumnElement[bool]:
    return and_(column >= bounds[0], column < bounds[-1])


def rule_case(rules: Sequence[Rule], type_: Any = None) -> ColumnElement[Any]:
    """The value of the first rule matching a ticket's intent (and urgency); NULL if none."""
    whens = []
    for intent, urgent_only, value in rules:
        matches = Ticket.intent == intent
        if urgent_only:
            matches = and_(matches, Ticket.urgent.is_(True))
        whens.append((matches, literal(value, type_)))
    if not whens:
        return null()
    return case(*whens, else_=null())


def _count_if(condition: Any) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


class FiguresRepository:
    def __init__(self, session: Session):
        self.session = session

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def _seconds(self, start: Any, end: Any) -> ColumnElement[float]:
        """end − start in seconds (NULL if either is)."""
        if self._postgres:
            return cast(extract("epoch", end - start), Float)
        # julianday is a double: rounded to the millisecond so exact deadlines compare exactly.
        return func.round((func.julianday(end) - func.julianday(start)) * 86400.0, 3)

    # --- tickets created in the period ---------------------------------------------------------

    def intake(
        self, bounds: Sequence[datetime], accept_limits: Sequence[Rule]
    ) -> dict[int, Intake]:
        """New tickets by intent, cancelled, completed, and first responses within
        `accept_limits` (seconds from the request; no rule: any response counts)."""
        t = Ticket
        limit = rule_case(accept_limits, Float)
        responded = and_(
            t.status != TicketStatus.CANCELLED,
            t.first_response_at.is_not(None),
            or_(limit.is_(None), self._seconds(t.created_at, t.first_response_at) <= limit),
        )
        rows = select(
            _bucket(t.created_at, bounds).label("b"),
            t.id,
            t.intent,
            t.status,
            case((responded, 1), else_=0).label("in_time"),
        ).where(_in(t.created_at, bounds))
        sub = rows.subquery()
        query = select(
            sub.c.b,
            sub.c.intent,
            func.count(),
            func.min(sub.c.id),
            _count_if(sub.c.status == TicketStatus.CANCELLED),
            _count_if(sub.c.status.in_(DONE_STATUSES)),
            func.sum(sub.c.in_time),
        ).group_by(sub.c.b, sub.c.intent)
        result = {key: Intake() for key in _buckets(bounds)}
        for b, intent, count, first, cancelled, completed, in_time in self.session.execute(query):
            for key in (int(b), TOTAL):
                if key in result:
                    result[key].add(
                        intent, int(count), int(first), int(cancelled), int(completed), int(in_time)
                    )
        return result

    def first_responses(self, bounds: Sequence[datetime]) -> dict[int, Durations]:
        """Tickets created in the period, not cancelled, that got a response: the median of
        (first response − request)."""
        t = Ticket
        rows = select(
            _bucket(t.created_at, bounds).label("b"),
            t.id.label("key"),
            self._seconds(t.created_at, t.first_response_at).label("secs"),
        ).where(
            _in(t.created_at, bounds),
            t.status != TicketStatus.CANCELLED,
            t.first_response_at.is_not(None),
        )
        return self._medians(rows, bounds)

    def places(self, bounds: Sequence[datetime]) -> dict[int, Places]:
        """Tickets created in the period per building."""
        t = Ticket
        sub = (
            select(_bucket(t.created_at, bounds).label("b"), t.building, t.id)
            .where(_in(t.created_at, bounds), t.building.is_not(None))
            .subquery()
        )
        query = select(sub.c.b, sub.c.building, func.count(), func.min(sub.c.id)).group_by(
            sub.c.b, sub.c.building
        )
        per: dict[int, dict[str, list[int]]] = {key: {} for key in _buckets(bounds)}
        for b, building, count, first in self.session.execute(query):
            for key in (int(b), TOTAL):
                if key in per:
                    known = per[key].setdefault(building, [0, int(first)])
                    known[0] += int(count)
                    known[1] = min(known[1], int(first))
        return {
            key: Places([(name, n, first) for name, (n, first) in counts.items()])
            for key, counts in per.items()
        }

    # --- what happened in the period (audit events) ---------------------------------------------

    def resolutions(self, bounds: Sequence[datetime]) -> dict[int, Durations]:
        """Tickets resolved in the period: how many, and the median of (their last resolution in
        the period − request)."""
        e, t = TicketEvent, Ticket
        events = (
            select(_bucket(e.at, bounds).label("b"), e.ticket_id, e.at)
            .where(e.kind == "resolved", _in(e.at, bounds))
            .subquery()
        )
        last = (
            select(events.c.b, events.c.ticket_id, func.max(events.c.at).label("last"))
            .group_by(events.c.b, events.c.ticket_id)
            .subquery()
        )
        rows = select(
            last.c.b,
            last.c.ticket_id.label("key"),
            self._seconds(t.created_at, last.c.last).label("secs"),
        ).join(t, t.id == last.c.ticket_id)
        return self._medians(rows, bounds)

    def visits(self, bounds: Sequence[datetime]) -> dict[int, Visits]:
        """Visits answered (with their scores and whether solved) and expired in the period."""
        e = TicketEvent
        rating = e.data["rating"].as_integer()
        said_solved = e.data["solved"].as_boolean()
        fixed = e.data["fixed"].as_boolean()
        # Older answers have no "solved": then neither "not fixed" nor a score of 1–2.
        solved = case(
            (said_solved.is_not(None), case((said_solved, 1), else_=0)),
            else_=case(
                (and_(or_(fixed.is_(None), fixed), or_(rating.is_(None), rating >= 3)), 1),
                else_=0,
            ),
        )
        sub = (
            select(
                _bucket(e.at, bounds).label("b"),
                e.kind,
                rating.label("rating"),
                solved.label("solved"),
            )
            .where(e.kind.in_(("visit_answered", "visit_expired")), _in(e.at, bounds))
            .subquery()
        )
        answered = sub.c.kind == "visit_answered"
        query = select(
            sub.c.b,
            _count_if(answered),
            _count_if(sub.c.kind == "visit_expired"),
            _count_if(and_(answered, sub.c.solved == 1)),
            _count_if(and_(answered, sub.c.rating.is_not(None))),
            _count_if(and_(answered, sub.c.rating >= 4)),
            func.coalesce(func.sum(case((answered, sub.c.rating), else_=None)), 0),
        ).group_by(sub.c.b)
        result = {key: Visits() for key in _buckets(bounds)}
        for b, *values in self.session.execute(query):
            for key in (int(b), TOTAL):
                if key in result:
                    for name, value in zip(
                        ("answered", "expired", "solved", "ratings", "satisfied", "rating_sum"),
                        values,
                        strict=True,
                    ):
                        setattr(result[key], name, getattr(result[key], name) + int(value or 0))
        return result

    def breaches(self, bounds: Sequence[datetime]) -> dict[int, Breaches]:
        """Tickets with an SLA breach event in the period; of them, those that reached level 2."""
        e = TicketEvent
        level = e.data["level"].as_integer()
        sub = (
            select(_bucket(e.at, bounds).label("b"), e.ticket_id, level.label("level"))
            .where(e.kind == "sla_breach", _in(e.at, bounds))
            .cte("breach_events")
        )

        def figures(*group: Any) -> Any:
            return select(
                *group,
                func.count(sub.c.ticket_id.distinct()),
                func.count(case((sub.c.level == 2, sub.c.ticket_id), else_=None).distinct()),
            )

        query: Any = figures(sub.c.b).group_by(sub.c.b)
        if len(bounds) > 2:
            query = union_all(query, figures(literal(TOTAL, Integer)))
        result = {key: Breaches() for key in _buckets(bounds)}
        for b, tickets, escalated in self.session.execute(query):
            result[int(b)] = Breaches(int(tickets), int(escalated))
        return result

    # --- now ------------------------------------------------------------------------------------

    def snapshot(self, accept_before: Sequence[Rule], resolve_before: Sequence[Rule]) -> Snapshot:
        """Active tickets: how many, unassigned, per role, and those past a deadline.

        A ticket is past its accept deadline when it awaits acceptance and its accept clock
        (assigned, else created) started before its rule's time in `accept_before`; past its
        resolve deadline when its current round of work started before its `resolve_before`.
        """
        t = Ticket
        active = t.status.in_(ACTIVE_STATUSES)
        load = self.session.execute(
            select(t.role, func.count(), func.min(t.id), _count_if(t.assignee_id.is_(None)))
            .where(active)
            .group_by(t.role)
        ).all()
        snapshot = Snapshot(
            open=sum(int(n) for _, n, _, _ in load),
            unassigned=sum(int(u) for _, _, _, u in load),
            load_by_role=[
                (role, int(n)) for role, n, _, _ in sorted(load, key=lambda r: (-r[1], r[2]))
            ],
        )
        awaiting = or_(
            t.status.in_((TicketStatus.OPEN, TicketStatus.ASSIGNED)),
            and_(t.status == TicketStatus.REOPENED, t.accepted_at.is_(None)),
        )
        accept_over = and_(
            awaiting, func.coalesce(t.assigned_at, t.created_at) < rule_case(accept_before)
        )
        resolve_over = func.coalesce(t.work_started_at, t.created_at) < rule_case(resolve_before)
        rows = self.session.execute(
            select(t.id, t.role, case((accept_over, 1), else_=0))
            .where(active, or_(accept_over, resolve_over))
            .order_by(t.id)
        )
        snapshot.overdue = [
            (int(n), "accept" if accept else "resolve", role) for n, role, accept in rows
        ]
        return snapshot

    # --- medians --------------------------------------------------------------------------------

    def _medians(self, rows: Any, bounds: Sequence[datetime]) -> dict[int, Durations]:
        """Per bucket: how many rows, and the median of `secs`. For TOTAL a key (ticket) in
        several buckets counts once, with its largest `secs`.

        `rows` selects (b, key, secs).
        """
        result = {key: Durations() for key in _buckets(bounds)}
        if self._postgres:
            sub = rows.cte("durations")

            def median(column: Any) -> Any:
                return func.percentile_cont(0.5).within_group(column)

            query: Any = select(sub.c.b, func.count(), median(sub.c.secs)).group_by(sub.c.b)
            if len(bounds) > 2:
                per_key = (
                    select(sub.c.key, func.max(sub.c.secs).label("secs"))
                    .group_by(sub.c.key)
                    .subquery()
                )
                query = union_all(
                    query,
                    select(literal(TOTAL, Integer), func.count(), median(per_key.c.secs)),
                )
            for b, count, value in self.session.execute(query):
                result[int(b)] = Durations(int(count), float(value) if count else None)
            return result
        values: dict[int, list[float]] = defaultdict(list)
        largest: dict[Any, float] = {}
        for b, key, secs in self.session.execute(rows):
            values[int(b)].append(float(secs))
            largest[key] = max(largest.get(key, float(secs)), float(secs))
        for key in result:
            found = list(largest.values()) if key == TOTAL else values.get(key, [])
            result[key] = Durations(len(found), statistics.median(found) if found else None)
        return result
