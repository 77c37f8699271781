"""Messages Sheli sends on its own go to the outbox, in the transaction of the change that caused
them; bot/outbox.py delivers them later (with retries)."""

from __future__ import annotations

from datetime import datetime

from storage.models import OutboxMessage, Ticket
from storage.states import OutboxStatus
from storage.uow import AbstractUnitOfWork


def notify(
    uow: AbstractUnitOfWork,
    recipient: str | None,
    text: str,
    now: datetime,
    *,
    kind: str = "text",
    ticket: Ticket | None = None,
    dedupe_key: str | None = None,
) -> None:
    """Queue a message in the outbox; a `dedupe_key` already queued is not queued again."""
    if not recipient:
        return
    uow.outbox.enqueue(
        OutboxMessage(
            recipient=recipient,
            kind=kind,
            body=text,
            ticket_id=ticket.id if ticket else None,
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            dedupe_key=dedupe_key,
        )
    )


def residents_of(uow: AbstractUnitOfWork, ticket: Ticket) -> list[str]:
    """Openids to tell about a ticket's progress: its owner and the residents who follow it."""
    openids = [ticket.resident.openid] if ticket.resident and not ticket.resident.erased_at else []
    for follower in uow.tickets.followers(ticket.id):
        if follower.openid not in openids and not follower.erased_at:
            openids.append(follower.openid)
    return openids


def tell_residents(uow: AbstractUnitOfWork, ticket: Ticket, text: str, now: datetime) -> None:
    """Queue `text` for the ticket's owner and followers."""
    for openid in residents_of(uow, ticket):
        notify(uow, openid, text, now, ticket=ticket)
