"""What the dashboard, the CLI and the simulator read: pages and their JSON twins.

Each query is a function of (unit of work, Context, ...), run by `sheli.read(query, ...)` in a
unit of work of its own; they never write. What they return stays readable after the unit of work
closes (plain data, or rows whose relationships are loaded). The JSON of a single ticket or staff
member is in handlers/queries.py; the weekly figures come from handlers.summary.compute_summary,
so the dashboard and the WeChat summary never disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from handlers import messages as msg
from handlers.errors import Invalid, NotFound
from handlers.events import when
from handlers.importing.events import openings_text
from handlers.keywords import mask_phone, mask_phones_in
from handlers.lifecycle import is_active
from handlers.notices import residents_of
from handlers.ports import Context, Policy
from handlers.queries import staff_json, ticket_detail, ticket_json
from handlers.sla import SlaClock, countdown
from handlers.summary import (
    BadWeek,
    Summary,
    Week,
    compute_summary,
    figure_rows,
    render_summary,
    week_of,
)
from handlers.times import local_day_start, local_stamp, local_text, to_local, utc_offset
from nlu.places import building_of, place_sort_key, room_label
from storage.community import Event, SignUpStatus, TicketHelper, Volunteer
from storage.models import (
    Attachment,
    InboundMessage,
    OutboxMessage,
    Resident,
    Staff,
    Ticket,
    TicketEvent,
)
from storage.states import ACTIVE_STATUSES, SENSITIVE_INTENTS, TicketStatus
from storage.uow import AbstractUnitOfWork

# Inbound messages this long before a ticket was opened are shown as part of its conversation.
CONVERSATION_LEAD = timedelta(minutes=30)
TICKET_LIST_LIMIT = 500


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


# --- weeks -----------------------------------------------------------------------------------


def _iso_week(day: date, now: datetime, timezone: str) -> Week:
    iso = day.isocalendar()
    return week_of(f"{iso.year}-W{iso.week:02d}", now, timezone)


def current_week(now: datetime, timezone: str) -> Week:
    """The ISO week (in the site's time zone) that `now` falls in."""
    return _iso_week(to_local(now, timezone).date(), now, timezone)


def current_week_label(uow: AbstractUnitOfWork, ctx: Context) -> str:
    """The label of the week `now` falls in ("2026-W48")."""
    return current_week(ctx.now, ctx.policy.timezone).label


def recent_weeks(now: datetime, timezone: str, count: int = 12) -> list[Week]:
    """The last `count` weeks, oldest first, ending with the current one."""
    this = current_week(now, timezone)
    return [
        _iso_week(this.local_start - timedelta(weeks=back), now, timezone)
        for back in range(count - 1, -1, -1)
    ]


def span(weeks: Sequence[Week], label: str) -> Week:
    """One period covering several consecutive weeks (compute_summary accepts any period)."""
    return Week(label, weeks[0].start, weeks[-1].end, weeks[0].local_start)


def _week(ctx: Context, label: str | None) -> Week:
    try:
        return week_of(label or None, ctx.now, ctx.policy.timezone)
    except BadWeek:
        raise Invalid(msg.BAD_WEEK) from None


def summary_week(uow: AbstractUnitOfWork, ctx: Context, label: str | None = None) -> Week:
    """ISO week `label` (default: the last full week); Invalid if it is not a week."""
    return _week(ctx, label)


def week_summary(uow: AbstractUnitOfWork, ctx: Context, label: str | None = None) -> Summary:
    """The weekly summary's figures for ISO week `label` (default: the last full week)."""
    return compute_summary(uow, ctx.policy, _week(ctx, label), ctx.now)


@dataclass
class SummaryPage:
    week: Week
    figures: Summary
    text: str  # the very text the WeChat summary sends
    week_end: date
    previous: str
    following: str


def summary_page(uow: AbstractUnitOfWork, ctx: Context, label: str | None = None) -> SummaryPage:
    """The summary of one week as the dashboard shows it, with the weeks before and after."""
    week = _week(ctx, label)
    figures = compute_summary(uow, ctx.policy, week, ctx.now)
    previous = (week.local_start - timedelta(weeks=1)).isocalendar()
    following = (week.local_start + timedelta(weeks=1)).isocalendar()
    return SummaryPage(
        week=week,
        figures=figures,
        text=render_summary(figures, ctx.policy),
        week_end=week.local_start + timedelta(days=6),
        previous=f"{previous.year}-W{previous.week:02d}",
        following=f"{following.year}-W{following.week:02d}",
    )


# --- overview --------------------------------------------------------------------------------


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

    def to_json(self) -> dict[str, Any]:
        return {
            "open": self.open,
            "overdue": self.overdue,
            "unassigned": self.unassigned,
            "this_week": self.this_week.to_json(),
            "recent": self.recent.to_json(),
            "weekly": [s.to_json() for s in self.weekly],
            "buildings": [{"building": b, "tickets": n} for b, n in self.buildings],
        }


def overview(uow: AbstractUnitOfWork, ctx: Context, weeks: int = 12) -> Overview:
    """Today's workload and the figures of the current week and the last `weeks` weeks."""
    policy, now = ctx.policy, ctx.now
    periods = recent_weeks(now, policy.timezone, weeks)
    weekly = [compute_summary(uow, policy, week, now) for week in periods]
    whole = span(periods, msg.RECENT_WEEKS.format(n=weeks))
    recent = compute_summary(uow, policy, whole, now)
    active = list(uow.tickets.list(status=ACTIVE_STATUSES))
    created = uow.tickets.list(since=whole.start, until=whole.end)
    counts = Counter(
        t.building for t in created if t.building and t.intent not in SENSITIVE_INTENTS
    )
    buildings = sorted(counts.items(), key=lambda item: (-item[1], place_sort_key(item[0])))[:10]
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


# --- tickets ---------------------------------------------------------------------------------


@dataclass
class TicketFilter:
    status: str | None = None  # a status, or "active"
    intent: str | None = None
    role: str | None = None
    building: str | None = None
    since: date | None = None  # local dates, inclusive
    until: date | None = None
    overdue: bool = False


def find_tickets(
    uow: AbstractUnitOfWork, ctx: Context, wanted: TicketFilter
) -> tuple[list[Ticket], bool]:
    """Tickets matching the filter, newest first; the flag says the list was cut short."""
    timezone = ctx.policy.timezone
    status: str | Sequence[str] | None = wanted.status
    if wanted.status == "active":
        status = ACTIVE_STATUSES
    found = list(
        uow.tickets.list(
            status=status,
            intent=wanted.intent,
            role=wanted.role,
            building=wanted.building,
            since=local_day_start(wanted.since, timezone) if wanted.since else None,
            until=(
                local_day_start(wanted.until + timedelta(days=1), timezone)
                if wanted.until
                else None
            ),
            newest_first=True,
            limit=TICKET_LIST_LIMIT + 1,
        )
    )
    if wanted.overdue:
        found = [t for t in found if is_active(t) and _overdue(t)]
    return found[:TICKET_LIST_LIMIT], len(found) > TICKET_LIST_LIMIT


def _overdue(ticket: Ticket) -> bool:
    return bool(ticket.accept_breach_level or ticket.resolve_breach_level)


@dataclass
class TicketsPage:
    tickets: list[Ticket]
    truncated: bool
    buildings: list[str]  # every building that has had a ticket, for the filter's choices
    limit: int = TICKET_LIST_LIMIT
    sla: dict[int, SlaClock] = field(default_factory=dict)  # active tickets' clocks


def sla_clocks(
    uow: AbstractUnitOfWork, ctx: Context, tickets: Sequence[Ticket]
) -> dict[int, SlaClock]:
    """The SLA clock of each active ticket shown (one query for the reopened ones' restarts)."""
    active = [t for t in tickets if is_active(t)]
    reopened = uow.tickets.last_event_at([t.id for t in active], "reopened")
    clocks = {t.id: countdown(t, ctx.policy, ctx.now, reopened.get(t.id)) for t in active}
    return {number: clock for number, clock in clocks.items() if clock is not None}


def tickets_page(uow: AbstractUnitOfWork, ctx: Context, wanted: TicketFilter) -> TicketsPage:
    """The tickets list with its filter's choices and each active ticket's SLA clock."""
    found, cut = find_tickets(uow, ctx, wanted)
    buildings = sorted({t.building for t in uow.tickets.list() if t.building}, key=place_sort_key)
    return TicketsPage(found, cut, buildings, sla=sla_clocks(uow, ctx, found))


def tickets_json(uow: AbstractUnitOfWork, ctx: Context, wanted: TicketFilter) -> dict[str, Any]:
    """The tickets list as JSON; a list never shows a full phone number, not even in the text."""
    found, cut = find_tickets(uow, ctx, wanted)
    listed = [ticket_json(t, ctx.policy) for t in found]
    for item in listed:
        item["text"] = mask_phones_in(item["text"])
    return {"tickets": listed, "truncated": cut}


def ticket_lines(
    uow: AbstractUnitOfWork, ctx: Context, wanted: TicketFilter, limit: int = 200
) -> list[tuple[Ticket, SlaClock | None]]:
    """`sheli tickets list`: the newest `limit` tickets matching the filter, with their SLA
    clocks (the dashboard's filter, so the list and the export select the same tickets)."""
    found: list[Ticket] = []
    for batch in _batches(uow, ctx, wanted, size=min(limit, EXPORT_BATCH)):
        found += batch[: limit - len(found)]
        if len(found) >= limit:
            break
    clocks = sla_clocks(uow, ctx, found)
    return [(t, clocks.get(t.id)) for t in found]


# --- exports ---------------------------------------------------------------------------------

EXPORT_BATCH = 500
EXPORT_COLUMNS = tuple(msg.EXPORT_TICKET_COLUMNS)


def _batches(
    uow: AbstractUnitOfWork, ctx: Context, wanted: TicketFilter, size: int = EXPORT_BATCH
) -> Iterator[Sequence[Ticket]]:
    """Every ticket matching the filter, newest first, `size` at a time (keyset pagination)."""
    timezone = ctx.policy.timezone
    status: str | Sequence[str] | None = wanted.status
    if wanted.status == "active":
        status = ACTIVE_STATUSES
    before = None
    while True:
        batch = uow.tickets.batch_before(
            before,
            size,
            status=status,
            intent=wanted.intent,
            role=wanted.role,
            building=wanted.building,
            since=local_day_start(wanted.since, timezone) if wanted.since else None,
            until=(
                local_day_start(wanted.until + timedelta(days=1), timezone)
                if wanted.until
                else None
            ),
            overdue=wanted.overdue,
        )
        if not batch:
            return
        yield batch
        if len(batch) < size:
            return
        before = batch[-1].id


def export_header(uow: AbstractUnitOfWork, ctx: Context) -> list[str]:
    """The export's column headings; the time columns name the site's UTC offset."""
    offset = utc_offset(ctx.policy.timezone, ctx.now)
    return [msg.EXPORT_TICKET_COLUMNS[key].format(offset=offset) for key in EXPORT_COLUMNS]


def export_row(ticket: Ticket, policy: Policy, clock: SlaClock | None) -> dict[str, Any]:
    """One ticket as an export row: names in Chinese, times local (naive), phones masked as
    on every list."""

    def local(value: datetime | None) -> datetime | None:
        moment = to_local(value, policy.timezone)
        return moment.replace(tzinfo=None) if moment else None

    return {
        "number": ticket.id,
        "created_at": local(ticket.created_at),
        "intent": msg.INTENT_NAMES.get(ticket.intent, ticket.intent),
        "urgent": msg.EXPORT_YES if ticket.urgent else "",
        "status": msg.STATUS_NAMES.get(ticket.status, ticket.status),
        "role": policy.role_name(ticket.role),
        "assignee": ticket.assignee.name if ticket.assignee else "",
        "location": ticket.location or "",
        "building": ticket.building or "",
        "phone": mask_phone(ticket.phone) if ticket.phone else "",
        "text": mask_phones_in(ticket.text),
        "sla": clock.text if clock else "",
        "accepted_at": local(ticket.accepted_at),
        "resolved_at": local(ticket.resolved_at),
        "closed_at": local(ticket.closed_at),
        "resolution": mask_phones_in(ticket.resolution or ""),
        "rating": ticket.rating,
        "followup": msg.FOLLOWUP_NAMES.get(ticket.followup_state, ticket.followup_state),
    }


def ticket_export(
    uow: AbstractUnitOfWork, ctx: Context, wanted: TicketFilter
) -> Iterator[dict[str, Any]]:
    """Every ticket matching the filter as export rows, newest first, read a batch at a time:
    run it with `sheli.stream` so the rows are written while they are read."""
    for batch in _batches(uow, ctx, wanted):
        clocks = sla_clocks(uow, ctx, batch)
        for ticket in batch:
            yield export_row(ticket, ctx.policy, clocks.get(ticket.id))


@dataclass
class SummaryExport:
    week: Week
    figures: list[tuple[str, Any, str]]  # (name, value, how to read it)
    text: str
    tickets: TicketFilter  # the week's new tickets


def summary_export(
    uow: AbstractUnitOfWork, ctx: Context, label: str | None = None
) -> SummaryExport:
    """The week's summary for a spreadsheet: its figures (worded as the text words them), its
    text, and the filter of its tickets (the ones it counts as new)."""
    page = summary_page(uow, ctx, label)
    return SummaryExport(
        week=page.week,
        figures=figure_rows(page.figures, ctx.policy),
        text=page.text,
        tickets=TicketFilter(since=page.week.local_start, until=page.week_end),
    )


def find_ticket_record(
    uow: AbstractUnitOfWork, ctx: Context, number: int, *, mask: bool = True
) -> dict[str, Any] | None:
    """A ticket with its audit trail, attachments and followers; None if there is no #number."""
    ticket = uow.tickets.get(number)
    return ticket_detail(uow, ticket, ctx.policy, mask=mask) if ticket else None


def ticket_record(
    uow: AbstractUnitOfWork, ctx: Context, number: int, *, mask: bool = True
) -> dict[str, Any]:
    """The same; NotFound if there is no #number."""
    found = find_ticket_record(uow, ctx, number, mask=mask)
    if found is None:
        raise NotFound(msg.NO_SUCH_TICKET.format(n=number))
    return found


@dataclass
class ChatLine:
    at: datetime
    direction: str  # "in" (the resident wrote) | "reply" (passive reply) | "out" (Sheli on its own)
    who: str
    text: str
    status: str | None = None


def conversation(uow: AbstractUnitOfWork, ctx: Context, ticket: Ticket) -> list[ChatLine]:
    """The resident's messages around the ticket and every message Sheli sent about it."""
    policy = ctx.policy
    lines: list[ChatLine] = []
    resident = ticket.resident
    if resident is not None and not resident.erased_at:
        start = ticket.created_at - CONVERSATION_LEAD
        end = ticket.closed_at or ctx.now
        rows: Sequence[InboundMessage] = uow.inbound.for_openid(resident.openid, limit=200)
        for row in rows:
            if row.ticket_id == ticket.id or start <= row.received_at <= end:
                text = row.content or msg.CHAT_MESSAGE_KINDS.get(row.msg_type, row.msg_type)
                lines.append(ChatLine(row.received_at, "in", msg.CHAT_RESIDENT, text))
                if row.reply:
                    lines.append(ChatLine(row.received_at, "reply", policy.site_name, row.reply))
    names = {resident.openid: msg.CHAT_RESIDENT} if resident is not None else {}
    for openid in residents_of(uow, ticket):
        names.setdefault(openid, msg.CHAT_RESIDENT)
    for member in uow.staff.list():
        if member.openid:
            names.setdefault(member.openid, f"{policy.role_name(member.role)}{member.name}")
    for openid in policy.summary_recipients:
        names.setdefault(openid, msg.CHAT_SECRETARY)
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
                msg.CHAT_TO.format(who=names[message.recipient]),
                message.body,
                message.status,
            )
        )
    lines.sort(key=lambda line: line.at)
    return lines


