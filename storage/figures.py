"""Set-based figures for the weekly summary and the dashboard: what one or many weeks hold.

A span of consecutive weeks is read in one pass: boundaries b0 < b1 < … < bn (naive UTC) split
it into buckets [b_i, b_i+1), a CASE expression puts each row in its bucket, and every query
groups by bucket. What comes back per week is a WeekData: counts (GROUP BY), and the durations
whose medians are wanted as arrays (numpy takes the median; a median cannot be added up).

A week that is over never changes again in most of what it holds: its audit events (resolutions,
visit answers, breaches) are written once, at the time they happen, and its closed or cancelled
tickets cannot change any more. So the scheduler keeps each past week's WeekData in
`figure_cache` (computed once, `settled_only`), and a report reads it back instead of the week's
rows. The week's tickets that were still open then ("pending") are read again, live, every
time, so a cached week reports exactly what a fresh pass would. The current week is read live.

What counts and how is handlers/summary.py's business (its docstring has the definitions);
this module only knows tickets, their audit events and the columns handlers/lifecycle.py keeps:
`first_response_at`, `work_started_at`.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    and_,
    any_,
    case,
    cast,
    delete,
    extract,
    func,
    literal,
    null,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from storage.models import FigureCache, Ticket, TicketEvent
from storage.states import ACTIVE_STATUSES, DONE_STATUSES, SENSITIVE_INTENTS, TicketStatus

# A rule for a value per ticket: (intent, True: urgent tickets only / False: any, value).
Rule = tuple[str, bool, Any]
# A ticket's state figures: (number, cancelled, completed, responded in time, first response
# seconds or None).
TicketState = tuple[int, int, int, int, float | None]
# Tickets whose figures can no longer change.
SETTLED_STATUSES = (TicketStatus.CLOSED, TicketStatus.CANCELLED)
# When a kept week is read: its state figures counted now (closed or cancelled), counted as
# they were unless reopened (resolved), or read again (active).
_NO_IDS = np.zeros(0, dtype=np.int64)
_NO_SECONDS = np.zeros(0, dtype=np.float64)
_ID_ARRAY = ARRAY(BigInteger)
_VISIT_FIELDS = ("answered", "expired", "solved", "ratings", "satisfied", "rating_sum")


@dataclass
class WeekData:
    """Everything a week's figures are made of (see handlers/summary.py for what counts)."""

    new: int = 0
    by_intent: dict[str, list[int]] = field(default_factory=dict)  # intent: [count, first id]
    # building: [count, first id], without SENSITIVE_INTENTS
    places: dict[str, list[int]] = field(default_factory=dict)
    # Of this week's tickets (without the pending ones, when cached):
    cancelled: int = 0
    completed: int = 0  # resolved or closed
    responded_in_time: int = 0
    first_responses: np.ndarray = field(default_factory=lambda: _NO_SECONDS)  # seconds
    # What happened in the week:
    resolved_ids: np.ndarray = field(default_factory=lambda: _NO_IDS)  # each ticket once,
    resolved_seconds: np.ndarray = field(default_factory=lambda: _NO_SECONDS)  # last resolution
    visits: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_VISIT_FIELDS, 0))
    breach_ids: np.ndarray = field(default_factory=lambda: _NO_IDS)
    escalated_ids: np.ndarray = field(default_factory=lambda: _NO_IDS)
    # Kept weeks only (settled_only): the week's tickets that were resolved when it was read,
    # with the state figures they had then (counted as completed once `settle` runs: only a
    # reopening can change them, and such a ticket is read again); and those still active
    # then, whose state figures are read again every time.
    done_ids: np.ndarray = field(default_factory=lambda: _NO_IDS)
    done_in_time: np.ndarray = field(default_factory=lambda: _NO_IDS)
    done_seconds: np.ndarray = field(default_factory=lambda: _NO_SECONDS)  # NaN: none
    pending: np.ndarray = field(default_factory=lambda: _NO_IDS)

    def settle(self, changed: Sequence[TicketState], pending: Sequence[TicketState]) -> None:
        """A kept week as it is now: its resolved tickets as they were, except `changed` (no
        longer resolved or closed), which count as they are now, like the `pending` ones."""
        keep = ~np.isin(self.done_ids, [state[0] for state in changed])
        self.completed += int(keep.sum())
        self.responded_in_time += int(self.done_in_time[keep].sum())
        seconds = self.done_seconds[keep]
        self.first_responses = np.concatenate([self.first_responses, seconds[~np.isnan(seconds)]])
        self.add_tickets([*changed, *pending])

    def add_tickets(self, states: Sequence[TicketState]) -> None:
        """Add the state figures of tickets read live (FiguresRepository.tickets_now)."""
        extra = []
        for _, cancelled, completed, in_time, seconds in states:
            self.cancelled += cancelled
            self.completed += completed
            self.responded_in_time += in_time
            if seconds is not None:
                extra.append(seconds)
        if extra:
            self.first_responses = np.concatenate([self.first_responses, _seconds_of(extra)])

    def to_bytes(self) -> bytes:
        """For figure_cache: counts as JSON, arrays as numpy's .npy (no pickle)."""
        arrays = {
            "first_responses": self.first_responses,
            "resolved_ids": self.resolved_ids,
            "resolved_seconds": self.resolved_seconds,
            "breach_ids": self.breach_ids,
            "escalated_ids": self.escalated_ids,
            "done_ids": self.done_ids,
            "done_in_time": self.done_in_time,
            "done_seconds": self.done_seconds,
            "pending": self.pending,
        }
        counts = {
            "new": self.new,
            "by_intent": self.by_intent,
            "places": self.places,
            "cancelled": self.cancelled,
            "completed": self.completed,
            "responded_in_time": self.responded_in_time,
            "visits": self.visits,
        }
        out = io.BytesIO()
        arrays["counts"] = np.frombuffer(json.dumps(counts).encode(), dtype=np.uint8)
        np.savez(out, allow_pickle=False, **arrays)
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> WeekData:
        with np.load(io.BytesIO(data), allow_pickle=False) as saved:
            counts = json.loads(saved["counts"].tobytes().decode())
            arrays = {name: saved[name] for name in saved.files if name != "counts"}
        return cls(**counts, **arrays)


