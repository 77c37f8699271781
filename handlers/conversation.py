"""One inbound message in, one passive reply out; side effects through the unit of work.

A turn is read in a fixed order: the flood limit → other message kinds (events, images,
locations) → staff keywords → resident keywords → the answers to open questions → the intent.
Each step is a table: KIND_HANDLERS, MENU, RESIDENT_COMMAND_HANDLERS, STAFF_COMMAND_HANDLERS
(handlers/staff_commands.py), STATE_HANDLERS and INTENT_HANDLERS. Adding an intent touches
training data, one handler and one row of INTENT_HANDLERS (and `routing:` in config.yaml).

Open questions are what someone is waiting for an answer to: Sheli's own (the pending state:
a missing place, 「确认」 to a cancel, 「确认注销」, a place to correct), a staff member's
(`回复 n` within `conversation.reply_window`: the answer joins #n, handlers/threads.py) and the
follow-up visit's. The newest question hears the message first, the way people answer the last
thing they were asked; when it does not take the message (the visit does not read "老板拖欠工资"
as a score, a staff thread lets a clear new request through), the next one may, then the intent.
Keywords come before all of them: they say exactly what they mean.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from handlers import (
    cancels,
    communities,
    corrections,
    events,
    floods,
    followup,
    media,
    residents,
    resources,
    review,
    staff_commands,
    threads,
)
from handlers import messages as msg
from handlers.errors import DomainError
from handlers.inbound import Inbound
from handlers.keywords import (
    RESIDENT_COMMANDS,
    STAFF_COMMANDS,
    Command,
    involves_violence,
    is_confirmation,
    parse_command,
    yes_or_no,
)
from handlers.lifecycle import is_active
from handlers.ports import Context
from handlers.staff import bind
from handlers.tickets import (
    assignee_label,
    find_duplicate,
    informed_on_duty,
    link_duplicate,
    open_ticket,
)
from handlers.times import human_duration
from handlers.turn import (
    AWAITING_CANCEL,
    AWAITING_CANCEL_CHOICE,
    AWAITING_COMMUNITY,
    AWAITING_CORRECTION,
    AWAITING_ERASE,
    AWAITING_LOCATION,
    AWAITING_PROBLEM,
    AWAITING_REQUEST,
    PendingCancel,
    PendingCorrection,
    PendingErase,
    PendingRequest,
    Turn,
    load_pending,
    text_of,
)
from nlu.base import TICKET_INTENTS
from nlu.places import building_of, public_facility
from storage.errors import DuplicateMessage
from storage.models import InboundMessage, Ticket
from storage.states import DEFAULT_COMMUNITY
from storage.uow import AbstractUnitOfWork

log = logging.getLogger(__name__)

# Intents that cannot be dispatched without knowing where.
NEEDS_LOCATION = ("repair", "hazard")
# Intents that are always urgent (SPEC: a hazard is urgent), besides violent mediation.
ALWAYS_URGENT = ("hazard",)
# Intents whose reports at the same spot of the same problem join one ticket.
DEDUPE_INTENTS = ("repair", "hazard")
# Intents a resident may switch to while Sheli waits for what a menu button asked.
_NOT_A_MENU_ANSWER = ("cancel", "status_query", "ask_human", "greet")


def handle_message(inbound: Inbound, uow: AbstractUnitOfWork, ctx: Context) -> str:
    """Answer one message exactly once: a re-delivered copy gets the first copy's reply."""
    text = text_of(inbound)
    row = InboundMessage(
        dedupe_key=inbound.dedupe_key,
        openid=inbound.openid,
        msg_type=inbound.kind if inbound.kind != "event" else f"event:{inbound.event}",
        content=(
            text
            or inbound.media_id
            or inbound.location_label
            or inbound.event_key
            or inbound.scene
            or ""
        )[:4000],
        received_at=ctx.now,
    )
    try:
        uow.inbound.claim(row)
    except DuplicateMessage:  # nothing was written: the first copy's reply is the answer
        earlier = uow.inbound.by_key(inbound.dedupe_key)
        return (earlier.reply or "") if earlier else ""
    # The same statement says whether a staff thread is open (handlers/threads.py).
    resident = uow.residents.get_or_create(
        inbound.openid, ctx.now, thread_since=ctx.now - ctx.policy.reply_window
    )
    turn = Turn(inbound, uow, ctx, resident, row=row)
    try:
        reply = floods.refuse_message(turn) or respond(turn)
        media.keep_voice(turn)  # the recording joins the ticket the message opened or joined
    except DomainError as refusal:  # expected refusals are polite replies; they write nothing
        reply = str(refusal)
    uow.inbound.answer(row, reply)
    return reply


