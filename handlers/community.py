"""Community data in conversation and on the dashboard: events and sign-ups (with reminders and
attendance), buildings and rooms, and the party-building resources that help on tickets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from handlers import messages as msg
from handlers.events_import import EventFields, apply_event, room_label
from handlers.events_import import validate_event as _validate_event
from handlers.keywords import mask_phone, normalise
from handlers.ports import Policy
from handlers.queries import staff_json, ticket_json
from handlers.tickets import TicketError, building_of, notify, record
from storage.community import Event, EventKind, SignUp, SignUpStatus, TicketHelper
from storage.models import Resident, Ticket
from storage.states import ACTIVE_STATUSES
from storage.uow import AbstractUnitOfWork

if TYPE_CHECKING:
    from handlers.summary import Summary, Week

# Reminders go out this long before an event starts ("the day before").
REMINDER_LEAD = timedelta(hours=24)
# How many upcoming events a resident is shown at once.
SHOWN_EVENTS = 3


# --- formatting ------------------------------------------------------------------------------


def local(value: datetime, policy: Policy) -> datetime:
    """A naive UTC time from the database in the site's time zone."""
    return value.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(policy.timezone))


def when(event: Event, policy: Policy) -> str:
    """ "11月28日（周六）9:00" in the site's time zone."""
    start = local(event.starts_at, policy)
    return msg.EVENT_WHEN.format(
        month=start.month,
        day=start.day,
        weekday=msg.WEEKDAYS[start.weekday()],
        time=f"{start.hour}:{start.minute:02d}",
    )


def _place(event: Event) -> str:
    return event.place or "另行通知"


def _seats(uow: AbstractUnitOfWork, event: Event) -> str:
    if event.capacity is None:
        return ""
    left = event.capacity - uow.events.count_sign_ups(event.id)
    return msg.EVENT_SEATS_LEFT.format(left=left) if left > 0 else msg.EVENT_FULL


def _openings(event: Event, limit: int = 3) -> str:
    if not event.openings:
        return ""
    shown = [
        msg.EVENT_OPENING.format(
            company=o.get("company", ""),
            job=("·" if o.get("company") and o.get("job") else "") + o.get("job", ""),
            pay=f" {o['pay']}" if o.get("pay") else "",
        )
        for o in event.openings[:limit]
    ]
    more = f"等{len(event.openings)}个" if len(event.openings) > limit else ""
    return msg.EVENT_OPENINGS.format(openings="；".join(shown) + more)


def event_line(uow: AbstractUnitOfWork, policy: Policy, event: Event, openings: bool) -> str:
    """One event as residents see it: 「活动n」 time, title, place, seats (and openings)."""
    line = msg.EVENT_LINE.format(
        n=event.id,
        when=when(event, policy),
        title=event.title,
        place=_place(event),
        seats=_seats(uow, event),
    )
    return line + (_openings(event) if openings else "")


# --- events in conversation -----------------------------------------------------------------


def upcoming(
    uow: AbstractUnitOfWork, now: datetime, kind: str | None = None, limit: int = SHOWN_EVENTS
) -> Sequence[Event]:
    """The next events that have not started yet."""
    return uow.events.list(kind=kind, since=now, limit=limit)


def asks_about_jobs(text: str) -> bool:
    """A question about fairs or openings — not a request for personal help finding work."""
    clean = normalise(text).replace(" ", "")
    if any(word in clean for word in msg.PERSONAL_HELP_WORDS):
        return False
    return any(word in clean for word in msg.JOB_QUESTION_WORDS)


def answer_job_question(
    uow: AbstractUnitOfWork, policy: Policy, text: str, now: datetime
) -> str | None:
    """The next job fairs for a question about fairs or openings; None → open a ticket."""
    if not asks_about_jobs(text):
        return None
    fairs = upcoming(uow, now, EventKind.JOB_FAIR)
    if not fairs:
        return None
    lines = [msg.JOB_FAIRS_HEADER]
    lines += [event_line(uow, policy, fair, openings=True) for fair in fairs]
    lines.append(msg.JOB_FAIRS_FOOTER.format(n=fairs[0].id))
    return "\n".join(lines)


