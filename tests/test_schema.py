"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL; the
media revision keeps the attachments that were there before it."""

from __future__ import annotations

from datetime import datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

import storage.community  # every table on Base.metadata
import storage.models
from storage.base import Base
from storage.db import make_engine, upgrade


def test_the_migrations_build_what_the_models_describe(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert differences == [], differences
    assert {"attachments", "outbox", "events"} <= set(Base.metadata.tables)
    assert storage.models.Attachment.__tablename__ in storage.community.Base.metadata.tables


def test_the_media_revision_keeps_earlier_attachments_due_and_owned(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0004")
        when = datetime(2026, 11, 30, 8, 0)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO residents (id, openid, created_at, last_seen_at) "
                    "VALUES (7, 'o_before', :t, :t)"
                ),
                {"t": when},
            )
            conn.execute(
                text(
                    "INSERT INTO tickets (id, intent, status, urgent, role, resident_id, text, "
                    "created_at, followup_state, accept_breach_level, resolve_breach_level) "
                    "VALUES (1, 'repair', 'assigned', false, 'property_steward', 7, '热水器坏了', "
                    ":t, 'none', 0, 0)"
                ),
                {"t": when},
            )
            conn.execute(
                text(
                    "INSERT INTO attachments (ticket_id, kind, media_id, created_at) "
                    "VALUES (1, 'image', 'MEDIA-OLD', :t)"
                ),
                {"t": when},
            )
        upgrade(engine)
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT resident_id, fetch_status, attempts, next_attempt_at, path "
                    "FROM attachments"
                )
            ).one()
        assert (row[0], row[1], row[2], row[4]) == (7, "pending", 0, None)
        assert row[3] is not None and str(row[3]).startswith("2026-11-30 08:00")
    finally:
        engine.dispose()
