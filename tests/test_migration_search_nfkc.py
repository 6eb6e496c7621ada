"""Migration 0013 makes the search index anew from the NFKC form of every post and title: a hub
whose posts were indexed as written finds 「ＡＢＣ商事」 by 「ABC商事」 after `hiroba init`; on
SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid

from alembic import command
from sqlalchemy import Connection, text

from hub import create_app, db, migrate, search
from hub.services import search as searching
from tests.factories import make_channel, make_thread, make_user
from tests.test_migrations import empty_database_url  # noqa: F401 (a fixture)

# The index as hub/search.py made it before 0013: the text as written.
OLD_SQLITE = (
    "CREATE VIRTUAL TABLE post_fts USING fts5("
    "body, content='post', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER post_fts_ai AFTER INSERT ON post BEGIN "
    "INSERT INTO post_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER post_fts_ad AFTER DELETE ON post BEGIN "
    "INSERT INTO post_fts(post_fts, rowid, body) VALUES ('delete', old.id, old.body); END",
    "CREATE TRIGGER post_fts_au AFTER UPDATE OF body ON post BEGIN "
    "INSERT INTO post_fts(post_fts, rowid, body) VALUES ('delete', old.id, old.body); "
    "INSERT INTO post_fts(rowid, body) VALUES (new.id, new.body); END",
)
OLD_POSTGRES = (
    "CREATE INDEX ix_post_body_trgm ON post USING gin (body gin_trgm_ops)",
    "CREATE INDEX ix_thread_title_trgm ON thread USING gin (title gin_trgm_ops)",
)


def _at_0012_with_the_old_index(conn: Connection, url: str) -> None:
    cfg = migrate.alembic_config(url)
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "0012")
    search.drop(conn)
    for stmt in OLD_SQLITE if conn.dialect.name == "sqlite" else OLD_POSTGRES:
        conn.execute(text(stmt))


def _indexes(conn: Connection) -> dict[str, str]:
    if conn.dialect.name == "sqlite":
        rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE name LIKE 'post_fts%'"))
    else:
        rows = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE indexname "
                                 "LIKE 'ix_%_trgm'"))  # fmt: skip
    return {name: sql or "" for name, sql in rows}


def test_upgrading_indexes_old_posts_by_their_nfkc_form(empty_database_url, tmp_path):  # noqa: F811
    engine = db.make_engine(empty_database_url)
    app = create_app({"DATABASE_URL": empty_database_url, "SECRET_KEY": "x",
                      "INSTANCE_DIR": str(tmp_path)})  # fmt: skip
    try:
        with engine.begin() as conn:
            _at_0012_with_the_old_index(conn, engine.url.render_as_string(hide_password=False))
        with db.transaction(app) as s:
            reader = make_user(s, email=f"{uuid.uuid4().hex[:6]}@corp.example", name="佐藤")
            channel = make_channel(s, slug=uuid.uuid4().hex[:8], name="営業")
            make_thread(s, channel=channel, author=reader, title="来週の件",
                        body="ＡＢＣ商事から見積もりの依頼です。")  # fmt: skip
            make_thread(s, channel=channel, author=reader, title="ＸＹＺ工業", body="訪問の件")
        sqlite = engine.dialect.name == "sqlite"
        with db.transaction(app) as s:
            before = [h.thread_title for h in searching.search(s, reader, "ABC商事")]
        # SQLite read the old index, which holds the text as written; PostgreSQL compares the
        # folded text without an index to serve it.
        assert before == ([] if sqlite else ["来週の件"])

        migrate.upgrade(engine)

        with db.transaction(app) as s:
            after = {q: [h.thread_title for h in searching.search(s, reader, q)]
                     for q in ("ABC商事", "XYZ工業")}  # fmt: skip
        assert after == {"ABC商事": ["来週の件"], "XYZ工業": ["ＸＹＺ工業"]}
        with engine.connect() as conn:
            found = _indexes(conn)
        if sqlite:
            assert "content=''" in found["post_fts"].replace('"', "'")
        else:
            assert set(found) == {"ix_post_body_nfkc_trgm", "ix_thread_title_nfkc_trgm"}
            assert all("normalize(" in sql.lower() for sql in found.values())
        assert migrate.differences(engine) == []
    finally:
        db.engine_of(app).dispose()
        engine.dispose()