def respond(turn: Turn) -> str:
    """Choose the reply; every branch records what it changed."""
    inbound = turn.inbound
    kind_handler = KIND_HANDLERS.get(inbound.kind)
    if kind_handler is not None:
        return kind_handler(turn)
    if inbound.kind == "voice" and not inbound.text:
        return media.on_unrecognised_voice(turn)
    if inbound.kind not in ("text", "voice"):
        return msg.UNSUPPORTED
    text = turn.text
    if not text:
        return msg.HELP

    command = parse_command(text, STAFF_COMMANDS)
    if command is not None:
        return _on_staff_command(turn, command)
    command = parse_command(text, RESIDENT_COMMANDS)
    # A bare "取消" or "取消 3" is the keyword; "取消刚才的报修" is read by the NLU.
    if command is not None and (
        command.word != "取消" or command.number is not None or text == "取消"
    ):
        return _on_resident_command(turn, command)

    prefix = ""
    state = turn.pending_state()
    if state is not None and state.expires_at < turn.now:
        turn.forget()
        prefix = _expired_note(state.state, load_pending(state))
        state = None
    for answer in _open_questions(turn, state):
        reply = answer()
        if reply is not None:
            return reply
    if is_confirmation(text):  # "确认" with nothing waiting for it: say so, keep nothing
        return prefix + msg.NOTHING_TO_CONFIRM
    return prefix + _on_intent(turn)


def _open_questions(turn: Turn, state: Any) -> list[Callable[[], str | None]]:
    """Who waits for an answer, newest question first: Sheli's pending state, a staff member's
    message about a ticket (within `conversation.reply_window`), the follow-up visit."""
    asked: list[tuple[datetime, int, Callable[[], str | None]]] = []
    if state is not None and state.state in STATE_HANDLERS:
        handler, pending = STATE_HANDLERS[state.state], load_pending(state)
        asked.append((state.updated_at, 2, lambda: handler(turn, pending)))
    thread = threads.thread_ticket(turn)
    if thread is not None and thread.staff_messaged_at is not None:
        asked.append((thread.staff_messaged_at, 1, lambda: threads.join_thread(turn, thread)))
    visit = turn.uow.tickets.visit_pending_for(turn.resident.id)
    if visit is not None:
        asked.append(
            (
                visit.followup_asked_at or datetime.min,
                0,
                lambda: _answer_visit(turn, visit),
            )
        )
    return [answer for _, _, answer in sorted(asked, key=lambda q: q[:2], reverse=True)]


def _answer_visit(turn: Turn, visit: Ticket) -> str | None:
    """The follow-up visit's answer, if this message is one: it is about the visited ticket."""
    reply = followup.answer_if_visit(turn.uow, turn.ctx, turn.resident, turn.text, turn.parsed)
    if reply is not None:
        turn.row.ticket_id = visit.id
    return reply


def _expired_note(state: str, pending: Any) -> str:
    """What to say, before the answer, about a question whose time ran out."""
    if state == AWAITING_LOCATION:
        return msg.LOCATION_STATE_EXPIRED + "\n"
    if state == AWAITING_CANCEL:
        return msg.CANCEL_NOT_CONFIRMED.format(n=pending.number)
    return ""


# --- states: what the resident's next message means ------------------------------------------

_BARE_ROOM = re.compile(r"[A-Za-z]?\d{2,5}(室|房|号)?")
_GIVE_UP_WORDS = ("取消", "算了", "不用了")


def _continue_location(turn: Turn, pending: PendingRequest) -> str | None:
    """The resident was asked where; this message should say it."""
    parsed, text = turn.parsed, turn.text
    if (parsed and parsed.intent == "cancel") or text in _GIVE_UP_WORDS:
        turn.forget()
        return msg.INTAKE_CANCELLED
    location = parsed.first("location") if parsed else None
    if location is None and _BARE_ROOM.fullmatch(text):
        location = text  # a bare room number such as "502"
    if (
        location is None
        and parsed
        and parsed.intent in TICKET_INTENTS
        and len(text) > 8
        and parsed.confidence > 0.8
    ):
        turn.forget()
        return _request(turn, parsed.intent)  # a new, different request
    if location is None and pending.asked < 2:
        pending.asked += 1
        turn.remember(AWAITING_LOCATION, pending)
        return msg.ASK_LOCATION_AGAIN
    if pending.phone is None and parsed is not None:
        pending.phone = parsed.first("phone")
    return _linked(turn, pending, _file_pending(turn, pending, location))


