"""Community events and sign-ups: job fairs answered in conversation, the next legal clinic beside
a legal ticket, `报名 n` with its waiting list, reminders the day before, and what operators do
to events (save, cancel, withdraw a sign-up, mark attendance). Events are written 「活动n」 so they
never look like a ticket #n."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from handlers import commands as cmd
from handlers import messages as msg
from handlers.errors import Invalid, NotFound
from handlers.importing.events import apply_event, openings_text, validate_event
from handlers.keywords import normalise
from handlers.notices import notify
from handlers.ports import Context, Policy
from handlers.times import local_day_start, to_local
from storage.community import Event, EventKind, SignUp, SignUpStatus
from storage.models import Resident
from storage.uow import AbstractUnitOfWork

# Reminders go out this long before an event starts ("the day before").
REMINDER_LEAD = timedelta(hours=24)
# How many upcoming events a resident is shown at once.
SHOWN_EVENTS = 3


# --- how residents see an event ---------------------------------------------------------------


def _day_and_time(moment: datetime) -> str:
    return msg.EVENT_WHEN.format(
        month=moment.month,
        day=moment.day,
        weekday=msg.WEEKDAYS[moment.weekday()],
        time=f"{moment.hour}:{moment.minute:02d}",
    )


def when(event: Event, policy: Policy) -> str:
    """ "11月28日（周六）9:00" in the site's time zone."""
    return _day_and_time(to_local(event.starts_at, policy.timezone))


def when_span(event: Event, policy: Policy) -> str:
    """The start and, if set, the end in one style: "12月5日（周六）9:00–12:00", or
    "12月5日（周六）9:00 至 12月6日（周日）12:00" across days."""
    start = to_local(event.starts_at, policy.timezone)
    if event.ends_at is None:
        return _day_and_time(start)
    end = to_local(event.ends_at, policy.timezone)
    if end.date() == start.date():
        return msg.EVENT_SPAN_SAME_DAY.format(
            start=_day_and_time(start), end=f"{end.hour}:{end.minute:02d}"
        )
    return msg.EVENT_SPAN.format(start=_day_and_time(start), end=_day_and_time(end))


def place_of(event: Event) -> str:
    return event.place or msg.EVENT_PLACE_TBD


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
    more = (
        msg.EVENT_MORE_OPENINGS.format(n=len(event.openings)) if len(event.openings) > limit else ""
    )
    return msg.EVENT_OPENINGS.format(openings="；".join(shown) + more)


