"""announcements: a thread of an announcement for a private channel's members moves into that
channel (it was made in the open announcement channel, where every member read it)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 01:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_announcement = sa.table(
    "announcement", sa.column("id"), sa.column("audience"), sa.column("thread_id")
)
_channel = sa.table("channel", sa.column("id"), sa.column("private"))
_thread = sa.table("thread", sa.column("id"), sa.column("channel_id"))


def upgrade() -> None:
    # Since this version such an announcement names its private channel alone; one made before
    # may name others with it: its thread goes to the first private one, so that nobody outside
    # it reads the thread (the announcement's own page still shows the text to all it was for).
    bind = op.get_bind()
    private = set(bind.scalars(sa.select(_channel.c.id).where(_channel.c.private.is_(True))))
    rows = bind.execute(
        sa.select(_announcement.c.audience, _announcement.c.thread_id).where(
            _announcement.c.thread_id.is_not(None), _announcement.c.audience != ""
        )
    )
    for audience, thread_id in rows.all():
        ids = sorted(int(x) for x in audience.split(",") if x.strip().isdigit())
        home = next((cid for cid in ids if cid in private), None)
        if home is not None:
            bind.execute(
                sa.update(_thread).where(_thread.c.id == thread_id).values(channel_id=home)
            )


def downgrade() -> None:
    # Moving them back would show them to everyone again: they stay where they are.
    pass