@dataclass
class TicketPage:
    ticket: Ticket
    events: list[TicketEvent]
    attachments: list[Attachment]
    followers: list[Resident]
    chat: list[ChatLine]
    active: bool
    helpers: list[TicketHelper]
    volunteers: list[Volunteer]  # who can still be asked to help
    sla: SlaClock | None = None
    phone: str | None = None  # masked; the full one is one audited step away (ShowPhone)
    actors: dict[str, str] = field(default_factory=dict)  # trail label → who, in Chinese
    can_close: bool = False
    can_reply: bool = False


def actor_names(uow: AbstractUnitOfWork, ctx: Context, labels: set[str]) -> dict[str, str]:
    """How the trail's actors read in Chinese: "物业管家张师傅", "运营人员 admin", "住户 12", "系统"."""
    staff = {member.id: member for member in uow.staff.list()} if labels else {}
    names = {}
    for label in labels:
        kind, _, rest = label.partition(":")
        if kind == "staff":
            staff_id, _, name = rest.partition(":")
            member = staff.get(int(staff_id)) if staff_id.isdigit() else None
            role = ctx.policy.role_name(member.role) if member else ""
            names[label] = msg.ACTOR_STAFF.format(role=role, name=name)
        elif kind == "operator":
            names[label] = msg.ACTOR_OPERATOR.format(name=rest)
        elif kind == "resident":
            names[label] = msg.ACTOR_RESIDENT.format(id=rest)
        elif kind == "system":
            names[label] = msg.ACTOR_SYSTEM
        else:
            names[label] = label
    return names