def event_line(uow: AbstractUnitOfWork, policy: Policy, event: Event, openings: bool) -> str:
    """One event as residents see it: 「活动n」 time, title, place, seats (and openings)."""
    line = msg.EVENT_LINE.format(
        n=event.id,
        when=when(event, policy),
        title=event.title,
        place=place_of(event),
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


def answer_job_question(uow: AbstractUnitOfWork, ctx: Context, text: str) -> str | None:
    """The next job fairs for a question about fairs or openings; None → open a ticket."""
    if not asks_about_jobs(text):
        return None
    fairs = upcoming(uow, ctx.now, EventKind.JOB_FAIR)
    if not fairs:
        return None
    lines = [msg.JOB_FAIRS_HEADER]
    lines += [event_line(uow, ctx.policy, fair, openings=True) for fair in fairs]
    lines.append(msg.JOB_FAIRS_FOOTER.format(n=fairs[0].id))
    return "\n".join(lines)


def kind_asked_about(text: str) -> str | None:
    """The kind of event a question names ("周末有讲座吗" → lecture), or None."""
    clean = normalise(text).replace(" ", "")
    for kind, words in msg.EVENT_QUERY_KIND_WORDS.items():
        if any(word in clean for word in words):
            return kind
    return None


def _a_mix_of_kinds(events: Sequence[Event], limit: int = 5) -> list[Event]:
    """The soonest event of each kind, then the soonest others, up to `limit`, in time order:
    thirteen job fairs in a row must not hide the market and the legal clinic."""
    chosen: dict[int, Event] = {}
    for event in events:
        if len(chosen) < limit and all(e.kind != event.kind for e in chosen.values()):
            chosen[event.id] = event
    for event in events:
        if len(chosen) >= limit:
            break
        chosen.setdefault(event.id, event)
    return sorted(chosen.values(), key=lambda e: (e.starts_at, e.id))


@dataclass(frozen=True)
class Period:
    """Days a question names ("周末"): `name` as said back, [start, end) as naive UTC."""

    name: str
    start: datetime
    end: datetime


def _first_day_and_length(key: str, today: date) -> tuple[date, int]:
    weekday = today.weekday()  # Monday is 0
    next_monday = today + timedelta(days=7 - weekday)
    return {
        "today": (today, 1),
        "tomorrow": (today + timedelta(days=1), 1),
        "day_after": (today + timedelta(days=2), 1),
        "weekend": (
            today + timedelta(days=5 - weekday) if weekday < 5 else today,
            7 - max(weekday, 5),
        ),
        "next_weekend": (next_monday + timedelta(days=5), 2),
        "saturday": (today + timedelta(days=(5 - weekday) % 7), 1),
        "sunday": (today + timedelta(days=(6 - weekday) % 7), 1),
        "this_week": (today, 7 - weekday),
        "next_week": (next_monday, 7),
    }[key]


def period_asked_about(text: str, now: datetime, timezone: str) -> Period | None:
    """The days an event question names ("周末", "明天", "这周", "下周"), from now on; None when
    it names none."""
    clean = normalise(text).replace(" ", "")
    for key, words in msg.EVENT_PERIOD_WORDS.items():
        if any(word in clean for word in words):
            first, days = _first_day_and_length(key, to_local(now, timezone).date())
            start = max(now, local_day_start(first, timezone))
            end = local_day_start(first + timedelta(days=days), timezone)
            return Period(msg.EVENT_PERIOD_NAMES[key], start, end)
    return None


def _answer_for_period(
    uow: AbstractUnitOfWork, ctx: Context, period: Period, kind: str | None
) -> str:
    """The events of `period` (of `kind`), or that there are none and the soonest ones."""
    kind_name = msg.EVENT_KIND_NAMES.get(kind, kind) if kind else msg.EVENTS_ANY_KIND
    found = list(uow.events.list(kind=kind, since=period.start, until=period.end, limit=50))
    lines = []
    if found:
        lines.append(msg.EVENTS_IN_PERIOD_HEADER.format(period=period.name, kind=kind_name))
        found = _a_mix_of_kinds(found) if kind is None else found[:SHOWN_EVENTS]
    elif kind is not None and not upcoming(uow, ctx.now, kind):
        # None of the kind at all, that day or later: said as for a question without days.
        found = _a_mix_of_kinds(upcoming(uow, ctx.now, limit=50))
        if not found:
            return msg.EVENTS_NONE
        lines.append(msg.EVENTS_NONE_OF_KIND.format(kind=kind_name))
    else:
        lines.append(msg.EVENTS_NONE_IN_PERIOD.format(period=period.name, kind=kind_name))
        found = list(upcoming(uow, ctx.now, kind)) or _a_mix_of_kinds(
            upcoming(uow, ctx.now, limit=50)
        )
        if not found:
            return lines[0] + msg.EVENTS_NONE
        lines.append(msg.EVENTS_SOONEST_HEADER.format(kind=kind_name))
    lines += [event_line(uow, ctx.policy, event, openings=False) for event in found]
    lines.append(msg.EVENTS_FOOTER.format(n=found[0].id))
    return "\n".join(lines)


def answer_event_question(uow: AbstractUnitOfWork, ctx: Context, text: str) -> str:
    """`event_query`: the next community events of every kind ("社区最近有什么活动"), or of the
    kind the question names ("周末有没有讲座"), from the events table; a polite answer when
    nothing is planned. Job fairs are listed like the rest (openings are for job questions).
    A question that names days ("周末", "明天", "这周") gets the events of those days."""
    kind = kind_asked_about(text)
    period = period_asked_about(text, ctx.now, ctx.policy.timezone)
    if period is not None:
        return _answer_for_period(uow, ctx, period, kind)
    header = msg.EVENTS_HEADER
    found: Sequence[Event] = []
    if kind is not None:
        found = upcoming(uow, ctx.now, kind)
        kind_name = msg.EVENT_KIND_NAMES.get(kind, kind)
        header = msg.EVENTS_OF_KIND_HEADER.format(kind=kind_name)
        if not found:
            header = msg.EVENTS_NONE_OF_KIND.format(kind=kind_name)
    if not found:
        found = _a_mix_of_kinds(upcoming(uow, ctx.now, limit=50))
    if not found:
        return msg.EVENTS_NONE
    lines = [header]
    lines += [event_line(uow, ctx.policy, event, openings=False) for event in found]
    lines.append(msg.EVENTS_FOOTER.format(n=found[0].id))
    return "\n".join(lines)


# Which event a ticket's reply mentions: the next legal clinic, or the next job fair.
HINTS: dict[str, tuple[str, str]] = {
    "legal_consult": (msg.NEXT_LEGAL_CLINIC, EventKind.LEGAL_CLINIC),
    "job_fair": (msg.NEXT_JOB_FAIR, EventKind.JOB_FAIR),
}


def event_hint(uow: AbstractUnitOfWork, ctx: Context, intent: str) -> str:
    """A line added to a ticket reply: the next legal clinic, or the next job fair."""
    if intent not in HINTS:
        return ""
    template, kind = HINTS[intent]
    found = upcoming(uow, ctx.now, kind, limit=1)
    if not found:
        return ""
    event = found[0]
    return template.format(
        n=event.id, when=when(event, ctx.policy), title=event.title, place=place_of(event)
    )


def sign_up(uow: AbstractUnitOfWork, ctx: Context, resident: Resident, number: int | None) -> str:
    """`报名 <n>`: sign the resident up once; a full event puts them on the waiting list."""
    now, policy = ctx.now, ctx.policy
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
    if existing is not None and existing.status == SignUpStatus.WAITING:
        position = [s.id for s in uow.events.waiting(event.id)].index(existing.id) + 1
        return msg.SIGN_UP_ALREADY_WAITING.format(n=event.id, position=position)
    if existing is not None and existing.status != SignUpStatus.CANCELLED:
        return msg.SIGN_UP_ALREADY.format(n=event.id)
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
        n=event.id, title=event.title, when=when(event, policy), place=place_of(event)
    )


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


