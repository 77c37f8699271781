"""One inbound message in, one passive reply out; side effects through the unit of work.

A turn is read in a fixed order: other message kinds (events, images, locations) → staff
keywords → resident keywords → the answer to a follow-up visit → the pending conversation
state → the intent. Each step is a table: STATE_HANDLERS, MENU, RESIDENT_COMMANDS,
STAFF_COMMAND_HANDLERS (handlers/staff_commands.py) and INTENT_HANDLERS. Adding an intent touches
training data, one handler and one row of INTENT_HANDLERS (and `routing:` in config.yaml).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from handlers import events, followup, media, residents, resources, review, staff_commands
from handlers import messages as msg
from handlers.errors import DomainError
from handlers.inbound import Inbound
from handlers.keywords import (
    RESIDENT_COMMANDS,
    STAFF_COMMANDS,
    Command,
    involves_violence,
    normalise,
    parse_command,
)
from handlers.lifecycle import is_active
from handlers.masking import mask_personal
from handlers.notices import notify
from handlers.ports import Context
from handlers.staff import bind
from handlers.tickets import (
    assignee_label,
    cancel_ticket,
    find_duplicate,
    link_duplicate,
    open_ticket,
)
from handlers.turn import AWAITING_LOCATION, AWAITING_REQUEST, PendingRequest, Turn, text_of
from nlu.base import TICKET_INTENTS
from storage.errors import DuplicateMessage
from storage.models import InboundMessage
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
        content=(text or inbound.media_id or inbound.location_label or inbound.event_key or "")[
            :4000
        ],
        received_at=ctx.now,
    )
    try:
        uow.inbound.claim(row)
    except DuplicateMessage:
        uow.rollback()
        earlier = uow.inbound.by_key(inbound.dedupe_key)
        return (earlier.reply or "") if earlier else ""
    resident = uow.residents.get_or_create(inbound.openid, ctx.now)
    turn = Turn(inbound, uow, ctx, resident, uow.staff.by_openid(inbound.openid), row)
    try:
        reply = respond(turn)
        media.keep_voice(turn)  # the recording joins the ticket the message opened or joined
    except DomainError as refusal:  # expected refusals are polite replies; they write nothing
        reply = str(refusal)
    row.reply = reply
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

    visit_reply = followup.answer_if_visit(turn.uow, turn.ctx, turn.resident, text, turn.parsed)
    if visit_reply is not None:
        return visit_reply

    prefix = ""
    state = turn.pending_state()
    if state is not None:
        if state.expires_at < turn.now:
            turn.forget()
            prefix = msg.LOCATION_STATE_EXPIRED + "\n" if state.state == AWAITING_LOCATION else ""
        else:
            handler = STATE_HANDLERS.get(state.state)
            if handler is not None:
                reply = handler(turn, PendingRequest.from_state(state.data))
                if reply is not None:
                    return reply
    return prefix + _on_intent(turn)


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
    return _file_pending(turn, pending, location)


def _continue_menu_request(turn: Turn, pending: PendingRequest) -> str | None:
    """A menu button chose the kind of request; this message is the request itself."""
    turn.forget()
    parsed = turn.parsed
    if parsed is not None and parsed.intent in _NOT_A_MENU_ANSWER:
        return None  # "进度", "取消", "人工", "你好": read as what they say
    return _request(turn, pending.intent)


StateHandler = Callable[[Turn, PendingRequest], str | None]
STATE_HANDLERS: dict[str, StateHandler] = {
    AWAITING_LOCATION: _continue_location,
    AWAITING_REQUEST: _continue_menu_request,
}


def _file_pending(turn: Turn, pending: PendingRequest, location: str | None) -> str:
    """File the request Sheli was waiting on, at `location` (None: still unknown)."""
    turn.forget()
    return _open(
        turn,
        pending.intent,
        pending.text,
        location,
        pending.phone,
        pending.urgent,
        pending.confidence,
    )


# --- intents -------------------------------------------------------------------------------


def _on_intent(turn: Turn) -> str:
    parsed = turn.parsed
    intent = parsed.intent if parsed else "nlu_fallback"
    review.keep_if_unsure(turn.uow, turn.ctx, turn.resident, parsed)  # unsure: kept for review
    handler = INTENT_HANDLERS.get(intent, _help)
    return handler(turn, intent)


def _request(turn: Turn, intent: str) -> str:
    """A ticket intent: ask for the location when needed, else open (or link) the ticket."""
    parsed = turn.parsed
    text = turn.inbound.text or ""
    if intent == "job_fair":  # a question about fairs or openings is answered from the events
        answer = events.answer_job_question(turn.uow, turn.ctx, text)
        if answer is not None:
            return answer
    location = parsed.first("location") if parsed else None
    phone = parsed.first("phone") if parsed else None
    urgent = (intent == "mediation" and involves_violence(text)) or intent in ALWAYS_URGENT
    confidence = parsed.confidence if parsed else None
    from_room = location is None and intent in NEEDS_LOCATION and bool(turn.resident.room)
    if from_room:
        location = turn.resident.room  # "以后报修会默认用这个地址"
    if location is None and intent in NEEDS_LOCATION:
        turn.remember(
            AWAITING_LOCATION,
            PendingRequest(intent, text, phone=phone, urgent=urgent, confidence=confidence),
        )
        return msg.ASK_LOCATION
    reply = _open(turn, intent, text, location, phone, urgent, confidence)
    if from_room:
        reply += msg.LOCATION_FROM_ROOM.format(room=location)
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
    if location and intent in DEDUPE_INTENTS:
        original = find_duplicate(uow, intent, location, text)
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
    )
    turn.row.ticket_id = ticket.id
    extra = residents.after_ticket(turn.resident, ticket)  # room learned, phone consent
    intent_name = msg.INTENT_NAMES.get(intent, intent)
    if ticket.assignee is None:
        return msg.TICKET_UNASSIGNED.format(intent_name=intent_name, n=ticket.id) + extra
    template = CREATED_REPLIES.get(intent) or (
        msg.TICKET_CREATED_URGENT if urgent else msg.TICKET_CREATED
    )
    return (
        template.format(
            intent_name=intent_name, n=ticket.id, assignee=assignee_label(policy, ticket)
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


_TICKET_IN_TEXT = re.compile(r"#\s*(\d{1,9})|(?<!\d)(\d{1,9})\s*号?单")


def _cancel_intent(turn: Turn, intent: str) -> str:
    """ "取消刚才的报修": cancel the newest active ticket of this resident."""
    ticket = turn.uow.tickets.newest_active_for(turn.resident.id)
    if ticket is None:
        return msg.CANCEL_NOTHING
    named = _TICKET_IN_TEXT.search(normalise(turn.inbound.text or ""))
    return _cancel(turn, int(named.group(1) or named.group(2)) if named else ticket.id)


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
                status=msg.STATUS_NAMES.get(ticket.status, ticket.status),
                extra=extra,
            )
        )
    return "\n".join(lines)


def _cancel(turn: Turn, number: int) -> str:
    ticket = cancel_ticket(turn.uow, turn.ctx, turn.resident, number)
    return msg.CANCEL_DONE.format(n=ticket.id)


def _human(turn: Turn, intent: str = "ask_human") -> str:
    """`人工`: tell the branch liaison, who contacts the resident."""
    liaison = turn.uow.staff.least_loaded(turn.policy.fallback_role)
    last = turn.inbound.text or ""
    recent = [
        m.content
        for m in turn.uow.inbound.for_openid(turn.resident.openid, limit=5)
        if m.content and m.content != last and m.msg_type in ("text", "voice")
    ]
    who = f"{turn.resident.room or ''}（编号{turn.resident.id}）"
    text = recent[-1] if recent else last
    if liaison is None:
        return msg.HUMAN_NO_ONE
    notify(
        turn.uow,
        liaison.openid,
        msg.NOTIFY_HUMAN.format(who=who, text=mask_personal(text)[:200]),
        turn.now,
        kind="handoff",
    )
    return msg.HUMAN_HANDOFF.format(name=liaison.name)


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
    if command.number is None:
        if turn.pending_state() is not None:
            turn.forget()
            return msg.INTAKE_CANCELLED
        newest = turn.uow.tickets.newest_active_for(turn.resident.id)
        return msg.CANCEL_WHICH.format(n=newest.id) if newest else msg.CANCEL_NOTHING
    return _cancel(turn, command.number)


def _cmd_human(turn: Turn, command: Command) -> str:
    return _human(turn)


def _cmd_register(turn: Turn, command: Command) -> str:
    return residents.register_room(turn.uow, turn.ctx, turn.resident, command.rest)


def _cmd_my_info(turn: Turn, command: Command) -> str:
    return residents.describe(turn.uow, turn.ctx, turn.resident)


def _cmd_erase(turn: Turn, command: Command) -> str:
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
    turn.remember(AWAITING_REQUEST, PendingRequest(item.intent))
    return item.prompt


# --- other message kinds -------------------------------------------------------------------


def _on_event(turn: Turn) -> str:
    event = (turn.inbound.event or "").lower()
    if event == "subscribe":
        return msg.WELCOME.format(site=turn.site)
    if event == "click":
        return _on_click(turn)
    return ""  # scan, unsubscribe, view, location reports: nothing to say


def _on_image(turn: Turn) -> str:
    return media.on_image(turn)  # the resident's newest active ticket gets it


def _on_location_message(turn: Turn) -> str:
    label = (turn.inbound.location_label or "").strip() or (
        f"{turn.inbound.latitude},{turn.inbound.longitude}"
    )
    state = turn.pending_state()
    if state is not None and state.state == AWAITING_LOCATION and state.expires_at >= turn.now:
        return _file_pending(turn, PendingRequest.from_state(state.data), label[:64])
    return msg.LOCATION_RECEIVED.format(label=label)


KindHandler = Callable[[Turn], str]
KIND_HANDLERS: dict[str, KindHandler] = {
    "event": _on_event,
    "image": _on_image,
    "location": _on_location_message,
}
