"""users: which version of the usage rules each member accepted

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rules_version", sa.Integer(), server_default="0", nullable=False)
        )
    # Until now the rules had one version, 1 (hub.services.rules.current_version without its
    # setting): whoever accepted them accepted that one.
    user = sa.table("user", sa.column("rules_accepted_at"), sa.column("rules_version"))
    op.execute(user.update().where(user.c.rules_accepted_at.is_not(None)).values(rules_version=1))


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("rules_version")
