"""One way in: every command an adapter sends is handled here, by the function registered for
its type, as handler(command, unit of work, Context). The composition root
(bot/bootstrap.py: Sheli.handle) opens the unit of work, builds the Context and commits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from handlers import commands as cmd
from handlers import (
    communities,
    conversation,
    events,
    followup,
    importing,
    resources,
    review,
    site_summary,
    sla,
    staff,
    summary,
    tickets,
)
from handlers.inbound import Inbound
from handlers.ports import Context
from storage.uow import AbstractUnitOfWork

Handler = Callable[[Any, AbstractUnitOfWork, Context], Any]

HANDLERS: dict[type, Handler] = {
    Inbound: conversation.handle_message,
    cmd.AcceptTicket: tickets.accept,
    cmd.ResolveTicket: tickets.resolve,
    cmd.TransferTicket: tickets.transfer,
    cmd.AddNote: tickets.add_note,
    cmd.RecordView: tickets.record_view,
    cmd.ReplyToResident: tickets.reply_to_resident,
    cmd.ShowPhone: tickets.show_phone,
    cmd.AddToTicket: tickets.add_to_ticket,
    cmd.CorrectLocation: tickets.correct_location,
    cmd.CloseTicket: tickets.close,
    cmd.CancelTicket: tickets.cancel,
    cmd.AssignHelper: resources.assign_helper,
    cmd.AddStaff: staff.add_staff,
    cmd.SetStaffActive: staff.set_staff_active,
    cmd.IssueBindCode: staff.issue_bind_code,
    cmd.SeedDemoStaff: staff.seed_demo_staff,
    cmd.SaveEvent: events.save_event,
    cmd.CancelEvent: events.cancel_event,
    cmd.WithdrawSignUp: events.withdraw_sign_up,
    cmd.MarkAttendance: events.mark_attendance,
    cmd.ImportData: importing.import_data,
    cmd.SendDueVisits: followup.send_due_visits,
    cmd.ExpireVisits: followup.expire_visits,
    cmd.SendEventReminders: events.send_event_reminders,
    cmd.CheckSla: sla.check_sla,
    cmd.SendSlaDigests: sla.send_sla_digests,
    cmd.SendWeeklySummary: site_summary.send_weekly_summary,
    cmd.KeepPastWeeks: summary.keep_past_weeks,
    cmd.LabelMessage: review.label_message,
    cmd.AssignWaitingTickets: tickets.assign_waiting_duty,
    cmd.AddCommunity: communities.add_community,
    cmd.MoveBuilding: communities.move_building,
}


def handle(message: Any, uow: AbstractUnitOfWork, ctx: Context) -> Any:
    """Run the handler registered for the message's type."""
    try:
        handler = HANDLERS[type(message)]
    except KeyError:
        raise TypeError(f"no handler for {type(message).__name__}") from None
    return handler(message, uow, ctx)