def merge(weeks: Iterable[WeekData]) -> WeekData:
    """Several weeks as one period: a ticket resolved in two of them counts once, with its
    last resolution; a ticket with breaches in two counts once."""
    total = WeekData()
    parts = list(weeks)
    for week in parts:
        total.new += week.new
        for target, source in ((total.by_intent, week.by_intent), (total.places, week.places)):
            for key, (count, first) in source.items():
                known = target.setdefault(key, [0, first])
                known[0] += count
                known[1] = min(known[1], first)
        total.cancelled += week.cancelled
        total.completed += week.completed
        total.responded_in_time += week.responded_in_time
        for name in _VISIT_FIELDS:
            total.visits[name] += week.visits[name]
    if parts:
        total.first_responses = np.concatenate([w.first_responses for w in parts])
        ids = np.concatenate([w.resolved_ids for w in parts])
        seconds = np.concatenate([w.resolved_seconds for w in parts])
        if len(ids):  # each ticket once, with its largest duration (its last resolution)
            order = np.argsort(ids, kind="stable")
            ids, seconds = ids[order], seconds[order]
            starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
            ids, seconds = ids[starts], np.maximum.reduceat(seconds, starts)
        total.resolved_ids, total.resolved_seconds = ids, seconds
        total.breach_ids = np.unique(np.concatenate([w.breach_ids for w in parts]))
        total.escalated_ids = np.unique(np.concatenate([w.escalated_ids for w in parts]))
    return total


def median(values: np.ndarray) -> float | None:
    """The median (the mean of the two middle values for an even count); None for none."""
    return float(np.median(values)) if len(values) else None


@dataclass
class Snapshot:
    """Active tickets at one moment."""

    open: int = 0
    unassigned: int = 0
    load_by_role: list[tuple[str, int]] = field(default_factory=list)  # most first, then oldest
    overdue: list[tuple[int, str, str]] = field(default_factory=list)  # (ticket, deadline, role)


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


def _ids(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.int64) if values else _NO_IDS


def _seconds_of(values: list[float]) -> np.ndarray:
    return np.array(values, dtype=np.float64) if values else _NO_SECONDS


def _of(community: str | None) -> tuple[ColumnElement[bool], ...]:
    """The condition that narrows tickets to one community (none: the whole site)."""
    return () if community is None else (Ticket.community == community,)


def _of_tickets(query: Any, community: str | None) -> Any:
    """Audit events narrowed to the tickets of one community (a join only when narrowed)."""
    if community is None:
        return query
    return query.join(Ticket, Ticket.id == TicketEvent.ticket_id).where(
        Ticket.community == community
    )


