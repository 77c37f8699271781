"""Read-side figures and lists for the operators' dashboard; the few writes are audit events.

Figures come from `handlers.summary.compute_summary` (one call per week), so the dashboard and
the weekly WeChat summary can never disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from handlers.ports import Policy
from handlers.summary import Summary, Week, compute_summary, week_of
from handlers.tickets import record, residents_of
from storage.models import InboundMessage, OutboxMessage, Staff, Ticket
from storage.states import ACTIVE_STATUSES
from storage.uow import AbstractUnitOfWork

# Inbound messages this long before a ticket was opened are shown as part of its conversation.
CONVERSATION_LEAD = timedelta(minutes=30)
TICKET_LIST_LIMIT = 500


def operator_actor(username: str) -> str:
    """The audit-trail actor for an operator acting in the dashboard."""
    return f"operator:{username}"


def to_local(value: datetime | None, timezone: str) -> datetime | None:
    """A naive UTC time from the database as the site's local time."""
    if value is None:
        return None
    return value.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(timezone))


def local_day_start(day: date, timezone: str) -> datetime:
    """Midnight of a local date, as naive UTC (for filtering by date)."""
    start = datetime.combine(day, time(0), ZoneInfo(timezone))
    return start.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def current_week(now: datetime, timezone: str) -> Week:
    """The ISO week (in the site's time zone) that `now` falls in."""
    local = to_local(now, timezone)
    assert local is not None
    iso = local.date().isocalendar()
    return week_of(f"{iso.year}-W{iso.week:02d}", now, timezone)


def recent_weeks(now: datetime, timezone: str, count: int = 12) -> list[Week]:
    """The last `count` weeks, oldest first, ending with the current one."""
    this = current_week(now, timezone)
    weeks = []
    for back in range(count - 1, -1, -1):
        iso = (this.local_start - timedelta(weeks=back)).isocalendar()
        weeks.append(week_of(f"{iso.year}-W{iso.week:02d}", now, timezone))
    return weeks


def span(weeks: Sequence[Week], label: str) -> Week:
    """One period covering several consecutive weeks (compute_summary accepts any period)."""
    return Week(label, weeks[0].start, weeks[-1].end, weeks[0].local_start)


@dataclass
class Overview:
    open: int
    overdue: int
    unassigned: int
    this_week: Summary
    recent: Summary  # the whole 12-week period
    weekly: list[Summary]
    buildings: list[tuple[str, int]]
    intents: list[str] = field(default_factory=list)


def overview(uow: AbstractUnitOfWork, policy: Policy, now: datetime, weeks: int = 12) -> Overview:
    """Today's workload and the figures of the current week and the last `weeks` weeks."""
    periods = recent_weeks(now, policy.timezone, weeks)
    weekly = [compute_summary(uow, policy, week, now) for week in periods]
    whole = span(periods, f"近{weeks}周")
    recent = compute_summary(uow, policy, whole, now)
    active = list(uow.tickets.list(status=ACTIVE_STATUSES))
    created = uow.tickets.list(since=whole.start, until=whole.end)
    buildings = Counter(t.building for t in created if t.building).most_common(10)
    intents = sorted({i for s in weekly for i in s.new_by_intent})
    return Overview(
        open=len(active),
        overdue=len(weekly[-1].overdue),
        unassigned=sum(1 for t in active if t.assignee_id is None),
        this_week=weekly[-1],
        recent=recent,
        weekly=weekly,
        buildings=buildings,
        intents=intents,
    )


@dataclass
class TicketFilter:
    status: str | None = None
    intent: str | None = None
    role: str | None = None
    building: str | None = None
    since: date | None = None  # local dates, inclusive
    until: date | None = None
    overdue: bool = False


