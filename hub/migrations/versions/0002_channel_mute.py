"""channel mute: no mail from a channel for someone who is not its member

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_mute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("created_at", hub.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channel.id"],
            name=op.f("fk_channel_mute_channel_id_channel"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_channel_mute_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_mute")),
        sa.UniqueConstraint(
            "user_id", "channel_id", name=op.f("uq_channel_mute_user_id_channel_id")
        ),
    )
    with op.batch_alter_table("channel_mute", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_channel_mute_channel_id"), ["channel_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("channel_mute", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_mute_channel_id"))

    op.drop_table("channel_mute")
