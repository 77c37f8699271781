"""Staff keywords in chat: 任务, 接单, 完成, 转派, 备注. Each is a chat handler (turn, command)
that calls the same ticket command handler the dashboard uses, with the staff member as actor."""

from __future__ import annotations

import re
from collections.abc import Callable

from handlers import commands as cmd
from handlers import messages as msg
from handlers import tickets
from handlers.errors import Invalid
from handlers.keywords import Command
from handlers.lifecycle import status_name
from handlers.masking import mask_personal
from handlers.times import human_duration
from handlers.turn import Turn
from storage.models import Staff
from storage.states import ACTIVE_STATUSES, TicketStatus


def _actor(staff: Staff) -> cmd.Actor:
    return cmd.Actor.staff(staff.id, staff.name)


def _staff(turn: Turn) -> Staff:
    assert turn.staff is not None  # the dispatcher only calls these for bound staff
    return turn.staff


def _tasks(turn: Turn, command: Command) -> str:
    staff = _staff(turn)
    uow = turn.uow
    found = list(uow.tickets.list(assignee_id=staff.id, status=ACTIVE_STATUSES))
    if staff.role == turn.policy.fallback_role:  # the liaison also sees what nobody could take
        waiting = uow.tickets.list(status=TicketStatus.OPEN, community=staff.community)
        found += [t for t in waiting if t.assignee_id is None]
    if not found:
        return msg.TASKS_NONE
    lines = [msg.TASKS_HEADER.format(count=len(found))]
    for ticket in found[:15]:
        lines.append(
            msg.TASK_LINE.format(
                n=ticket.id,
                status=status_name(ticket.status),
                intent_name=msg.INTENT_NAMES.get(ticket.intent, ticket.intent),
                location=(ticket.location + " ") if ticket.location else "",
                text=_one_line(mask_personal(ticket.text), 20),
            )
        )
    return "\n".join(lines)


# A 人工 ticket's text is the resident's recent messages, one "· " line each.
_LINE_BREAK = re.compile(r"\s*\n\s*(?:·\s*)?")


def _one_line(text: str, width: int) -> str:
    """A ticket's text on one line of at most `width` characters (and "…")."""
    flat = _LINE_BREAK.sub(" / ", text.strip()).lstrip("· ").strip()
    return flat[:width] + ("…" if len(flat) > width else "")


def _need_number(command: Command) -> int:
    if command.number is None:
        raise Invalid(msg.STAFF_USAGE)
    return command.number


def _accept(turn: Turn, command: Command) -> str:
    ticket = tickets.accept(
        cmd.AcceptTicket(_need_number(command), _actor(_staff(turn))), turn.uow, turn.ctx
    )
    return msg.ACCEPTED.format(n=ticket.id)


def _resolve(turn: Turn, command: Command) -> str:
    ticket = tickets.resolve(
        cmd.ResolveTicket(_need_number(command), command.rest, _actor(_staff(turn))),
        turn.uow,
        turn.ctx,
    )
    return msg.RESOLVED.format(n=ticket.id)


def _transfer(turn: Turn, command: Command) -> str:
    ticket = tickets.transfer(
        cmd.TransferTicket(_need_number(command), command.rest, _actor(_staff(turn))),
        turn.uow,
        turn.ctx,
    )
    return tickets.handoff_sentence(turn.policy, ticket, turn.policy.role_from_text(command.rest))


def _note(turn: Turn, command: Command) -> str:
    ticket = tickets.add_note(
        cmd.AddNote(_need_number(command), command.rest, _actor(_staff(turn))), turn.uow, turn.ctx
    )
    return msg.NOTE_ADDED.format(n=ticket.id)


def _reply(turn: Turn, command: Command) -> str:
    ticket = tickets.reply_to_resident(
        cmd.ReplyToResident(_need_number(command), command.rest, _actor(_staff(turn))),
        turn.uow,
        turn.ctx,
    )
    window = human_duration(turn.policy.reply_window)
    return msg.REPLY_SENT.format(n=ticket.id, window=window)


def _phone(turn: Turn, command: Command) -> str:
    number = _need_number(command)
    phone = tickets.show_phone(cmd.ShowPhone(number, _actor(_staff(turn))), turn.uow, turn.ctx)
    if phone is None:
        return msg.PHONE_NONE.format(n=number)
    return msg.PHONE_IS.format(n=number, phone=phone)


StaffCommandHandler = Callable[[Turn, Command], str]
STAFF_COMMAND_HANDLERS: dict[str, StaffCommandHandler] = {
    "任务": _tasks,
    "接单": _accept,
    "完成": _resolve,
    "转派": _transfer,
    "备注": _note,
    "回复": _reply,
    "电话": _phone,
}


def run(turn: Turn, command: Command) -> str:
    """Carry out one staff keyword; refusals are raised as domain errors."""
    handler = STAFF_COMMAND_HANDLERS.get(command.word)
    if handler is None:
        return msg.STAFF_USAGE
    return handler(turn, command)
