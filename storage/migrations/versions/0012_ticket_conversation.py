"""the ticket page's conversation is read by ticket number: indexes on the inbound messages' and
the outbox's ticket_id (erasure reads them the same way)

Revision ID: 0012
Revises: 0005
Create Date: 2026-12-03 10:00:00
"""

from alembic import op

revision = "0012"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch:
        batch.create_index(batch.f("ix_inbound_messages_ticket_id"), ["ticket_id"], unique=False)
    with op.batch_alter_table("outbox") as batch:
        batch.create_index(batch.f("ix_outbox_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index(batch.f("ix_outbox_ticket_id"))
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_index(batch.f("ix_inbound_messages_ticket_id"))
