"""The weekly summary for the branch secretary: the figures, the WeChat text, the sending.

A week is an ISO week (Monday 00:00 to the next Monday 00:00) in `site.timezone`. "This week's
tickets" are the tickets created in it. Every figure is computed from tickets and their audit
trail, so anyone can check it with `sheli tickets show N`:

- 新收 new_tickets: tickets created this week (also by intent); cancelled ones are counted here
  and nowhere else.
- 办结率 completion_rate = completed / counted: of this week's tickets not cancelled (counted),
  the share resolved or closed at the time of the report.
- 响应率 response_rate = responded_in_time / counted: of the same tickets, the share a staff
  member accepted (接单, or resolved straight away) within the intent's accept deadline, counted
  from the request. Intents without a deadline count if they were accepted at all.
- 解决率 solve_rate = solved / visits_answered: of the visits answered this week, the share that
  did not say "not fixed" and did not rate 1–2 (exactly the answers that do not reopen a ticket).
- 满意率 satisfaction_rate = satisfied / ratings: of the ratings given this week, the share of
  4 and 5. An unanswered visit is never a satisfied one: it is not a rating.
- mean_rating: the mean of those ratings.
- 回访回复率 visit_response_rate = visits_answered / visits_concluded, where visits_concluded =
  visits_answered + visit_no_response: visits answered this week against visits answered or
  expired ("no response") this week.
- median_first_response_minutes: over this week's tickets that were accepted, the median of
  (first acceptance − request).
- resolved: tickets resolved this week (whenever created); median_resolution_minutes is the
  median of (their last resolution this week − request).
- sla_breaches: tickets with a 督办 (SLA breach) event this week; escalated: of them, the ones
  that reached level 2.
- overdue: numbers of the tickets still open past an accept or resolve deadline at the time of
  the report (overdue_detail says which deadline and role).
- load_by_role: open tickets per role at the time of the report.
- top_buildings: the buildings with two or more of this week's tickets, most first (at most 3).
  Sensitive cases (storage.states.SENSITIVE_INTENTS: hardship) are never counted by building.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from handlers import commands as cmd
from handlers import messages as msg
from handlers.events import add_to_summary as add_community_figures
from handlers.notices import notify
from handlers.ports import Context, Policy
from handlers.sla import breach_levels
from handlers.times import local_stamp, minutes_text
from nlu.places import place_sort_key
from storage.models import Ticket, TicketEvent
from storage.states import ACTIVE_STATUSES, DONE_STATUSES, SENSITIVE_INTENTS, TicketStatus
from storage.uow import AbstractUnitOfWork

UTC = ZoneInfo("UTC")
_WEEK_LABEL = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)
# Staff acting on a ticket for the first time: its first response.
_RESPONSE_EVENTS = ("accepted", "resolved")
MAX_OVERDUE_SHOWN = 8


class BadWeek(ValueError):
    """A week label that is not an ISO week such as 2026-W47."""


@dataclass(frozen=True)
class Week:
    """A reporting period: an ISO week, or several (the dashboard passes longer spans)."""

    label: str  # 2026-W47
    start: datetime  # naive UTC, inclusive
    end: datetime  # naive UTC, exclusive
    local_start: date  # its first local day, a Monday

    @property
    def last_day(self) -> date:
        """Its last local day (a Sunday)."""
        days = round((self.end - self.start).total_seconds() / 86400)
        return self.local_start + timedelta(days=max(days, 1) - 1)


def _monday_of(label: str) -> date:
    match = _WEEK_LABEL.match(label)
    try:
        if not match:
            raise ValueError
        return date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise BadWeek(f"{label!r} is not an ISO week like 2026-W47") from None


def week_label(label: str) -> str:
    """`label` checked and written the canonical way ("2026w7" → "2026-W07"); BadWeek if wrong."""
    iso = _monday_of(label).isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def week_of(label: str | None, now: datetime, timezone: str) -> Week:
    """The ISO week `label` (e.g. 2026-W47), or the last full week before `now` (naive UTC)."""
    zone = ZoneInfo(timezone)
    if label:
        monday = _monday_of(label)
    else:
        local_today = now.replace(tzinfo=UTC).astimezone(zone).date()
        monday = local_today - timedelta(days=local_today.weekday() + 7)
    start_local = datetime.combine(monday, time(0), zone)
    end_local = datetime.combine(monday + timedelta(days=7), time(0), zone)
    iso = monday.isocalendar()
    return Week(
        label=f"{iso.year}-W{iso.week:02d}",
        start=start_local.astimezone(UTC).replace(tzinfo=None),
        end=end_local.astimezone(UTC).replace(tzinfo=None),
        local_start=monday,
    )


@dataclass
class Overdue:
    ticket: int
    deadline: str  # "accept" | "resolve"
    role: str


@dataclass
class Summary:
    """Every figure of one week; see the module docstring for the definitions."""

    week: str
    first_day: str
    last_day: str
    timezone: str
    as_of: str
    new_tickets: int = 0
    new_by_intent: dict[str, int] = field(default_factory=dict)
    cancelled: int = 0
    counted: int = 0
    completed: int = 0
    completion_rate: float | None = None
    responded_in_time: int = 0
    response_rate: float | None = None
    resolved: int = 0
    median_first_response_minutes: float | None = None
    median_resolution_minutes: float | None = None
    visits_answered: int = 0
    visit_no_response: int = 0
    visits_concluded: int = 0
    visit_response_rate: float | None = None
    solved: int = 0
    solve_rate: float | None = None
    ratings: int = 0
    satisfied: int = 0
    satisfaction_rate: float | None = None
    mean_rating: float | None = None
    sla_breaches: int = 0
    escalated: int = 0
    overdue: list[int] = field(default_factory=list)
    overdue_detail: list[Overdue] = field(default_factory=list)
    load_by_role: dict[str, int] = field(default_factory=dict)
    top_buildings: list[tuple[str, int]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. "events"; "lines" are shown

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types; rates are fractions 0–1 (null when there is nothing to divide)."""
        data = asdict(self)
        data["top_buildings"] = [{"building": b, "tickets": n} for b, n in self.top_buildings]
        return data


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _median_minutes(deltas: list[timedelta]) -> float | None:
    if not deltas:
        return None
    return round(statistics.median(d.total_seconds() for d in deltas) / 60, 1)


