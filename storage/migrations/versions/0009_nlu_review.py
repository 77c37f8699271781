"""the NLU review queue: messages Sheli did not understand or was unsure of, and their labels

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-01 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nlu_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("intent", sa.String(length=32), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("runner_up", sa.String(length=32), nullable=True),
        sa.Column("runner_up_confidence", sa.Double(), nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("labelled_intent", sa.String(length=32), nullable=True),
        sa.Column("labelled_by", sa.String(length=80), nullable=True),
        sa.Column("labelled_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_nlu_review_resident_id_residents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nlu_review")),
    )
    with op.batch_alter_table("nlu_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nlu_review_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_nlu_review_labelled_at"), ["labelled_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_nlu_review_resident_id"), ["resident_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("nlu_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nlu_review_resident_id"))
        batch_op.drop_index(batch_op.f("ix_nlu_review_labelled_at"))
        batch_op.drop_index(batch_op.f("ix_nlu_review_created_at"))
    op.drop_table("nlu_review")
