"""Residents talk back: answers to staff, `补充 n`, and `人工` as a ticket of its own.

Staff write to a resident with `回复 n` (handlers/tickets.py reply_to_resident stamps
`staff_messaged_at`). For `conversation.reply_window` afterwards the resident's plain answers
join #n: forwarded to whoever has it, into the trail, and the resident is told. A message that is
clearly a new request, or a cancel, or a call for a person, is read as what it says instead.
"""

from __future__ import annotations

import re
from datetime import timedelta

from handlers import commands as cmd
from handlers import floods
from handlers import messages as msg
from handlers.keywords import RESIDENT_COMMANDS, STAFF_COMMANDS, Command, chases, parse_command
from handlers.lifecycle import is_active
from handlers.masking import mask_personal
from handlers.tickets import (
    add_to_ticket,
    assignee_label,
    forward_to_staff,
    open_ticket,
    passed_on,
    problem_bigrams,
    same_problem,
)
from handlers.turn import Turn
from nlu.base import TICKET_INTENTS
from nlu.places import building_of, room_label, same_place
from storage.models import Ticket
from storage.states import ACTIVE_STATUSES

# How sure the NLU must be before an answer to staff is read as a request of its own.
NEW_REQUEST_CONFIDENCE = 0.8
# Conversation intents that are never an answer to staff when the NLU is this sure of them:
# they are for Sheli ("取消…", "找人工", "最近有什么活动").
_NOT_AN_ANSWER = ("cancel", "ask_human", "event_query")
# What is left of a message once its place and punctuation are taken out, to be a request.
_MIN_REQUEST_CHARS = 4
_PUNCTUATION = re.compile(r"[\s，。！？、,.!?~～…]+")


def thread_ticket(turn: Turn) -> Ticket | None:
    """The ticket staff wrote to this resident about within `conversation.reply_window`."""
    since = turn.now - turn.policy.reply_window
    return turn.uow.tickets.staff_wrote_since(turn.resident.id, since)


def join_thread(turn: Turn, ticket: Ticket) -> str | None:
    """The resident answers staff about `ticket`; None when the message is something else."""
    if _is_something_else(turn, ticket):
        return None
    staff = forward_to_staff(turn.uow, turn.ctx, ticket, turn.resident, turn.text)
    turn.row.ticket_id = ticket.id
    return passed_on(turn.policy, ticket, staff)


def _is_something_else(turn: Turn, ticket: Ticket) -> bool:
    """A cancel, a call for a person, or a confident new request about another problem.

    After `人工` the liaison asks what the resident needs: whatever they answer (a request of
    any kind, "我想当面说") is the answer, except a cancel or a question about events. Over the
    ticket limit (handlers/floods.py) no new ticket could be opened: the answer joins #n."""
    parsed = turn.parsed
    if parsed is None or parsed.confidence < NEW_REQUEST_CONFIDENCE:
        return False
    if ticket.intent == "ask_human":
        return parsed.intent in _NOT_AN_ANSWER and parsed.intent != "ask_human"
    if parsed.intent in _NOT_AN_ANSWER:
        return True
    if parsed.intent not in TICKET_INTENTS or floods.over_ticket_limit(turn):
        return False
    text, location = turn.text, parsed.first("location")
    rest = _PUNCTUATION.sub("", text.replace(location, "") if location else text)
    if len(rest) < _MIN_REQUEST_CHARS:
        return False  # "5栋301": an answer to "在哪一间？"
    if parsed.intent != ticket.intent:
        return True
    # The same kind of request: new when it names a problem the ticket does not mention.
    return not (problem_bigrams(text, location) & problem_bigrams(ticket.text, ticket.location))


# --- chasing an open ticket --------------------------------------------------------------------

# Characters that say nothing of what a request is about, besides the filler of problem_bigrams.
_NOT_ABOUT = frozenset(
    "的了吗呢啊呀吧哦嘛坏掉不没有是我你他她它们这那个在也又还都就很太好请帮快来修一下几天久么怎人管催到底等要啥什时候点"
)


def ongoing_ticket(turn: Turn, intent: str, location: str | None) -> Ticket | None:
    """The resident's open ticket (own or followed) this request is about, if it is one they
    already made: same kind, not somewhere else, and the same problem (mostly the same words,
    or chasing words about what the ticket names: "灯还是没修好啊" after "我们楼道的灯不亮了")."""
    if intent not in TICKET_INTENTS:
        return None
    text = turn.text
    chasing = chases(text)
    words = _content_chars(text, location)
    candidates = [t for t in active_tickets(turn) if t.intent == intent]
    candidates += [
        t
        for t in turn.uow.tickets.followed_by(turn.resident.id)
        if t.intent == intent and is_active(t) and t not in candidates
    ]
    for ticket in candidates:
        if location and ticket.location and not _same_spot(ticket, location, text):
            continue  # the same kind of problem somewhere else is a new request
        if same_problem(ticket.text, text, ticket.location, location):
            return ticket
        if chasing and _mostly_about(words, _content_chars(ticket.text, ticket.location)):
            return ticket
    return None


def _mostly_about(words: set[str], ticket_words: set[str]) -> bool:
    """Most of what a chasing message names is what the ticket names ("灯" of "灯还是没修好"
    in "楼道的灯不亮了"); a message that names nothing chases whatever is open."""
    return not words or len(words & ticket_words) * 2 >= len(words)


