"""many communities on one site: the communities table, and a community on buildings, staff,
residents and tickets; every existing row goes to `default`

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 09:00:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    communities = op.create_table(
        "communities",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("secretaries", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_communities")),
    )
    op.bulk_insert(
        communities,
        [
            {
                "key": "default",
                "name": "本社区",
                "secretaries": [],
                "active": True,
                "created_at": datetime.now(UTC).replace(tzinfo=None),
            }
        ],
    )
    with op.batch_alter_table("buildings") as batch:
        batch.add_column(
            sa.Column("community", sa.String(length=32), server_default="default", nullable=False)
        )
        batch.create_index(batch.f("ix_buildings_community"), ["community"], unique=False)
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(
            sa.Column("community", sa.String(length=32), server_default="default", nullable=False)
        )
        batch.create_index("ix_tickets_community_created", ["community", "created_at"])
    # Staff and residents: NULL means the site-wide pool / not known yet; existing rows are the
    # one community's.
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("community", sa.String(length=32), nullable=True))
        batch.create_index(batch.f("ix_staff_community"), ["community"], unique=False)
    with op.batch_alter_table("residents") as batch:
        batch.add_column(sa.Column("community", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("community_asked_at", sa.DateTime(), nullable=True))
        batch.create_index(batch.f("ix_residents_community"), ["community"], unique=False)
    op.execute("UPDATE staff SET community = 'default'")
    op.execute("UPDATE residents SET community = 'default'")


def downgrade() -> None:
    with op.batch_alter_table("residents") as batch:
        batch.drop_index(batch.f("ix_residents_community"))
        batch.drop_column("community_asked_at")
        batch.drop_column("community")
    with op.batch_alter_table("staff") as batch:
        batch.drop_index(batch.f("ix_staff_community"))
        batch.drop_column("community")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_community_created")
        batch.drop_column("community")
    with op.batch_alter_table("buildings") as batch:
        batch.drop_index(batch.f("ix_buildings_community"))
        batch.drop_column("community")
    op.drop_table("communities")
