"""Who may come in: webhook nonces (replays), dashboard login attempts and operator sessions.

Every write here is a single statement that is atomic on its own (insert … on conflict), so
concurrent requests on several workers never race into a duplicate key. They never commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, null, or_, select, text, tuple_, update
from sqlalchemy.orm import Session

from storage.dialects import dialect_insert
from storage.models import LoginThrottle, OperatorSession, WebhookNonce


class WebhookNonceRepository:
    def __init__(self, session: Session):
        self.session = session

    def use(self, timestamp: int, nonce: str, oldest: int, purge_limit: int = 100) -> bool:
        """Record that a request used (timestamp, nonce); False if one already did (a replay).

        Pairs with a timestamp before `oldest` can no longer pass the replay window, so up to
        `purge_limit` of them are deleted on the way (rows another worker is deleting are skipped).
        """
        if self.session.get_bind().dialect.name == "postgresql":
            # One round trip: the purge rides along with the insert as a data-modifying CTE.
            inserted = self.session.execute(
                text(
                    "WITH stale AS (SELECT timestamp, nonce FROM webhook_nonces"
                    " WHERE timestamp < :oldest LIMIT :purge FOR UPDATE SKIP LOCKED),"
                    " gone AS (DELETE FROM webhook_nonces w USING stale"
                    " WHERE w.timestamp = stale.timestamp AND w.nonce = stale.nonce)"
                    " INSERT INTO webhook_nonces (timestamp, nonce) VALUES (:timestamp, :nonce)"
                    " ON CONFLICT DO NOTHING RETURNING nonce"
                ),
                {"oldest": oldest, "purge": purge_limit, "timestamp": timestamp, "nonce": nonce},
            ).first()
            return inserted is not None
        stale = self.session.execute(
            select(WebhookNonce.timestamp, WebhookNonce.nonce)
            .where(WebhookNonce.timestamp < oldest)
            .limit(purge_limit)
            .with_for_update(skip_locked=True)
        ).all()
        if stale:
            self.session.execute(
                delete(WebhookNonce).where(
                    tuple_(WebhookNonce.timestamp, WebhookNonce.nonce).in_(
                        [(row.timestamp, row.nonce) for row in stale]
                    )
                )
            )
        inserted = self.session.execute(
            dialect_insert(self.session, WebhookNonce)
            .values(timestamp=timestamp, nonce=nonce)
            .on_conflict_do_nothing()
            .returning(WebhookNonce.nonce)
        ).first()
        return inserted is not None


class LoginThrottleRepository:
    def __init__(self, session: Session):
        self.session = session

    def count_attempt(
        self, key: str, now: datetime, window: timedelta
    ) -> tuple[int, datetime | None]:
        """Count one attempt for `key`; (attempts in the current window, locked until).

        One upsert, so parallel attempts each get their own number. A window that has passed,
        or a lock that has ended, starts the count again.
        """
        table = LoginThrottle
        fresh = or_(
            table.window_start <= now - window,
            and_(table.locked_until.is_not(None), table.locked_until <= now),
        )
        statement = (
            dialect_insert(self.session, table)
            .values(key=key, attempts=1, window_start=now, locked_until=None)
            .on_conflict_do_update(
                index_elements=[table.key],
                set_={
                    "attempts": case((fresh, 1), else_=table.attempts + 1),
                    "window_start": case((fresh, now), else_=table.window_start),
                    "locked_until": case((fresh, null()), else_=table.locked_until),
                },
            )
            .returning(table.attempts, table.locked_until)
        )
        row = self.session.execute(statement).one()
        return int(row.attempts), row.locked_until

    def lock(self, key: str, until: datetime) -> None:
        """Refuse every attempt for `key` until `until`."""
        self.session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key == key)
            .values(locked_until=until)
            .execution_options(synchronize_session=False)
        )

    def clear(self, key: str) -> None:
        """Forget the attempts for `key` (after a successful login)."""
        self.session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))

    def purge(self, now: datetime, window: timedelta) -> None:
        """Drop rows whose window and lock are both over."""
        self.session.execute(
            delete(LoginThrottle).where(
                LoginThrottle.window_start <= now - window,
                or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
            )
        )


class OperatorSessionRepository:
    def __init__(self, session: Session):
        self.session = session

    def start(
        self,
        session_id: str,
        username: str,
        password_fingerprint: str,
        now: datetime,
        expires_at: datetime,
    ) -> None:
        """Record a login (and drop sessions that have expired)."""
        self.session.execute(delete(OperatorSession).where(OperatorSession.expires_at <= now))
        self.session.add(
            OperatorSession(
                id=session_id,
                username=username,
                password_fingerprint=password_fingerprint,
                created_at=now,
                expires_at=expires_at,
            )
        )

    def get(self, session_id: str, now: datetime) -> OperatorSession | None:
        """The live session with this id."""
        found = self.session.get(OperatorSession, session_id)
        if found is None or found.expires_at <= now:
            return None
        return found

    def end(self, session_id: str) -> None:
        """Log this session out: its cookie, and every copy of it, stops working."""
        self.session.execute(delete(OperatorSession).where(OperatorSession.id == session_id))
