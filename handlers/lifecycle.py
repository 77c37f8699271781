"""The ticket's life in one place: which status changes are allowed, what each one stamps, and
the audit event it writes. No other code assigns `ticket.status` or `ticket.followup_state`.

    open ──assigned──▶ assigned ──accepted──▶ accepted ──resolved──▶ resolved ──closed──▶ closed
      ▲  (nobody on duty: stays open)  │ transfer            │                  │
      └────────────── unassigned ◀─────┴─────────────────────┘                  │ visit: not fixed
    any active status ──cancelled──▶ cancelled                reopened ◀────────┘ or rated 1–2
    reopened behaves like assigned (or accepted, if it was accepted before)

The follow-up visit has its own small table: none → due → asked → asked_again → answered,
asked/asked_again → no_response, due → skipped; reopening puts it back to none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from handlers.errors import IllegalTransition
from handlers.messages import STATUS_NAMES, WRONG_STATE
from storage.models import OutboxMessage, Ticket, TicketEvent
from storage.states import ACTIVE_STATUSES, FollowUpState, OutboxStatus, TicketStatus
from storage.uow import AbstractUnitOfWork

S = TicketStatus
_ACTIVE = frozenset(ACTIVE_STATUSES)

# from-status → {to-status: the audit event that change writes}. `None` is "not created yet".
# A change between two active statuses that hands the ticket to someone writes "assigned";
# one that finds nobody on duty writes "unassigned" (see assign_ticket in handlers/tickets.py).
TRANSITIONS: Mapping[TicketStatus | None, Mapping[TicketStatus, str]] = {
    None: {S.OPEN: "created"},
    S.OPEN: {
        S.OPEN: "unassigned",
        S.ASSIGNED: "assigned",
        S.ACCEPTED: "accepted",
        S.RESOLVED: "resolved",
        S.CANCELLED: "cancelled",
        S.CLOSED: "closed",
    },
    S.ASSIGNED: {
        S.OPEN: "unassigned",
        S.ASSIGNED: "assigned",
        S.ACCEPTED: "accepted",
        S.RESOLVED: "resolved",
        S.CANCELLED: "cancelled",
        S.CLOSED: "closed",
    },
    S.ACCEPTED: {
        S.OPEN: "unassigned",
        S.ASSIGNED: "assigned",
        S.ACCEPTED: "accepted",  # the branch liaison takes over an accepted ticket
        S.RESOLVED: "resolved",
        S.CANCELLED: "cancelled",
        S.CLOSED: "closed",
    },
    S.REOPENED: {
        S.OPEN: "unassigned",
        S.ASSIGNED: "assigned",
        S.REOPENED: "assigned",  # reopened and handed to a colleague of the one who left
        S.ACCEPTED: "accepted",
        S.RESOLVED: "resolved",
        S.CANCELLED: "cancelled",
        S.CLOSED: "closed",
    },
    S.RESOLVED: {S.CLOSED: "closed", S.REOPENED: "reopened"},
    S.CLOSED: {},
    S.CANCELLED: {},
}


def _stamp_created(ticket: Ticket, now: datetime) -> None:
    ticket.work_started_at = now
    ticket.next_sla_check_at = now


def _stamp_unassigned(ticket: Ticket, now: datetime) -> None:
    ticket.next_sla_check_at = now


def _stamp_assigned(ticket: Ticket, now: datetime) -> None:
    # A new assignee must accept again: the accept clock and its breaches start over.
    ticket.assigned_at = now
    ticket.accepted_at = None
    ticket.accept_breach_level = 0
    ticket.next_sla_check_at = now


def _stamp_accepted(ticket: Ticket, now: datetime) -> None:
    ticket.accepted_at = now
    ticket.assigned_at = ticket.assigned_at or now
    ticket.first_response_at = ticket.first_response_at or now
    ticket.next_sla_check_at = now


def _stamp_resolved(ticket: Ticket, now: datetime) -> None:
    ticket.accepted_at = ticket.accepted_at or now  # resolving straight away is a response too
    ticket.assigned_at = ticket.assigned_at or now
    ticket.first_response_at = ticket.first_response_at or now
    ticket.resolved_at = now
    ticket.next_sla_check_at = None


def _stamp_closed(ticket: Ticket, now: datetime) -> None:
    ticket.closed_at = now
    ticket.next_sla_check_at = None


def _stamp_reopened(ticket: Ticket, now: datetime) -> None:
    ticket.resolved_at = None
    ticket.followup_due_at = None
    ticket.followup_state = FollowUpState.NONE
    ticket.resolve_breach_level = 0
    ticket.assigned_at = now
    ticket.work_started_at = now
    ticket.next_sla_check_at = now


# What each audit event stamps on the ticket, besides the status. Besides the times a person
# sees, these keep the columns the figures and the scheduler query (storage/figures.py,
# handlers/sla.py): `first_response_at` (the first acceptance or resolution), `work_started_at`
# (created or last reopened: the resolve clock) and `next_sla_check_at` ("look at this ticket
# now" after any change; the SLA check then sets the moment its next deadline passes, or NULL
# when nothing is left to check). Code that changes a ticket's intent or urgency outside these
# events changes its deadlines too, and must set `next_sla_check_at` to now. Code that changes
# its building changes its week's figures: it must forget that week if it was kept
# (handlers/summary.py `forget_kept_week`, as a place correction does).
STAMPS: Mapping[str, Callable[[Ticket, datetime], None]] = {
    "created": _stamp_created,
    "unassigned": _stamp_unassigned,
    "assigned": _stamp_assigned,
    "accepted": _stamp_accepted,
    "resolved": _stamp_resolved,
    "closed": _stamp_closed,
    "cancelled": _stamp_closed,
    "reopened": _stamp_reopened,
}


def allowed(source: TicketStatus | str | None, target: TicketStatus | str) -> bool:
    """Does the lifecycle allow a ticket in `source` to go to `target`?"""
    key = TicketStatus(source) if source is not None else None
    return TicketStatus(target) in TRANSITIONS.get(key, {})


def is_active(ticket: Ticket) -> bool:
    """The ticket still needs work from staff."""
    return ticket.status in _ACTIVE


def status_name(status: str) -> str:
    """The Chinese name of a status ("已办结")."""
    return STATUS_NAMES.get(status, status)


def transition(
    uow: AbstractUnitOfWork,
    ticket: Ticket,
    to: TicketStatus,
    actor: str,
    now: datetime,
    detail: str | None = None,
    *,
    event: str | None = None,
    **data: object,
) -> TicketEvent:
    """Move `ticket` to `to`: check the table, stamp the times, write the audit event.

    `event` names the audit event when the table's default is not the one meant (a transfer that
    finds nobody on duty is "unassigned"); it must be one the table allows for some change.
    Raises IllegalTransition (with a sentence for the person who asked) when not allowed.
    """
    source = TicketStatus(ticket.status) if ticket.status is not None else None
    targets = TRANSITIONS.get(source, {})
    if to not in targets:
        raise IllegalTransition(_refusal(ticket))
    kind = event or targets[to]
    if kind not in _EVENTS:
        raise ValueError(f"{kind!r} is not a lifecycle event")
    ticket.status = to
    stamp = STAMPS.get(kind)
    if stamp is not None:
        stamp(ticket, now)
    return record(uow, ticket, kind, actor, now, detail, **data)


def record(
    uow: AbstractUnitOfWork,
    ticket: Ticket,
    kind: str,
    actor: str,
    now: datetime,
    detail: str | None = None,
    **data: object,
) -> TicketEvent:
    """Append one event to the ticket's audit trail (status changes go through `transition`)."""
    event = TicketEvent(
        ticket_id=ticket.id, kind=kind, actor=actor, at=now, detail=detail, data=data or None
    )
    uow.tickets.add_event(event)
    return event


