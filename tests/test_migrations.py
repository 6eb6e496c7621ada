"""The migrated schema equals the models, on SQLite and on PostgreSQL; `hiroba init` runs them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, inspect, text

from hub import db, migrate
from tests.conftest import PG_URL, TEST_DB


@pytest.fixture
def empty_database_url(tmp_path) -> Iterator[str]:
    """A database with nothing in it: a new SQLite file, or a new PostgreSQL database."""
    if TEST_DB != "postgres":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    name = f"hiroba_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'"))
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_migrations_build_exactly_the_models(empty_database_url):
    engine = db.make_engine(empty_database_url)
    try:
        migrate.upgrade(engine)
        assert migrate.differences(engine) == []
        tables = set(inspect(engine).get_table_names())
        assert {"user", "channel", "post", "outbox_message", "inbound_message"} <= tables
        # Upgrading again is harmless (hiroba init may run on every deploy).
        migrate.upgrade(engine)
    finally:
        engine.dispose()


def test_migrated_database_has_a_working_search_index(empty_database_url):
    engine = db.make_engine(empty_database_url)
    try:
        migrate.upgrade(engine)
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                names = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master"))}
                assert "post_fts" in names
            else:
                ext = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname='pg_trgm'"))
                assert ext.scalar() == 1
    finally:
        engine.dispose()


def _search_finds(url: str, tmp_path, body: str, query: str) -> list[str]:
    """Post ``body`` in a fresh thread of the migrated database; what searching ``query``
    finds there (thread titles)."""
    from hub import create_app
    from hub.services import search
    from tests.factories import make_channel, make_thread, make_user

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x", "INSTANCE_DIR": str(tmp_path)})
    try:
        with db.transaction(app) as s:
            author = make_user(s, email=f"{uuid.uuid4().hex[:6]}@corp.example", name="田中")
            slug = uuid.uuid4().hex[:8]
            channel = make_channel(s, slug=slug, name=f"営業 {slug}")
            make_thread(s, channel=channel, author=author, title="今週の件", body=body)
        with db.transaction(app) as s:
            return [hit.thread_title for hit in search.search(s, author, query)]
    finally:
        db.engine_of(app).dispose()


def test_a_new_hub_finds_words_in_posts(empty_database_url, tmp_path):
    """`hiroba init` on a new database: a post's words (three characters and more go through
    the index) are found. On SQLite a migration that rebuilt the post table had dropped the
    index's triggers, so nothing written after it was found."""
    engine = db.make_engine(empty_database_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    found = _search_finds(empty_database_url, tmp_path, "A社の値引きについて相談です", "値引き")
    assert found == ["今週の件"]


def test_upgrading_mends_an_index_that_lost_its_triggers(empty_database_url, tmp_path):
    """A hub whose index stopped following posts (initialised before this fix) finds them all
    again after the next `hiroba init`: the triggers come back and the index is rebuilt."""
    engine = db.make_engine(empty_database_url)
    try:
        migrate.upgrade(engine)
        if engine.dialect.name == "sqlite":
            with engine.begin() as conn:
                for trigger in ("post_fts_ai", "post_fts_ad", "post_fts_au"):
                    conn.execute(text(f"DROP TRIGGER {trigger}"))
        assert _search_finds(empty_database_url, tmp_path, "見積もりの件です", "見積もり") == (
            [] if engine.dialect.name == "sqlite" else ["今週の件"]
        )
        migrate.upgrade(engine)
        assert _search_finds(empty_database_url, tmp_path, "見積もりの続きです", "見積もり") == [
            "今週の件",
            "今週の件",
        ]
    finally:
        engine.dispose()