def _continue_menu_request(turn: Turn, pending: PendingRequest) -> str | None:
    """A menu button chose the kind of request; this message is the request itself."""
    turn.forget()
    parsed = turn.parsed
    if parsed is not None and parsed.intent in _NOT_A_MENU_ANSWER:
        return None  # "进度", "取消", "人工", "你好": read as what they say
    return _linked(turn, pending, _request(turn, pending.intent, chosen=True))


def _erase_not_confirmed(turn: Turn, pending: PendingErase) -> str | None:
    """After `注销` only 「确认注销」 erases (a keyword); a plain yes is asked for the words, a no
    keeps everything, and anything else is read as what it says (nothing is erased)."""
    answer = yes_or_no(turn.text)
    if answer is True:
        return msg.ERASE_SAY_THE_WORDS
    turn.forget()
    return msg.ERASE_KEPT if answer is False else None


def _ask_what_is_wrong(turn: Turn, place: str, intent: str) -> str:
    """A message that is only a place ("6栋"), with nothing open: no ticket yet; ask what is
    wrong there, and file the answer at that place."""
    turn.remember(AWAITING_PROBLEM, PendingRequest(intent, place=place, first_row=turn.row.id))
    return msg.ASK_WHAT_AT_PLACE.format(place=place)


def _continue_at_place(turn: Turn, pending: PendingRequest) -> str | None:
    """The resident named only a place; this message should say what is wrong there."""
    turn.forget()
    parsed = turn.parsed
    said = parsed.intent if parsed is not None else None
    if said in _NOT_A_MENU_ANSWER:
        return None  # "进度", "取消", "人工", "你好": read as what they say
    intent = said if said in TICKET_INTENTS else pending.intent
    if not intent:
        return None  # not a request: read as what it says
    if corrections.place_only(turn) is not None:  # another place: ask about that one
        return None
    return _linked(turn, pending, _request(turn, intent, place=pending.place))


def _linked(turn: Turn, pending: PendingRequest, reply: str) -> str:
    """The messages that led to the ticket this turn filed (the request before Sheli asked where,
    the menu button) are about it too: they join it, as this message does."""
    if turn.row.ticket_id is not None and pending.first_row is not None:
        turn.uow.inbound.link_to_ticket(
            turn.inbound.openid, pending.first_row, turn.row.id, turn.row.ticket_id
        )
    return reply


def _continue_community(turn: Turn, pending: PendingRequest) -> str | None:
    """Sheli asked which community the resident lives in; this message should say it. Asked
    once: an answer it cannot place files the request all the same (the site-wide pool sees
    it), and Sheli does not ask again."""
    parsed, text = turn.parsed, turn.text
    if (parsed and parsed.intent == "cancel") or text in _GIVE_UP_WORDS:
        turn.forget()
        return msg.INTAKE_CANCELLED
    community = communities.from_answer(turn.uow, text)
    if community is not None:
        communities.settle(turn.resident, community)
        said = msg.COMMUNITY_NOTED.format(name=community.name) + "\n"
    else:
        said = msg.COMMUNITY_NOT_RECOGNISED + "\n"
    return _linked(turn, pending, said + _file_pending(turn, pending, pending.place))


StateHandler = Callable[[Turn, Any], str | None]
STATE_HANDLERS: dict[str, StateHandler] = {
    AWAITING_LOCATION: _continue_location,
    AWAITING_REQUEST: _continue_menu_request,
    AWAITING_CANCEL: cancels.confirm_cancel,
    AWAITING_ERASE: _erase_not_confirmed,
    AWAITING_COMMUNITY: _continue_community,
    AWAITING_CORRECTION: corrections.correct_place,
    AWAITING_PROBLEM: _continue_at_place,
    AWAITING_CANCEL_CHOICE: cancels.choose_from_list,
}