def _first_response(events: list[TicketEvent]) -> datetime | None:
    return next((e.at for e in events if e.kind in _RESPONSE_EVENTS), None)


def _responded_in_time(policy: Policy, ticket: Ticket, events: list[TicketEvent]) -> bool:
    responded = _first_response(events)
    if responded is None:
        return False
    deadlines = policy.deadlines(ticket.intent, ticket.urgent)
    return deadlines is None or responded - ticket.created_at <= deadlines.accept


def _solved(event: TicketEvent) -> bool:
    data = event.data or {}
    if "solved" in data:
        return bool(data["solved"])
    rating = data.get("rating")
    return data.get("fixed") is not False and (rating is None or int(rating) >= 3)


def compute_summary(uow: AbstractUnitOfWork, policy: Policy, week: Week, now: datetime) -> Summary:
    """Every figure of the weekly summary, from tickets and their audit trail."""
    summary = Summary(
        week=week.label,
        first_day=week.local_start.isoformat(),
        last_day=week.last_day.isoformat(),
        timezone=policy.timezone,
        as_of=now.isoformat() + "Z",
    )
    # This week's tickets: intake, completion, response.
    created = list(uow.tickets.list(since=week.start, until=week.end))
    summary.new_tickets = len(created)
    summary.new_by_intent = dict(Counter(t.intent for t in created).most_common())
    counted = [t for t in created if t.status != TicketStatus.CANCELLED]
    summary.cancelled = len(created) - len(counted)
    summary.counted = len(counted)
    summary.completed = sum(1 for t in counted if t.status in DONE_STATUSES)
    summary.completion_rate = _rate(summary.completed, summary.counted)
    trails = {t.id: list(uow.tickets.events(t.id)) for t in counted}
    summary.responded_in_time = sum(
        1 for t in counted if _responded_in_time(policy, t, trails[t.id])
    )
    summary.response_rate = _rate(summary.responded_in_time, summary.counted)
    first_responses = [(t, _first_response(trails[t.id])) for t in counted]
    summary.median_first_response_minutes = _median_minutes(
        [at - t.created_at for t, at in first_responses if at is not None]
    )

    # What happened during the week, whenever the ticket was created.
    events = list(uow.tickets.events_between(week.start, week.end))
    last_resolution = {e.ticket_id: e.at for e in events if e.kind == "resolved"}
    summary.resolved = len(last_resolution)
    resolved_tickets = [uow.tickets.get(n) for n in sorted(last_resolution)]
    summary.median_resolution_minutes = _median_minutes(
        [last_resolution[t.id] - t.created_at for t in resolved_tickets if t is not None]
    )

    answered = [e for e in events if e.kind == "visit_answered"]
    summary.visits_answered = len(answered)
    summary.visit_no_response = sum(1 for e in events if e.kind == "visit_expired")
    summary.visits_concluded = summary.visits_answered + summary.visit_no_response
    summary.visit_response_rate = _rate(summary.visits_answered, summary.visits_concluded)
    summary.solved = sum(1 for e in answered if _solved(e))
    summary.solve_rate = _rate(summary.solved, summary.visits_answered)
    ratings = [int(r) for r in ((e.data or {}).get("rating") for e in answered) if r is not None]
    summary.ratings = len(ratings)
    summary.satisfied = sum(1 for r in ratings if r >= 4)
    summary.satisfaction_rate = _rate(summary.satisfied, summary.ratings)
    summary.mean_rating = round(statistics.mean(ratings), 2) if ratings else None

    breaches = [e for e in events if e.kind == "sla_breach"]
    summary.sla_breaches = len({e.ticket_id for e in breaches})
    summary.escalated = len({e.ticket_id for e in breaches if (e.data or {}).get("level") == 2})

    # A snapshot at the time of the report.
    active = list(uow.tickets.list(status=ACTIVE_STATUSES))
    for ticket in active:
        accept, resolve = breach_levels(uow, policy, ticket, now)
        if accept or resolve:
            summary.overdue.append(ticket.id)
            summary.overdue_detail.append(
                Overdue(ticket.id, "accept" if accept else "resolve", ticket.role)
            )
    summary.load_by_role = dict(Counter(t.role for t in active).most_common())
    buildings = Counter(
        t.building for t in created if t.building and t.intent not in SENSITIVE_INTENTS
    )
    summary.top_buildings = [(b, n) for b, n in _most_common(buildings) if n >= 2][:3]
    add_community_figures(uow, summary, week, now)
    return summary


