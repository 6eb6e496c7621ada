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