def event_hint(uow: AbstractUnitOfWork, policy: Policy, intent: str, now: datetime) -> str:
    """A line added to a ticket reply: the next legal clinic, or the next job fair."""
    template, kind = {
        "legal_consult": (msg.NEXT_LEGAL_CLINIC, EventKind.LEGAL_CLINIC),
        "job_fair": (msg.NEXT_JOB_FAIR, EventKind.JOB_FAIR),
    }.get(intent, ("", ""))
    if not template:
        return ""
    found = upcoming(uow, now, kind, limit=1)
    if not found:
        return ""
    event = found[0]
    return template.format(
        n=event.id, when=when(event, policy), title=event.title, place=_place(event)
    )


def sign_up(
    uow: AbstractUnitOfWork,
    policy: Policy,
    resident: Resident,
    number: int | None,
    now: datetime,
) -> str:
    """`报名 <n>`: sign the resident up once; a full event puts them on the waiting list."""
    if number is None:
        events = upcoming(uow, now)
        if not events:
            return msg.SIGN_UP_NOTHING
        lines = "\n".join(event_line(uow, policy, e, openings=False) for e in events)
        return msg.SIGN_UP_WHICH.format(n=events[0].id, events=lines)
    event = uow.events.get(number)
    if event is None:
        return msg.SIGN_UP_NO_EVENT.format(n=number)
    if event.cancelled:
        return msg.SIGN_UP_EVENT_CANCELLED.format(n=number)
    if event.starts_at <= now:
        return msg.SIGN_UP_CLOSED.format(n=number)
    existing = uow.events.sign_up_of(event.id, resident.id)
    if existing is not None and existing.status != SignUpStatus.CANCELLED:
        status = msg.SIGN_UP_STATUS.get(existing.status, existing.status)
        return msg.SIGN_UP_ALREADY.format(n=event.id, status=status)
    full = event.capacity is not None and uow.events.count_sign_ups(event.id) >= event.capacity
    status = SignUpStatus.WAITING if full else SignUpStatus.CONFIRMED
    # Signing up less than a day before: this reply is the reminder.
    reminded = now if now >= event.starts_at - REMINDER_LEAD else None
    if existing is None:
        existing = uow.events.add_sign_up(
            SignUp(
                event_id=event.id,
                resident_id=resident.id,
                status=status,
                created_at=now,
                updated_at=now,
                reminded_at=reminded,
            )
        )
    else:  # signed up again after cancelling
        existing.status, existing.updated_at, existing.reminded_at = status, now, reminded
    if full:
        position = [s.id for s in uow.events.waiting(event.id)].index(existing.id) + 1
        return msg.SIGN_UP_WAITING.format(n=event.id, title=event.title, position=position)
    return msg.SIGN_UP_OK.format(
        n=event.id, title=event.title, when=when(event, policy), place=_place(event)
    )


def cancel_sign_up(
    uow: AbstractUnitOfWork, policy: Policy, event_id: int, resident_id: int, now: datetime
) -> bool:
    """Withdraw a sign-up (operator or resident); the first on the waiting list moves up."""
    found = uow.events.sign_up_of(event_id, resident_id)
    if found is None or found.status == SignUpStatus.CANCELLED:
        return False
    found.status, found.updated_at = SignUpStatus.CANCELLED, now
    promote_waiting(uow, policy, found.event, now)
    return True


