"""What Sheli keeps about a resident: room registration, the data view, and erasure."""

from __future__ import annotations

import secrets
from datetime import datetime

from handlers import community
from handlers import messages as msg
from handlers.events_import import room_label
from handlers.keywords import mask_phone
from handlers.ports import Policy
from handlers.tickets import building_of, record
from nlu.base import Parser
from storage.models import Resident, Ticket
from storage.uow import AbstractUnitOfWork


def register_room(
    uow: AbstractUnitOfWork, parser: Parser, resident: Resident, text: str, now: datetime
) -> str:
    """`登记 3栋502`: remember the resident's room."""
    room = parser.parse(text).first("location")
    if room is None:
        return msg.ROOM_UNCLEAR
    resident.room = room_label(room) or room
    return msg.ROOM_REGISTERED.format(room=resident.room)


def describe(uow: AbstractUnitOfWork, policy: Policy, resident: Resident) -> str:
    """`我的信息`: everything personal Sheli keeps about this resident."""
    count = len(uow.tickets.list(resident_id=resident.id))
    lines = msg.MY_INFO.format(
        room=resident.room or "未登记",
        phone=mask_phone(resident.phone) if resident.phone else "未留",
        tickets=count,
        since=resident.created_at.strftime("%Y-%m-%d"),
    ).split("\n")
    sign_ups = community.resident_sign_ups(uow, resident)
    if sign_ups:
        lines.insert(-1, sign_ups)  # before the closing "回复「注销」…"
    return "\n".join(lines)


def save_phone(uow: AbstractUnitOfWork, parser: Parser, resident: Resident, text: str) -> str:
    """`保存电话 [number]`: with the resident's consent, keep a phone for their future tickets.

    Without a number, the phone of their newest ticket that has one is kept.
    """
    phone = parser.parse(text).first("phone") if text else None
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


def after_ticket(resident: Resident, ticket: Ticket) -> str:
    """Lines added to a new ticket's reply: the room learned from it, the phone consent question."""
    extra = community.learn_room(resident, ticket)
    if ticket.phone and ticket.phone != resident.phone:
        extra += msg.PHONE_CONSENT_ASK
    return extra


def erase(uow: AbstractUnitOfWork, resident: Resident, now: datetime) -> str:
    """`注销`: erase personal data; tickets stay for statistics, without anything personal."""
    old_openid = resident.openid
    anonymous = f"erased:{secrets.token_hex(8)}"
    for ticket in uow.tickets.list(resident_id=resident.id):
        ticket.text = "（住户已注销，内容已删除）"
        ticket.phone = None
        ticket.location = ticket.building or building_of(ticket.location)
        record(uow, ticket, "anonymised", "resident", now)
    uow.events.forget_resident(resident.id)  # sign-ups stay as anonymous counts
    uow.residents.forget_traces(old_openid, anonymous)
    resident.openid = anonymous
    resident.phone = None
    resident.room = None
    resident.erased_at = now
    return msg.ERASED