def _accept_over(accept_before: Sequence[Rule]) -> ColumnElement[bool]:
    """An active ticket awaiting acceptance whose accept clock (assigned, else created) started
    before its rule's time in `accept_before`."""
    t = Ticket
    awaiting = or_(
        t.status.in_((TicketStatus.OPEN, TicketStatus.ASSIGNED)),
        and_(t.status == TicketStatus.REOPENED, t.accepted_at.is_(None)),
    )
    return and_(awaiting, func.coalesce(t.assigned_at, t.created_at) < rule_case(accept_before))


def _resolve_over(resolve_before: Sequence[Rule]) -> ColumnElement[bool]:
    """An active ticket whose current round of work started before its `resolve_before`."""
    t = Ticket
    return func.coalesce(t.work_started_at, t.created_at) < rule_case(resolve_before)


@dataclass
class CommunityRow:
    """One community's figures for the site comparison (handlers/comparison.py counts them)."""

    new: int = 0
    cancelled: int = 0
    completed: int = 0
    responded_in_time: int = 0
    ratings: int = 0
    satisfied: int = 0
    open: int = 0
    overdue: int = 0


class FiguresRepository:
    def __init__(self, session: Session):
        self.session = session
        self._tuned = False

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def _tune(self) -> None:
        """PostgreSQL, for this transaction: sorts and hashes of a period's rows in memory
        (the default 4 MB spills to disk), and no JIT compilation (it costs more than it saves
        on queries this short)."""
        if self._postgres and not self._tuned:
            self.session.execute(text("SET LOCAL work_mem = '64MB'"))
            self.session.execute(text("SET LOCAL jit = off"))
            self._tuned = True

    def _seconds(self, start: Any, end: Any) -> ColumnElement[float]:
        """end − start in seconds (NULL if either is)."""
        if self._postgres:
            return cast(extract("epoch", end - start), Float)
        # julianday is a double: rounded to the millisecond so exact deadlines compare exactly.
        return func.round((func.julianday(end) - func.julianday(start)) * 86400.0, 3)

    def _responded_in_time(self, accept_limits: Sequence[Rule]) -> ColumnElement[bool]:
        """Not cancelled, and a first response within the accept limit in seconds from the
        request (no rule for the intent: any response counts)."""
        t = Ticket
        responded = and_(t.status != TicketStatus.CANCELLED, t.first_response_at.is_not(None))
        if not accept_limits:
            return responded
        limit = rule_case(accept_limits, Float)
        within = self._seconds(t.created_at, t.first_response_at) <= limit
        return and_(responded, or_(limit.is_(None), within))

    # --- the weeks, read in one pass ------------------------------------------------------------

    def weeks(
        self,
        bounds: Sequence[datetime],
        accept_limits: Sequence[Rule],
        settled_only: bool = False,
        community: str | None = None,
    ) -> list[WeekData]:
        """What each bucket [b_i, b_i+1) holds. `settled_only` (for the cache): the state
        figures of tickets still open (not closed or cancelled) are left out, and their numbers
        kept as `pending`. `community`: only that community's tickets (and their events);
        None: the whole site."""
        self._tune()
        found = [WeekData() for _ in range(len(bounds) - 1)]
        self._intake(bounds, accept_limits, settled_only, found, community)
        self._first_responses(bounds, settled_only, found, community)
        self._resolutions(bounds, found, community)
        self._visits(bounds, found, community)
        self._breaches(bounds, found, community)
        return found

    def _intake(
        self,
        bounds: Sequence[datetime],
        accept_limits: Sequence[Rule],
        settled_only: bool,
        found: list[WeekData],
        community: str | None = None,
    ) -> None:
        """New tickets by intent and building; cancelled, completed, responded in time."""
        t = Ticket
        counted = t.status.in_(SETTLED_STATUSES) if settled_only else literal(True)
        sub = (
            select(
                _bucket(t.created_at, bounds).label("b"),
                t.id,
                t.intent,
                t.building,
                case((and_(counted, t.status == TicketStatus.CANCELLED), 1), else_=0).label(
                    "cancelled"
                ),
                case((and_(counted, t.status.in_(DONE_STATUSES)), 1), else_=0).label("done"),
                case((and_(counted, self._responded_in_time(accept_limits)), 1), else_=0).label(
                    "in_time"
                ),
                case((counted, 0), else_=1).label("pending"),
            )
            .where(_in(t.created_at, bounds), *_of(community))
            .subquery()
        )
        # One pass: per (week, intent, building); intents and buildings are added up here.
        rows = self.session.execute(
            select(
                sub.c.b,
                sub.c.intent,
                sub.c.building,
                func.count(),
                func.min(sub.c.id),
                func.sum(sub.c.cancelled),
                func.sum(sub.c.done),
                func.sum(sub.c.in_time),
            ).group_by(sub.c.b, sub.c.intent, sub.c.building)
        )
        for b, intent, building, count, first, cancelled, done, in_time in rows:
            week = found[int(b)]
            count, first = int(count), int(first)
            week.new += count
            week.cancelled += int(cancelled)
            week.completed += int(done)
            week.responded_in_time += int(in_time)
            # Sensitive cases are about a person, not a place: never counted by building.
            place = None if intent in SENSITIVE_INTENTS else building
            for table, key in ((week.by_intent, intent), (week.places, place)):
                if key is not None:
                    known = table.setdefault(key, [0, first])
                    known[0] += count
                    known[1] = min(known[1], first)
        if settled_only:
            self._unsettled(bounds, accept_limits, found, community)

    def _unsettled(
        self,
        bounds: Sequence[datetime],
        accept_limits: Sequence[Rule],
        found: list[WeekData],
        community: str | None = None,
    ) -> None:
        """For a kept week: its resolved tickets with their state figures, its active ones."""
        t = Ticket
        rows = self.session.execute(
            select(
                _bucket(t.created_at, bounds),
                t.id,
                t.status,
                case((self._responded_in_time(accept_limits), 1), else_=0),
                self._seconds(t.created_at, t.first_response_at),
            )
            .where(_in(t.created_at, bounds), t.status.not_in(SETTLED_STATUSES), *_of(community))
            .order_by(t.id)
        )
        done: list[list[tuple[int, int, float]]] = [[] for _ in found]
        active: list[list[int]] = [[] for _ in found]
        for b, number, status, in_time, seconds in rows:
            if status == TicketStatus.RESOLVED:
                value = float("nan") if seconds is None else float(seconds)
                done[int(b)].append((int(number), int(in_time), value))
            else:
                active[int(b)].append(int(number))
        for week, resolved, numbers in zip(found, done, active, strict=True):
            week.done_ids = _ids([n for n, _, _ in resolved])
            week.done_in_time = _ids([i for _, i, _ in resolved])
            week.done_seconds = _seconds_of([v for _, _, v in resolved])
            week.pending = _ids(numbers)

    def _first_responses(
        self,
        bounds: Sequence[datetime],
        settled_only: bool,
        found: list[WeekData],
        community: str | None = None,
    ) -> None:
        """(first response − request) of the tickets not cancelled that got one."""
        t = Ticket
        query = select(
            _bucket(t.created_at, bounds), self._seconds(t.created_at, t.first_response_at)
        ).where(
            _in(t.created_at, bounds),
            t.status != TicketStatus.CANCELLED,
            t.first_response_at.is_not(None),
            *_of(community),
        )
        if settled_only:
            query = query.where(t.status.in_(SETTLED_STATUSES))
        values: list[list[float]] = [[] for _ in found]
        for b, seconds in self.session.execute(query):
            values[int(b)].append(float(seconds))
        for week, seconds in zip(found, values, strict=True):
            week.first_responses = _seconds_of(seconds)

    def _resolutions(
        self, bounds: Sequence[datetime], found: list[WeekData], community: str | None = None
    ) -> None:
        """Tickets resolved in the week, each with (its last resolution in the week − request)."""
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
        rows = self.session.execute(
            select(last.c.b, last.c.ticket_id, self._seconds(t.created_at, last.c.last))
            .join(t, t.id == last.c.ticket_id)
            .where(*_of(community))
        )
        ids: list[list[int]] = [[] for _ in found]
        seconds: list[list[float]] = [[] for _ in found]
        for b, number, value in rows:
            ids[int(b)].append(int(number))
            seconds[int(b)].append(float(value))
        for week, numbers, values in zip(found, ids, seconds, strict=True):
            week.resolved_ids, week.resolved_seconds = _ids(numbers), _seconds_of(values)

    def _visits(
        self, bounds: Sequence[datetime], found: list[WeekData], community: str | None = None
    ) -> None:
        """Visits answered (with their scores and whether solved) and expired in the week."""
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
        events = select(
            _bucket(e.at, bounds).label("b"),
            e.kind,
            rating.label("rating"),
            solved.label("solved"),
        ).where(e.kind.in_(("visit_answered", "visit_expired")), _in(e.at, bounds))
        sub = _of_tickets(events, community).subquery()
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
        for b, *values in self.session.execute(query):
            found[int(b)].visits = {
                name: int(value or 0) for name, value in zip(_VISIT_FIELDS, values, strict=True)
            }

    def _breaches(
        self, bounds: Sequence[datetime], found: list[WeekData], community: str | None = None
    ) -> None:
        """Tickets with an SLA breach event in the week; of them, those that reached level 2."""
        e = TicketEvent
        level = e.data["level"].as_integer()
        events = select(_bucket(e.at, bounds).label("b"), e.ticket_id, level.label("level")).where(
            e.kind == "sla_breach", _in(e.at, bounds)
        )
        sub = _of_tickets(events, community).subquery()
        rows = self.session.execute(
            select(sub.c.b, sub.c.ticket_id, func.max(sub.c.level)).group_by(
                sub.c.b, sub.c.ticket_id
            )
        )
        ids: list[list[int]] = [[] for _ in found]
        escalated: list[list[int]] = [[] for _ in found]
        for b, number, top in rows:
            ids[int(b)].append(int(number))
            if top == 2:
                escalated[int(b)].append(int(number))
        for week, numbers, high in zip(found, ids, escalated, strict=True):
            week.breach_ids, week.escalated_ids = np.unique(_ids(numbers)), np.unique(_ids(high))

    def tickets_now(
        self, numbers: Sequence[int], accept_limits: Sequence[Rule], changed_only: bool = False
    ) -> list[TicketState]:
        """The state figures of these tickets now; `changed_only`: of those no longer resolved
        or closed (reopened since)."""
        self._tune()
        t = Ticket
        columns = (
            t.id,
            case((t.status == TicketStatus.CANCELLED, 1), else_=0),
            case((t.status.in_(DONE_STATUSES), 1), else_=0),
            case((self._responded_in_time(accept_limits), 1), else_=0),
            case(
                (
                    and_(t.status != TicketStatus.CANCELLED, t.first_response_at.is_not(None)),
                    self._seconds(t.created_at, t.first_response_at),
                ),
                else_=None,
            ),
        )
        still = t.status.not_in(DONE_STATUSES) if changed_only else literal(True)
        if not len(numbers):
            return []
        if self._postgres:  # the numbers as one array parameter: "id = ANY(…)"
            ids = [int(n) for n in numbers]
            parts = [select(*columns).where(t.id == any_(literal(ids, _ID_ARRAY)), still)]
        else:
            parts = [
                select(*columns).where(t.id.in_([int(n) for n in numbers[i : i + 5000]]), still)
                for i in range(0, len(numbers), 5000)
            ]
        found: list[TicketState] = []
        for query in parts:
            found.extend(
                (int(n), int(c), int(d), int(i), None if s is None else float(s))
                for n, c, d, i, s in self.session.execute(query)
            )
        return found

    # --- the site's communities side by side -----------------------------------------------------

    def by_community(
        self,
        start: datetime,
        end: datetime,
        accept_limits: Sequence[Rule],
        accept_before: Sequence[Rule],
        resolve_before: Sequence[Rule],
    ) -> dict[str, CommunityRow]:
        """Per community, in three grouped passes (never a pass per community): of the tickets
        created in [start, end), how many, cancelled, completed and responded in time; of the
        visits answered then, the ratings and the satisfied ones (4–5); and now, the active
        tickets and those past a deadline (as `snapshot` finds them)."""
        self._tune()
        t, e = Ticket, TicketEvent
        found: dict[str, CommunityRow] = {}

        def row(key: Any) -> CommunityRow:
            return found.setdefault(str(key), CommunityRow())

        intake = self.session.execute(
            select(
                t.community,
                func.count(),
                _count_if(t.status == TicketStatus.CANCELLED),
                _count_if(t.status.in_(DONE_STATUSES)),
                _count_if(self._responded_in_time(accept_limits)),
            )
            .where(t.created_at >= start, t.created_at < end)
            .group_by(t.community)
        )
        for key, new, cancelled, done, in_time in intake:
            figures = row(key)
            figures.new, figures.cancelled = int(new), int(cancelled or 0)
            figures.completed, figures.responded_in_time = int(done or 0), int(in_time or 0)
        # Each answer's community is looked up by the ticket's key (a correlated subquery): a
        # join let PostgreSQL scan all the tickets to hash them, 1.2 s at a million.
        community_of = select(t.community).where(t.id == e.ticket_id).scalar_subquery()
        answered = (
            select(community_of.label("community"), e.data["rating"].as_integer().label("rating"))
            # Written into the statement, so PostgreSQL can use the partial index for any plan.
            .where(e.kind == literal("visit_answered", literal_execute=True))
            .where(e.at >= start, e.at < end)
            .subquery()
        )
        rating = answered.c.rating
        answers = self.session.execute(
            select(
                answered.c.community, _count_if(rating.is_not(None)), _count_if(rating >= 4)
            ).group_by(answered.c.community)
        )
        for key, ratings, satisfied in answers:
            figures = row(key)
            figures.ratings, figures.satisfied = int(ratings or 0), int(satisfied or 0)
        over = or_(_accept_over(accept_before), _resolve_over(resolve_before))
        now = self.session.execute(
            select(t.community, func.count(), _count_if(over))
            .where(t.status.in_(ACTIVE_STATUSES))
            .group_by(t.community)
        )
        for key, active, overdue in now:
            figures = row(key)
            figures.open, figures.overdue = int(active), int(overdue or 0)
        return found

    # --- kept weeks -----------------------------------------------------------------------------

    def cached(self, keys: Sequence[str]) -> dict[str, tuple[datetime, WeekData]]:
        """The kept weeks among `keys`: {key: (when computed, what it held)}."""
        if not keys:
            return {}
        rows = self.session.execute(
            select(FigureCache.key, FigureCache.computed_at, FigureCache.data).where(
                FigureCache.key.in_(list(keys))
            )
        )
        return {key: (at, WeekData.from_bytes(bytes(data))) for key, at, data in rows}

    def cached_times(self, keys: Sequence[str]) -> dict[str, tuple[datetime, int]]:
        """{key: (when computed, how many tickets were pending)} for the kept weeks."""
        if not keys:
            return {}
        rows = self.session.execute(
            select(FigureCache.key, FigureCache.computed_at, FigureCache.pending).where(
                FigureCache.key.in_(list(keys))
            )
        )
        return {key: (at, int(pending)) for key, at, pending in rows}

    def keep(self, key: str, week: WeekData, now: datetime) -> None:
        """Keep a past week's data (replacing an older copy)."""
        self.session.execute(delete(FigureCache).where(FigureCache.key == key))
        self.session.add(
            FigureCache(
                key=key,
                computed_at=now,
                pending=len(week.pending) + len(week.done_ids),
                data=week.to_bytes(),
            )
        )

    def forget(self, key: str) -> None:
        """Drop one kept week (what it held changed)."""
        self.session.execute(delete(FigureCache).where(FigureCache.key == key))

    def forget_before(self, moment: datetime) -> None:
        """Drop kept weeks computed before `moment` (nobody reads them any more)."""
        self.session.execute(delete(FigureCache).where(FigureCache.computed_at < moment))

    # --- now ------------------------------------------------------------------------------------

    def snapshot(
        self,
        accept_before: Sequence[Rule],
        resolve_before: Sequence[Rule],
        community: str | None = None,
    ) -> Snapshot:
        """Active tickets (of `community`, or the whole site): how many, unassigned, per role,
        and those past a deadline.

        A ticket is past its accept deadline when it awaits acceptance and its accept clock
        (assigned, else created) started before its rule's time in `accept_before`; past its
        resolve deadline when its current round of work started before its `resolve_before`.
        """
        self._tune()
        t = Ticket
        active = and_(t.status.in_(ACTIVE_STATUSES), *_of(community))
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
        accept_over = _accept_over(accept_before)
        resolve_over = _resolve_over(resolve_before)
        rows = self.session.execute(
            select(t.id, t.role, case((accept_over, 1), else_=0))
            .where(active, or_(accept_over, resolve_over))
            .order_by(t.id)
        )
        snapshot.overdue = [
            (int(n), "accept" if accept else "resolve", role) for n, role, accept in rows
        ]
        return snapshot
