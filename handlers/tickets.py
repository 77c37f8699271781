"""Ticket services: open, assign, accept, resolve, transfer, cancel, note — each an audit event."""

from __future__ import annotations

import itertools
import re
from datetime import datetime

from handlers import messages as msg
from handlers.keywords import mask_phone, mask_phones_in
from handlers.ports import Policy
from nlu import places
from storage.models import OutboxMessage, Resident, Staff, Ticket, TicketEvent, TicketFollower
from storage.states import ACTIVE_STATUSES, TicketStatus
from storage.uow import AbstractUnitOfWork


class TicketError(Exception):
    """An expected refusal; its text is a polite reply for the person who asked."""


_BUILDING = re.compile(r"^([A-Za-z]?区?\d*[A-Za-z]?\s*(?:栋|幢|号楼|座|楼))")


def building_of(location: str | None) -> str | None:
    """The building part of a location: "3栋502" → "3栋", "B区2幢108" → "B区2幢"."""
    return places.building_of(location)


def record(
    uow: AbstractUnitOfWork,
    ticket: Ticket,
    kind: str,
    actor: str,
    now: datetime,
    detail: str | None = None,
    **data: object,
) -> None:
    """Append one event to the ticket's audit trail."""
    uow.tickets.add_event(
        TicketEvent(
            ticket_id=ticket.id, kind=kind, actor=actor, at=now, detail=detail, data=data or None
        )
    )


def notify(
    uow: AbstractUnitOfWork,
    recipient: str | None,
    text: str,
    now: datetime,
    *,
    kind: str = "text",
    ticket: Ticket | None = None,
    dedupe_key: str | None = None,
) -> None:
    """Queue a message in the outbox, in the same transaction as the change that caused it."""
    if not recipient:
        return
    uow.outbox.enqueue(
        OutboxMessage(
            recipient=recipient,
            kind=kind,
            body=text,
            ticket_id=ticket.id if ticket else None,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            dedupe_key=dedupe_key,
        )
    )


def staff_actor(staff: Staff) -> str:
    return f"staff:{staff.id}:{staff.name}"


def resident_actor(resident: Resident) -> str:
    return f"resident:{resident.id}"


def assignee_label(policy: Policy, ticket: Ticket) -> str:
    """ "物业管家张师傅" or just the role name when nobody is assigned."""
    name = ticket.assignee.name if ticket.assignee else ""
    return msg.ASSIGNEE.format(role=policy.role_name(ticket.role), name=name)


def task_text(template: str, policy: Policy, ticket: Ticket, **extra: str) -> str:
    """A staff notification with the ticket's text, location and masked phone."""
    return template.format(
        n=ticket.id,
        urgent="【紧急】" if ticket.urgent else "",
        intent_name=msg.INTENT_NAMES.get(ticket.intent, ticket.intent),
        text=mask_phones_in(ticket.text),
        location=ticket.location or "未填",
        phone=mask_phone(ticket.phone),
        **extra,
    )


def residents_of(uow: AbstractUnitOfWork, ticket: Ticket) -> list[str]:
    """Openids to tell about a ticket's progress: its owner and the residents who follow it."""
    openids = [ticket.resident.openid] if ticket.resident and not ticket.resident.erased_at else []
    for follower in uow.tickets.followers(ticket.id):
        if follower.openid not in openids and not follower.erased_at:
            openids.append(follower.openid)
    return openids


def tell_residents(uow: AbstractUnitOfWork, ticket: Ticket, text: str, now: datetime) -> None:
    for openid in residents_of(uow, ticket):
        notify(uow, openid, text, now, ticket=ticket)


def pick_assignee(uow: AbstractUnitOfWork, policy: Policy, role: str) -> tuple[str, Staff | None]:
    """The least-loaded staff member of `role`, else of the fallback role (branch liaison)."""
    staff = uow.staff.least_loaded(role)
    if staff is None and role != policy.fallback_role:
        fallback = uow.staff.least_loaded(policy.fallback_role)
        if fallback is not None:
            return policy.fallback_role, fallback
    return role, staff