def ticket_page(uow: AbstractUnitOfWork, ctx: Context, number: int) -> TicketPage:
    """Everything about one ticket: the trail, the conversation, the helpers, the SLA clock,
    the masked phone (the full one is shown by the audited ShowPhone command)."""
    ticket = uow.tickets.get(number)
    if ticket is None:
        raise NotFound(msg.NO_SUCH_TICKET.format(n=number))
    events = list(uow.tickets.events(number))
    clocks = sla_clocks(uow, ctx, [ticket])
    phone = ticket.phone or (ticket.resident.phone if ticket.resident else None)
    done = ticket.status in (TicketStatus.CLOSED, TicketStatus.CANCELLED)
    resident_gone = ticket.resident is None or ticket.resident.erased_at is not None
    return TicketPage(
        ticket=ticket,
        events=events,
        attachments=list(uow.tickets.attachments(number)),
        followers=list(uow.tickets.followers(number)),
        chat=conversation(uow, ctx, ticket),
        active=is_active(ticket),
        helpers=list(uow.resources.helpers(number)),
        volunteers=list(uow.resources.volunteers(active_only=True)),
        sla=clocks.get(ticket.id),
        phone=mask_phone(phone) if phone else None,
        actors=actor_names(uow, ctx, {e.actor for e in events}),
        can_close=not done,
        can_reply=not done and not resident_gone,
    )


