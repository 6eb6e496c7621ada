"""mentions page: the newest mention each member has seen

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mentions_seen_id", sa.Integer(), server_default="0", nullable=False)
        )
    # Mentions from before the page existed already reached their members by mail: they are
    # listed, but not counted as new (an upgrade must not greet everyone with "148 new").
    user = sa.table("user", sa.column("id"), sa.column("mentions_seen_id"))
    mention = sa.table("mention", sa.column("id"), sa.column("user_id"))
    newest = sa.select(sa.func.max(mention.c.id)).where(mention.c.user_id == user.c.id)
    op.execute(user.update().values(mentions_seen_id=sa.func.coalesce(newest.scalar_subquery(), 0)))


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("mentions_seen_id")
