"""the visits answered in a period, by time: a partial index for the site comparison's ratings

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 01:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

ANSWERED = sa.text("kind = 'visit_answered'")


def upgrade() -> None:
    op.create_index(
        "ix_ticket_events_answered_at",
        "ticket_events",
        ["at"],
        postgresql_where=ANSWERED,
        sqlite_where=ANSWERED,
    )


def downgrade() -> None:
    op.drop_index("ix_ticket_events_answered_at", table_name="ticket_events")
