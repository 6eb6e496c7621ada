"""bounces: why each one happened (status code and the server's words), and when an admin
last cleared a member's bouncing

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bounce_record", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=20), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("diagnostic", sa.String(length=500), server_default="", nullable=False)
        )
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("bounces_cleared_at", hub.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("bounces_cleared_at")
    with op.batch_alter_table("bounce_record", schema=None) as batch_op:
        batch_op.drop_column("diagnostic")
        batch_op.drop_column("status")
