"""One inbound message in, one passive reply out; side effects through the unit of work."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from handlers import community, followup, residents, staff_commands
from handlers import messages as msg
from handlers.inbound import Inbound
from handlers.keywords import (
    RESIDENT_COMMANDS,
    STAFF_COMMANDS,
    Command,
    involves_violence,
    normalise,
    parse_command,
)
from handlers.masking import mask_personal
from handlers.ports import Deps, Policy
from handlers.staff import bind
from handlers.tickets import (
    TicketError,
    assignee_label,
    cancel_ticket,
    find_duplicate,
    link_duplicate,
    notify,
    open_ticket,
    record,
    resident_actor,
)
from nlu.base import TICKET_INTENTS, ParseResult
from storage.errors import DuplicateMessage
from storage.models import Attachment, InboundMessage, Resident, Staff
from storage.states import ACTIVE_STATUSES
from storage.uow import AbstractUnitOfWork

log = logging.getLogger(__name__)

AWAITING_LOCATION = "awaiting_location"
AWAITING_REQUEST = "awaiting_request"
# Intents that cannot be dispatched without knowing where.
NEEDS_LOCATION = ("repair",)

# Menu CLICK keys → what the resident is asked and which intent the next message becomes.
MENU_KEYS: dict[str, tuple[str | None, str]] = {
    "REPAIR": ("repair", msg.MENU_PROMPTS["REPAIR"]),
    "MEDIATION": ("mediation", msg.MENU_PROMPTS["MEDIATION"]),
    "LEGAL": ("legal_consult", msg.MENU_PROMPTS["LEGAL"]),
    "JOBS": ("job_fair", msg.MENU_PROMPTS["JOBS"]),
    "PROGRESS": (None, ""),
    "HUMAN": (None, ""),
    "MY_INFO": (None, ""),
}


@dataclass
class Turn:
    """What the handlers know while answering one message."""

    inbound: Inbound
    uow: AbstractUnitOfWork
    deps: Deps
    now: datetime
    resident: Resident
    staff: Staff | None
    parsed: ParseResult | None
    row: InboundMessage

    @property
    def policy(self) -> Policy:
        return self.deps.policy

    @property
    def site(self) -> str:
        return self.deps.policy.site_name


def handle_message(inbound: Inbound, deps: Deps) -> str:
    """Answer one message exactly once: a re-delivered copy gets the first copy's reply."""
    text = _text_of(inbound)
    parsed = deps.parser.parse(text) if text and not _is_keyword(text) else None
    with deps.uow_factory() as uow:
        now = deps.clock.now()
        row = InboundMessage(
            dedupe_key=inbound.dedupe_key,
            openid=inbound.openid,
            msg_type=inbound.kind if inbound.kind != "event" else f"event:{inbound.event}",
            content=(text or inbound.media_id or inbound.location_label or inbound.event_key or "")[
                :4000
            ],
            received_at=now,
        )
        try:
            uow.inbound.claim(row)
        except DuplicateMessage:
            uow.rollback()
            earlier = uow.inbound.by_key(inbound.dedupe_key)
            return (earlier.reply or "") if earlier else ""
        resident = uow.residents.get_or_create(inbound.openid, now)
        turn = Turn(
            inbound, uow, deps, now, resident, uow.staff.by_openid(inbound.openid), parsed, row
        )
        reply = respond(turn)
        row.reply = reply
        uow.commit()
        return reply


def _text_of(inbound: Inbound) -> str | None:
    if inbound.kind in ("text", "voice"):
        return (inbound.text or "").strip()[:2000] or None
    return None


def _is_keyword(text: str) -> bool:
    return parse_command(text, RESIDENT_COMMANDS + STAFF_COMMANDS) is not None


def respond(turn: Turn) -> str:
    """Choose the reply; every branch records what it changed."""
    inbound = turn.inbound
    if inbound.kind == "event":
        return _on_event(turn)
    if inbound.kind == "image":
        return _on_image(turn)
    if inbound.kind == "location":
        return _on_location_message(turn)
    if inbound.kind == "voice" and not inbound.text:
        return msg.VOICE_NOT_RECOGNISED
    if inbound.kind not in ("text", "voice"):
        return msg.UNSUPPORTED
    text = (inbound.text or "").strip()
    if not text:
        return msg.HELP

    command = parse_command(text, STAFF_COMMANDS)
    if command is not None:
        return _on_staff_command(turn, command)
    command = parse_command(text, RESIDENT_COMMANDS)
    if command is not None and (
        command.word != "取消" or command.number is not None or text.strip() == "取消"
    ):
        return _on_resident_command(turn, command)

    visit_reply = followup.answer_if_visit(
        turn.uow, turn.policy, turn.resident, text, turn.parsed, turn.now
    )
    if visit_reply is not None:
        return visit_reply

    state = turn.uow.conversations.get(inbound.openid, turn.now)
    prefix = ""
    if state is not None:
        if state.expires_at < turn.now:
            turn.uow.conversations.clear(inbound.openid)
            prefix = msg.LOCATION_STATE_EXPIRED + "\n" if state.state == AWAITING_LOCATION else ""
        elif state.state == AWAITING_LOCATION:
            return _continue_location(turn, state.data)
        elif state.state == AWAITING_REQUEST:
            turn.uow.conversations.clear(inbound.openid)
            forced = state.data.get("intent")
            parsed = turn.parsed
            if forced and (
                parsed is None
                or parsed.intent not in ("cancel", "status_query", "ask_human", "greet")
            ):
                return prefix + _request(turn, forced)
    return prefix + _on_intent(turn)


