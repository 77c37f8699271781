"""What the dashboard, the CLI and the simulator read: pages and their JSON twins.

Each query is a function of (unit of work, Context, ...), run by `sheli.read(query, ...)` in a
unit of work of its own; they never write. What they return stays readable after the unit of work
closes (plain data, or rows whose relationships are loaded). The JSON of a single ticket or staff
member is in handlers/queries.py; the weekly figures come from handlers.summary.compute_summary,
so the dashboard and the WeChat summary never disagree.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from handlers import communities
from handlers import messages as msg
from handlers.errors import Invalid, NotFound
from handlers.events import when, when_span
from handlers.importing.events import openings_text
from handlers.keywords import mask_phone, mask_phones_in
from handlers.lifecycle import is_active
from handlers.notices import residents_of
from handlers.ports import Context, Policy
from handlers.queries import staff_json, ticket_detail, ticket_json
from handlers.site_summary import Comparison, compare_communities
from handlers.sla import SlaClock, countdown
from handlers.summary import (
    BadWeek,
    Summary,
    Week,
    compute_figures,
    compute_summary,
    figure_rows,
    render_summary,
    week_of,
)
from handlers.times import local_day_start, local_stamp, local_text, to_local, utc_offset
from nlu.places import place_sort_key, room_label
from storage.community import Event, SignUpStatus, TicketHelper, Volunteer
from storage.models import (
    Attachment,
    Resident,
    Staff,
    Ticket,
    TicketEvent,
)
from storage.states import ACTIVE_STATUSES, SENSITIVE_INTENTS, TicketStatus
from storage.uow import AbstractUnitOfWork

# Rows per page of the tickets lists (all tickets, a building's), of past events and of an
# event's sign-ups: a page costs the same with a hundred tickets or a million.
PAGE_SIZE = 50
EVENTS_PAGE_SIZE = 50
SIGN_UPS_PAGE_SIZE = 200


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


def week_summary(
    uow: AbstractUnitOfWork,
    ctx: Context,
    label: str | None = None,
    community: str | None = None,
) -> Summary:
    """The weekly summary's figures for ISO week `label` (default: the last full week), of
    one community's tickets when `community` is given (NotFound naming the known keys if there
    is no such community), else of the whole site."""
    week = _week(ctx, label)
    key = communities.require(uow, community).key if community is not None else None
    return compute_summary(uow, ctx.policy, week, ctx.now, community=key)


def site_comparison(
    uow: AbstractUnitOfWork, ctx: Context, label: str | None = None
) -> Comparison | None:
    """The active communities side by side for ISO week `label` (default: the last full
    week); None on a site of one community."""
    if not communities.many(uow):
        return None
    return compare_communities(uow, ctx.policy, _week(ctx, label), ctx.now)


@dataclass
class SummaryPage:
    week: Week
    figures: Summary
    text: str  # the very text the WeChat summary sends
    week_end: date
    previous: str
    following: str


def summary_page(
    uow: AbstractUnitOfWork, ctx: Context, label: str | None = None, community: str | None = None
) -> SummaryPage:
    """The summary of one week as the dashboard shows it, with the weeks before and after (of
    one community's tickets, when given)."""
    week = _week(ctx, label)
    figures = compute_summary(uow, ctx.policy, week, ctx.now, community=community)
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
    # This week's communities side by side; None on a site of one community.
    communities: Comparison | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "open": self.open,
            "overdue": self.overdue,
            "unassigned": self.unassigned,
            "this_week": self.this_week.to_json(),
            "recent": self.recent.to_json(),
            # The series leaves out the lists that are a snapshot of now (the same for every
            # week, and as long as there are late tickets): this_week and recent have them.
            "weekly": [_snapshot_free(s) for s in self.weekly],
            "buildings": [{"building": b, "tickets": n} for b, n in self.buildings],
            "communities": self.communities.to_json() if self.communities else None,
        }


def _snapshot_free(summary: Summary) -> dict[str, Any]:
    """A week of the series as JSON, without the lists that are a snapshot of now."""
    lean = replace(summary, overdue=[], overdue_detail=[])
    data = lean.to_json()
    del data["overdue"], data["overdue_detail"]
    return data