# --- staff -----------------------------------------------------------------------------------


@dataclass
class RoleGroup:
    role: str
    role_name: str
    members: list[tuple[Staff, int]]

    @property
    def open_load(self) -> int:
        return sum(load for staff, load in self.members if staff.active)


def staff_by_role(uow: AbstractUnitOfWork, ctx: Context) -> list[RoleGroup]:
    """Every role from config (also the empty ones) with its staff and their open tickets."""
    load = uow.staff.open_load()
    groups = {role: RoleGroup(role, name, []) for role, name in ctx.policy.role_names.items()}
    for member in uow.staff.list():
        group = groups.setdefault(member.role, RoleGroup(member.role, member.role, []))
        group.members.append((member, load.get(member.id, 0)))
    return list(groups.values())


def staff_rows(uow: AbstractUnitOfWork, ctx: Context) -> list[dict[str, Any]]:
    """Every staff member as JSON, with their open load."""
    load = uow.staff.open_load()
    return [staff_json(s, ctx.policy, load.get(s.id, 0)) for s in uow.staff.list()]


def staff_member(uow: AbstractUnitOfWork, ctx: Context, staff_id: int) -> Staff:
    """One staff member; NotFound if there is none with this id."""
    member = uow.staff.get(staff_id)
    if member is None:
        raise NotFound(msg.NO_SUCH_STAFF.format(id=staff_id))
    return member


