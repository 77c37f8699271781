"""Attachments (photos and voice notes) and what the background fetch needs of them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from storage.models import Attachment, OutboxMessage, TicketEvent
from storage.states import MediaStatus, OutboxStatus


class AttachmentRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, attachment: Attachment) -> Attachment:
        """Attach a photo or voice note to a ticket and give it an id."""
        self.session.add(attachment)
        self.session.flush()
        return attachment

    def get(self, attachment_id: int) -> Attachment | None:
        """One attachment."""
        return self.session.get(Attachment, attachment_id)

    def due(self, now: datetime, limit: int) -> Sequence[tuple[int, int]]:
        """(id, attempts) of attachments waiting to be fetched whose time has come, oldest first."""
        rows = self.session.execute(
            select(Attachment.id, Attachment.attempts)
            .where(
                Attachment.fetch_status == MediaStatus.PENDING,
                Attachment.next_attempt_at <= now,
            )
            .order_by(Attachment.id)
            .limit(limit)
        ).all()
        return [(int(i), int(a)) for i, a in rows]

    def claim(self, attachment_id: int, attempts: int, now: datetime, until: datetime) -> bool:
        """Take one due fetch (one more attempt, not due again before `until`); False if another
        fetcher took it first. A conditional update, so of two racing fetchers one wins; a
        fetcher that dies leaves the attachment due again at `until`."""
        result = self.session.execute(
            update(Attachment)
            .where(
                Attachment.id == attachment_id,
                Attachment.fetch_status == MediaStatus.PENDING,
                Attachment.attempts == attempts,
                Attachment.next_attempt_at <= now,
            )
            .values(attempts=Attachment.attempts + 1, next_attempt_at=until)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    def sent_by(self, resident_id: int) -> Sequence[Attachment]:
        """Everything one resident sent, oldest first."""
        return self.session.scalars(
            select(Attachment).where(Attachment.resident_id == resident_id).order_by(Attachment.id)
        ).all()

    def file_in_use(self, name: str, besides: Collection[int] = ()) -> bool:
        """Whether an attachment other than `besides` keeps the stored file `name`."""
        query = select(Attachment.id).where(Attachment.path == name)
        if besides:
            query = query.where(Attachment.id.not_in(list(besides)))
        return bool(self.session.scalar(select(exists(query))))

    def forget_forwards(self, attachment_ids: Collection[int]) -> None:
        """Forwards of these attachments: unsent ones are dropped, sent ones lose the media id."""
        if not attachment_ids:
            return
        ids = list(attachment_ids)
        self.session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.attachment_id.in_(ids),
                OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
            )
        )
        self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.attachment_id.in_(ids))
            .values(media_id=None, media_expires_at=None)
        )

    def trail_events(
        self, ticket_ids: Collection[int], kinds: Collection[str]
    ) -> Sequence[TicketEvent]:
        """Trail events of these kinds on these tickets (to strip media ids from their data)."""
        if not ticket_ids:
            return []
        return self.session.scalars(
            select(TicketEvent).where(
                TicketEvent.ticket_id.in_(list(ticket_ids)), TicketEvent.kind.in_(list(kinds))
            )
        ).all()