def promote_waiting(
    uow: AbstractUnitOfWork, policy: Policy, event: Event, now: datetime
) -> list[SignUp]:
    """Move people from the waiting list into free places, and tell them."""
    if event.cancelled or event.starts_at <= now:
        return []
    free = None if event.capacity is None else event.capacity - uow.events.count_sign_ups(event.id)
    promoted = []
    for waiting in uow.events.waiting(event.id):
        if free is not None and free <= 0:
            break
        waiting.status, waiting.updated_at = SignUpStatus.CONFIRMED, now
        if now >= event.starts_at - REMINDER_LEAD:
            waiting.reminded_at = now  # the promotion message is the reminder
        resident = uow.residents.get(waiting.resident_id) if waiting.resident_id else None
        if resident is not None and not resident.erased_at:
            notify(
                uow,
                resident.openid,
                msg.SIGN_UP_PROMOTED.format(
                    n=event.id, title=event.title, when=when(event, policy), place=_place(event)
                ),
                now,
                kind="event",
                dedupe_key=f"event-promoted:{event.id}:{resident.id}",
            )
        promoted.append(waiting)
        free = None if free is None else free - 1
    return promoted


def send_event_reminders(uow: AbstractUnitOfWork, policy: Policy, now: datetime) -> list[int]:
    """Duty: remind each confirmed sign-up once, the day before; returns the sign-up ids."""
    sent: list[int] = []
    for signed in uow.events.reminders_due(now, now + REMINDER_LEAD):
        event = signed.event
        resident = uow.residents.get(signed.resident_id) if signed.resident_id else None
        signed.reminded_at = now
        if resident is None or resident.erased_at:
            continue
        start = local(event.starts_at, policy)
        days = (start.date() - local(now, policy).date()).days
        notify(
            uow,
            resident.openid,
            msg.EVENT_REMINDER.format(
                day=msg.EVENT_DAY_NAMES.get(days, f"{start.month}月{start.day}日"),
                time=f"{start.hour}:{start.minute:02d}",
                n=event.id,
                title=event.title,
                place=_place(event),
            ),
            now,
            kind="event",
            dedupe_key=f"event-reminder:{event.id}:{resident.id}",
        )
        sent.append(signed.id)
    return sent


def mark_attendance(
    uow: AbstractUnitOfWork, event_id: int, resident_id: int, attended: bool, now: datetime
) -> SignUp:
    """An operator records whether a signed-up resident came."""
    found = uow.events.sign_up_of(event_id, resident_id)
    if found is None:
        raise ValueError(f"resident {resident_id} did not sign up for 活动{event_id}")
    found.attended, found.attendance_marked_at = attended, now
    return found


def mark_sign_up_attendance(
    uow: AbstractUnitOfWork, sign_up_id: int, attended: bool, now: datetime
) -> SignUp:
    """The same by sign-up id (also works for residents who have since been erased)."""
    found = uow.events.get_sign_up(sign_up_id)
    if found is None:
        raise ValueError(f"no sign-up {sign_up_id}")
    found.attended, found.attendance_marked_at = attended, now
    return found


def resident_sign_ups(uow: AbstractUnitOfWork, resident: Resident) -> str | None:
    """The 我的信息 line listing the resident's sign-ups, if any."""
    items = [
        msg.MY_INFO_SIGN_UP.format(
            n=s.event_id,
            title=s.event.title,
            status=msg.SIGN_UP_STATUS.get(s.status, s.status),
        )
        for s in uow.events.sign_ups_of_resident(resident.id)[:5]
    ]
    return msg.MY_INFO_SIGN_UPS.format(items="、".join(items)) if items else None


# --- events for operators -------------------------------------------------------------------


def validate_event(data: Mapping[str, Any], policy: Policy) -> EventFields:
    """An event from a dashboard form (same rules as an import); ValueError lists problems."""
    fields, problems = _validate_event(data, policy.timezone)
    if fields is None:
        raise ValueError("; ".join(problems))
    return fields


def save_event(
    uow: AbstractUnitOfWork,
    policy: Policy,
    data: Mapping[str, Any],
    now: datetime,
    event_id: int | None = None,
) -> Event:
    """Create an event, or update 活动<event_id>; more capacity moves the waiting list up."""
    fields = validate_event(data, policy)
    if event_id is None:
        event = Event(created_at=now, cancelled=False)
        apply_event(event, fields, now)
        return uow.events.add(event)
    found = uow.events.get(event_id)
    if found is None:
        raise ValueError(f"no event {event_id}")
    apply_event(found, fields, now)
    promote_waiting(uow, policy, found, now)
    return found