def open_tickets_of(uow: AbstractUnitOfWork, ctx: Context, staff_id: int) -> int:
    """How many active tickets a staff member holds."""
    return uow.staff.open_load().get(staff_id, 0)


def bound_staff(uow: AbstractUnitOfWork, ctx: Context) -> list[Staff]:
    """Active staff with a bound account (whom the simulator can play)."""
    return [s for s in uow.staff.list(active_only=True) if s.openid]


# --- events ----------------------------------------------------------------------------------


def event_json(uow: AbstractUnitOfWork, policy: Policy, event: Event, now: datetime) -> dict:
    """An event with its sign-up figures (times in UTC, plus the local start for display)."""
    statuses = Counter(s.status for s in event.sign_ups)
    return {
        "id": event.id,
        "label": f"活动{event.id}",
        "kind": event.kind,
        "kind_name": msg.EVENT_KIND_NAMES.get(event.kind, event.kind),
        "title": event.title,
        "starts_at": _iso(event.starts_at),
        "ends_at": _iso(event.ends_at),
        "local_start": local_text(event.starts_at, policy.timezone),
        "local_start_stamp": local_stamp(event.starts_at, policy.timezone),
        "when": when(event, policy),
        "place": event.place,
        "details": event.details,
        "openings": list(event.openings or []),
        "capacity": event.capacity,
        "confirmed": statuses[SignUpStatus.CONFIRMED],
        "waiting": statuses[SignUpStatus.WAITING],
        "cancelled_sign_ups": statuses[SignUpStatus.CANCELLED],
        "attended": sum(1 for s in event.sign_ups if s.attended),
        "cancelled": event.cancelled,
        "past": event.starts_at <= now,
    }