def overview(
    uow: AbstractUnitOfWork, ctx: Context, weeks: int = 12, community: str | None = None
) -> Overview:
    """Today's workload and the figures of the current week and the last `weeks` weeks (of
    one community's tickets, when given).

    One pass over the whole span: each kind of figure is one query grouped by week.
    """
    policy, now = ctx.policy, ctx.now
    periods = recent_weeks(now, policy.timezone, weeks)
    whole = span(periods, msg.RECENT_WEEKS.format(n=weeks))
    figures = compute_figures(uow, policy, periods, now, whole=whole, community=community)
    weekly = figures.weekly
    assert figures.whole is not None
    intents = sorted({i for s in weekly for i in s.new_by_intent})
    return Overview(
        open=figures.open,
        overdue=len(weekly[-1].overdue),
        unassigned=figures.unassigned,
        this_week=weekly[-1],
        recent=figures.whole,
        weekly=weekly,
        buildings=figures.buildings[:10],
        intents=intents,
        # The communities side by side: the whole site's overview only (a narrowed one, above
        # all a limited operator's, never shows the other communities).
        communities=(
            compare_communities(uow, policy, periods[-1], now)
            if community is None and communities.many(uow)
            else None
        ),
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
    page: int = 1
    community: str | None = None  # one community's tickets (None: the whole site)


def _selection(ctx: Context, wanted: TicketFilter) -> dict[str, Any]:
    """The filter as TicketRepository arguments (local dates as UTC bounds, "active")."""
    timezone = ctx.policy.timezone
    status: str | Sequence[str] | None = wanted.status
    if wanted.status == "active":
        status = ACTIVE_STATUSES
    return {
        "status": status,
        "intent": wanted.intent,
        "role": wanted.role,
        "building": wanted.building,
        "since": local_day_start(wanted.since, timezone) if wanted.since else None,
        "until": (
            local_day_start(wanted.until + timedelta(days=1), timezone) if wanted.until else None
        ),
        "overdue": wanted.overdue,
        "community": wanted.community,
    }


def find_tickets(
    uow: AbstractUnitOfWork, ctx: Context, wanted: TicketFilter, size: int = PAGE_SIZE
) -> tuple[list[Ticket], bool]:
    """One page (`wanted.page`, `size` a page) of the tickets matching the filter, newest
    first; the flag says another page follows. `overdue`: active tickets with a breach told
    (the SLA check's levels)."""
    found, more = uow.tickets.page(size=size, page=wanted.page, **_selection(ctx, wanted))
    return list(found), more


@dataclass
class TicketsPage:
    tickets: list[Ticket]
    has_next: bool
    buildings: list[str]  # every building that has had a ticket, for the filter's choices
    page: int = 1
    size: int = PAGE_SIZE
    sla: dict[int, SlaClock] = field(default_factory=dict)  # active tickets' clocks


def sla_clocks(
    uow: AbstractUnitOfWork, ctx: Context, tickets: Sequence[Ticket]
) -> dict[int, SlaClock]:
    """The SLA clock of each active ticket shown (from the ticket alone: its times)."""
    clocks = {t.id: countdown(t, ctx.policy, ctx.now) for t in tickets if is_active(t)}
    return {number: clock for number, clock in clocks.items() if clock is not None}


def tickets_page(uow: AbstractUnitOfWork, ctx: Context, wanted: TicketFilter) -> TicketsPage:
    """One page of the tickets list with its filter's choices and each active ticket's SLA
    clock."""
    found, more = find_tickets(uow, ctx, wanted)
    buildings = sorted(uow.tickets.buildings(wanted.community), key=place_sort_key)
    return TicketsPage(found, more, buildings, wanted.page, sla=sla_clocks(uow, ctx, found))


def tickets_json(uow: AbstractUnitOfWork, ctx: Context, wanted: TicketFilter) -> dict[str, Any]:
    """One page of the tickets list as JSON (`?page=`); a list never shows a full phone
    number, not even in the text. `truncated` (as `has_next`): another page follows."""
    found, more = find_tickets(uow, ctx, wanted)
    listed = [ticket_json(t, ctx.policy) for t in found]
    for item in listed:
        item["text"] = mask_phones_in(item["text"])
    return {
        "tickets": listed,
        "truncated": more,
        "page": wanted.page,
        "page_size": PAGE_SIZE,
        "has_next": more,
    }


def ticket_lines(
    uow: AbstractUnitOfWork, ctx: Context, wanted: TicketFilter, limit: int = 200
) -> list[tuple[Ticket, SlaClock | None]]:
    """`sheli tickets list`: page `wanted.page` of the tickets matching the filter, `limit` a
    page, newest first, with their SLA clocks (the dashboard's filter, so the list and the
    export select the same tickets)."""
    found, _ = find_tickets(uow, ctx, wanted, size=limit)
    clocks = sla_clocks(uow, ctx, found)
    return [(t, clocks.get(t.id)) for t in found]


# --- exports ---------------------------------------------------------------------------------

EXPORT_BATCH = 500
EXPORT_COLUMNS = tuple(msg.EXPORT_TICKET_COLUMNS)


def _batches(
    uow: AbstractUnitOfWork, ctx: Context, wanted: TicketFilter, size: int = EXPORT_BATCH
) -> Iterator[Sequence[Ticket]]:
    """Every ticket matching the filter, newest first, `size` at a time (keyset pagination)."""
    selection = _selection(ctx, wanted)
    before = None
    while True:
        batch = uow.tickets.batch_before(before, size, **selection)
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
    uow: AbstractUnitOfWork, ctx: Context, label: str | None = None, community: str | None = None
) -> SummaryExport:
    """The week's summary for a spreadsheet: its figures (worded as the text words them), its
    text, and the filter of its tickets (the ones it counts as new); of one community, when
    given."""
    page = summary_page(uow, ctx, label, community)
    return SummaryExport(
        week=page.week,
        figures=figure_rows(page.figures, ctx.policy),
        text=page.text,
        tickets=TicketFilter(since=page.week.local_start, until=page.week_end, community=community),
    )


