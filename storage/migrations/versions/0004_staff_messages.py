"""two-way conversation: when staff last wrote to a ticket's resident (the reply window)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("staff_messaged_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("staff_messaged_at")
