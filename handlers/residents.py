"""Rooms and residents: room registration (also learned from a repair), the phone kept with
consent, what Sheli keeps about a resident (我的信息), and erasure (注销)."""

from __future__ import annotations

import secrets

from handlers import messages as msg
from handlers.events import give_up_future_seats, resident_sign_ups
from handlers.keywords import mask_phone
from handlers.lifecycle import is_active, record
from handlers.masking import remove_personal
from handlers.media import forget_media
from handlers.ports import Context
from handlers.review import forget_resident as forget_review_messages
from handlers.tickets import resident_actor
from handlers.times import to_local
from nlu.places import building_of, room_label
from storage.models import Resident, Ticket, TicketEvent
from storage.states import SENSITIVE_INTENTS
from storage.uow import AbstractUnitOfWork


def register_room(uow: AbstractUnitOfWork, ctx: Context, resident: Resident, text: str) -> str:
    """`登记 3栋502`: remember the resident's room."""
    room = ctx.parser.parse(text).first("location")
    if room is None:
        return msg.ROOM_UNCLEAR
    label = room_label(room) or room
    set_room(resident, label)
    reply = msg.ROOM_REGISTERED.format(room=label)
    if uow.buildings.has_rooms() and uow.buildings.room_by_label(label) is None:
        reply += msg.ROOM_NOT_LISTED  # kept all the same: the list may be out of date
    return reply


def set_room(resident: Resident, room: str | None) -> None:
    """The resident's room, and its building (kept for the building pages' counts)."""
    resident.room = room
    building = building_of(room_label(room) or room) if room else None
    resident.building = building[:32] if building else None


def describe(uow: AbstractUnitOfWork, ctx: Context, resident: Resident) -> str:
    """`我的信息`: everything personal Sheli keeps about this resident."""
    count = len(uow.tickets.list(resident_id=resident.id))
    lines = msg.MY_INFO.format(
        room=resident.room or msg.MY_INFO_NO_ROOM,
        phone=mask_phone(resident.phone) if resident.phone else msg.MY_INFO_NO_PHONE,
        tickets=count,
        since=to_local(resident.created_at, ctx.policy.timezone).strftime("%Y-%m-%d"),
    ).split("\n")
    sign_ups = resident_sign_ups(uow, resident)
    if sign_ups:
        lines.insert(-1, sign_ups)  # before the closing "回复「注销」…"
    return "\n".join(lines)


def save_phone(uow: AbstractUnitOfWork, ctx: Context, resident: Resident, text: str) -> str:
    """`保存电话 [number]`: with the resident's consent, keep a phone for their future tickets.

    Without a number, the phone of their newest ticket that has one is kept.
    """
    phone = ctx.parser.parse(text).first("phone") if text else None
    if phone is None:
        phone = next(
            (
                t.phone
                for t in uow.tickets.list(resident_id=resident.id, newest_first=True)
                if t.phone
            ),
            None,
        )
    if phone is None:
        return msg.PHONE_NONE_TO_SAVE
    resident.phone = phone
    return msg.PHONE_SAVED.format(phone=mask_phone(phone))


def learn_room(resident: Resident, ticket: Ticket) -> str:
    """A repair at a room tells where a resident without a registered room lives."""
    if resident.room or ticket.intent != "repair":
        return ""
    label = room_label(ticket.location)
    if label is None:
        return ""
    set_room(resident, label)
    return msg.ROOM_LEARNED.format(room=label)


def after_ticket(resident: Resident, ticket: Ticket) -> str:
    """Lines added to a new ticket's reply: the room learned from it, the phone consent question."""
    extra = learn_room(resident, ticket)
    if ticket.phone and ticket.phone != resident.phone:
        extra += msg.PHONE_CONSENT_ASK
    return extra


def erase(uow: AbstractUnitOfWork, ctx: Context, resident: Resident) -> str:
    """`注销`: erase the resident's personal data everywhere Sheli wrote it."""
    forget_resident(uow, ctx, resident)
    return msg.ERASED


# Trail data that could point back to a person (kept out after erasure); ratings and the like stay.
_PERSONAL_EVENT_DATA = ("media_id", "phone", "openid", "text")


def _scrub_event(event: TicketEvent) -> None:
    event.detail = remove_personal(event.detail)
    if event.data:  # e.g. a corrected place's old and new values: cut down to the building
        event.data = {
            key: remove_personal(value) if isinstance(value, str) else value
            for key, value in event.data.items()
            if key not in _PERSONAL_EVENT_DATA
        }


def forget_resident(uow: AbstractUnitOfWork, ctx: Context, resident: Resident) -> None:
    """Remove the personal parts of everything Sheli keeps about `resident`: what stays is
    anonymous (each ticket's intent, building, times, status and rating, so the figures do not
    change). An open ticket keeps its problem without phone, ID number, name or room, so staff
    can still fix it; a finished one keeps no text at all."""
    actor = resident_actor(resident)
    phones = {resident.phone} if resident.phone else set()
    for ticket in uow.tickets.list(resident_id=resident.id):
        if ticket.phone:
            phones.add(ticket.phone)
        ticket.text = remove_personal(ticket.text) if is_active(ticket) else msg.ERASED_TICKET_TEXT
        ticket.resolution = remove_personal(ticket.resolution)
        ticket.phone = None
        ticket.location = ticket.building or building_of(ticket.location)
        if ticket.intent in SENSITIVE_INTENTS:
            ticket.location = None  # not even the building: it is about a person
        for event in uow.tickets.events(ticket.id):
            _scrub_event(event)
        for message in uow.outbox.about_ticket(ticket.id):  # staff notices quoted the request
            message.body = remove_personal(message.body)
        for said in uow.inbound.about_ticket(ticket.id):  # staff keywords quoting the resident
            said.content, said.reply = remove_personal(said.content), remove_personal(said.reply)
        record(uow, ticket, "anonymised", "resident", ctx.now)
    for event in uow.tickets.events_by_actor(actor):  # what they added to others' tickets
        _scrub_event(event)
    uow.tickets.forget_follower(resident.id)
    for phone in phones:  # notices without a ticket that quoted them (e.g. a handoff)
        for message in uow.outbox.mentioning(phone):
            message.body = remove_personal(message.body)
        for said in uow.inbound.mentioning(phone):
            said.content, said.reply = remove_personal(said.content), remove_personal(said.reply)
    give_up_future_seats(uow, ctx, resident)  # the waiting list moves up
    uow.events.forget_resident(resident.id)  # sign-ups stay as anonymous counts
    forget_media(uow, resident.id)  # photos and voice notes: files, media ids, forwards
    forget_review_messages(uow, resident, ctx.now)  # kept for review: deleted, labels too
    anonymous = f"erased:{secrets.token_hex(8)}"
    uow.residents.forget_traces(resident.openid, anonymous)
    resident.openid = anonymous
    resident.phone = None
    set_room(resident, None)
    resident.erased_at = ctx.now
