"""What Sheli keeps about a resident: room registration, the data view, and erasure."""

from __future__ import annotations

import secrets
from datetime import datetime

from handlers import messages as msg
from handlers.keywords import mask_phone
from handlers.ports import Policy
from handlers.tickets import building_of, record
from nlu.base import Parser
from storage.models import Resident
from storage.uow import AbstractUnitOfWork


def register_room(
    uow: AbstractUnitOfWork, parser: Parser, resident: Resident, text: str, now: datetime
) -> str:
    """`登记 3栋502`: remember the resident's room."""
    room = parser.parse(text).first("location")
    if room is None:
        return msg.ROOM_UNCLEAR
    resident.room = room
    return msg.ROOM_REGISTERED.format(room=room)


def describe(uow: AbstractUnitOfWork, policy: Policy, resident: Resident) -> str:
    """`我的信息`: everything personal Sheli keeps about this resident."""
    count = len(uow.tickets.list(resident_id=resident.id))
    return msg.MY_INFO.format(
        room=resident.room or "未登记",
        phone=mask_phone(resident.phone) if resident.phone else "未留",
        tickets=count,
        since=resident.created_at.strftime("%Y-%m-%d"),
    )


def erase(uow: AbstractUnitOfWork, resident: Resident, now: datetime) -> str:
    """`注销`: erase personal data; tickets stay for statistics, without anything personal."""
    old_openid = resident.openid
    anonymous = f"erased:{secrets.token_hex(8)}"
    for ticket in uow.tickets.list(resident_id=resident.id):
        ticket.text = "（住户已注销，内容已删除）"
        ticket.phone = None
        ticket.location = ticket.building or building_of(ticket.location)
        record(uow, ticket, "anonymised", "resident", now)
    uow.residents.forget_traces(old_openid, anonymous)
    resident.openid = anonymous
    resident.phone = None
    resident.room = None
    resident.erased_at = now
    return msg.ERASED
