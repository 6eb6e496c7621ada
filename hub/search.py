"""The search index beside the tables: SQLite FTS5 (trigram) or PostgreSQL pg_trgm.

Both index the NFKC form of the text (``fold``), and search folds its terms the same way, so
full-width letters and digits (Ａ社, １０％) and half-width kana (ｶﾅ) find their ordinary forms
and the other way round: SQLite through ``hiroba_nfkc``, a function every connection of
``hub.db.make_engine`` has; PostgreSQL through its own ``normalize(text, NFKC)``.

``install`` is run by the migrations and by the test fixtures (create_all knows no virtual
tables, extensions or GIN operator classes); ``drop`` undoes it, the older index's objects too.
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import Connection, text

# The name of the SQLite function that folds text as ``fold`` does.
SQLITE_FOLD = "hiroba_nfkc"

SQLITE_DDL = (
    # A contentless FTS5 table over the folded post.body (the text it reads is not post.body
    # itself, so FTS5 must not read the post table back): the trigram tokenizer finds Japanese
    # substrings of three or more characters (shorter queries use LIKE on the base table).
    "CREATE VIRTUAL TABLE IF NOT EXISTS post_fts USING fts5(body, content='', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS post_fts_ai AFTER INSERT ON post BEGIN "
    "INSERT INTO post_fts(rowid, body) VALUES (new.id, hiroba_nfkc(new.body)); END",
    # A contentless table forgets a row by being told the text it indexed.
    "CREATE TRIGGER IF NOT EXISTS post_fts_ad AFTER DELETE ON post BEGIN "
    "INSERT INTO post_fts(post_fts, rowid, body) "
    "VALUES ('delete', old.id, hiroba_nfkc(old.body)); END",
    "CREATE TRIGGER IF NOT EXISTS post_fts_au AFTER UPDATE OF body ON post BEGIN "
    "INSERT INTO post_fts(post_fts, rowid, body) "
    "VALUES ('delete', old.id, hiroba_nfkc(old.body)); "
    "INSERT INTO post_fts(rowid, body) VALUES (new.id, hiroba_nfkc(new.body)); END",
)
SQLITE_REBUILD = (
    "INSERT INTO post_fts(post_fts) VALUES ('delete-all')",
    "INSERT INTO post_fts(rowid, body) SELECT id, hiroba_nfkc(body) FROM post",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS post_fts_ai",
    "DROP TRIGGER IF EXISTS post_fts_ad",
    "DROP TRIGGER IF EXISTS post_fts_au",
    "DROP TABLE IF EXISTS post_fts",
)
POSTGRES_DDL = (
    # pg_trgm needs a UTF-8 ctype database to see Japanese (see LIBRARIES.md §9), and
    # normalize() a UTF-8 database. Search compares the same expressions (hub.services.search).
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_post_body_nfkc_trgm ON post "
    "USING gin ((normalize(body, NFKC)) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_thread_title_nfkc_trgm ON thread "
    "USING gin ((normalize(title, NFKC)) gin_trgm_ops)",
)
POSTGRES_DROP = (
    # The indexes of the raw text, before search folded it (migration 0013 replaces them).
    "DROP INDEX IF EXISTS ix_post_body_trgm",
    "DROP INDEX IF EXISTS ix_thread_title_trgm",
    "DROP INDEX IF EXISTS ix_post_body_nfkc_trgm",
    "DROP INDEX IF EXISTS ix_thread_title_nfkc_trgm",
)
# Objects that live outside the models; the migration comparison ignores them.
INDEX_OBJECTS = {
    "post_fts",
    "post_fts_data",
    "post_fts_idx",
    "post_fts_content",
    "post_fts_docsize",
    "post_fts_config",
    "ix_post_body_trgm",
    "ix_thread_title_trgm",
    "ix_post_body_nfkc_trgm",
    "ix_thread_title_nfkc_trgm",
}


def fold(value: str | None) -> str | None:
    """The text as search reads it: NFKC, so width and compatibility forms do not matter.

    >>> fold("Ａ社の１０％ ｶﾞｲﾄﾞ")
    'A社の10% ガイド'
    """
    return None if value is None else unicodedata.normalize("NFKC", value)


def install(conn: Connection) -> None:
    """Create the search index for the connected database (idempotent)."""
    for stmt in SQLITE_DDL if conn.dialect.name == "sqlite" else POSTGRES_DDL:
        conn.execute(text(stmt))
    if conn.dialect.name == "sqlite":
        for stmt in SQLITE_REBUILD:
            conn.execute(text(stmt))


def drop(conn: Connection) -> None:
    for stmt in SQLITE_DROP if conn.dialect.name == "sqlite" else POSTGRES_DROP:
        conn.execute(text(stmt))
