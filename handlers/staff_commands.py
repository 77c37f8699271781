"""Staff keywords in chat: 任务, 接单, 完成, 转派, 备注."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from handlers import messages as msg
from handlers.keywords import Command
from handlers.masking import mask_personal
from handlers.ports import Policy
from handlers.tickets import (
    TicketError,
    accept_ticket,
    add_note,
    assignee_label,
    resolve_ticket,
    staff_transfer,
)
from storage.models import Staff
from storage.states import ACTIVE_STATUSES
from storage.uow import AbstractUnitOfWork


def _tasks(
    uow: AbstractUnitOfWork, policy: Policy, staff: Staff, command: Command, now: datetime
) -> str:
    tickets = list(uow.tickets.list(assignee_id=staff.id, status=ACTIVE_STATUSES))
    if staff.role == policy.fallback_role:  # the liaison also sees what nobody could take
        tickets += [t for t in uow.tickets.list(status="open") if t.assignee_id is None]
    if not tickets:
        return msg.TASKS_NONE
    lines = [msg.TASKS_HEADER.format(count=len(tickets))]
    for ticket in tickets[:15]:
        lines.append(
            msg.TASK_LINE.format(
                n=ticket.id,
                status=msg.STATUS_NAMES.get(ticket.status, ticket.status),
                intent_name=msg.INTENT_NAMES.get(ticket.intent, ticket.intent),
                location=(ticket.location + " ") if ticket.location else "",
                text=mask_personal(ticket.text)[:20] + ("…" if len(ticket.text) > 20 else ""),
            )
        )
    return "\n".join(lines)


def _need_number(command: Command) -> int:
    if command.number is None:
        raise TicketError(msg.STAFF_USAGE)
    return command.number


def _accept(
    uow: AbstractUnitOfWork, policy: Policy, staff: Staff, command: Command, now: datetime
) -> str:
    ticket = accept_ticket(uow, policy, staff, _need_number(command), now)
    return msg.ACCEPTED.format(n=ticket.id)


def _resolve(
    uow: AbstractUnitOfWork, policy: Policy, staff: Staff, command: Command, now: datetime
) -> str:
    ticket = resolve_ticket(uow, policy, staff, _need_number(command), command.rest, now)
    return msg.RESOLVED.format(n=ticket.id)


def _transfer(
    uow: AbstractUnitOfWork, policy: Policy, staff: Staff, command: Command, now: datetime
) -> str:
    if not command.rest:
        raise TicketError(
            msg.TRANSFER_UNKNOWN_ROLE.format(role="", roles="、".join(policy.role_names.values()))
        )
    ticket = staff_transfer(uow, policy, staff, _need_number(command), command.rest, now)
    return msg.TRANSFERRED.format(n=ticket.id, assignee=assignee_label(policy, ticket))


def _note(
    uow: AbstractUnitOfWork, policy: Policy, staff: Staff, command: Command, now: datetime
) -> str:
    ticket = add_note(uow, policy, staff, _need_number(command), command.rest, now)
    return msg.NOTE_ADDED.format(n=ticket.id)


StaffCommandHandler = Callable[[AbstractUnitOfWork, Policy, Staff, Command, datetime], str]
STAFF_COMMAND_HANDLERS: dict[str, StaffCommandHandler] = {
    "任务": _tasks,
    "接单": _accept,
    "完成": _resolve,
    "转派": _transfer,
    "备注": _note,
}


def run(
    uow: AbstractUnitOfWork, policy: Policy, staff: Staff, command: Command, now: datetime
) -> str:
    """Carry out one staff keyword; refusals come back as TicketError."""
    handler = STAFF_COMMAND_HANDLERS.get(command.word)
    if handler is None:
        return msg.STAFF_USAGE
    return handler(uow, policy, staff, command, now)