def give_up_future_seats(uow: AbstractUnitOfWork, ctx: Context, resident: Resident) -> list[int]:
    """`注销`: the resident's sign-ups for events still to come are cancelled, and the waiting
    lists move up (a seat must not be kept by someone who is gone). Returns the event ids."""
    freed = []
    for signed in uow.events.sign_ups_of_resident(resident.id):
        event = signed.event
        if signed.status == SignUpStatus.CANCELLED or event.cancelled or event.starts_at <= ctx.now:
            continue
        signed.status, signed.updated_at = SignUpStatus.CANCELLED, ctx.now
        freed.append(event.id)
        promote_waiting(uow, ctx, event)
    return freed


def promote_waiting(uow: AbstractUnitOfWork, ctx: Context, event: Event) -> list[SignUp]:
    """Move people from the waiting list into free places, and tell them."""
    now = ctx.now
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
                    n=event.id,
                    title=event.title,
                    when=when(event, ctx.policy),
                    place=place_of(event),
                ),
                now,
                kind="event",
                dedupe_key=f"event-promoted:{event.id}:{resident.id}",
            )
        promoted.append(waiting)
        free = None if free is None else free - 1
    return promoted


# --- operators' commands ----------------------------------------------------------------------


def _event(uow: AbstractUnitOfWork, event_id: int) -> Event:
    found = uow.events.get(event_id)
    if found is None:
        raise NotFound(msg.NO_SUCH_EVENT.format(n=event_id))
    return found


def _sign_up(uow: AbstractUnitOfWork, event: Event, sign_up_id: int) -> SignUp:
    found = uow.events.get_sign_up(sign_up_id)
    if found is None or found.event_id != event.id:
        raise NotFound(msg.NO_SUCH_SIGN_UP.format(n=event.id))
    return found


def save_event(command: cmd.SaveEvent, uow: AbstractUnitOfWork, ctx: Context) -> Event:
    """Create an event, or update 活动<event_id> (more places move the waiting list up).

    Openings sent back as the text the form showed keep what the text cannot say (the counts
    of an imported file). Invalid lists the problems, as an import would.
    """
    found = _event(uow, command.event_id) if command.event_id is not None else None
    data = dict(command.data)
    openings = data.get("openings")
    if (
        found is not None
        and isinstance(openings, str)
        and openings.strip() == openings_text(found.openings)
    ):
        data["openings"] = list(found.openings or [])
    fields, problems = validate_event(data, ctx.policy.timezone)
    if fields is None:
        raise Invalid("; ".join(problems))
    if found is None:
        event = Event(created_at=ctx.now, cancelled=False)
        apply_event(event, fields, ctx.now)
        return uow.events.add(event)
    apply_event(found, fields, ctx.now)
    promote_waiting(uow, ctx, found)
    return found


def cancel_event(command: cmd.CancelEvent, uow: AbstractUnitOfWork, ctx: Context) -> Event:
    """Cancel an event: no more sign-ups, no reminders, and everyone signed up is told once."""
    found = _event(uow, command.event_id)
    if found.cancelled:
        return found
    found.cancelled, found.updated_at = True, ctx.now
    if found.starts_at <= ctx.now:
        return found
    for signed in found.sign_ups:
        if signed.status == SignUpStatus.CANCELLED or signed.resident_id is None:
            continue
        resident = uow.residents.get(signed.resident_id)
        if resident is not None and not resident.erased_at:
            notify(
                uow,
                resident.openid,
                msg.EVENT_CANCELLED.format(n=found.id, title=found.title),
                ctx.now,
                kind="event",
                dedupe_key=f"event-cancelled:{found.id}:{resident.id}",
            )
    return found