def event_rows(
    uow: AbstractUnitOfWork,
    ctx: Context,
    *,
    kind: str | None = None,
    include_past: bool = True,
    include_cancelled: bool = True,
) -> list[dict]:
    """The events page: upcoming events first (soonest first), then past ones (newest first)."""
    now = ctx.now
    events = uow.events.list(kind=kind, include_cancelled=include_cancelled)
    coming = [e for e in events if e.starts_at > now]
    past = [e for e in reversed(events) if e.starts_at <= now] if include_past else []
    return [event_json(uow, ctx.policy, e, now) for e in coming + past]


def _event(uow: AbstractUnitOfWork, event_id: int) -> Event:
    event = uow.events.get(event_id)
    if event is None:
        raise NotFound(msg.NO_SUCH_EVENT.format(n=event_id))
    return event


def event_detail(uow: AbstractUnitOfWork, ctx: Context, event_id: int) -> dict:
    """One event with its sign-up list: residents by number, room and masked phone, never by
    openid."""
    event = _event(uow, event_id)
    data = event_json(uow, ctx.policy, event, ctx.now)
    rows = []
    waiting_position = 0
    for signed in event.sign_ups:
        resident = uow.residents.get(signed.resident_id) if signed.resident_id else None
        if signed.status == SignUpStatus.WAITING:
            waiting_position += 1
        rows.append(
            {
                "id": signed.id,
                "resident": resident.id if resident else None,
                "room": resident.room if resident else None,
                "phone": mask_phone(resident.phone) if resident and resident.phone else None,
                "status": signed.status,
                "status_name": msg.SIGN_UP_STATUS.get(signed.status, signed.status),
                "waiting_position": waiting_position
                if signed.status == SignUpStatus.WAITING
                else None,
                "signed_up_at": _iso(signed.created_at),
                "reminded_at": _iso(signed.reminded_at),
                "attended": signed.attended,
            }
        )
    data["sign_ups"] = rows
    return data


