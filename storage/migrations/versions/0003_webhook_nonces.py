"""edge hardening: webhook nonces (replays), login throttle and operator sessions (dashboard),
unknown send outcomes in the outbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # (timestamp, nonce) of every signed POST within the replay window; the key refuses a reuse.
    op.create_table(
        "webhook_nonces",
        sa.Column("timestamp", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("timestamp", "nonce", name=op.f("pk_webhook_nonces")),
    )
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    op.create_table(
        "operator_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("password_fingerprint", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_sessions")),
    )
    with op.batch_alter_table("operator_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operator_sessions_expires_at"), ["expires_at"], unique=False
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("unknown_outcomes", sa.Integer(), server_default="0", nullable=False)
        )
    # The dashboard's old lock-out rows in key_values are replaced by login_throttle.
    op.execute("DELETE FROM key_values WHERE key LIKE 'dashboard:login-%'")


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("unknown_outcomes")
    with op.batch_alter_table("operator_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operator_sessions_expires_at"))
    op.drop_table("operator_sessions")
    op.drop_table("login_throttle")
    op.drop_table("webhook_nonces")