def _in_community(ticket: Ticket | None, community: str | None) -> Ticket | None:
    """The ticket, unless a `community` is given and it is another's (then it is not there)."""
    if ticket is None or (community is not None and ticket.community != community):
        return None
    return ticket


def find_ticket_record(
    uow: AbstractUnitOfWork,
    ctx: Context,
    number: int,
    *,
    mask: bool = True,
    community: str | None = None,
) -> dict[str, Any] | None:
    """A ticket with its audit trail, attachments and followers; None if there is no #number
    (in `community`, when given)."""
    ticket = _in_community(uow.tickets.get(number), community)
    return ticket_detail(uow, ticket, ctx.policy, mask=mask) if ticket else None


def ticket_record(
    uow: AbstractUnitOfWork,
    ctx: Context,
    number: int,
    *,
    mask: bool = True,
    community: str | None = None,
) -> dict[str, Any]:
    """The same; NotFound if there is no #number (in `community`, when given)."""
    found = find_ticket_record(uow, ctx, number, mask=mask, community=community)
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
    """What was said about this ticket and nothing else: the residents' messages recorded as
    about it (with Sheli's replies) and every message Sheli sent about it, each read by the
    ticket's number (two indexed queries, however long anyone's history). Another ticket's
    messages, a hardship request on the same day, never show here. An erased resident's
    messages are gone."""
    policy = ctx.policy
    staff = {m.openid: m for m in uow.staff.list() if m.openid}
    residents = set(residents_of(uow, ticket))
    lines: list[ChatLine] = []
    for row in uow.inbound.about_ticket(ticket.id):
        if row.openid in staff or row.openid not in residents:
            continue  # staff keywords are in the trail; an erased resident said nothing here
        text = row.content or msg.CHAT_MESSAGE_KINDS.get(row.msg_type, row.msg_type)
        lines.append(ChatLine(row.received_at, "in", msg.CHAT_RESIDENT, text))
        if row.reply:
            lines.append(ChatLine(row.received_at, "reply", policy.site_name, row.reply))
    secretaries = set(policy.summary_recipients)
    for message in uow.outbox.about_ticket(ticket.id):
        member = staff.get(message.recipient)
        if member is not None:
            who = f"{policy.role_name(member.role)}{member.name}"
        elif message.recipient in secretaries:
            who = msg.CHAT_SECRETARY
        elif message.recipient in residents:
            who = msg.CHAT_RESIDENT
        else:
            continue  # an erased resident, or a staff account since unbound
        lines.append(
            ChatLine(
                message.created_at,
                "out",
                msg.CHAT_TO.format(who=who),
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


def ticket_page(
    uow: AbstractUnitOfWork, ctx: Context, number: int, community: str | None = None
) -> TicketPage:
    """Everything about one ticket: the trail, the conversation, the helpers, the SLA clock,
    the masked phone (the full one is shown by the audited ShowPhone command). NotFound for
    another community's ticket when a `community` is given."""
    ticket = _in_community(uow.tickets.get(number), community)
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


def staff_by_role(
    uow: AbstractUnitOfWork, ctx: Context, community: str | None = None
) -> list[RoleGroup]:
    """Every role from config (also the empty ones) with its staff and their open tickets (of
    one community and the site-wide pool, when given)."""
    load = uow.staff.open_load()
    groups = {role: RoleGroup(role, name, []) for role, name in ctx.policy.role_names.items()}
    for member in uow.staff.list(community=community):
        group = groups.setdefault(member.role, RoleGroup(member.role, member.role, []))
        group.members.append((member, load.get(member.id, 0)))
    return list(groups.values())


def staff_rows(
    uow: AbstractUnitOfWork, ctx: Context, community: str | None = None
) -> list[dict[str, Any]]:
    """Every staff member as JSON, with their open load (of one community and the site-wide
    pool, when given)."""
    load = uow.staff.open_load()
    return [
        staff_json(s, ctx.policy, load.get(s.id, 0)) for s in uow.staff.list(community=community)
    ]


def staff_member(
    uow: AbstractUnitOfWork, ctx: Context, staff_id: int, community: str | None = None
) -> Staff:
    """One staff member; NotFound if there is none with this id (of `community` or the
    site-wide pool, when given)."""
    member = uow.staff.get(staff_id)
    if member is None or (community is not None and member.community not in (community, None)):
        raise NotFound(msg.NO_SUCH_STAFF.format(id=staff_id))
    return member


def open_tickets_of(uow: AbstractUnitOfWork, ctx: Context, staff_id: int) -> int:
    """How many active tickets a staff member holds."""
    return uow.staff.open_load().get(staff_id, 0)


@dataclass
class Deactivation:
    """What 停用 would leave behind, shown before the operator confirms it."""

    member: Staff
    role_name: str
    load: int  # active tickets they hold (they stay with them until transferred)
    warning: str | None  # the last one on duty in the role (above all the branch liaison)


def deactivation(
    uow: AbstractUnitOfWork, ctx: Context, staff_id: int, community: str | None = None
) -> Deactivation:
    """Who would be deactivated, what they hold, and whether anybody else of their role (or the
    branch liaison, who takes what has nobody) is still on duty afterwards."""
    policy = ctx.policy
    member = staff_member(uow, ctx, staff_id, community)
    role_name = policy.role_name(member.role)

    def on_duty(role: str) -> int:
        others = uow.staff.list(role=role, active_only=True)
        return sum(1 for s in others if s.openid and s.id != member.id)

    warning = None
    if member.active and member.openid and not on_duty(member.role):
        if member.role == policy.fallback_role:
            warning = msg.STAFF_LAST_LIAISON.format(name=member.name, role=role_name)
        elif on_duty(policy.fallback_role):
            fallback = policy.role_name(policy.fallback_role)
            warning = msg.STAFF_LAST_OF_ROLE.format(
                name=member.name, role=role_name, fallback=fallback
            )
        else:
            warning = msg.STAFF_LAST_OF_ROLE_NOBODY.format(name=member.name, role=role_name)
    load = uow.staff.open_load().get(member.id, 0)
    return Deactivation(member, role_name, load, warning)


def bound_staff(uow: AbstractUnitOfWork, ctx: Context) -> list[Staff]:
    """Active staff with a bound account (whom the simulator can play)."""
    return [s for s in uow.staff.list(active_only=True) if s.openid]


# --- events ----------------------------------------------------------------------------------


def event_json(
    uow: AbstractUnitOfWork,
    policy: Policy,
    event: Event,
    now: datetime,
    counts: dict[str, int] | None = None,
) -> dict:
    """An event with its sign-up figures (times in UTC, plus the local start for display).

    `counts`: its sign-ups per status and "attended", from EventRepository.sign_up_counts
    (read for this one event when not given)."""
    if counts is None:
        counts = uow.events.sign_up_counts([event.id])[event.id]
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
        "when_span": when_span(event, policy),  # with the end, in the same style
        "place": event.place,
        "details": event.details,
        "openings": list(event.openings or []),
        "capacity": event.capacity,
        "confirmed": counts.get(SignUpStatus.CONFIRMED, 0),
        "waiting": counts.get(SignUpStatus.WAITING, 0),
        "cancelled_sign_ups": counts.get(SignUpStatus.CANCELLED, 0),
        "attended": counts.get("attended", 0),
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
    page: int = 1,
) -> list[dict]:
    """The events page: upcoming events first (soonest first), then one page of past ones
    (newest first, EVENTS_PAGE_SIZE a page)."""
    return events_page(
        uow,
        ctx,
        kind=kind,
        include_past=include_past,
        include_cancelled=include_cancelled,
        page=page,
    )["events"]


def events_page(
    uow: AbstractUnitOfWork,
    ctx: Context,
    *,
    kind: str | None = None,
    include_past: bool = True,
    include_cancelled: bool = True,
    page: int = 1,
) -> dict[str, Any]:
    """Upcoming events and one page of past ones, their sign-ups counted in one query;
    `has_next`: more past events follow."""
    now = ctx.now
    coming = [
        e
        for e in uow.events.list(kind=kind, since=now, include_cancelled=include_cancelled)
        if e.starts_at > now
    ]
    past: list[Event] = []
    more = False
    if include_past:
        past = list(
            uow.events.list(
                kind=kind,
                until=now + timedelta(microseconds=1),
                include_cancelled=include_cancelled,
                newest_first=True,
                offset=max(page - 1, 0) * EVENTS_PAGE_SIZE,
                limit=EVENTS_PAGE_SIZE + 1,
            )
        )
        more = len(past) > EVENTS_PAGE_SIZE
        past = past[:EVENTS_PAGE_SIZE]
    shown = coming + past
    counts = uow.events.sign_up_counts([e.id for e in shown])
    return {
        "events": [event_json(uow, ctx.policy, e, now, counts[e.id]) for e in shown],
        "page": page,
        "has_next": more,
    }


def _event(uow: AbstractUnitOfWork, event_id: int) -> Event:
    event = uow.events.get(event_id)
    if event is None:
        raise NotFound(msg.NO_SUCH_EVENT.format(n=event_id))
    return event


def event_detail(
    uow: AbstractUnitOfWork,
    ctx: Context,
    event_id: int,
    page: int = 1,
    community: str | None = None,
) -> dict:
    """One event with one page of its sign-up list (SIGN_UPS_PAGE_SIZE): residents by number,
    room and masked phone, never by openid. Events are the site's; with a `community`, a
    sign-up of a resident of another community is counted but shows nobody."""
    event = _event(uow, event_id)
    data = event_json(uow, ctx.policy, event, ctx.now)
    offset = max(page - 1, 0) * SIGN_UPS_PAGE_SIZE
    found = uow.events.sign_ups_with_residents(event.id, offset, SIGN_UPS_PAGE_SIZE + 1)
    rows = []
    waiting_position = (
        uow.events.waiting_before(event.id, found[0][0].id) if found and offset else 0
    )
    for signed, resident in found[:SIGN_UPS_PAGE_SIZE]:
        other = community is not None and resident is not None and resident.community != community
        if other:
            resident = None  # another community's resident: not theirs to see
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
                "other_community": other,
            }
        )
    data["sign_ups"] = rows
    data["page"] = page
    data["first_number"] = offset + 1
    data["has_next"] = len(found) > SIGN_UPS_PAGE_SIZE
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