def cancel_event(uow: AbstractUnitOfWork, event_id: int, now: datetime) -> Event:
    """Cancel an event: no more sign-ups, no reminders, and everyone signed up is told once."""
    found = uow.events.get(event_id)
    if found is None:
        raise ValueError(f"no event {event_id}")
    if found.cancelled:
        return found
    found.cancelled, found.updated_at = True, now
    if found.starts_at <= now:
        return found
    for sign_up in found.sign_ups:
        if sign_up.status == SignUpStatus.CANCELLED or sign_up.resident_id is None:
            continue
        resident = uow.residents.get(sign_up.resident_id)
        if resident is not None and not resident.erased_at:
            notify(
                uow,
                resident.openid,
                msg.EVENT_CANCELLED.format(n=found.id, title=found.title),
                now,
                kind="event",
                dedupe_key=f"event-cancelled:{found.id}:{resident.id}",
            )
    return found


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


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
        "local_start": local(event.starts_at, policy).strftime("%Y-%m-%d %H:%M"),
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
    policy: Policy,
    now: datetime,
    *,
    kind: str | None = None,
    include_past: bool = True,
    include_cancelled: bool = True,
) -> list[dict]:
    """The events page: upcoming events first (soonest first), then past ones (newest first)."""
    events = uow.events.list(kind=kind, include_cancelled=include_cancelled)
    coming = [e for e in events if e.starts_at > now]
    past = [e for e in reversed(events) if e.starts_at <= now] if include_past else []
    return [event_json(uow, policy, e, now) for e in coming + past]


def event_detail(uow: AbstractUnitOfWork, policy: Policy, event_id: int, now: datetime) -> dict:
    """One event with its sign-up list (residents by number and room, never by openid)."""
    event = uow.events.get(event_id)
    if event is None:
        raise ValueError(f"no event {event_id}")
    data = event_json(uow, policy, event, now)
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


# --- weekly summary -------------------------------------------------------------------------


@dataclass
class EventFigures:
    sign_ups: int
    waiting: int
    held: int
    attended: int
    attendance_marked: int


def week_figures(uow: AbstractUnitOfWork, start: datetime, end: datetime) -> EventFigures:
    """Sign-ups made in [start, end) and attendance at the events held then."""
    made = [s for s in uow.events.sign_ups_between(start, end) if s.status != "cancelled"]
    held = uow.events.list(since=start, until=end)
    signed = [s for e in held for s in e.sign_ups if s.status == SignUpStatus.CONFIRMED]
    return EventFigures(
        sign_ups=len(made),
        waiting=sum(1 for s in made if s.status == SignUpStatus.WAITING),
        held=len(held),
        attended=sum(1 for s in signed if s.attended),
        attendance_marked=sum(1 for s in signed if s.attended is not None),
    )


def add_to_summary(uow: AbstractUnitOfWork, summary: Summary, week: Week) -> None:
    """Put the week's sign-ups and attendance into the weekly summary (`extra`)."""
    figures = week_figures(uow, week.start, week.end)
    summary.extra["events"] = {
        "sign_ups": figures.sign_ups,
        "waiting": figures.waiting,
        "held": figures.held,
        "attended": figures.attended,
        "attendance_marked": figures.attendance_marked,
    }
    if figures.sign_ups or figures.held:
        summary.extra.setdefault("lines", []).append(
            msg.SUMMARY_EVENTS.format(
                sign_ups=figures.sign_ups,
                waiting=figures.waiting,
                held=figures.held,
                attended=figures.attended,
            )
        )


# --- rooms and residents ---------------------------------------------------------------------


def learn_room(resident: Resident, ticket: Ticket) -> str:
    """A repair at a room tells where a resident without a registered room lives."""
    if resident.room or ticket.intent != "repair":
        return ""
    label = room_label(ticket.location)
    if label is None:
        return ""
    resident.room = label
    return msg.ROOM_LEARNED.format(room=label)


