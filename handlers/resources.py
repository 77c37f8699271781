"""Party-building resources at work: a volunteer (志愿者) helping the assignee on a ticket."""

from __future__ import annotations

from handlers import commands as cmd
from handlers import messages as msg
from handlers.errors import Invalid, NotFound
from handlers.lifecycle import record
from handlers.notices import notify
from handlers.ports import Context
from storage.community import TicketHelper
from storage.uow import AbstractUnitOfWork


def assign_helper(command: cmd.AssignHelper, uow: AbstractUnitOfWork, ctx: Context) -> TicketHelper:
    """A volunteer helps on ticket #n: recorded in its audit trail, the assignee told (once)."""
    ticket = uow.tickets.get(command.number)
    if ticket is None:
        raise NotFound(msg.NO_SUCH_TICKET.format(n=command.number))
    volunteer = uow.resources.volunteer(command.volunteer_id)
    if volunteer is None or not volunteer.active:
        raise Invalid(msg.NO_SUCH_VOLUNTEER)
    existing = uow.resources.helper(ticket.id, volunteer.id)
    if existing is not None:
        return existing
    actor = command.actor.label
    helper = TicketHelper(
        ticket_id=ticket.id, volunteer_id=volunteer.id, assigned_at=ctx.now, assigned_by=actor
    )
    helper.volunteer = volunteer
    uow.resources.add_helper(helper)
    record(
        uow,
        ticket,
        "helper_assigned",
        actor,
        ctx.now,
        f"{volunteer.team}{volunteer.name}",
        volunteer_id=volunteer.id,
    )
    if ticket.assignee is not None:
        notify(
            uow,
            ticket.assignee.openid,
            msg.NOTIFY_HELPER.format(n=ticket.id, volunteer=volunteer.name, team=volunteer.team),
            ctx.now,
            ticket=ticket,
        )
    return helper