# --- intents -------------------------------------------------------------------------------


def _on_intent(turn: Turn) -> str:
    parsed = turn.parsed
    intent = parsed.intent if parsed else "nlu_fallback"
    handler = INTENT_HANDLERS.get(intent, _help)
    return handler(turn, intent)


def _request(turn: Turn, intent: str) -> str:
    """A ticket intent: ask for the location when needed, else open (or link) the ticket."""
    parsed = turn.parsed
    text = turn.inbound.text or ""
    if intent == "job_fair":  # a question about fairs or openings is answered from the events
        answer = community.answer_job_question(turn.uow, turn.policy, text, turn.now)
        if answer is not None:
            return answer
    location = parsed.first("location") if parsed else None
    phone = parsed.first("phone") if parsed else None
    urgent = intent == "mediation" and involves_violence(text)
    from_room = location is None and intent in NEEDS_LOCATION and bool(turn.resident.room)
    if from_room:
        location = turn.resident.room  # "以后报修会默认用这个地址"
    if location is None and intent in NEEDS_LOCATION:
        turn.uow.conversations.set(
            turn.resident.openid,
            AWAITING_LOCATION,
            {
                "intent": intent,
                "text": text,
                "phone": phone,
                "urgent": urgent,
                "confidence": parsed.confidence if parsed else None,
                "asked": 1,
            },
            turn.now,
            turn.now + turn.policy.state_ttl,
        )
        return msg.ASK_LOCATION
    reply = _open(
        turn, intent, text, location, phone, urgent, parsed.confidence if parsed else None
    )
    if from_room:
        reply += msg.LOCATION_FROM_ROOM.format(room=location)
    return reply + community.event_hint(turn.uow, turn.policy, intent, turn.now)


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
    if location and intent == "repair":
        original = find_duplicate(uow, intent, location, text)
        if original is not None:
            link_duplicate(uow, original, turn.resident, text, turn.now)
            turn.row.ticket_id = original.id
            return msg.DUPLICATE_LINKED.format(
                n=original.id, assignee=assignee_label(policy, original)
            )
    ticket = open_ticket(
        uow,
        policy,
        turn.resident,
        intent=intent,
        text=text,
        now=turn.now,
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
    template = msg.TICKET_CREATED_URGENT if urgent else msg.TICKET_CREATED
    return (
        template.format(
            intent_name=intent_name, n=ticket.id, assignee=assignee_label(policy, ticket)
        )
        + extra
    )


def _continue_location(turn: Turn, data: dict) -> str:
    """The resident was asked where; this message should say it."""
    parsed, text = turn.parsed, (turn.inbound.text or "").strip()
    if (parsed and parsed.intent == "cancel") or text in ("取消", "算了", "不用了"):
        turn.uow.conversations.clear(turn.resident.openid)
        return msg.INTAKE_CANCELLED
    location = parsed.first("location") if parsed else None
    if location is None and re.fullmatch(r"[A-Za-z]?\d{2,5}(室|房|号)?", text):
        location = text  # a bare room number such as "502"
    if (
        location is None
        and parsed
        and parsed.intent in TICKET_INTENTS
        and len(text) > 8
        and parsed.confidence > 0.8
    ):
        turn.uow.conversations.clear(turn.resident.openid)
        return _request(turn, parsed.intent)  # a new, different request
    if location is None and data.get("asked", 1) < 2:
        data = {**data, "asked": data.get("asked", 1) + 1}
        turn.uow.conversations.set(
            turn.resident.openid,
            AWAITING_LOCATION,
            data,
            turn.now,
            turn.now + turn.policy.state_ttl,
        )
        return msg.ASK_LOCATION_AGAIN
    turn.uow.conversations.clear(turn.resident.openid)
    phone = data.get("phone") or (parsed.first("phone") if parsed else None)
    return _open(
        turn,
        data["intent"],
        data["text"],
        location,
        phone,
        bool(data.get("urgent")),
        data.get("confidence"),
    )


def _greet(turn: Turn, intent: str) -> str:
    return msg.GREETING.format(site=turn.site)


def _thanks(turn: Turn, intent: str) -> str:
    return msg.THANKS


def _help(turn: Turn, intent: str) -> str:
    return msg.HELP


def _rating_without_visit(turn: Turn, intent: str) -> str:
    return msg.RATING_WITHOUT_VISIT


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
    followed = [t for t in uow.tickets.followed_by(turn.resident.id) if t.status in ACTIVE_STATUSES]
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
    try:
        ticket = cancel_ticket(turn.uow, turn.resident, number, turn.now)
    except TicketError as refusal:
        return str(refusal)
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
}


