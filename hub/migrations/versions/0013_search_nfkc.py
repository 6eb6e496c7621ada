"""search: index the NFKC form of posts and titles, so full-width letters and digits (Ａ社,
１０％) and half-width kana find their ordinary forms

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 12:00:00.000000
"""

from __future__ import annotations

from alembic import op

from hub import search

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite: the FTS5 table read post.body as written, and its triggers fed it so; the new
    # table is contentless, fed the folded text (hiroba_nfkc). PostgreSQL: the trigram indexes
    # were on the raw columns; the new ones are on normalize(column, NFKC), which search
    # compares. Both are made anew from every post (install rebuilds the SQLite index).
    bind = op.get_bind()
    search.drop(bind)
    search.install(bind)


def downgrade() -> None:
    # The older code's index (raw text) is not rebuilt here: `hiroba init` of that version
    # would keep this one. Drop it, and let the older version's install make its own.
    search.drop(op.get_bind())
