"""mail retention: when the raw bytes of a finished mail were dropped

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("raw_dropped_at", hub.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_inbound_raw_kept", ["raw_dropped_at", "received_at"])
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("raw_dropped_at", hub.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_outbox_raw_kept", ["raw_dropped_at", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_raw_kept")
        batch_op.drop_column("raw_dropped_at")
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_raw_kept")
        batch_op.drop_column("raw_dropped_at")
