"""SLA (督办): accept and resolve deadlines per intent; each breach level is told once.

Level 1 — the deadline passed: the assignee and the branch liaison are told.
Level 2 — `escalate_factor` times the deadline passed: the branch secretary (the summary
recipients) is told as well. Every level reached is a `sla_breach` event on the ticket, and the
ticket remembers the level it reached, so a restart or a second scheduler never tells anyone twice.

The accept clock starts when the ticket was (re)assigned, or created if nobody could take it.
The resolve clock starts when the ticket was created, or reopened after a visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers import commands as cmd
from handlers import messages as msg
from handlers.lifecycle import record
from handlers.notices import notify
from handlers.ports import Context, Deadlines, Policy
from handlers.tickets import assignee_label
from handlers.times import human_duration
from storage.models import Ticket
from storage.states import ACTIVE_STATUSES, TicketStatus
from storage.uow import AbstractUnitOfWork

CHECKED_STATUSES = ACTIVE_STATUSES


@dataclass(frozen=True)
class Breach:
    """One deadline a ticket is past: "accept" or "resolve", level 1 or 2."""

    ticket: int
    kind: str
    level: int


def _level(elapsed: timedelta, limit: timedelta, factor: float) -> int:
    if elapsed > limit * factor:
        return 2
    if elapsed > limit:
        return 1
    return 0


def awaits_acceptance(ticket: Ticket) -> bool:
    """Nobody has taken the ticket since it was (re)assigned."""
    if ticket.status in (TicketStatus.OPEN, TicketStatus.ASSIGNED):
        return True
    return ticket.status == TicketStatus.REOPENED and ticket.accepted_at is None


def resolve_clock_start(uow: AbstractUnitOfWork, ticket: Ticket) -> datetime:
    """When the ticket's current round of work began: created, or last reopened."""
    reopened = [e.at for e in uow.tickets.events(ticket.id) if e.kind == "reopened"]
    return max(reopened) if reopened else ticket.created_at


def breach_levels(
    uow: AbstractUnitOfWork, policy: Policy, ticket: Ticket, now: datetime
) -> tuple[int, int]:
    """(accept level, resolve level) the ticket has reached at `now`; 0 = within its deadline."""
    deadlines = policy.deadlines(ticket.intent, ticket.urgent)
    if deadlines is None or ticket.status not in CHECKED_STATUSES:
        return 0, 0
    accept = 0
    if awaits_acceptance(ticket):
        start = ticket.assigned_at or ticket.created_at
        accept = _level(now - start, deadlines.accept, policy.escalate_factor)
    resolve = _level(now - ticket.created_at, deadlines.resolve, policy.escalate_factor)
    if resolve:  # only then is it worth reading the audit trail for a reopen
        start = resolve_clock_start(uow, ticket)
        resolve = _level(now - start, deadlines.resolve, policy.escalate_factor)
    return accept, resolve


@dataclass(frozen=True)
class SlaClock:
    """Where an active ticket stands against the deadline that comes first: "accept" (while
    nobody has taken it) or "resolve"; `left` is negative once it is past."""

    deadline: str
    due_at: datetime  # naive UTC
    left: timedelta

    @property
    def overdue(self) -> bool:
        return self.left < timedelta(0)

    @property
    def text(self) -> str:
        """ "距接单时限还剩 35分钟" / "接单已超时 2小时"."""
        what = msg.SLA_WHAT[self.deadline]
        if self.overdue:
            return msg.SLA_OVER.format(what=what, over=human_duration(-self.left))
        return msg.SLA_LEFT.format(what=what, left=human_duration(self.left))


