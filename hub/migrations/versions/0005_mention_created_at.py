"""mentions: when each member was named (a name added by an edit comes later than the post)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mention", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("created_at", hub.db.UTCDateTime(timezone=True), nullable=True)
        )
    # Mentions from before this column were told with their post (or its digest): their post's
    # time is when they were made as far as any digest is concerned.
    mention = sa.table("mention", sa.column("post_id"), sa.column("created_at"))
    post = sa.table("post", sa.column("id"), sa.column("created_at"))
    when = sa.select(post.c.created_at).where(post.c.id == mention.c.post_id).scalar_subquery()
    op.execute(mention.update().values(created_at=when))
    with op.batch_alter_table("mention", schema=None) as batch_op:
        batch_op.alter_column(
            "created_at", existing_type=hub.db.UTCDateTime(timezone=True), nullable=False
        )
        batch_op.create_index(batch_op.f("ix_mention_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mention", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mention_created_at"))
        batch_op.drop_column("created_at")