EVENT_FORM_FIELDS = (
    "kind",
    "title",
    "starts_at",
    "ends_at",
    "place",
    "capacity",
    "details",
    "openings",
)


def event_form(uow: AbstractUnitOfWork, ctx: Context, event_id: int | None) -> dict[str, str]:
    """The event form's values: empty for a new event, else the event's (local site time)."""
    if event_id is None:
        return {key: "" for key in EVENT_FORM_FIELDS} | {"kind": "job_fair"}
    event = _event(uow, event_id)
    timezone = ctx.policy.timezone
    return {
        "kind": event.kind,
        "title": event.title,
        "starts_at": local_text(event.starts_at, timezone, "%Y-%m-%dT%H:%M"),
        "ends_at": local_text(event.ends_at, timezone, "%Y-%m-%dT%H:%M"),
        "place": event.place or "",
        "capacity": "" if event.capacity is None else str(event.capacity),
        "details": event.details or "",
        "openings": openings_text(event.openings),
    }


# --- buildings and residents -----------------------------------------------------------------


def buildings_overview(uow: AbstractUnitOfWork, ctx: Context) -> list[dict]:
    """Per building: rooms, beds, residents known to live there, occupancy, requests.

    Buildings that only appear in tickets (not imported) are listed too, without capacity.
    """
    residents = uow.buildings.residents_with_room()
    living = Counter(_building_of_room(r.room) for r in residents)
    tickets = [t for t in uow.tickets.list() if t.intent not in SENSITIVE_INTENTS]
    requests = Counter(t.building for t in tickets if t.building)
    open_requests = Counter(t.building for t in tickets if t.building and is_active(t))
    rows = []
    known = set()
    for building in uow.buildings.list():
        known.add(building.name)
        capacity = sum(room.capacity for room in building.rooms)
        count = living.get(building.name, 0)
        rows.append(
            {
                "name": building.name,
                "imported": True,
                "rooms": len(building.rooms),
                "capacity": capacity,
                "residents": count,
                "occupancy": round(count / capacity, 4) if capacity else None,
                "requests": requests.get(building.name, 0),
                "open_requests": open_requests.get(building.name, 0),
            }
        )
    for name in sorted((set(requests) | {b for b in living if b}) - known):
        if not name:
            continue
        rows.append(
            {
                "name": name,
                "imported": False,
                "rooms": 0,
                "capacity": 0,
                "residents": living.get(name, 0),
                "occupancy": None,
                "requests": requests.get(name, 0),
                "open_requests": open_requests.get(name, 0),
            }
        )
    rows.sort(key=lambda row: place_sort_key(str(row["name"])))  # "3栋" before "12栋"
    return rows


def building_detail(uow: AbstractUnitOfWork, ctx: Context, name: str) -> dict:
    """One building: its rooms with capacity and residents, and its requests."""
    building = uow.buildings.by_name(name)
    residents = [
        r for r in uow.buildings.residents_with_room() if _building_of_room(r.room) == name
    ]
    by_room: dict[str, list[int]] = {}
    for resident in residents:
        by_room.setdefault(room_label(resident.room) or resident.room or "", []).append(resident.id)
    rooms = []
    for room in sorted(building.rooms, key=lambda r: place_sort_key(r.label)) if building else []:
        ids = by_room.pop(room.label, [])
        rooms.append(
            {
                "label": room.label,
                "number": room.number,
                "capacity": room.capacity,
                "residents": ids,
            }
        )
    # Rooms residents named that were never imported, in the order people count them.
    for label, ids in sorted(by_room.items(), key=lambda item: place_sort_key(item[0])):
        rooms.append({"label": label, "number": None, "capacity": None, "residents": ids})
    tickets = uow.tickets.list(building=name, newest_first=True, limit=200)
    tickets = [t for t in tickets if t.intent not in SENSITIVE_INTENTS]
    return {
        "name": name,
        "imported": building is not None,
        "capacity": sum(r["capacity"] or 0 for r in rooms),
        "residents": len(residents),
        "rooms": rooms,
        "tickets": [ticket_json(t, ctx.policy) for t in tickets],
    }