def due_times(
    ticket: Ticket, policy: Policy, resolve_start: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """(accept due, resolve due) of an active ticket, naive UTC; None where no deadline runs.

    The same clocks as `breach_levels`: accept from the (re)assignment while nobody has taken
    the ticket, resolve from `resolve_start` (its last reopening; default its creation). Pages
    ask this one function, so stored due-at columns can later answer it instead.
    """
    deadlines = policy.deadlines(ticket.intent, ticket.urgent)
    if deadlines is None or ticket.status not in CHECKED_STATUSES:
        return None, None
    accept = None
    if awaits_acceptance(ticket):
        accept = (ticket.assigned_at or ticket.created_at) + deadlines.accept
    return accept, (resolve_start or ticket.created_at) + deadlines.resolve


def countdown(
    ticket: Ticket, policy: Policy, now: datetime, resolve_start: datetime | None = None
) -> SlaClock | None:
    """The ticket's SLA clock at `now` (None: no deadline runs, or the ticket is done)."""
    accept, resolve = due_times(ticket, policy, resolve_start)
    clocks = [(due, kind) for due, kind in ((accept, "accept"), (resolve, "resolve")) if due]
    if not clocks:
        return None
    due, kind = min(clocks)
    return SlaClock(kind, due, due - now)


def check_sla(_: cmd.CheckSla, uow: AbstractUnitOfWork, ctx: Context) -> list[Breach]:
    """Record and notify every breach level reached since the last check."""
    policy, now = ctx.policy, ctx.now
    found = []
    for ticket in uow.tickets.list(status=CHECKED_STATUSES):
        deadlines = policy.deadlines(ticket.intent, ticket.urgent)
        if deadlines is None:
            continue
        if ticket.resolve_breach_level >= 2 and (
            ticket.accept_breach_level >= 2 or not awaits_acceptance(ticket)
        ):
            continue  # everyone has been told everything already
        accept, resolve = breach_levels(uow, policy, ticket, now)
        for kind, level, known in (
            ("accept", accept, ticket.accept_breach_level),
            ("resolve", resolve, ticket.resolve_breach_level),
        ):
            for new_level in range(known + 1, level + 1):
                _breach(uow, policy, ticket, kind, new_level, deadlines, now)
                found.append(Breach(ticket.id, kind, new_level))
    return found


def _breach(
    uow: AbstractUnitOfWork,
    policy: Policy,
    ticket: Ticket,
    kind: str,
    level: int,
    deadlines: Deadlines,
    now: datetime,
) -> None:
    limit = deadlines.accept if kind == "accept" else deadlines.resolve
    if kind == "accept":
        ticket.accept_breach_level = level
    else:
        ticket.resolve_breach_level = level
    what = msg.SLA_WHAT[kind]
    over = limit if level == 1 else limit * policy.escalate_factor
    record(
        uow,
        ticket,
        "sla_breach",
        "system",
        now,
        msg.SLA_EVENT_DETAIL.format(what=what, hours=human_duration(over), level=level),
        breach=kind,
        level=level,
    )
    label = assignee_label(policy, ticket)
    # One round of messages per ticket, deadline, level and (re)assignment.
    key = f"sla:{ticket.id}:{kind}:{level}:{ticket.assigned_at or ticket.created_at:%Y%m%d%H%M%S}"
    if level == 1:
        template = msg.NOTIFY_SLA_ACCEPT if kind == "accept" else msg.NOTIFY_SLA_RESOLVE
        if ticket.assignee and ticket.assignee.active:
            notify(
                uow,
                ticket.assignee.openid,
                template.format(n=ticket.id, hours=human_duration(limit)),
                now,
                kind="sla",
                ticket=ticket,
                dedupe_key=f"{key}:staff:{ticket.assignee.id}",
            )
        for liaison in uow.staff.list(role=policy.fallback_role, active_only=True):
            if ticket.assignee and liaison.id == ticket.assignee.id:
                continue
            notify(
                uow,
                liaison.openid,
                msg.NOTIFY_SLA_LIAISON.format(
                    n=ticket.id, assignee=label, what=what, hours=human_duration(limit)
                ),
                now,
                kind="sla",
                ticket=ticket,
                dedupe_key=f"{key}:staff:{liaison.id}",
            )
        return
    for openid in policy.summary_recipients:  # the branch secretary
        notify(
            uow,
            openid,
            msg.NOTIFY_SLA_SECRETARY.format(
                n=ticket.id,
                intent_name=msg.INTENT_NAMES.get(ticket.intent, ticket.intent),
                assignee=label,
                what=what,
                hours=human_duration(over),
            ),
            now,
            kind="sla",
            ticket=ticket,
            dedupe_key=f"{key}:secretary:{openid}",
        )
