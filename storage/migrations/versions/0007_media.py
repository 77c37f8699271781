"""photos and voice: attachments are fetched in the background and stored under media.dir;
the outbox forwards them to the assignee by media id

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-01 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resident_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "fetch_status", sa.String(length=16), server_default="pending", nullable=False
            )
        )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("path", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("content_type", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("size", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("fetched_at", sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_attachments_resident_id_residents"),
            "residents",
            ["resident_id"],
            ["id"],
        )
        batch_op.create_index(
            batch_op.f("ix_attachments_resident_id"), ["resident_id"], unique=False
        )
        batch_op.create_index(
            "ix_attachments_fetch_due", ["fetch_status", "next_attempt_at"], unique=False
        )
    # Attachments from before: the ticket's resident sent them (images only attached to one's
    # own ticket), and they are due now; WeChat's copies older than three days fail as expired.
    op.execute(
        "UPDATE attachments SET next_attempt_at = created_at, resident_id = "
        "(SELECT tickets.resident_id FROM tickets WHERE tickets.id = attachments.ticket_id)"
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attachment_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("media_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("media_expires_at", sa.DateTime(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_outbox_attachment_id"), ["attachment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_attachment_id"))
        batch_op.drop_column("media_expires_at")
        batch_op.drop_column("media_id")
        batch_op.drop_column("attachment_id")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index("ix_attachments_fetch_due")
        batch_op.drop_index(batch_op.f("ix_attachments_resident_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_attachments_resident_id_residents"), type_="foreignkey"
        )
        batch_op.drop_column("fetched_at")
        batch_op.drop_column("size")
        batch_op.drop_column("content_type")
        batch_op.drop_column("sha256")
        batch_op.drop_column("path")
        batch_op.drop_column("last_error")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("fetch_status")
        batch_op.drop_column("resident_id")