def _refusal(ticket: Ticket) -> str:
    return WRONG_STATE.format(n=ticket.id, status=status_name(ticket.status))


_EVENTS = frozenset(kind for targets in TRANSITIONS.values() for kind in targets.values())


# --- the follow-up visit ---------------------------------------------------------------------

F = FollowUpState
FOLLOWUP_TRANSITIONS: Mapping[FollowUpState, frozenset[FollowUpState]] = {
    F.NONE: frozenset({F.DUE}),
    F.DUE: frozenset({F.ASKED, F.SKIPPED, F.NONE}),
    F.ASKED: frozenset({F.ASKED_AGAIN, F.ANSWERED, F.NO_RESPONSE, F.NONE}),
    F.ASKED_AGAIN: frozenset({F.ANSWERED, F.NO_RESPONSE, F.NONE}),
    F.ANSWERED: frozenset({F.NONE}),  # answered "not fixed": reopened, a new visit later
    F.NO_RESPONSE: frozenset(),
    F.SKIPPED: frozenset(),
}


def set_followup(ticket: Ticket, to: FollowUpState, due_at: datetime | None = None) -> None:
    """Move the ticket's visit to `to` (checked against FOLLOWUP_TRANSITIONS)."""
    source = FollowUpState(ticket.followup_state or F.NONE)
    if to not in FOLLOWUP_TRANSITIONS[source]:
        raise IllegalTransition(f"#{ticket.id} 回访状态不能从 {source} 变为 {to}")
    ticket.followup_state = to
    if to == F.DUE:
        ticket.followup_due_at = due_at
    elif to == F.NONE:
        ticket.followup_due_at = None


# --- outbox messages ---------------------------------------------------------------------------

# pending → sending (one dispatcher claims it; a conditional UPDATE in the repository) → sent, or
# back to pending (a retry), or dead (given up); a send with an unknown outcome stays "sending"
# until it is reconciled (sent again, or dead); an operator may queue a dead message again.
OUTBOX_TRANSITIONS: Mapping[OutboxStatus, frozenset[OutboxStatus]] = {
    OutboxStatus.PENDING: frozenset({OutboxStatus.SENDING}),
    OutboxStatus.SENDING: frozenset({OutboxStatus.SENT, OutboxStatus.PENDING, OutboxStatus.DEAD}),
    OutboxStatus.SENT: frozenset(),
    OutboxStatus.DEAD: frozenset({OutboxStatus.PENDING}),
}


def set_outbox_status(message: OutboxMessage, to: OutboxStatus) -> None:
    """Move an outbox message to `to` (checked against OUTBOX_TRANSITIONS)."""
    source = OutboxStatus(message.status)
    if to not in OUTBOX_TRANSITIONS[source]:
        raise IllegalTransition(f"outbox #{message.id} cannot go from {source} to {to}")
    message.status = to
