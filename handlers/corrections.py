"""Corrections: after Sheli says which place it assumed for a ticket ("地点按你的住址3栋502登记；
不在这里的话，请告诉我具体位置。"), or that it has none, a message that is only a place ("5栋301",
"在七栋四零三", a location message) within `conversation.state_ttl` sets that ticket's place
instead of opening a new ticket.
"""

from __future__ import annotations

import re

from handlers import commands as cmd
from handlers.lifecycle import is_active
from handlers.tickets import correct_location
from handlers.turn import AWAITING_CORRECTION, PendingCorrection, Turn
from storage.models import Ticket

# What may stand around a place in a message that only gives the place.
_AROUND_A_PLACE = re.compile(
    r"不是这里|不在这里|不对|其实|应该|就|是在|是|在|地点|位置|地址|改成|改为|改到|换成|我|住"
    r"|的|啊|呀|哦|呢|吧|了|嗯|[\s，。！？、,.!?~～…:：]"
)


def remember_place(turn: Turn, ticket: Ticket, location: str | None) -> None:
    """Sheli has just said which place it assumed for `ticket` (None: that it has none)."""
    turn.remember(AWAITING_CORRECTION, PendingCorrection(ticket.id, location))


def place_only(turn: Turn) -> str | None:
    """The place, if this message gives a place and nothing else."""
    parsed = turn.parsed
    if parsed is None:
        return None
    for entity in parsed.entities:
        if entity.entity != "location":
            continue
        rest = parsed.text[: entity.start] + parsed.text[entity.end :]
        if not _AROUND_A_PLACE.sub("", rest):
            return entity.value
    return None


def correct_place(turn: Turn, pending: PendingCorrection) -> str | None:
    """A message that is only a place corrects #n; anything else is read as what it says."""
    location = place_only(turn)
    if location is None:
        return None
    return correct_to(turn, pending, location)


def correct_to(turn: Turn, pending: PendingCorrection, location: str) -> str | None:
    """Set #n's place to `location` (a text place or a location message's label); None when #n
    is done or cancelled meanwhile (the place is then news of its own)."""
    ticket = turn.uow.tickets.get(pending.number)
    turn.forget()
    if ticket is None or ticket.resident_id != turn.resident.id or not is_active(ticket):
        return None
    reply = correct_location(
        cmd.CorrectLocation(pending.number, location, cmd.Actor.resident(turn.resident.id)),
        turn.uow,
        turn.ctx,
    )
    turn.row.ticket_id = pending.number
    return str(reply)
