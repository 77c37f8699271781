"""The NLU review queue (nlu_review): messages kept for review and the labels given to them.
Repositories never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from storage.models import ReviewMessage


class ReviewRepository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, message: ReviewMessage) -> ReviewMessage:
        """Keep a message for review (one insert)."""
        self.session.add(message)
        self.session.flush()
        return message

    def get(self, review_id: int) -> ReviewMessage | None:
        """The kept message with this id."""
        return self.session.get(ReviewMessage, review_id)

    @staticmethod
    def _labelled(query: Select, labelled: bool | None) -> Select:
        if labelled is True:
            return query.where(ReviewMessage.labelled_intent.is_not(None))
        if labelled is False:
            return query.where(ReviewMessage.labelled_intent.is_(None))
        return query

    def newest(
        self, *, labelled: bool | None = None, offset: int = 0, limit: int = 20
    ) -> Sequence[ReviewMessage]:
        """Kept messages, newest first; `labelled` True/False narrows to (un)labelled ones."""
        query = self._labelled(select(ReviewMessage), labelled)
        query = query.order_by(ReviewMessage.created_at.desc(), ReviewMessage.id.desc())
        return self.session.scalars(query.offset(offset).limit(limit)).all()

    def count(self, *, labelled: bool | None = None) -> int:
        """How many kept messages there are (labelled, unlabelled or all)."""
        query = self._labelled(select(func.count()).select_from(ReviewMessage), labelled)
        return int(self.session.scalar(query) or 0)

    def count_labelled_since(self, since: datetime) -> int:
        """How many messages were labelled at `since` or later."""
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(ReviewMessage)
                .where(ReviewMessage.labelled_at >= since)
            )
            or 0
        )

    def labelled_pairs(self) -> list[tuple[str, str]]:
        """Every (text, labelled intent), in the order they were labelled (a relabel comes last)."""
        rows = self.session.execute(
            select(ReviewMessage.text, ReviewMessage.labelled_intent)
            .where(ReviewMessage.labelled_intent.is_not(None))
            .order_by(ReviewMessage.labelled_at, ReviewMessage.id)
        ).all()
        return [(str(text), str(intent)) for text, intent in rows]

    def forget_resident(self, resident_id: int) -> tuple[int, int]:
        """Delete a resident's kept messages; returns (deleted, of which labelled)."""
        labelled = self.count_of_resident(resident_id, labelled=True)
        result = self.session.execute(
            delete(ReviewMessage).where(ReviewMessage.resident_id == resident_id)
        )
        return int(getattr(result, "rowcount", 0) or 0), labelled

    def count_of_resident(self, resident_id: int, *, labelled: bool | None = None) -> int:
        """How many kept messages of this resident there are."""
        query = select(func.count()).select_from(ReviewMessage)
        query = self._labelled(query.where(ReviewMessage.resident_id == resident_id), labelled)
        return int(self.session.scalar(query) or 0)