# --- keywords ------------------------------------------------------------------------------


def _on_resident_command(turn: Turn, command: Command) -> str:
    handler = RESIDENT_COMMAND_HANDLERS.get(command.word)
    if handler is None:
        return msg.HELP
    return handler(turn, command)


def _cmd_status(turn: Turn, command: Command) -> str:
    return _status(turn)


def _cmd_cancel(turn: Turn, command: Command) -> str:
    state = turn.uow.conversations.get(turn.resident.openid, turn.now)
    if command.number is None:
        if state is not None:
            turn.uow.conversations.clear(turn.resident.openid)
            return msg.INTAKE_CANCELLED
        newest = turn.uow.tickets.newest_active_for(turn.resident.id)
        return msg.CANCEL_WHICH.format(n=newest.id) if newest else msg.CANCEL_NOTHING
    return _cancel(turn, command.number)


def _cmd_human(turn: Turn, command: Command) -> str:
    return _human(turn)


def _cmd_register(turn: Turn, command: Command) -> str:
    return residents.register_room(
        turn.uow, turn.deps.parser, turn.resident, command.rest, turn.now
    )


def _cmd_my_info(turn: Turn, command: Command) -> str:
    return residents.describe(turn.uow, turn.policy, turn.resident)


def _cmd_erase(turn: Turn, command: Command) -> str:
    return residents.erase(turn.uow, turn.resident, turn.now)


def _cmd_sign_up(turn: Turn, command: Command) -> str:
    number = command.number
    if number is None and (digits := re.search(r"\d+", command.rest)):
        number = int(digits.group())  # "报名 活动3"
    return community.sign_up(turn.uow, turn.policy, turn.resident, number, turn.now)


def _cmd_save_phone(turn: Turn, command: Command) -> str:
    return residents.save_phone(turn.uow, turn.deps.parser, turn.resident, turn.inbound.text or "")


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
        return bind(turn.uow, turn.policy, turn.inbound.openid, command.rest, turn.now)
    if turn.staff is None:
        return msg.STAFF_ONLY
    try:
        return staff_commands.run(turn.uow, turn.policy, turn.staff, command, turn.now)
    except TicketError as refusal:
        return str(refusal)


# --- other message kinds -------------------------------------------------------------------


def _on_event(turn: Turn) -> str:
    event = (turn.inbound.event or "").lower()
    if event in ("subscribe", "scan"):
        return msg.WELCOME.format(site=turn.site) if event == "subscribe" else ""
    if event == "click":
        key = (turn.inbound.event_key or "").upper()
        if key == "PROGRESS":
            return _status(turn)
        if key == "HUMAN":
            return _human(turn)
        if key == "MY_INFO":
            return _cmd_my_info(turn, Command("我的信息"))
        if key in MENU_KEYS and MENU_KEYS[key][0]:
            intent, prompt = MENU_KEYS[key]
            turn.uow.conversations.set(
                turn.resident.openid,
                AWAITING_REQUEST,
                {"intent": intent},
                turn.now,
                turn.now + turn.policy.state_ttl,
            )
            return prompt
        return msg.HELP
    return ""  # unsubscribe, view, location reports: nothing to say


def _on_image(turn: Turn) -> str:
    ticket = turn.uow.tickets.newest_active_for(turn.resident.id)
    if ticket is None:
        return msg.IMAGE_NO_TICKET
    turn.uow.tickets.add_attachment(
        Attachment(
            ticket_id=ticket.id,
            kind="image",
            media_id=turn.inbound.media_id,
            url=turn.inbound.picture_url,
            created_at=turn.now,
        )
    )
    record(
        turn.uow,
        ticket,
        "image",
        resident_actor(turn.resident),
        turn.now,
        media_id=turn.inbound.media_id,
    )
    turn.row.ticket_id = ticket.id
    return msg.IMAGE_ATTACHED.format(n=ticket.id)


def _on_location_message(turn: Turn) -> str:
    label = (turn.inbound.location_label or "").strip() or (
        f"{turn.inbound.latitude},{turn.inbound.longitude}"
    )
    state = turn.uow.conversations.get(turn.resident.openid, turn.now)
    if state is not None and state.state == AWAITING_LOCATION and state.expires_at >= turn.now:
        turn.uow.conversations.clear(turn.resident.openid)
        data = state.data
        return _open(
            turn,
            data["intent"],
            data["text"],
            label[:64],
            data.get("phone"),
            bool(data.get("urgent")),
            data.get("confidence"),
        )
    return msg.LOCATION_RECEIVED.format(label=label)