def withdraw_sign_up(
    command: cmd.WithdrawSignUp, uow: AbstractUnitOfWork, ctx: Context
) -> SignUp | None:
    """Withdraw a resident's sign-up; the first on the waiting list moves up and is told.

    Returns the sign-up, or None when it was withdrawn already. An erased resident's sign-up
    is an anonymous count and is not withdrawn (NotFound).
    """
    event = _event(uow, command.event_id)
    found = _sign_up(uow, event, command.sign_up_id)
    if found.resident_id is None:
        raise NotFound(msg.NO_SUCH_SIGN_UP.format(n=event.id))
    if found.status == SignUpStatus.CANCELLED:
        return None
    found.status, found.updated_at = SignUpStatus.CANCELLED, ctx.now
    promote_waiting(uow, ctx, event)
    return found


def mark_attendance(command: cmd.MarkAttendance, uow: AbstractUnitOfWork, ctx: Context) -> int:
    """Record who came (confirmed sign-ups only; others are skipped); returns how many changed."""
    event = _event(uow, command.event_id)
    changed = 0
    for sign_up_id, came in command.marks.items():
        signed = _sign_up(uow, event, sign_up_id)
        if signed.status != SignUpStatus.CONFIRMED or signed.attended is came:
            continue
        signed.attended, signed.attendance_marked_at = came, ctx.now
        changed += 1
    return changed


def send_event_reminders(
    command: cmd.SendEventReminders, uow: AbstractUnitOfWork, ctx: Context
) -> list[int]:
    """Duty: remind each confirmed sign-up once, the day before; returns the sign-up ids."""
    now, timezone = ctx.now, ctx.policy.timezone
    sent: list[int] = []
    for signed in uow.events.reminders_due(now, now + REMINDER_LEAD):
        event = signed.event
        resident = uow.residents.get(signed.resident_id) if signed.resident_id else None
        signed.reminded_at = now
        if resident is None or resident.erased_at:
            continue
        start = to_local(event.starts_at, timezone)
        days = (start.date() - to_local(now, timezone).date()).days
        notify(
            uow,
            resident.openid,
            msg.EVENT_REMINDER.format(
                day=msg.EVENT_DAY_NAMES.get(days, msg.EVENT_DAY.format(m=start.month, d=start.day)),
                time=f"{start.hour}:{start.minute:02d}",
                n=event.id,
                title=event.title,
                place=place_of(event),
            ),
            now,
            kind="event",
            dedupe_key=f"event-reminder:{event.id}:{resident.id}",
        )
        sent.append(signed.id)
    return sent


# --- the weekly summary -----------------------------------------------------------------------


@dataclass
class EventFigures:
    sign_ups: int
    waiting: int
    held: int
    attended: int
    attendance_marked: int


def week_figures(
    uow: AbstractUnitOfWork, start: datetime, end: datetime, now: datetime
) -> EventFigures:
    """Sign-ups made in [start, end) and attendance at the events held then: events that have
    started by `now` (a summary of the current week does not count tomorrow's fair as held).
    Counted in SQL."""
    held_before = min(end, now + timedelta(seconds=1))
    return EventFigures(**uow.events.figures_between(start, end, held_before))


def summary_figures(
    uow: AbstractUnitOfWork, start: datetime, end: datetime, now: datetime
) -> tuple[dict[str, int], str | None]:
    """The week's events for the weekly summary: its figures, and its line (None: nothing held
    and nobody signed up, so the summary says nothing about events)."""
    figures = week_figures(uow, start, end, now)
    line = None
    if figures.sign_ups or figures.held:
        line = msg.SUMMARY_EVENTS.format(
            sign_ups=figures.sign_ups,
            waiting=figures.waiting,
            held=figures.held,
            attended=figures.attended,
        )
    return asdict(figures), line


class _Period(Protocol):
    @property
    def start(self) -> datetime: ...

    @property
    def end(self) -> datetime: ...


class _WithExtra(Protocol):
    @property
    def extra(self) -> dict[str, Any]: ...


def add_to_summary(
    uow: AbstractUnitOfWork, summary: _WithExtra, week: _Period, now: datetime
) -> None:
    """Put the week's sign-ups and attendance into the weekly summary (`extra`); only events
    that have started by `now` count as held.

    Kept for handlers/summary.py until it calls `summary_figures` itself.
    """
    figures, line = summary_figures(uow, week.start, week.end, now)
    summary.extra["events"] = figures
    if line:
        summary.extra.setdefault("lines", []).append(line)
