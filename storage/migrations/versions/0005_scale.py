"""costs that do not grow with history: ticket columns for set-based figures and the SLA check,
indexes for what the scheduler, the pages and the flood check ask, pending SLA notices
(digests), residents' buildings, and (PostgreSQL) a sequence for ticket numbers

Revision ID: 0005
Revises: 0009
Create Date: 2026-12-02 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0009"
branch_labels = None
depends_on = None

ACTIVE = "('open', 'assigned', 'accepted', 'reopened')"


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("first_response_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("work_started_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("next_sla_check_at", sa.DateTime(), nullable=True))
        batch.drop_index("ix_tickets_followup_due_at")
        batch.create_index("ix_tickets_followup_due", ["followup_state", "followup_due_at"])
        batch.create_index("ix_tickets_followup_asked", ["followup_state", "followup_asked_at"])
        batch.create_index("ix_tickets_next_sla_check_at", ["next_sla_check_at"])
        batch.drop_index("ix_tickets_assignee_id")
        batch.create_index("ix_tickets_assignee_status", ["assignee_id", "status"])
    with op.batch_alter_table("ticket_events") as batch:
        batch.create_index("ix_ticket_events_kind_at", ["kind", "at"])
    with op.batch_alter_table("residents") as batch:
        batch.add_column(sa.Column("building", sa.String(length=32), nullable=True))
        batch.create_index("ix_residents_building", ["building"])
    with op.batch_alter_table("inbound_messages") as batch:
        batch.create_index("ix_inbound_messages_openid_received", ["openid", "received_at"])
    op.create_table(
        "sla_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_sla_notices_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_notices")),
        sqlite_autoincrement=True,  # ids are never reused: a digest's dedupe key names one
    )
    with op.batch_alter_table("sla_notices") as batch:
        batch.create_index("ix_sla_notices_ticket_id", ["ticket_id"])
    op.create_table(
        "figure_cache",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_figure_cache")),
    )
    with op.batch_alter_table("figure_cache") as batch:
        batch.create_index("ix_figure_cache_computed_at", ["computed_at"])

    # Existing tickets: the columns from their audit trail.
    op.execute(
        "UPDATE tickets SET first_response_at = (SELECT min(e.at) FROM ticket_events e"
        " WHERE e.ticket_id = tickets.id AND e.kind IN ('accepted', 'resolved'))"
    )
    op.execute(
        "UPDATE tickets SET work_started_at = coalesce((SELECT max(e.at) FROM ticket_events e"
        " WHERE e.ticket_id = tickets.id AND e.kind = 'reopened'), created_at)"
    )
    # Every active ticket is looked at by the first SLA pass, which sets its real next check.
    op.execute(f"UPDATE tickets SET next_sla_check_at = created_at WHERE status IN {ACTIVE}")
    _backfill_buildings()

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # Ticket numbers without a row lock held until commit (see README "Ticket numbers").
        start = bind.execute(
            sa.text(
                "SELECT greatest(coalesce((SELECT max(id) FROM tickets), 0),"
                " coalesce((SELECT value FROM counters WHERE name = 'ticket'), 0))"
            )
        ).scalar_one()
        op.execute("CREATE SEQUENCE ticket_numbers START WITH 1")
        if start:
            op.execute(f"SELECT setval('ticket_numbers', {int(start)})")


def _backfill_buildings() -> None:
    """residents.building from the room, by the one place normaliser (as the handlers set it)."""
    from nlu.places import building_of, room_label

    bind = op.get_bind()
    rooms = bind.execute(
        sa.text("SELECT DISTINCT room FROM residents WHERE room IS NOT NULL")
    ).scalars()
    for room in list(rooms):
        building = building_of(room_label(room) or room)
        if building:
            bind.execute(
                sa.text("UPDATE residents SET building = :building WHERE room = :room"),
                {"building": building[:32], "room": room},
            )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            "INSERT INTO counters (name, value) SELECT 'ticket', coalesce(max(id), 0) FROM tickets"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value"
        )
        op.execute("DROP SEQUENCE IF EXISTS ticket_numbers")
    with op.batch_alter_table("figure_cache") as batch:
        batch.drop_index("ix_figure_cache_computed_at")
    op.drop_table("figure_cache")
    with op.batch_alter_table("sla_notices") as batch:
        batch.drop_index("ix_sla_notices_ticket_id")
    op.drop_table("sla_notices")
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_index("ix_inbound_messages_openid_received")
    with op.batch_alter_table("residents") as batch:
        batch.drop_index("ix_residents_building")
        batch.drop_column("building")
    with op.batch_alter_table("ticket_events") as batch:
        batch.drop_index("ix_ticket_events_kind_at")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_assignee_status")
        batch.create_index("ix_tickets_assignee_id", ["assignee_id"])
        batch.drop_index("ix_tickets_next_sla_check_at")
        batch.drop_index("ix_tickets_followup_asked")
        batch.drop_index("ix_tickets_followup_due")
        batch.create_index("ix_tickets_followup_due_at", ["followup_due_at"])
        batch.drop_column("next_sla_check_at")
        batch.drop_column("work_started_at")
        batch.drop_column("first_response_at")