def buildings_overview(
    uow: AbstractUnitOfWork, ctx: Context, community: str | None = None
) -> list[dict]:
    """Per building: rooms, beds, residents known to live there, occupancy, requests (of one
    community's buildings, residents and tickets, when given).

    Buildings that only appear in tickets (not imported) are listed too, without capacity.
    Residents and requests are counted in SQL (GROUP BY building).
    """
    living = uow.buildings.residents_per_building(community)
    tickets = uow.tickets.per_building(not_intents=SENSITIVE_INTENTS, community=community)
    requests = {name: n for name, (n, _, _) in tickets.items()}
    open_requests = {name: active for name, (_, active, _) in tickets.items()}
    cancelled = {name: gone for name, (_, _, gone) in tickets.items()}
    rows = []
    known = set()
    for building in uow.buildings.list():
        known.add(building.name)
        if community is not None and building.community != community:
            continue  # another community's building
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
                "cancelled_requests": cancelled.get(building.name, 0),
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
                "cancelled_requests": cancelled.get(name, 0),
            }
        )
    rows.sort(key=lambda row: place_sort_key(str(row["name"])))  # "3栋" before "12栋"
    return rows


def building_detail(
    uow: AbstractUnitOfWork, ctx: Context, name: str, page: int = 1, community: str | None = None
) -> dict:
    """One building: its rooms with capacity and residents, and one page of its requests
    (newest first; `requests` counts them all, `has_next` says another page follows). With a
    `community`, only what is that community's: another community's building is not there."""
    building = uow.buildings.by_name(name)
    if building is not None and community is not None and building.community != community:
        raise NotFound(msg.NO_SUCH_BUILDING.format(name=name))
    residents = uow.buildings.residents_in(name, community)
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
    tickets, more = uow.tickets.page(
        size=PAGE_SIZE,
        page=page,
        building=name,
        not_intents=SENSITIVE_INTENTS,
        community=community,
    )
    return {
        "name": name,
        "imported": building is not None,
        "capacity": sum(r["capacity"] or 0 for r in rooms),
        "residents": len(residents),
        "rooms": rooms,
        "requests": uow.tickets.count(
            building=name, not_intents=SENSITIVE_INTENTS, community=community
        ),
        "tickets": [ticket_json(t, ctx.policy) for t in tickets],
        "page": page,
        "has_next": more,
    }


