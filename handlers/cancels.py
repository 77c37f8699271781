"""Cancels are never guessed.

- `取消 n` cancels the resident's own ticket #n at once (the keyword names one ticket).
- A cancel in words, or a bare `取消`, that points to exactly one of the resident's active
  tickets (by its number, its problem "空调那个", its kind "报修" when there is one repair, or
  "刚才的") asks first: 「确认取消 #4（空调不制冷）吗？回复「确认」」, and only the confirmation
  (within `conversation.state_ttl`) cancels it.
- Anything that does not point to one ticket gets the list of active ones to choose from.
- "哎呀取消错了…" or "不用取消" cancels nothing.
A cancel only ever looks at the resident's own tickets.
"""

from __future__ import annotations

import re

from handlers import messages as msg
from handlers.errors import Invalid, NotFound
from handlers.keywords import (
    kinds_named,
    names_the_latest,
    normalise,
    takes_back_a_cancel,
    yes_or_no,
)
from handlers.lifecycle import is_active, record, status_name
from handlers.threads import active_tickets, summary, ticket_lines
from handlers.tickets import cancel_ticket, problem_bigrams, resident_actor
from handlers.turn import (
    AWAITING_CANCEL,
    AWAITING_CANCEL_CHOICE,
    PendingCancel,
    PendingCancelChoice,
    Turn,
)
from storage.models import Ticket

# "#4", "4号单": a ticket number inside a sentence.
_TICKET_IN_TEXT = re.compile(r"#\s*(\d{1,9})|(?<!\d)(\d{1,9})\s*号?单")
# Characters of the cancel itself ("算了…不用修了 取消"), not of the problem it names.
_CANCEL_CHARS = frozenset("取消算不用要了那个刚才的修办别错还问吧啦呢就")


def cancel_number(turn: Turn, number: int) -> str:
    """`取消 n`: the resident's own active ticket #n, at once. A ticket they only follow (they
    reported the same problem) is not theirs to cancel: they stop following it."""
    if turn.live_state(AWAITING_CANCEL, AWAITING_CANCEL_CHOICE) is not None:
        turn.forget()
    if _follows(turn, number):
        return _unfollow(turn, number)
    ticket = cancel_ticket(turn.uow, turn.ctx, turn.resident, number)
    return msg.CANCEL_DONE.format(n=ticket.id)


def _follows(turn: Turn, number: int) -> bool:
    ticket = turn.uow.tickets.get(number)
    return (
        ticket is not None
        and ticket.resident_id != turn.resident.id
        and any(f.id == turn.resident.id for f in turn.uow.tickets.followers(number))
    )


def _unfollow(turn: Turn, number: int) -> str:
    """The resident stops following #n; the owner's ticket goes on, the trail says so."""
    ticket = turn.uow.tickets.get(number)
    assert ticket is not None
    turn.uow.tickets.remove_follower(number, turn.resident.id)
    record(turn.uow, ticket, "unfollowed", resident_actor(turn.resident), turn.now)
    turn.row.ticket_id = number
    return msg.UNFOLLOWED.format(n=number)


def cancel_bare(turn: Turn) -> str:
    """`取消` alone, with nothing being filed: confirm the only active ticket, or list them."""
    own = active_tickets(turn)
    if not own:
        return msg.CANCEL_NOTHING
    if len(own) == 1:
        return _ask_to_confirm(turn, own[0])
    return _which(turn, own)


def cancel_in_words(turn: Turn) -> str:
    """A cancel the NLU read in words: confirm the one ticket the words point to, else ask."""
    text = turn.text
    if takes_back_a_cancel(text):
        return _taken_back(turn)
    own = active_tickets(turn, limit=20)
    named = _TICKET_IN_TEXT.search(normalise(text))
    if named:
        number = int(named.group(1) or named.group(2))
        if _follows(turn, number):
            return _unfollow(turn, number)
        return _ask_to_confirm(turn, _own_active(turn, own, number))
    if not own:
        return msg.CANCEL_NOTHING
    meant = tickets_meant(own, text)
    if len(meant) == 1:
        return _ask_to_confirm(turn, meant[0])
    return _which(turn, meant or own)