def find_tickets(
    uow: AbstractUnitOfWork, policy: Policy, wanted: TicketFilter
) -> tuple[list[Ticket], bool]:
    """Tickets matching the filter, newest first; the flag says the list was cut short."""
    status: str | Sequence[str] | None = wanted.status
    if wanted.status == "active":
        status = ACTIVE_STATUSES
    found = list(
        uow.tickets.list(
            status=status,
            intent=wanted.intent,
            role=wanted.role,
            building=wanted.building,
            since=local_day_start(wanted.since, policy.timezone) if wanted.since else None,
            until=(
                local_day_start(wanted.until + timedelta(days=1), policy.timezone)
                if wanted.until
                else None
            ),
            newest_first=True,
            limit=TICKET_LIST_LIMIT + 1,
        )
    )
    if wanted.overdue:
        found = [
            t
            for t in found
            if t.status in ACTIVE_STATUSES and (t.accept_breach_level or t.resolve_breach_level)
        ]
    return found[:TICKET_LIST_LIMIT], len(found) > TICKET_LIST_LIMIT


def buildings(uow: AbstractUnitOfWork) -> list[str]:
    """Every building that has had a ticket, for the filter's choices."""
    return sorted({t.building for t in uow.tickets.list() if t.building})


@dataclass
class ChatLine:
    at: datetime
    direction: str  # "in" (the resident wrote) | "reply" (passive reply) | "out" (Sheli on its own)
    who: str
    text: str
    status: str | None = None


def record_view(uow: AbstractUnitOfWork, ticket: Ticket, username: str, now: datetime) -> None:
    """Who opened a ticket's page (it shows the unmasked phone) goes into its audit trail."""
    record(uow, ticket, "viewed", operator_actor(username), now)


def conversation(
    uow: AbstractUnitOfWork, policy: Policy, ticket: Ticket, now: datetime
) -> list[ChatLine]:
    """The resident's messages around the ticket and every message Sheli sent about it."""
    lines: list[ChatLine] = []
    resident = ticket.resident
    if resident is not None and not resident.erased_at:
        start = ticket.created_at - CONVERSATION_LEAD
        end = ticket.closed_at or now
        rows: Sequence[InboundMessage] = uow.inbound.for_openid(resident.openid, limit=200)
        for row in rows:
            if row.ticket_id == ticket.id or start <= row.received_at <= end:
                lines.append(ChatLine(row.received_at, "in", "住户", row.content or row.msg_type))
                if row.reply:
                    lines.append(ChatLine(row.received_at, "reply", policy.site_name, row.reply))
    names = {resident.openid: "住户"} if resident is not None else {}
    for openid in residents_of(uow, ticket):
        names.setdefault(openid, "住户")
    for member in uow.staff.list():
        if member.openid:
            names.setdefault(member.openid, f"{policy.role_name(member.role)}{member.name}")
    for openid in policy.summary_recipients:
        names.setdefault(openid, "书记")
    sent: list[OutboxMessage] = []
    for openid in names:
        sent.extend(
            m for m in uow.outbox.for_recipient(openid, limit=5000) if m.ticket_id == ticket.id
        )
    for message in sorted(sent, key=lambda m: m.id):
        lines.append(
            ChatLine(
                message.created_at,
                "out",
                f"→ {names[message.recipient]}",
                message.body,
                message.status,
            )
        )
    lines.sort(key=lambda line: line.at)
    return lines


@dataclass
class RoleGroup:
    role: str
    role_name: str
    members: list[tuple[Staff, int]]

    @property
    def open_load(self) -> int:
        return sum(load for staff, load in self.members if staff.active)


def staff_by_role(uow: AbstractUnitOfWork, policy: Policy) -> list[RoleGroup]:
    """Every role from config (also the empty ones) with its staff and their open tickets."""
    load = uow.staff.open_load()
    groups = {role: RoleGroup(role, name, []) for role, name in policy.role_names.items()}
    for member in uow.staff.list():
        group = groups.setdefault(member.role, RoleGroup(member.role, member.role, []))
        group.members.append((member, load.get(member.id, 0)))
    return list(groups.values())