def _same_spot(ticket: Ticket, location: str, text: str) -> bool:
    if same_place(ticket.location, location, ticket.text, text):
        return True
    return building_of(ticket.location) == building_of(location) and not (
        room_label(ticket.location) or room_label(location)
    )


def _content_chars(text: str, location: str | None) -> set[str]:
    """The characters of `text` that say what it is about (not its place, not filler)."""
    text = text.replace(location, " ") if location else text
    return {c for c in text if c.isalpha() and not c.isascii() and c not in _NOT_ABOUT}


def chase(turn: Turn, ticket: Ticket) -> str:
    """The resident chases `ticket`: their words reach whoever has it, as an addition."""
    staff = forward_to_staff(
        turn.uow,
        turn.ctx,
        ticket,
        turn.resident,
        turn.text,
        msg.NOTIFY_RESIDENT_CHASED,
        event="resident_added",
    )
    turn.row.ticket_id = ticket.id
    if staff is None:
        return msg.CHASE_JOINED_NOBODY.format(n=ticket.id, summary=summary(ticket))
    who = msg.ASSIGNEE.format(role=turn.policy.role_name(staff.role), name=staff.name)
    return msg.CHASE_JOINED.format(n=ticket.id, summary=summary(ticket), assignee=who)


# --- 补充 n ------------------------------------------------------------------------------------

# "补充3栋502…" is a place, not ticket #3.
_PLACE_AFTER_NUMBER = tuple("栋幢楼号单元区室")


def add(turn: Turn, command: Command) -> str:
    """`补充 n 内容`: to the resident's own ticket, at any time."""
    number, text = command.number, command.rest
    if number is not None and text.startswith(_PLACE_AFTER_NUMBER):
        number, text = None, f"{number}{text}"
    if number is None:
        return _which_ticket(turn)
    reply = add_to_ticket(
        cmd.AddToTicket(number, text, cmd.Actor.resident(turn.resident.id)), turn.uow, turn.ctx
    )
    turn.row.ticket_id = number
    return reply


def _which_ticket(turn: Turn) -> str:
    active = active_tickets(turn)
    if not active:
        return msg.ADD_USAGE_NO_TICKETS
    return msg.ADD_WHICH.format(n=active[0].id, tickets=ticket_lines(active))


def active_tickets(turn: Turn, limit: int = 8) -> list[Ticket]:
    """The resident's own tickets that still need work, newest first."""
    return list(
        turn.uow.tickets.list(
            resident_id=turn.resident.id, status=ACTIVE_STATUSES, newest_first=True, limit=limit
        )
    )


def ticket_lines(tickets: list[Ticket]) -> str:
    """One short line per ticket: "#4 物业报修：空调不制冷"."""
    return "\n".join(
        msg.CANCEL_LIST_LINE.format(
            n=t.id, intent_name=msg.INTENT_NAMES.get(t.intent, t.intent), summary=summary(t)
        )
        for t in tickets
    )


# A phone or ID number (masked first), with the words that announce it: no part of a summary.
_PERSONAL = re.compile(
    r"[，,\s]*(?:我的?)?(?:联系)?(?:电话|手机|号码|身份证号?)?(?:是|为)?[:：]?\s*[\d+\-]*\*[\d*Xx+\-]*"
)


def summary(ticket: Ticket, width: int = 12) -> str:
    """A few words of what the ticket is about, without its place and personal details."""
    text = ticket.text.replace(ticket.location, "") if ticket.location else ticket.text
    text = _PERSONAL.sub("", mask_personal(text.splitlines()[0] if text else ""))
    text = text.strip(" ·，,。.！!？?的")
    return text[:width] + ("…" if len(text) > width else "") if text else "—"


# --- 人工 ------------------------------------------------------------------------------------

# The resident's last few messages (of the last day) go into the liaison's ticket.
_RECENT_MESSAGES = 3
_RECENT = timedelta(hours=24)


def ask_for_human(turn: Turn) -> str:
    """`人工`: a ticket for the branch liaison with the resident's recent messages, so the liaison
    answers with 回复 n, and the ticket has a trail, an SLA and a visit. One open at a time."""
    uow, policy = turn.uow, turn.policy
    for ticket in uow.tickets.list(
        resident_id=turn.resident.id, intent="ask_human", newest_first=True, limit=1
    ):
        if is_active(ticket):
            turn.row.ticket_id = ticket.id
            return msg.HUMAN_ALREADY.format(n=ticket.id, assignee=assignee_label(policy, ticket))
    ticket = open_ticket(
        uow,
        turn.ctx,
        turn.resident,
        intent="ask_human",
        text=_recent_words(turn),
        location=turn.resident.room,
        template=msg.NOTIFY_HUMAN_TASK,
    )
    turn.row.ticket_id = ticket.id
    if ticket.assignee is None:
        return msg.HUMAN_TICKET_NO_ONE.format(n=ticket.id)
    return msg.HUMAN_TICKET.format(n=ticket.id, assignee=assignee_label(policy, ticket))


def _recent_words(turn: Turn) -> str:
    """What the resident wrote lately (their words, not keywords), one line each."""
    since = turn.now - _RECENT
    lines = [
        m.content
        for m in turn.uow.inbound.for_openid(turn.resident.openid, limit=12)
        if m.content
        and m.received_at >= since
        and m.msg_type in ("text", "voice")
        and parse_command(m.content, RESIDENT_COMMANDS + STAFF_COMMANDS) is None
    ]
    recent = lines[-_RECENT_MESSAGES:]
    return "\n".join(f"· {line[:200]}" for line in recent) or msg.HUMAN_NO_MESSAGES