def _file_pending(turn: Turn, pending: PendingRequest, location: str | None) -> str:
    """File the request Sheli was waiting on, at `location` (None: still unknown)."""
    turn.forget()
    reply = _open(
        turn,
        pending.intent,
        pending.text,
        location,
        pending.phone,
        pending.urgent,
        pending.confidence,
    )
    ticket = _opened(turn)
    if location is None and ticket is not None:  # the place may still come: it corrects #n
        corrections.remember_place(turn, ticket, None)
        reply += msg.LOCATION_STILL_MISSING.format(n=ticket.id)
    return reply


def _opened(turn: Turn) -> Ticket | None:
    """The resident's own ticket this turn opened (not a duplicate it was linked to), if any."""
    ticket = turn.uow.tickets.get(turn.row.ticket_id) if turn.row.ticket_id else None
    return ticket if ticket is not None and ticket.resident_id == turn.resident.id else None


# --- intents -------------------------------------------------------------------------------


def _on_intent(turn: Turn) -> str:
    parsed = turn.parsed
    intent = parsed.intent if parsed else "nlu_fallback"
    review.keep_if_unsure(turn.uow, turn.ctx, turn.resident, parsed)  # unsure: kept for review
    handler = INTENT_HANDLERS.get(intent, _help)
    return handler(turn, intent)


def _request(turn: Turn, intent: str, place: str | None = None, chosen: bool = False) -> str:
    """A ticket intent: ask for the location when needed, else open (or link) the ticket.

    `place`: where the resident said it is in the message before ("6栋", then "电梯坏了").
    `chosen`: the intent is the one a menu button chose (kept if Sheli must ask what is wrong).
    """
    parsed = turn.parsed
    text = turn.inbound.text or ""
    if intent == "job_fair":  # a question about fairs or openings is answered from the events
        answer = events.answer_job_question(turn.uow, turn.ctx, text)
        if answer is not None:
            return answer
    location = (parsed.first("location") if parsed else None) or place
    if place is None and location is not None and corrections.place_only(turn) is not None:
        return _ask_what_is_wrong(turn, location, intent if chosen else "")
    ongoing = threads.ongoing_ticket(turn, intent, location)
    if ongoing is not None:  # "灯还是没修好啊": the open ticket about it hears it
        return threads.chase(turn, ongoing)
    phone = parsed.first("phone") if parsed else None
    urgent = (intent == "mediation" and involves_violence(text)) or intent in ALWAYS_URGENT
    confidence = parsed.confidence if parsed else None
    from_room = location is None and intent in NEEDS_LOCATION and bool(turn.resident.room)
    facility = public_facility(text) if from_room else None
    if from_room:
        location = turn.resident.room  # "以后报修会默认用这个地址"
        if facility and (building := building_of(location)):
            location = f"{building}{facility}"  # "我们楼道的灯": the building's, not the room's
    if location is None and intent in NEEDS_LOCATION:
        turn.remember(
            AWAITING_LOCATION,
            PendingRequest(
                intent,
                text,
                phone=phone,
                urgent=urgent,
                confidence=confidence,
                first_row=turn.row.id,
            ),
        )
        return msg.ASK_LOCATION
    reply = _open(turn, intent, text, location, phone, urgent, confidence)
    if turn.row.ticket_id is None and turn.live_state(AWAITING_COMMUNITY) is not None:
        return reply  # Sheli asked which community first: the rest comes with the ticket
    if from_room and (ticket := _opened(turn)) is not None:
        told = msg.LOCATION_FROM_BUILDING if facility else msg.LOCATION_FROM_ROOM
        reply += told.format(room=location, place=location)
        corrections.remember_place(turn, ticket, location)  # "5栋301" next corrects it
    extra = REPLY_EXTRAS.get(intent)
    if extra is not None:
        reply += extra(turn, text)
    return reply + events.event_hint(turn.uow, turn.ctx, intent)


# Lines added to a new ticket's reply, by intent: an answer from community data, a reassurance.
REPLY_EXTRAS: dict[str, Callable[[Turn, str], str]] = {
    "social_security": lambda turn, text: resources.social_security_hint(turn.uow, text),
    "hardship": lambda turn, text: msg.HARDSHIP_PRIVATE,
}
# A reply of its own for a new ticket of these intents (else TICKET_CREATED[_URGENT]).
CREATED_REPLIES = {"hazard": msg.TICKET_CREATED_HAZARD}


