"""Follow-up visits (回访): ask after resolution, take the answer, expire the silent ones."""

from __future__ import annotations

from datetime import datetime

from handlers import messages as msg
from handlers.keywords import visit_answer
from handlers.ports import Policy
from handlers.tickets import assignee_label, notify, record, reopen_ticket, resident_actor
from nlu.base import TICKET_INTENTS, ParseResult
from storage.models import Resident, Ticket, TicketStatus
from storage.uow import AbstractUnitOfWork

ASKED_STATES = ("asked", "asked_again")


def answer_if_visit(
    uow: AbstractUnitOfWork,
    policy: Policy,
    resident: Resident,
    text: str,
    parsed: ParseResult | None,
    now: datetime,
) -> str | None:
    """The reply if `text` answers a pending visit; None to treat it as an ordinary message."""
    ticket = uow.tickets.visit_pending_for(resident.id)
    if ticket is None:
        return None
    answer = visit_answer(text)
    if answer is None:
        looks_like_request = parsed is not None and (
            parsed.intent in (*TICKET_INTENTS, "status_query", "ask_human", "cancel")
            and parsed.confidence >= 0.6
        )
        if looks_like_request or ticket.followup_state != "asked":
            return None
        ticket.followup_state = "asked_again"
        record(uow, ticket, "visit_unclear", resident_actor(resident), now, text[:200])
        return msg.VISIT_ASK_AGAIN.format(n=ticket.id)
    kind, rating = answer
    if kind == "not_fixed" or (rating is not None and rating <= 2):
        reason = "没有解决" if kind == "not_fixed" else f"评分{rating}分"
        ticket.rating = rating
        ticket.followup_state = "answered"
        record(
            uow, ticket, "visit_answered", resident_actor(resident), now, text[:200], rating=rating
        )
        reopen_ticket(uow, policy, ticket, reason, resident_actor(resident), now)
        label = assignee_label(policy, ticket)
        for liaison in uow.staff.list(role=policy.fallback_role, active_only=True):
            notify(
                uow,
                liaison.openid,
                msg.NOTIFY_LOW_RATING.format(n=ticket.id, reason=reason, assignee=label),
                now,
                ticket=ticket,
            )
        return msg.VISIT_REOPENED.format(n=ticket.id, assignee=label)
    ticket.rating = rating
    ticket.followup_state = "answered"
    ticket.status = TicketStatus.CLOSED
    ticket.closed_at = now
    record(uow, ticket, "visit_answered", resident_actor(resident), now, text[:200], rating=rating)
    record(uow, ticket, "closed", "system", now, f"评分{rating}")
    return msg.VISIT_THANKS.format(n=ticket.id, rating=rating)


def send_due_visits(uow: AbstractUnitOfWork, policy: Policy, now: datetime) -> list[int]:
    """Ask residents of tickets resolved `followup_delay` ago; returns the ticket numbers."""
    asked = []
    for ticket in uow.tickets.visits_due(now):
        ticket.followup_state = "asked"
        ticket.followup_asked_at = now
        record(uow, ticket, "visit_sent", "system", now)
        if ticket.resident and not ticket.resident.erased_at:
            notify(
                uow,
                ticket.resident.openid,
                msg.VISIT_ASK.format(
                    n=ticket.id, intent_name=msg.INTENT_NAMES.get(ticket.intent, "")
                ),
                now,
                kind="visit",
                ticket=ticket,
                dedupe_key=f"visit:{ticket.id}:{ticket.resolved_at:%Y%m%d%H%M%S}",
            )
        asked.append(ticket.id)
    return asked


def expire_visits(uow: AbstractUnitOfWork, policy: Policy, now: datetime) -> list[int]:
    """Close tickets whose visit went unanswered for `followup_expire`: "no response"."""
    closed = []
    for ticket in uow.tickets.visits_unanswered_since(now - policy.followup_expire):
        close_without_answer(uow, ticket, now)
        closed.append(ticket.id)
    return closed


def close_without_answer(uow: AbstractUnitOfWork, ticket: Ticket, now: datetime) -> None:
    ticket.followup_state = "no_response"
    ticket.status = TicketStatus.CLOSED
    ticket.closed_at = now
    record(uow, ticket, "visit_expired", "system", now, "回访未回复")
    record(uow, ticket, "closed", "system", now, "回访未回复")