def building_page(
    uow: AbstractUnitOfWork, ctx: Context, name: str, page: int = 1, community: str | None = None
) -> dict:
    """The same, for a building Sheli knows of (imported, lived in or with requests)."""
    detail = building_detail(uow, ctx, name, page, community)
    if not detail["imported"] and not detail["rooms"] and not detail["requests"]:
        raise NotFound(msg.NO_SUCH_BUILDING.format(name=name))
    return detail


def _resident_in(resident: Resident | None, uow: AbstractUnitOfWork, community: str | None) -> bool:
    """Whether a resident is one of `community`'s: they live in it, or (community not known
    yet) they asked it for something."""
    if resident is None or community is None or resident.community == community:
        return resident is not None
    if resident.community is not None:
        return False
    return bool(uow.tickets.list(resident_id=resident.id, community=community, limit=1))


def resident_page(
    uow: AbstractUnitOfWork, ctx: Context, resident_id: int, community: str | None = None
) -> dict:
    """A resident as the dashboard shows them: room, masked phone, tickets and sign-ups. With a
    `community`, only one of its residents, with its tickets."""
    resident = uow.residents.get(resident_id)
    if resident is None or not _resident_in(resident, uow, community):
        raise NotFound(msg.NO_SUCH_RESIDENT.format(n=resident_id))
    tickets = uow.tickets.list(
        resident_id=resident.id, newest_first=True, limit=PAGE_SIZE * 4, community=community
    )
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


def resources_overview(uow: AbstractUnitOfWork, ctx: Context, community: str | None = None) -> dict:
    """Alliance units, volunteer teams and the six staff roles with who fills them (a
    community's staff and the site-wide pool, when given)."""
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
    staff = [staff_json(s, policy, load.get(s.id, 0)) for s in uow.staff.list(community=community)]
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


# --- communities -----------------------------------------------------------------------------


def community_key(uow: AbstractUnitOfWork, ctx: Context, key: str) -> str:
    """The key of community `key` (`sheli tickets list --community`); NotFound naming the known
    ones when there is none."""
    return communities.require(uow, key).key


def community_choices(uow: AbstractUnitOfWork, ctx: Context) -> list[tuple[str, str]]:
    """(key, name) of every active community, `default` first: the dashboard's selector."""
    return [(c.key, c.name) for c in uow.communities.list(active_only=True)]


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