def _open(
    turn: Turn,
    intent: str,
    text: str,
    location: str | None,
    phone: str | None,
    urgent: bool,
    confidence: float | None,
) -> str:
    uow, policy = turn.uow, turn.policy
    refusal = floods.refuse_new_ticket(turn)
    if refusal is not None:
        return refusal
    community = communities.known_for(uow, turn.resident, location)
    if community is None and communities.should_ask(turn.resident):  # "你住在哪个小区？", once
        pending = PendingRequest(
            intent, text, phone, urgent, confidence, place=location, first_row=turn.row.id
        )
        turn.remember(AWAITING_COMMUNITY, pending)
        return communities.question(uow, turn.resident, turn.now)
    community = community or DEFAULT_COMMUNITY
    if location and intent in DEDUPE_INTENTS:
        original = find_duplicate(uow, intent, location, text, community)
        if original is not None:
            link_duplicate(uow, turn.ctx, original, turn.resident, text)
            turn.row.ticket_id = original.id
            return msg.DUPLICATE_LINKED.format(
                n=original.id, assignee=assignee_label(policy, original)
            )
    ticket = open_ticket(
        uow,
        turn.ctx,
        turn.resident,
        intent=intent,
        text=text,
        location=location,
        phone=phone,
        urgent=urgent,
        confidence=confidence,
        community=community,
    )
    turn.row.ticket_id = ticket.id
    if turn.live_state(AWAITING_CORRECTION) is not None:
        turn.forget()  # a place now corrects this ticket, if any, not an earlier one
    extra = residents.after_ticket(turn.resident, ticket)  # room learned, phone consent
    intent_name = msg.INTENT_NAMES.get(intent, intent)
    if ticket.assignee is None:  # nobody on duty at all: it waits (tickets.assign_waiting)
        advice = msg.UNASSIGNED_URGENT_ADVICE if urgent else ""
        return msg.TICKET_UNASSIGNED.format(intent_name=intent_name, n=ticket.id) + advice + extra
    wanted = policy.role_for(intent, urgent)
    if ticket.role != wanted:  # nobody on duty in the role: the branch liaison has it first
        return (
            msg.TICKET_CREATED_FALLBACK.format(
                intent_name=intent_name,
                n=ticket.id,
                wanted=policy.role_name(wanted),
                assignee=assignee_label(policy, ticket),
            )
            + extra
        )
    template = CREATED_REPLIES.get(intent) or (
        msg.TICKET_CREATED_URGENT if urgent else msg.TICKET_CREATED
    )
    informed = "、".join(
        policy.role_name(role) for role, _ in informed_on_duty(uow, policy, ticket)
    )
    return (
        template.format(
            intent_name=intent_name,
            n=ticket.id,
            assignee=assignee_label(policy, ticket),
            informed=msg.HAZARD_INFORMED.format(roles=informed) if informed else "",
        )
        + extra
    )


def _greet(turn: Turn, intent: str) -> str:
    return msg.GREETING.format(site=turn.site)


def _thanks(turn: Turn, intent: str) -> str:
    return msg.THANKS


def _help(turn: Turn, intent: str) -> str:
    return msg.HELP


def _rating_without_visit(turn: Turn, intent: str) -> str:
    return msg.RATING_WITHOUT_VISIT


def _event_query(turn: Turn, intent: str) -> str:
    """Community activities of every kind from the events table; joining as a volunteer is
    answered with the volunteer teams."""
    text = turn.inbound.text or ""
    if resources.asks_to_volunteer(text):
        return resources.volunteer_answer(turn.uow, turn.ctx)
    return events.answer_event_question(turn.uow, turn.ctx, text)


def _cancel_intent(turn: Turn, intent: str) -> str:
    """ "取消刚才的报修": never guessed; the one ticket the words point to is confirmed first."""
    return cancels.cancel_in_words(turn)


def _status(turn: Turn, intent: str = "status_query") -> str:
    """`进度`: the resident's own tickets, newest first."""
    uow = turn.uow
    own = list(uow.tickets.list(resident_id=turn.resident.id, newest_first=True, limit=8))
    followed = [t for t in uow.tickets.followed_by(turn.resident.id) if is_active(t)]
    tickets = sorted({t.id: t for t in own + followed}.values(), key=lambda t: -t.id)
    if not tickets:
        return msg.STATUS_NONE
    lines = [msg.STATUS_HEADER]
    for ticket in tickets[:8]:
        extra = ""
        if ticket.status in ("assigned", "accepted", "reopened") and ticket.assignee:
            extra = f"（{assignee_label(turn.policy, ticket)}）"
        elif ticket.rating:
            extra = f"（评分{ticket.rating}）"
        lines.append(
            msg.STATUS_LINE.format(
                n=ticket.id,
                intent_name=msg.INTENT_NAMES.get(ticket.intent, ticket.intent),
                summary=threads.summary(ticket),  # a few words, so two repairs differ
                status=msg.STATUS_NAMES.get(ticket.status, ticket.status),
                extra=extra,
            )
        )
    return "\n".join(lines)


