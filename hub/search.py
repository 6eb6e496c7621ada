"""The search index beside the tables: SQLite FTS5 (trigram) or PostgreSQL pg_trgm.

``install`` is run by the migration and by the test fixtures (create_all knows no virtual
tables, extensions or GIN operator classes); ``drop`` undoes it.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

SQLITE_DDL = (
    # External-content FTS5 table over post.body: the trigram tokenizer finds Japanese
    # substrings of three or more characters (shorter queries use LIKE on the base table).
    "CREATE VIRTUAL TABLE IF NOT EXISTS post_fts USING fts5("
    "body, content='post', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS post_fts_ai AFTER INSERT ON post BEGIN "
    "INSERT INTO post_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER IF NOT EXISTS post_fts_ad AFTER DELETE ON post BEGIN "
    "INSERT INTO post_fts(post_fts, rowid, body) VALUES ('delete', old.id, old.body); END",
    "CREATE TRIGGER IF NOT EXISTS post_fts_au AFTER UPDATE OF body ON post BEGIN "
    "INSERT INTO post_fts(post_fts, rowid, body) VALUES ('delete', old.id, old.body); "
    "INSERT INTO post_fts(rowid, body) VALUES (new.id, new.body); END",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS post_fts_ai",
    "DROP TRIGGER IF EXISTS post_fts_ad",
    "DROP TRIGGER IF EXISTS post_fts_au",
    "DROP TABLE IF EXISTS post_fts",
)
POSTGRES_DDL = (
    # pg_trgm needs a UTF-8 ctype database to see Japanese (see LIBRARIES.md §9).
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_post_body_trgm ON post USING gin (body gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_thread_title_trgm ON thread USING gin (title gin_trgm_ops)",
)
POSTGRES_DROP = (
    "DROP INDEX IF EXISTS ix_post_body_trgm",
    "DROP INDEX IF EXISTS ix_thread_title_trgm",
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
}


def install(conn: Connection) -> None:
    """Create the search index for the connected database (idempotent)."""
    for stmt in SQLITE_DDL if conn.dialect.name == "sqlite" else POSTGRES_DDL:
        conn.execute(text(stmt))
    if conn.dialect.name == "sqlite":
        conn.execute(text("INSERT INTO post_fts(post_fts) VALUES ('rebuild')"))


def drop(conn: Connection) -> None:
    for stmt in SQLITE_DROP if conn.dialect.name == "sqlite" else POSTGRES_DROP:
        conn.execute(text(stmt))
