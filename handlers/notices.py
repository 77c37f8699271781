"""Messages Sheli sends on its own go to the outbox, in the transaction of the change that caused
them; bot/outbox.py delivers them later (with retries)."""

from __future__ import annotations

from datetime import datetime

from handlers import messages as msg
from storage.models import OutboxMessage, Ticket
from storage.states import OutboxStatus
from storage.uow import AbstractUnitOfWork

# WeChat's customer-service text limit is 2048 bytes of UTF-8; a Chinese character takes three.
WECHAT_TEXT_BYTES = 2048


def split_text(text: str, limit: int = WECHAT_TEXT_BYTES) -> list[str]:
    """`text` as parts that each fit in one WeChat text message, numbered "（1/3）" when there
    is more than one; split at line ends or sentence ends where possible, never inside a
    character, and never losing one."""
    if len(text.encode("utf-8")) <= limit:
        return [text]
    room = limit - len(msg.PART_PREFIX.format(i=99, total=99).encode("utf-8"))
    parts: list[str] = []
    rest = text
    while rest:
        if len(rest.encode("utf-8")) <= room:
            parts.append(rest)
            break
        cut = _fit(rest, room)
        # Prefer the last line break or sentence end in the second half of what fits.
        for mark in ("\n", "。", "！", "？", "；", "，", " "):
            at = rest.rfind(mark, cut // 2, cut)
            if at > 0:
                cut = at + 1
                break
        parts.append(rest[:cut])
        rest = rest[cut:]
    total = len(parts)
    return [msg.PART_PREFIX.format(i=i, total=total) + part for i, part in enumerate(parts, 1)]


def _fit(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` bytes of UTF-8."""
    used = 0
    for index, char in enumerate(text):
        used += len(char.encode("utf-8"))
        if used > limit:
            return index
    return len(text)


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
    """Queue a message in the outbox; a `dedupe_key` already queued is not queued again.

    A text longer than one WeChat message goes out as numbered parts, in order.
    """
    if not recipient:
        return
    parts = split_text(text)
    for index, part in enumerate(parts, 1):
        key = dedupe_key if dedupe_key is None or len(parts) == 1 else f"{dedupe_key}:{index}"
        uow.outbox.enqueue(
            OutboxMessage(
                recipient=recipient,
                kind=kind,
                body=part,
                ticket_id=ticket.id if ticket else None,
                status=OutboxStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                dedupe_key=key,
            )
        )


def residents_of(uow: AbstractUnitOfWork, ticket: Ticket) -> list[str]:
    """Openids to tell about a ticket's progress: its owner and the residents who follow it."""
    openids = [ticket.resident.openid] if ticket.resident and not ticket.resident.erased_at else []
    for follower in uow.tickets.followers(ticket.id):
        if follower.openid not in openids and not follower.erased_at:
            openids.append(follower.openid)
    return openids


def tell_residents(
    uow: AbstractUnitOfWork, ticket: Ticket, text: str, now: datetime, *, kind: str = "text"
) -> None:
    """Queue `text` for the ticket's owner and followers."""
    for openid in residents_of(uow, ticket):
        notify(uow, openid, text, now, ticket=ticket, kind=kind)