def assign_ticket(
    uow: AbstractUnitOfWork,
    policy: Policy,
    ticket: Ticket,
    role: str,
    now: datetime,
    actor: str = "system",
    template: str = msg.NOTIFY_NEW_TASK,
    notify_assignee: bool = True,
) -> None:
    """Give the ticket to the least-loaded staff of `role` and tell them; unassigned stays open."""
    chosen_role, staff = pick_assignee(uow, policy, role)
    ticket.role = chosen_role
    ticket.assignee_id = staff.id if staff else None
    ticket.assignee = staff
    if staff is None:
        ticket.status = TicketStatus.OPEN
        record(uow, ticket, "unassigned", actor, now, f"{policy.role_name(role)}暂无在岗人员")
        return
    ticket.status = TicketStatus.ASSIGNED
    ticket.assigned_at = now
    ticket.accepted_at = None
    ticket.accept_breach_level = 0
    record(
        uow,
        ticket,
        "assigned",
        actor,
        now,
        f"{policy.role_name(chosen_role)}{staff.name}",
        role=chosen_role,
        staff_id=staff.id,
    )
    if notify_assignee:
        notify(uow, staff.openid, task_text(template, policy, ticket), now, ticket=ticket)


def open_ticket(
    uow: AbstractUnitOfWork,
    policy: Policy,
    resident: Resident,
    *,
    intent: str,
    text: str,
    now: datetime,
    location: str | None = None,
    phone: str | None = None,
    urgent: bool = False,
    confidence: float | None = None,
) -> Ticket:
    """Create ticket #n, record it and hand it to the right role."""
    ticket = Ticket(
        id=uow.tickets.next_number(),
        intent=intent,
        status=TicketStatus.OPEN,
        urgent=urgent,
        role=policy.role_for(intent, urgent),
        resident_id=resident.id,
        resident=resident,
        text=text[:2000],
        location=location,
        building=building_of(location),
        phone=phone or resident.phone,
        confidence=confidence,
        created_at=now,
        followup_state="none",
        accept_breach_level=0,
        resolve_breach_level=0,
    )
    uow.tickets.add(ticket)
    record(
        uow,
        ticket,
        "created",
        resident_actor(resident),
        now,
        text[:200],
        intent=intent,
        urgent=urgent,
    )
    assign_ticket(uow, policy, ticket, ticket.role, now)
    return ticket


# Characters that say nothing about *what* is broken; bigrams made only of them are ignored.
_FILLER = set("的了吗呢啊呀吧哦嘛坏掉不没有是我你他她它们这那个在也又还都就很太好请帮快来修一下")


def _problem_bigrams(text: str, location: str | None) -> set[str]:
    text = text.replace(location, " ") if location else text
    chars = [c if not c.isspace() and c.isalnum() else " " for c in text.lower()]
    return {
        a + b
        for a, b in itertools.pairwise(chars)
        if a != " " and b != " " and not (a in _FILLER and b in _FILLER) and not (a + b).isdigit()
    }


def same_problem(first: str, second: str, location: str | None) -> bool:
    """Do two descriptions at one place name the same thing? ("电梯坏了" ~ "电梯卡在三楼了")."""
    a, b = _problem_bigrams(first, location), _problem_bigrams(second, location)
    if not a or not b:
        return False
    return len(a & b) / min(len(a), len(b)) >= 0.5


def find_duplicate(uow: AbstractUnitOfWork, intent: str, location: str, text: str) -> Ticket | None:
    """The open ticket that already covers this report: same intent, place and problem."""
    for ticket in uow.tickets.active_at(intent, location):
        if same_problem(ticket.text, text, location):
            return ticket
    return None


def link_duplicate(
    uow: AbstractUnitOfWork, ticket: Ticket, resident: Resident, text: str, now: datetime
) -> None:
    """Add a resident who reports the same problem as a follower of the open ticket."""
    if resident.id != ticket.resident_id:
        uow.tickets.add_follower(
            TicketFollower(ticket_id=ticket.id, resident_id=resident.id, created_at=now)
        )
    record(uow, ticket, "duplicate_report", resident_actor(resident), now, text[:200])
    if ticket.assignee:
        notify(
            uow,
            ticket.assignee.openid,
            msg.NOTIFY_LINKED.format(n=ticket.id, location=ticket.location or ""),
            now,
            ticket=ticket,
        )


