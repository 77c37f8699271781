"""The weekly summary for the branch secretary: the figures, the WeChat text, the sending."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from handlers import messages as msg
from handlers.ports import Deps, Policy
from handlers.sla import human_duration
from handlers.tickets import notify
from storage.models import ACTIVE_STATUSES, TicketStatus
from storage.uow import AbstractUnitOfWork


@dataclass
class Week:
    label: str  # 2026-W47
    start: datetime  # naive UTC
    end: datetime
    local_start: date


def week_of(label: str | None, now: datetime, timezone: str) -> Week:
    """The ISO week `label` (e.g. 2026-W47), or the last full week before `now`, in `timezone`."""
    zone = ZoneInfo(timezone)
    if label:
        try:
            year, number = label.upper().split("-W")
            monday = date.fromisocalendar(int(year), int(number), 1)
        except ValueError:
            raise ValueError(f"week must look like 2026-W47, not {label!r}") from None
    else:
        local_today = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).date()
        monday = local_today - timedelta(days=local_today.weekday() + 7)
    start_local = datetime.combine(monday, time(0), zone)
    end_local = start_local + timedelta(days=7)
    to_utc = lambda d: d.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)  # noqa: E731
    iso = monday.isocalendar()
    return Week(f"{iso.year}-W{iso.week:02d}", to_utc(start_local), to_utc(end_local), monday)


@dataclass
class Summary:
    week: str
    start: str
    end: str
    new_tickets: int = 0
    new_by_intent: dict[str, int] = field(default_factory=dict)
    resolved: int = 0
    cancelled: int = 0
    completion_rate: float | None = None  # 办结率: of this week's tickets (not cancelled), done
    response_rate: float | None = None  # 响应率: accepted within the accept deadline
    solve_rate: float | None = None  # 解决率: visits answered without "not fixed"/≤2
    satisfaction_rate: float | None = None  # 满意率: ratings of 4–5
    median_first_response_minutes: float | None = None
    median_resolution_minutes: float | None = None
    mean_rating: float | None = None
    ratings: int = 0
    visits_concluded: int = 0
    visit_no_response: int = 0
    visit_response_rate: float | None = None
    overdue: list[int] = field(default_factory=list)
    sla_breaches: int = 0
    load_by_role: dict[str, int] = field(default_factory=dict)
    top_buildings: list[tuple[str, int]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["top_buildings"] = [{"building": b, "tickets": n} for b, n in self.top_buildings]
        return data


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _median_minutes(deltas: list[timedelta]) -> float | None:
    if not deltas:
        return None
    return round(statistics.median(d.total_seconds() for d in deltas) / 60, 1)


def compute_summary(uow: AbstractUnitOfWork, policy: Policy, week: Week, now: datetime) -> Summary:
    """Every figure of the weekly summary, from tickets and their audit trail."""
    summary = Summary(
        week=week.label, start=week.start.isoformat() + "Z", end=week.end.isoformat() + "Z"
    )
    created = list(uow.tickets.list(since=week.start, until=week.end))
    summary.new_tickets = len(created)
    summary.new_by_intent = dict(Counter(t.intent for t in created))
    summary.cancelled = sum(1 for t in created if t.status == TicketStatus.CANCELLED)
    counted = [t for t in created if t.status != TicketStatus.CANCELLED]
    done = [t for t in counted if t.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)]
    summary.completion_rate = _rate(len(done), len(counted))

    responded_in_time = 0
    for ticket in counted:
        deadlines = policy.deadlines(ticket.intent, ticket.urgent)
        if ticket.accepted_at and (
            deadlines is None or ticket.accepted_at - ticket.created_at <= deadlines.accept
        ):
            responded_in_time += 1
    summary.response_rate = _rate(responded_in_time, len(counted))

    events = uow.tickets.events_between(week.start, week.end)
    resolved_ids = {e.ticket_id for e in events if e.kind == "resolved"}
    summary.resolved = len(resolved_ids)
    resolved_tickets = [t for t in (uow.tickets.get(i) for i in sorted(resolved_ids)) if t]
    summary.median_first_response_minutes = _median_minutes(
        [t.accepted_at - t.created_at for t in resolved_tickets if t.accepted_at]
    )
    first_resolution = {}
    for event in events:
        if event.kind == "resolved" and event.ticket_id not in first_resolution:
            first_resolution[event.ticket_id] = event.at
    summary.median_resolution_minutes = _median_minutes(
        [first_resolution[t.id] - t.created_at for t in resolved_tickets]
    )

    answered = [e for e in events if e.kind == "visit_answered"]
    given = [(e.data or {}).get("rating") for e in answered]
    ratings = [int(r) for r in given if r is not None]
    # "Not fixed" answers carry no rating and count as unsolved, like ratings of 1–2.
    not_fixed = [r for r in given if r is None or int(r) <= 2]
    summary.ratings = len(ratings)
    summary.mean_rating = round(statistics.mean(ratings), 2) if ratings else None
    summary.satisfaction_rate = _rate(sum(1 for r in ratings if r >= 4), len(ratings))
    summary.solve_rate = _rate(len(answered) - len(not_fixed), len(answered))
    summary.visit_no_response = sum(1 for e in events if e.kind == "visit_expired")
    summary.visits_concluded = len(answered) + summary.visit_no_response
    summary.visit_response_rate = _rate(len(answered), summary.visits_concluded)

    summary.sla_breaches = sum(1 for e in events if e.kind == "sla_breach")
    active = list(uow.tickets.list(status=ACTIVE_STATUSES))
    summary.overdue = [t.id for t in active if t.accept_breach_level or t.resolve_breach_level]
    summary.load_by_role = dict(Counter(policy.role_name(t.role) for t in active))
    summary.top_buildings = Counter(t.building for t in created if t.building).most_common(3)
    return summary


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _minutes(value: float | None) -> str:
    return "—" if value is None else human_duration(timedelta(minutes=value))


def render_summary(summary: Summary, policy: Policy) -> str:
    """The summary as one WeChat text message."""
    by_intent = (
        "，".join(
            f"{msg.INTENT_NAMES.get(k, k)}{v}"
            for k, v in sorted(summary.new_by_intent.items(), key=lambda kv: -kv[1])
        )
        or "无"
    )
    lines = [
        f"【{policy.site_name}周报 {summary.week}】",
        f"新收诉求{summary.new_tickets}件（{by_intent}），本周办结{summary.resolved}件。",
        f"办结率{_pct(summary.completion_rate)}，响应率{_pct(summary.response_rate)}，"
        f"解决率{_pct(summary.solve_rate)}，满意率{_pct(summary.satisfaction_rate)}。",
        f"首次响应中位{_minutes(summary.median_first_response_minutes)}，"
        f"办结中位{_minutes(summary.median_resolution_minutes)}。",
        f"回访{summary.visits_concluded}件，回复率{_pct(summary.visit_response_rate)}"
        + (f"，平均{summary.mean_rating}分" if summary.mean_rating is not None else "")
        + (f"，未回复{summary.visit_no_response}件" if summary.visit_no_response else "")
        + "。",
    ]
    if summary.overdue:
        shown = "、".join(f"#{n}" for n in summary.overdue[:8])
        lines.append(
            f"超时未办{len(summary.overdue)}件：{shown}"
            + ("等" if len(summary.overdue) > 8 else "")
            + "。"
        )
    else:
        lines.append("无超时工单。")
    if summary.load_by_role:
        lines.append(
            "在办：" + "，".join(f"{k}{v}" for k, v in summary.load_by_role.items()) + "。"
        )
    if summary.top_buildings:
        lines.append("诉求较多：" + "，".join(f"{b}{n}件" for b, n in summary.top_buildings) + "。")
    for line in summary.extra.get("lines", []):
        lines.append(line)
    if policy.public_url:
        lines.append(f"详情：{policy.public_url.rstrip('/')}/dashboard/summary?week={summary.week}")
    return "\n".join(lines)


def send_weekly_summary(deps: Deps, now: datetime, week_label: str | None = None) -> Summary:
    """Queue the summary for every recipient; the same week is never sent twice to one person."""
    with deps.uow_factory() as uow:
        week = week_of(week_label, now, deps.policy.timezone)
        summary = compute_summary(uow, deps.policy, week, now)
        text = render_summary(summary, deps.policy)
        for openid in deps.policy.summary_recipients:
            notify(
                uow, openid, text, now, kind="summary", dedupe_key=f"summary:{week.label}:{openid}"
            )
        uow.commit()
    return summary