def building_page(uow: AbstractUnitOfWork, ctx: Context, name: str) -> dict:
    """The same, for a building Sheli knows of (imported, lived in or with requests)."""
    detail = building_detail(uow, ctx, name)
    if not detail["imported"] and not detail["rooms"] and not detail["tickets"]:
        raise NotFound(msg.NO_SUCH_BUILDING.format(name=name))
    return detail


def resident_page(uow: AbstractUnitOfWork, ctx: Context, resident_id: int) -> dict:
    """A resident as the dashboard shows them: room, masked phone, tickets and sign-ups."""
    resident = uow.residents.get(resident_id)
    if resident is None:
        raise NotFound(msg.NO_SUCH_RESIDENT.format(n=resident_id))
    tickets = uow.tickets.list(resident_id=resident.id, newest_first=True)
    return {
        "id": resident.id,
        "room": resident.room,
        "phone": mask_phone(resident.phone) if resident.phone else None,
        "created_at": _iso(resident.created_at),
        "last_seen_at": _iso(resident.last_seen_at),
        "erased": resident.erased_at is not None,
        "tickets": [ticket_json(t, ctx.policy) for t in tickets],
        "sign_ups": [
            {
                "event": s.event_id,
                "title": s.event.title,
                "status": s.status,
                "attended": s.attended,
            }
            for s in uow.events.sign_ups_of_resident(resident.id)
        ],
    }


# --- party-building resources ----------------------------------------------------------------


def resources_overview(uow: AbstractUnitOfWork, ctx: Context) -> dict:
    """Alliance units, volunteer teams and the six staff roles with who fills them."""
    policy = ctx.policy
    load = uow.staff.open_load()
    helped = uow.resources.helper_counts()
    teams: dict[str, list[dict]] = {}
    for volunteer in uow.resources.volunteers():
        teams.setdefault(volunteer.team, []).append(
            {
                "id": volunteer.id,
                "name": volunteer.name,
                "skills": volunteer.skills,
                "phone": mask_phone(volunteer.phone) if volunteer.phone else None,
                "active": volunteer.active,
                "tickets_helped": helped.get(volunteer.id, 0),
            }
        )
    staff = [staff_json(s, policy, load.get(s.id, 0)) for s in uow.staff.list()]
    return {
        "alliance_units": [
            {
                "id": u.id,
                "name": u.name,
                "category": u.category,
                "services": u.services,
                "contact": u.contact,
                "phone": u.phone,
            }
            for u in uow.resources.units()
        ],
        "volunteer_teams": [{"team": team, "volunteers": rows} for team, rows in teams.items()],
        "roles": [
            {
                "role": role,
                "role_name": name,
                "staff": [s for s in staff if s["role"] == role],
            }
            for role, name in policy.role_names.items()
        ],
    }


# --- local mode: the simulator and `sheli chat` ------------------------------------------------


def inbox(uow: AbstractUnitOfWork, ctx: Context, openid: str, after: int = 0) -> list[dict]:
    """The outbox rows to `openid` after outbox id `after`, oldest first, as JSON."""
    return [
        {
            "id": m.id,
            "kind": m.kind,
            "body": m.body,
            "ticket": m.ticket_id,
            "status": m.status,
            "at": _iso(m.created_at),
            "attachment": m.attachment_id,  # a forwarded photo or voice note
        }
        for m in uow.outbox.for_recipient(openid, after_id=after)
    ]


def history(uow: AbstractUnitOfWork, ctx: Context, openid: str, limit: int = 100) -> list[dict]:
    """What this person wrote and the passive replies, oldest first."""
    return [
        {
            "text": m.content or m.msg_type,
            "type": m.msg_type,
            "reply": m.reply,
            "at": _iso(m.received_at),
        }
        for m in uow.inbound.for_openid(openid, limit=limit)
    ]


def _building_of_room(room: str | None) -> str | None:
    """The building a resident's registered room is in."""
    return building_of(room_label(room) or room)