def can_act(policy: Policy, staff: Staff, ticket: Ticket) -> bool:
    """Only the assignee or the branch liaison may act on a ticket."""
    return ticket.assignee_id == staff.id or staff.role == policy.fallback_role


def _get_for(uow: AbstractUnitOfWork, policy: Policy, staff: Staff, number: int) -> Ticket:
    ticket = uow.tickets.get(number)
    if ticket is None:
        raise TicketError(msg.NO_SUCH_TICKET.format(n=number))
    if not can_act(policy, staff, ticket) and not (
        ticket.assignee_id is None and ticket.role == staff.role
    ):
        raise TicketError(msg.NOT_ASSIGNEE.format(n=number))
    return ticket


def _require_active(ticket: Ticket) -> None:
    """Staff and operators act only on tickets that still need work."""
    if ticket.status not in ACTIVE_STATUSES:
        raise TicketError(msg.WRONG_STATE.format(n=ticket.id, status=_status_name(ticket)))


def _take_over(ticket: Ticket, staff: Staff, now: datetime) -> None:
    """The branch liaison (or a same-role colleague on an unassigned ticket) acts: it becomes theirs."""
    if ticket.assignee_id != staff.id:
        ticket.assignee_id, ticket.assignee, ticket.role = staff.id, staff, staff.role
        ticket.assigned_at = ticket.assigned_at or now


def _status_name(ticket: Ticket) -> str:
    return msg.STATUS_NAMES.get(ticket.status, ticket.status)


def accept_ticket(
    uow: AbstractUnitOfWork, policy: Policy, staff: Staff, number: int, now: datetime
) -> Ticket:
    """Staff takes the ticket; the resident hears who is on it."""
    ticket = _get_for(uow, policy, staff, number)
    if ticket.status == TicketStatus.ACCEPTED and ticket.assignee_id == staff.id:
        raise TicketError(msg.ALREADY_ACCEPTED.format(n=number))
    _require_active(ticket)
    _take_over(ticket, staff, now)
    ticket.status = TicketStatus.ACCEPTED
    ticket.accepted_at = now
    record(uow, ticket, "accepted", staff_actor(staff), now)
    tell_residents(
        uow,
        ticket,
        msg.NOTIFY_ACCEPTED.format(n=ticket.id, assignee=assignee_label(policy, ticket)),
        now,
    )
    return ticket


def resolve_ticket(
    uow: AbstractUnitOfWork, policy: Policy, staff: Staff, number: int, note: str, now: datetime
) -> Ticket:
    """Staff finishes the ticket; a follow-up visit becomes due after `followup_delay`."""
    ticket = _get_for(uow, policy, staff, number)
    if not note.strip():
        raise TicketError(msg.NEED_NOTE.format(n=number))
    _require_active(ticket)
    _take_over(ticket, staff, now)
    ticket.accepted_at = ticket.accepted_at or now
    ticket.status = TicketStatus.RESOLVED
    ticket.resolved_at = now
    ticket.resolution = note.strip()[:1000]
    ticket.followup_state = "due"
    ticket.followup_due_at = now + policy.followup_delay
    record(uow, ticket, "resolved", staff_actor(staff), now, ticket.resolution)
    tell_residents(
        uow, ticket, msg.NOTIFY_RESOLVED.format(n=ticket.id, note=ticket.resolution), now
    )
    return ticket


def transfer_ticket(
    uow: AbstractUnitOfWork,
    policy: Policy,
    actor: str,
    ticket: Ticket,
    role: str,
    now: datetime,
) -> Ticket:
    """Hand the ticket to another role; its least-loaded staff member is told."""
    _require_active(ticket)
    previous = assignee_label(policy, ticket)
    record(
        uow, ticket, "transferred", actor, now, f"{previous} → {policy.role_name(role)}", role=role
    )
    assign_ticket(uow, policy, ticket, role, now, actor=actor, template=msg.NOTIFY_TRANSFERRED_TASK)
    tell_residents(
        uow,
        ticket,
        msg.NOTIFY_TRANSFERRED.format(n=ticket.id, assignee=assignee_label(policy, ticket)),
        now,
    )
    return ticket