def buildings_overview(uow: AbstractUnitOfWork) -> list[dict]:
    """Per building: rooms, beds, residents known to live there, occupancy, requests.

    Buildings that only appear in tickets (not imported) are listed too, without capacity.
    """
    residents = uow.buildings.residents_with_room()
    living = Counter(building_of(room_label(r.room) or r.room) for r in residents)
    tickets = uow.tickets.list()
    requests = Counter(t.building for t in tickets if t.building)
    open_requests = Counter(
        t.building for t in tickets if t.building and t.status in ACTIVE_STATUSES
    )
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
    return rows


def building_detail(uow: AbstractUnitOfWork, policy: Policy, name: str) -> dict:
    """One building: its rooms with capacity and residents, and its requests."""
    building = uow.buildings.by_name(name)
    residents = [
        r
        for r in uow.buildings.residents_with_room()
        if building_of(room_label(r.room) or r.room) == name
    ]
    by_room: dict[str, list[int]] = {}
    for resident in residents:
        by_room.setdefault(room_label(resident.room) or resident.room or "", []).append(resident.id)
    rooms = []
    for room in building.rooms if building else []:
        ids = by_room.pop(room.label, [])
        rooms.append(
            {
                "label": room.label,
                "number": room.number,
                "capacity": room.capacity,
                "residents": ids,
            }
        )
    for label, ids in sorted(by_room.items()):  # rooms residents named that were never imported
        rooms.append({"label": label, "number": None, "capacity": None, "residents": ids})
    tickets = uow.tickets.list(building=name, newest_first=True, limit=200)
    return {
        "name": name,
        "imported": building is not None,
        "capacity": sum(r["capacity"] or 0 for r in rooms),
        "residents": len(residents),
        "rooms": rooms,
        "tickets": [ticket_json(t, policy) for t in tickets],
    }


def resident_page(uow: AbstractUnitOfWork, policy: Policy, resident_id: int) -> dict:
    """A resident as the dashboard shows them: room, masked phone, tickets and sign-ups."""
    resident = uow.residents.get(resident_id)
    if resident is None:
        raise ValueError(f"no resident {resident_id}")
    tickets = uow.tickets.list(resident_id=resident.id, newest_first=True)
    return {
        "id": resident.id,
        "room": resident.room,
        "phone": mask_phone(resident.phone) if resident.phone else None,
        "created_at": _iso(resident.created_at),
        "last_seen_at": _iso(resident.last_seen_at),
        "erased": resident.erased_at is not None,
        "tickets": [ticket_json(t, policy) for t in tickets],
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


def resources_overview(uow: AbstractUnitOfWork, policy: Policy) -> dict:
    """Alliance units, volunteer teams and the six staff roles with who fills them."""
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


def assign_helper(
    uow: AbstractUnitOfWork, number: int, volunteer_id: int, actor: str, now: datetime
) -> TicketHelper:
    """A volunteer helps on ticket #number: recorded in its audit trail, the assignee told."""
    ticket = uow.tickets.get(number)
    if ticket is None:
        raise TicketError(msg.NO_SUCH_TICKET.format(n=number))
    volunteer = uow.resources.volunteer(volunteer_id)
    if volunteer is None or not volunteer.active:
        raise ValueError(f"no active volunteer {volunteer_id}")
    existing = uow.resources.helper(ticket.id, volunteer.id)
    if existing is not None:
        return existing
    helper = TicketHelper(
        ticket_id=ticket.id, volunteer_id=volunteer.id, assigned_at=now, assigned_by=actor
    )
    helper.volunteer = volunteer
    uow.resources.add_helper(helper)
    record(
        uow,
        ticket,
        "helper_assigned",
        actor,
        now,
        f"{volunteer.team}{volunteer.name}",
        volunteer_id=volunteer.id,
    )
    if ticket.assignee is not None:
        notify(
            uow,
            ticket.assignee.openid,
            msg.NOTIFY_HELPER.format(n=ticket.id, volunteer=volunteer.name, team=volunteer.team),
            now,
            ticket=ticket,
        )
    return helper