def _human(turn: Turn, intent: str = "ask_human") -> str:
    """`人工`: a ticket for the branch liaison (who answers with 回复 n)."""
    return threads.ask_for_human(turn)


IntentHandler = Callable[[Turn, str], str]
INTENT_HANDLERS: dict[str, IntentHandler] = {
    "repair": _request,
    "mediation": _request,
    "legal_consult": _request,
    "job_fair": _request,
    "greet": _greet,
    "thanks": _thanks,
    "status_query": _status,
    "cancel": _cancel_intent,
    "rating": _rating_without_visit,
    "ask_human": _human,
    "out_of_scope": _help,
    "nlu_fallback": _help,
    "hazard": _request,
    "hardship": _request,
    "social_security": _request,
    "event_query": _event_query,
}


# --- resident keywords -----------------------------------------------------------------------


def _on_resident_command(turn: Turn, command: Command) -> str:
    handler = RESIDENT_COMMAND_HANDLERS.get(command.word)
    if handler is None:
        return msg.HELP
    return handler(turn, command)


def _cmd_status(turn: Turn, command: Command) -> str:
    return _status(turn)


def _cmd_cancel(turn: Turn, command: Command) -> str:
    if command.number is not None:
        return cancels.cancel_number(turn, command.number)
    state = turn.pending_state()
    if state is not None and state.state in (AWAITING_LOCATION, AWAITING_REQUEST):
        turn.forget()
        return msg.INTAKE_CANCELLED
    state = turn.live_state(AWAITING_CANCEL, AWAITING_ERASE)
    if state is not None and state.state == AWAITING_CANCEL:
        pending = load_pending(state)
        assert isinstance(pending, PendingCancel)
        return cancels.ask_again(turn, pending)
    if state is not None:
        turn.forget()
        return msg.ERASE_KEPT
    return cancels.cancel_bare(turn)


def _cmd_human(turn: Turn, command: Command) -> str:
    return _human(turn)


def _cmd_register(turn: Turn, command: Command) -> str:
    return residents.register_room(turn.uow, turn.ctx, turn.resident, command.rest)


def _cmd_my_info(turn: Turn, command: Command) -> str:
    return residents.describe(turn.uow, turn.ctx, turn.resident)


def _cmd_erase(turn: Turn, command: Command) -> str:
    """`注销` says what would be erased and waits for 「确认注销」."""
    turn.remember(AWAITING_ERASE, PendingErase())
    return msg.ERASE_ASK.format(ttl=human_duration(turn.policy.state_ttl))


def _cmd_confirm_erase(turn: Turn, command: Command) -> str:
    """「确认注销」 within `conversation.state_ttl` of `注销` erases; otherwise nothing happens."""
    if turn.live_state(AWAITING_ERASE) is None:
        return msg.ERASE_NOT_ASKED
    return residents.erase(turn.uow, turn.ctx, turn.resident)


def _cmd_sign_up(turn: Turn, command: Command) -> str:
    number = command.number
    if number is None and (digits := re.search(r"\d+", command.rest)):
        number = int(digits.group())  # "报名 活动3"
    return events.sign_up(turn.uow, turn.ctx, turn.resident, number)


def _cmd_save_phone(turn: Turn, command: Command) -> str:
    return residents.save_phone(turn.uow, turn.ctx, turn.resident, turn.inbound.text or "")


ResidentCommandHandler = Callable[[Turn, Command], str]
RESIDENT_COMMAND_HANDLERS: dict[str, ResidentCommandHandler] = {
    "进度": _cmd_status,
    "取消": _cmd_cancel,
    "人工": _cmd_human,
    "登记": _cmd_register,
    "我的信息": _cmd_my_info,
    "注销": _cmd_erase,
    "报名": _cmd_sign_up,
    "保存电话": _cmd_save_phone,
    "补充": threads.add,
    "确认注销": _cmd_confirm_erase,
}