def confirm_cancel(turn: Turn, pending: PendingCancel) -> str | None:
    """The answer to 「确认取消 #4 吗？」: yes cancels, no keeps it; anything else is read as
    what it says (and the question is dropped)."""
    turn.forget()
    if takes_back_a_cancel(turn.text):
        return msg.CANCEL_KEPT.format(n=pending.number)
    answer = yes_or_no(turn.text)
    if answer is None:
        return None
    if answer is False:
        return msg.CANCEL_KEPT.format(n=pending.number)
    ticket = cancel_ticket(turn.uow, turn.ctx, turn.resident, pending.number)
    return msg.CANCEL_DONE.format(n=ticket.id)


def ask_again(turn: Turn, pending: PendingCancel) -> str:
    """A bare `取消` while Sheli waits for 「确认」: say what it waits for."""
    return msg.CANCEL_CONFIRM.format(n=pending.number, summary=pending.summary)


def tickets_meant(own: list[Ticket], text: str) -> list[Ticket]:
    """The tickets (of `own`) the words point to: by the problem they name, then by kind,
    then "刚才的" for the newest; all of them when nothing narrows them down to one."""
    words = {pair for pair in problem_bigrams(text) if not (set(pair) & _CANCEL_CHARS)}
    kinds = kinds_named(text)
    meant = [t for t in own if words & problem_bigrams(t.text, t.location)]
    if len(meant) > 1 and kinds:
        meant = [t for t in meant if t.intent in kinds] or meant
    elif not meant and kinds:
        meant = [t for t in own if t.intent in kinds]
    elif not meant and (len(own) == 1 or names_the_latest(text)):
        meant = list(own)
    if len(meant) > 1 and names_the_latest(text):
        meant = [max(meant, key=lambda t: t.id)]
    return meant


def _own_active(turn: Turn, own: list[Ticket], number: int) -> Ticket:
    for mine in own:
        if mine.id == number:
            return mine
    ticket = turn.uow.tickets.get(number)
    if ticket is None or ticket.resident_id != turn.resident.id:
        raise NotFound(msg.NOT_YOUR_TICKET.format(n=number))
    if not is_active(ticket):
        raise Invalid(msg.CANNOT_CANCEL.format(n=number, status=status_name(ticket.status)))
    return ticket


def _ask_to_confirm(turn: Turn, ticket: Ticket) -> str:
    about = summary(ticket)
    turn.remember(AWAITING_CANCEL, PendingCancel(ticket.id, about))
    return msg.CANCEL_CONFIRM.format(n=ticket.id, summary=about)


def _which(turn: Turn, tickets: list[Ticket]) -> str:
    """The list to choose from; a bare number next ("2", "#2") picks one of them."""
    turn.remember(AWAITING_CANCEL_CHOICE, PendingCancelChoice([t.id for t in tickets]))
    return msg.CANCEL_WHICH_LIST.format(tickets=ticket_lines(tickets))


# "2", "#2", "2号", "第2单": the answer to the list.
_BARE_NUMBER = re.compile(r"(?:第)?#?\s*(\d{1,9})\s*(?:号|单|号单)?")


def choose_from_list(turn: Turn, pending: PendingCancelChoice) -> str | None:
    """The answer to 「要取消哪一单？」: a number on the list cancels that ticket (as `取消 n`);
    a number not on it gets the list again; anything else is read as what it says."""
    chosen = _BARE_NUMBER.fullmatch(normalise(turn.text).rstrip("。.!！"))
    if chosen is None:
        turn.forget()
        return None
    number = int(chosen.group(1))
    if number in pending.numbers:
        return cancel_number(turn, number)
    listed = [t for t in active_tickets(turn, limit=20) if t.id in pending.numbers]
    if not listed:
        turn.forget()
        return None
    turn.remember(AWAITING_CANCEL_CHOICE, pending)
    return msg.CANCEL_NOT_ON_LIST.format(n=number, tickets=ticket_lines(listed))


def _taken_back(turn: Turn) -> str:
    if turn.live_state(AWAITING_CANCEL) is not None:
        turn.forget()
    cancelled = turn.uow.tickets.newest_cancelled_by(
        turn.resident.id, turn.now - turn.policy.state_ttl
    )
    if cancelled is not None:
        return msg.CANCEL_ALREADY_DONE.format(n=cancelled.id)
    return msg.CANCEL_TAKEN_BACK