def _most_common(counter: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], place_sort_key(item[0])))


# One rounding for every figure a person reads: the WeChat text, the dashboard's cards and the
# exports all write figures with these (so the card and the text never disagree).


def percent_text(value: float | None) -> str:
    """A rate 0–1 as "67%" ("—" when there was nothing to divide)."""
    return msg.DURATION_NONE if value is None else f"{value * 100:.0f}%"


def rating_text(value: float | None) -> str:
    """A mean rating to one decimal ("3.7", "5"; "—" when nobody rated)."""
    if value is None:
        return msg.DURATION_NONE
    return f"{value:.1f}".removesuffix(".0")


def render_summary(summary: Summary, policy: Policy, limit: int = 600) -> str:
    """The summary as one WeChat text message (under `limit` characters)."""
    t = msg.SUMMARY
    first, last = date.fromisoformat(summary.first_day), date.fromisoformat(summary.last_day)
    by_intent = "，".join(
        f"{msg.INTENT_NAMES.get(k, k)}{v}" for k, v in summary.new_by_intent.items()
    )
    lines = [
        t["title"].format(
            site=policy.site_name,
            week=summary.week,
            first=f"{first.month}月{first.day}日",
            last=f"{last.month}月{last.day}日",
        ),
        t["intake"].format(
            new=summary.new_tickets, by_intent=f"（{by_intent}）" if by_intent else ""
        )
        + (t["cancelled"].format(n=summary.cancelled) if summary.cancelled else "")
        + t["intake_end"],
        t["rates"].format(
            completion=percent_text(summary.completion_rate),
            fraction=t["fraction"].format(done=summary.completed, of=summary.counted)
            if summary.counted
            else "",
            response=percent_text(summary.response_rate),
            solve=percent_text(summary.solve_rate),
            satisfaction=percent_text(summary.satisfaction_rate),
        ),
    ]
    resolved = t["resolved"].format(n=summary.resolved)
    if (summary.median_first_response_minutes, summary.median_resolution_minutes) != (None, None):
        resolved += t["times"].format(
            first=minutes_text(summary.median_first_response_minutes),
            resolve=minutes_text(summary.median_resolution_minutes),
        )
    lines.append(resolved + t["resolved_end"])
    if summary.visits_concluded:
        lines.append(
            t["visits"].format(
                concluded=summary.visits_concluded,
                answered=summary.visits_answered,
                rate=percent_text(summary.visit_response_rate),
                mean=(
                    t["mean"].format(mean=rating_text(summary.mean_rating))
                    if summary.mean_rating is not None
                    else ""
                ),
                silent=(
                    t["silent"].format(n=summary.visit_no_response)
                    if summary.visit_no_response
                    else ""
                ),
            )
        )
    else:
        lines.append(t["no_visits"])
    if summary.sla_breaches:
        lines.append(t["breaches"].format(n=summary.sla_breaches, escalated=summary.escalated))
    if summary.overdue:
        shown = "、".join(
            t["overdue_item"].format(n=o.ticket, what=msg.SLA_WHAT[o.deadline])
            for o in summary.overdue_detail[:MAX_OVERDUE_SHOWN]
        )
        more = t["more"] if len(summary.overdue) > MAX_OVERDUE_SHOWN else ""
        lines.append(t["overdue"].format(n=len(summary.overdue), tickets=shown, more=more))
    else:
        lines.append(t["no_overdue"])
    if summary.load_by_role:
        load = "，".join(f"{policy.role_name(k)}{v}" for k, v in summary.load_by_role.items())
        lines.append(t["load"].format(load=load))
    if summary.top_buildings:
        places = "，".join(f"{b}{n}件" for b, n in summary.top_buildings)
        lines.append(t["buildings"].format(places=places))
    lines += summary.extra.get("lines", [])
    if policy.public_url:
        lines.append(t["link"].format(url=policy.public_url.rstrip("/"), week=summary.week))
    text = "\n".join(lines)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def figure_rows(summary: Summary, policy: Policy) -> list[tuple[str, Any, str]]:
    """The figures as (name, value, how to read it) rows for a spreadsheet: counts as numbers,
    rates, times and the mean rating worded exactly as the text words them."""
    names = msg.SUMMARY_FIGURES
    as_of = datetime.fromisoformat(summary.as_of.removesuffix("Z")) if summary.as_of else None
    texts: dict[str, Any] = {
        "week": summary.week,
        "days": f"{summary.first_day} — {summary.last_day}",
        "as_of": local_stamp(as_of, summary.timezone),
        "overdue": len(summary.overdue),
    }
    rates = ("completion_rate", "response_rate", "visit_response_rate", "solve_rate")
    for key in (*rates, "satisfaction_rate"):
        texts[key] = percent_text(getattr(summary, key))
    for key in ("median_first_response_minutes", "median_resolution_minutes"):
        texts[key] = minutes_text(getattr(summary, key))
    texts["mean_rating"] = rating_text(summary.mean_rating)
    rows = [
        (name, texts[key] if key in texts else getattr(summary, key), note)
        for key, (name, note) in names.items()
    ]
    for intent, n in summary.new_by_intent.items():
        name = msg.INTENT_NAMES.get(intent, intent)
        rows.append((msg.SUMMARY_FIGURE_INTENT.format(name=name), n, ""))
    for role, n in summary.load_by_role.items():
        rows.append((msg.SUMMARY_FIGURE_LOAD.format(name=policy.role_name(role)), n, ""))
    for building, n in summary.top_buildings:
        rows.append((msg.SUMMARY_FIGURE_BUILDING.format(name=building), n, ""))
    return rows


def summary_key(week: str) -> str:
    """The key_values key that says a week's summary went out."""
    return f"summary_sent:{week}"


def already_sent(uow: AbstractUnitOfWork, week: str, now: datetime) -> bool:
    """True once the week's summary was queued for its recipients."""
    return uow.values.get(summary_key(week), now) is not None


def send_weekly_summary(
    command: cmd.SendWeeklySummary, uow: AbstractUnitOfWork, ctx: Context
) -> Summary:
    """Queue the summary for every recipient; one week is never sent twice to one person."""
    policy, now = ctx.policy, ctx.now
    week = week_of(command.week, now, policy.timezone)
    summary = compute_summary(uow, policy, week, now)
    text = render_summary(summary, policy)
    for openid in policy.summary_recipients:
        notify(uow, openid, text, now, kind="summary", dedupe_key=f"summary:{week.label}:{openid}")
    uow.values.set(summary_key(week.label), now.isoformat(), None)
    return summary