def _on_staff_command(turn: Turn, command: Command) -> str:
    if command.word == "绑定":
        if not command.rest:
            return msg.BIND_BAD_CODE
        return bind(turn.uow, turn.ctx, turn.inbound.openid, command.rest)
    if turn.staff is None:
        return msg.STAFF_ONLY
    if command.number is not None:
        turn.row.ticket_id = command.number  # the staff member's message is about this ticket
    return staff_commands.run(turn, command)


# --- the menu --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MenuItem:
    """A menu CLICK key: either starts a request of `intent` (asking `prompt`), or runs `action`."""

    intent: str | None = None
    prompt: str = ""
    action: Callable[[Turn], str] | None = None


MENU: dict[str, MenuItem] = {
    "REPAIR": MenuItem("repair", msg.MENU_PROMPTS["REPAIR"]),
    "MEDIATION": MenuItem("mediation", msg.MENU_PROMPTS["MEDIATION"]),
    "LEGAL": MenuItem("legal_consult", msg.MENU_PROMPTS["LEGAL"]),
    "JOBS": MenuItem("job_fair", msg.MENU_PROMPTS["JOBS"]),
    "HAZARD": MenuItem("hazard", msg.MENU_PROMPTS["HAZARD"]),
    "HARDSHIP": MenuItem("hardship", msg.MENU_PROMPTS["HARDSHIP"]),
    "SOCIAL_SECURITY": MenuItem("social_security", msg.MENU_PROMPTS["SOCIAL_SECURITY"]),
    "PROGRESS": MenuItem(action=_status),
    "HUMAN": MenuItem(action=_human),
    "MY_INFO": MenuItem(action=lambda turn: _cmd_my_info(turn, Command("我的信息"))),
}
# The CLICK keys bot/menu.json may use.
MENU_KEYS = tuple(MENU)


def _on_click(turn: Turn) -> str:
    item = MENU.get((turn.inbound.event_key or "").upper())
    if item is None:
        return msg.HELP
    if item.action is not None:
        return item.action(turn)
    assert item.intent is not None
    turn.remember(AWAITING_REQUEST, PendingRequest(item.intent, first_row=turn.row.id))
    return item.prompt


# --- other message kinds -------------------------------------------------------------------


def _on_event(turn: Turn) -> str:
    event = (turn.inbound.event or "").lower()
    # A QR code's scene may name the resident's community (handlers/communities.py).
    community = communities.on_follow(turn.uow, turn.resident, turn.inbound.scene)
    if event == "subscribe":
        return msg.WELCOME.format(site=community.name if community else turn.site)
    if event == "scan":  # a follower scanned a QR code again
        if community is not None:
            return msg.WELCOME_BACK_COMMUNITY.format(name=community.name)
        return msg.WELCOME_BACK
    if event == "click":
        return _on_click(turn)
    return ""  # nothing to say (the webhook lets only these events through)


def _on_image(turn: Turn) -> str:
    return media.on_image(turn)  # the resident's newest active ticket gets it


def _on_location_message(turn: Turn) -> str:
    label = (turn.inbound.location_label or "").strip() or (
        f"{turn.inbound.latitude},{turn.inbound.longitude}"
    )
    state = turn.live_state(AWAITING_LOCATION, AWAITING_CORRECTION)
    if state is not None and state.state == AWAITING_LOCATION:
        return _file_pending(turn, PendingRequest.from_state(state.data), label[:64])
    if state is not None:
        pending = load_pending(state)
        assert isinstance(pending, PendingCorrection)
        corrected = corrections.correct_to(turn, pending, label[:64])
        if corrected is not None:
            return corrected
    return msg.LOCATION_RECEIVED.format(label=label)


def _on_unsupported_kind(turn: Turn) -> str:
    """Video, short video, link, file: say what Sheli can take."""
    what = msg.UNSUPPORTED_KIND_NAMES.get(turn.inbound.kind)
    return msg.UNSUPPORTED_KIND.format(what=what) if what else msg.UNSUPPORTED


KindHandler = Callable[[Turn], str]
KIND_HANDLERS: dict[str, KindHandler] = {
    "event": _on_event,
    "image": _on_image,
    "location": _on_location_message,
    "video": _on_unsupported_kind,
    "shortvideo": _on_unsupported_kind,
    "link": _on_unsupported_kind,
    "file": _on_unsupported_kind,
}