def staff_transfer(
    uow: AbstractUnitOfWork,
    policy: Policy,
    staff: Staff,
    number: int,
    role_text: str,
    now: datetime,
) -> Ticket:
    """`转派 <n> <role>` from a staff member."""
    ticket = _get_for(uow, policy, staff, number)
    role = policy.role_from_text(role_text)
    if role is None:
        raise TicketError(
            msg.TRANSFER_UNKNOWN_ROLE.format(
                role=role_text, roles="、".join(policy.role_names.values())
            )
        )
    return transfer_ticket(uow, policy, staff_actor(staff), ticket, role, now)


def add_note(
    uow: AbstractUnitOfWork,
    policy: Policy,
    actor_staff: Staff | None,
    number: int,
    text: str,
    now: datetime,
    actor: str | None = None,
) -> Ticket:
    """`备注 <n> <text>`: a note in the audit trail."""
    if actor_staff is not None:
        ticket = _get_for(uow, policy, actor_staff, number)
        actor = staff_actor(actor_staff)
    else:
        found = uow.tickets.get(number)
        if found is None:
            raise TicketError(msg.NO_SUCH_TICKET.format(n=number))
        ticket = found
    if not text.strip():
        raise TicketError(msg.NOTE_EMPTY.format(n=number))
    record(uow, ticket, "note", actor or "system", now, text.strip()[:1000])
    return ticket


def cancel_ticket(
    uow: AbstractUnitOfWork, resident: Resident, number: int, now: datetime
) -> Ticket:
    """The resident cancels their own active ticket; the assignee is told."""
    ticket = uow.tickets.get(number)
    if ticket is None or ticket.resident_id != resident.id:
        raise TicketError(msg.NOT_YOUR_TICKET.format(n=number))
    if ticket.status not in ACTIVE_STATUSES:
        raise TicketError(msg.CANNOT_CANCEL.format(n=number, status=_status_name(ticket)))
    ticket.status = TicketStatus.CANCELLED
    ticket.closed_at = now
    record(uow, ticket, "cancelled", resident_actor(resident), now)
    if ticket.assignee:
        notify(
            uow,
            ticket.assignee.openid,
            msg.NOTIFY_TICKET_CANCELLED.format(n=ticket.id),
            now,
            ticket=ticket,
        )
    return ticket


def reopen_ticket(
    uow: AbstractUnitOfWork, policy: Policy, ticket: Ticket, reason: str, actor: str, now: datetime
) -> Ticket:
    """Back to the assignee (or the role's least-loaded staff) after a low rating or "not fixed"."""
    ticket.status = TicketStatus.REOPENED
    ticket.resolved_at = None
    ticket.followup_due_at = None
    ticket.followup_state = "none"
    ticket.resolve_breach_level = 0
    record(uow, ticket, "reopened", actor, now, reason)
    staff = ticket.assignee if ticket.assignee and ticket.assignee.active else None
    if staff is None:  # the assignee has left: the role's least-loaded colleague takes it
        assign_ticket(uow, policy, ticket, ticket.role, now, actor="system", notify_assignee=False)
        ticket.status = TicketStatus.REOPENED if ticket.assignee else TicketStatus.OPEN
        staff = ticket.assignee
    else:
        ticket.assigned_at = now
    if staff is not None:
        notify(
            uow,
            staff.openid,
            task_text(msg.NOTIFY_REOPENED_TASK, policy, ticket, reason=reason),
            now,
            ticket=ticket,
        )
    tell_residents(
        uow,
        ticket,
        msg.NOTIFY_REOPENED.format(n=ticket.id, assignee=assignee_label(policy, ticket)),
        now,
    )
    return ticket
