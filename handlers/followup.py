"""Follow-up visits (回访): ask after resolution, take the answer, expire the silent ones.

A resolved ticket's visit is due `followup_delay` after resolution (`followup_state` "due",
`followup_due_at`). The scheduler asks ("asked"), the resident's next message is read as the
answer (one unclear answer gets asked again: "asked_again"), and a visit nobody answers within
`followup_expire` closes the ticket as "no_response". The database says what is due, so a
scheduler that was down catches up, and the outbox dedupe key means a visit is never sent twice.
"""

from __future__ import annotations

from handlers import commands as cmd
from handlers import messages as msg
from handlers.communities import liaisons_of
from handlers.keywords import VisitAnswer, visit_answer
from handlers.lifecycle import record, set_followup, transition
from handlers.masking import mask_personal
from handlers.notices import notify
from handlers.ports import Context
from handlers.tickets import assignee_label, reopen_ticket, resident_actor
from nlu.base import TICKET_INTENTS, ParseResult
from storage.models import Resident, Ticket
from storage.states import FollowUpState, TicketStatus
from storage.uow import AbstractUnitOfWork

F = FollowUpState
# Other requests the resident may make while a visit waits for an answer.
_NOT_AN_ANSWER = (*TICKET_INTENTS, "status_query", "ask_human", "cancel")


def _is_other_request(
    parsed: ParseResult | None, ticket: Ticket, answer: VisitAnswer | None
) -> bool:
    """A confident, different request ("公司拖欠工资怎么办") is not an answer to this visit."""
    if parsed is None or parsed.intent not in _NOT_AN_ANSWER or parsed.confidence < 0.6:
        return False
    if answer is None:
        return True
    # "3栋502还是漏水" after a repair is the answer "not fixed"; a legal question is not.
    return (
        answer.rating is None and parsed.intent in TICKET_INTENTS and parsed.intent != ticket.intent
    )


def not_fixed_word(ticket: Ticket) -> str:
    """What the visit asks a resident to say when it is not solved: 「没修好」 for a repair,
    「没解决」 for anything else (a legal question is not "repaired")."""
    return msg.VISIT_NOT_FIXED_WORDS.get(ticket.intent, msg.VISIT_NOT_SOLVED)


def answer_if_visit(
    uow: AbstractUnitOfWork,
    ctx: Context,
    resident: Resident,
    text: str,
    parsed: ParseResult | None,
) -> str | None:
    """The reply if `text` answers a pending visit; None to treat it as an ordinary message."""
    ticket = uow.tickets.visit_pending_for(resident.id)
    if ticket is None:
        return None
    answer = visit_answer(text)
    if _is_other_request(parsed, ticket, answer):
        return None
    actor, now = resident_actor(resident), ctx.now
    if answer is None:
        if ticket.followup_state != F.ASKED:
            return None  # asked twice already: let the message be what it is
        set_followup(ticket, F.ASKED_AGAIN)
        record(uow, ticket, "visit_unclear", actor, now, text[:200])
        return msg.VISIT_ASK_AGAIN.format(n=ticket.id, not_fixed=not_fixed_word(ticket))

    ticket.rating = answer.rating
    set_followup(ticket, F.ANSWERED)
    record(
        uow,
        ticket,
        "visit_answered",
        actor,
        now,
        text[:200],
        rating=answer.rating,
        fixed=answer.fixed,
        solved=answer.solved,
    )
    if not answer.solved:
        return _reopen_after_visit(uow, ctx, ticket, answer, text, actor)
    if answer.rating is None:
        transition(uow, ticket, TicketStatus.CLOSED, actor, now, msg.VISIT_CLOSED_FIXED)
        return msg.VISIT_THANKS_FIXED.format(n=ticket.id)
    detail = msg.VISIT_CLOSED_RATED.format(rating=answer.rating)
    transition(uow, ticket, TicketStatus.CLOSED, actor, now, detail)
    return msg.VISIT_THANKS.format(n=ticket.id, rating=answer.rating)


def _reopen_after_visit(
    uow: AbstractUnitOfWork,
    ctx: Context,
    ticket: Ticket,
    answer: VisitAnswer,
    said: str,
    actor: str,
) -> str:
    """Back to the assignee; the branch liaison hears why."""
    if answer.fixed is False:
        # Braces would break the templates the reason is formatted into.
        quoted = mask_personal(said.strip())[:40].replace("{", "（").replace("}", "）")
        reason = msg.VISIT_REASON_NOT_FIXED.format(said=quoted)
    else:
        reason = msg.VISIT_REASON_LOW_RATING.format(rating=answer.rating)
    reopen_ticket(uow, ctx, ticket, reason, actor, tell_owner=False)  # the reply says it
    label = assignee_label(ctx.policy, ticket)
    for liaison in liaisons_of(uow, ctx.policy, ticket.community):
        notify(
            uow,
            liaison.openid,
            msg.NOTIFY_LOW_RATING.format(n=ticket.id, reason=reason, assignee=label),
            ctx.now,
            kind="visit_alert",
            ticket=ticket,
        )
    return msg.VISIT_REOPENED.format(n=ticket.id, assignee=label)


def send_due_visits(command: cmd.SendDueVisits, uow: AbstractUnitOfWork, ctx: Context) -> cmd.Batch:
    """Ask the residents of tickets resolved `followup_delay` ago, at most `command.limit` of
    them; `done`: the ticket numbers asked."""
    now = ctx.now
    asked = []
    due = uow.tickets.visits_due(now, command.limit)
    for ticket in due:
        resident = ticket.resident
        if resident is None or resident.erased_at is not None:
            # Nobody left to ask: close without a visit (counted neither answered nor expired).
            set_followup(ticket, F.SKIPPED)
            transition(uow, ticket, TicketStatus.CLOSED, "system", now, msg.VISIT_SKIPPED_DETAIL)
            continue
        set_followup(ticket, F.ASKED)
        ticket.followup_asked_at = now
        record(uow, ticket, "visit_sent", "system", now)
        notify(
            uow,
            resident.openid,
            msg.VISIT_ASK.format(
                n=ticket.id,
                intent_name=msg.INTENT_NAMES.get(ticket.intent, ""),
                not_fixed=not_fixed_word(ticket),
            ),
            now,
            kind="visit",
            ticket=ticket,
            # Once per resolution: a ticket reopened and resolved again gets a new visit.
            dedupe_key=f"visit:{ticket.id}:{ticket.resolved_at:%Y%m%d%H%M%S}",
        )
        asked.append(ticket.id)
    return cmd.Batch(asked, full=len(due) >= command.limit)


def expire_visits(command: cmd.ExpireVisits, uow: AbstractUnitOfWork, ctx: Context) -> cmd.Batch:
    """Close tickets whose visit went unanswered for `followup_expire`: "no response"; at most
    `command.limit` of them. `done`: the ticket numbers closed."""
    now = ctx.now
    closed = []
    due = uow.tickets.visits_unanswered_since(now - ctx.policy.followup_expire, command.limit)
    for ticket in due:
        set_followup(ticket, F.NO_RESPONSE)
        record(uow, ticket, "visit_expired", "system", now, msg.VISIT_EXPIRED_DETAIL)
        transition(uow, ticket, TicketStatus.CLOSED, "system", now, msg.VISIT_EXPIRED_DETAIL)
        closed.append(ticket.id)
    return cmd.Batch(closed, full=len(due) >= command.limit)
